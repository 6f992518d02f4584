"""Redis full, hung or dead: throttles still hold, a request spends at most one timeout on
it, and an outage is logged once, not once per request.

Each test runs its own redis-server on a free loopback port, configured as the
test needs (a full one with ``noeviction``, as a misconfigured production Redis
would be), pauses it with SIGSTOP or stops it; the app reaches it with the
production cache settings (config.settings.redis_cache).
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from rest_framework.settings import api_settings

from config.settings import redis_cache
from operations.redis import BACK, BREAKER, UNAVAILABLE
from tests.factories import MovieFactory
from tests.support import waiting
from tests.support.servers import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

REDIS_SERVER = shutil.which("redis-server")
# Long enough that a request that waited for Redis once is told from one that did not.
TIMEOUT = 1.0
RETRY_SECONDS = 2
READ = "/api/movies?search=movie"


@dataclass
class RedisServer:
    port: int
    args: tuple[str, ...]
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=1)
        assert waiting.eventually(lambda: self._answers(client), seconds=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False


@pytest.fixture
def redis_server(request) -> Iterator[RedisServer]:
    """A redis-server of the test's own (``args`` from the ``redis_args`` marker)."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    marker = request.node.get_closest_marker("redis_args")
    args = ("--save", "", "--appendonly", "no", *(marker.args if marker else ()))
    server = RedisServer(free_port(), args)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app_on(redis_server, settings) -> Iterator[RedisServer]:
    """The app with redis_server as its cache, as configured in production."""
    settings.CACHES = {"default": redis_cache(redis_server.url, timeout=TIMEOUT)}
    settings.REDIS_URL = redis_server.url
    settings.REDIS_RETRY_SECONDS = RETRY_SECONDS
    forget_outages()
    yield redis_server
    forget_outages()


def forget_outages() -> None:
    """This process's breaker as a new process starts: closed, no outage known."""
    BREAKER.down_since, BREAKER.retry_at = None, 0.0


@pytest.fixture
def anon_rate(monkeypatch):
    def set_rate(rate: str) -> None:
        monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "anon", rate)
        monkeypatch.setattr(
            "rest_framework.throttling.AnonRateThrottle.THROTTLE_RATES",
            api_settings.DEFAULT_THROTTLE_RATES,
        )

    return set_rate


def outage_lines(caplog) -> list[logging.LogRecord]:
    """Every warning or error logged, whatever logged it, but the requests refused."""
    return [
        record
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.name != "django.request"
    ]


def timed_get(client, url: str = READ) -> tuple[int, float]:
    started = time.monotonic()
    status = client.get(url).status_code
    return status, time.monotonic() - started


# Redis full


@pytest.mark.redis_args("--maxmemory-policy", "noeviction")
def test_a_full_redis_does_not_lift_the_throttles(client, app_on, anon_rate, caplog):
    MovieFactory()
    anon_rate("30/minute")
    # Full: every write is refused (OOM), reads still answer. Without the published
    # version, the first read's first write is the script that publishes it.
    app_on.client().flushall()
    app_on.client().config_set("maxmemory", 1)
    with caplog.at_level(logging.INFO):
        statuses = [client.get(READ).status_code for _ in range(100)]
    assert statuses.count(200) == 30
    assert statuses.count(429) == 70
    [line] = outage_lines(caplog)
    assert line.msg == UNAVAILABLE
    assert "OutOfMemoryError" in line.getMessage()
    assert line.exc_info is None


@pytest.mark.redis_args("--maxmemory-policy", "noeviction")
def test_a_full_redis_still_tells_each_client_its_budget(client, app_on, anon_rate):
    MovieFactory()
    anon_rate("3/minute")
    app_on.client().flushall()
    app_on.client().config_set("maxmemory", 1)
    answers = [client.get(READ) for _ in range(4)]
    assert [answer.headers["RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    refused = answers[-1]
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]


@pytest.mark.redis_args("--maxmemory-policy", "noeviction")
def test_once_redis_has_room_again_it_counts_and_caches_again(client, app_on, caplog):
    MovieFactory()
    redis_client = app_on.client()
    redis_client.config_set("maxmemory", 1)
    client.get(READ)
    assert BREAKER.open
    redis_client.config_set("maxmemory", 0)
    time.sleep(RETRY_SECONDS)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert client.get(READ).status_code == 200
    assert not BREAKER.open
    assert [line.msg for line in outage_lines(caplog)] == [BACK]
    assert redis_client.keys("*api-bytes*")


# Redis hung


def test_a_hung_redis_costs_a_request_one_timeout_at_most(client, app_on, caplog):
    MovieFactory()
    client.get(READ)  # connections open, as in a running worker
    app_on.pause()
    try:
        with caplog.at_level(logging.INFO):
            status, first = timed_get(client)
            later = [timed_get(client, url) for url in (READ, "/api/genres", "/?q=movie") * 3]
    finally:
        app_on.resume()
    assert status == 200
    assert TIMEOUT <= first < 2 * TIMEOUT
    assert all(status == 200 and seconds < TIMEOUT for status, seconds in later), later
    assert [line.msg for line in outage_lines(caplog)] == [UNAVAILABLE]


def test_a_hung_redis_is_tried_again_once_per_pause(client, app_on):
    MovieFactory()
    app_on.pause()
    try:
        timed_get(client)
        time.sleep(RETRY_SECONDS)
        # Still hung: the request that tries it waits once more, the next ones do not.
        _, trying = timed_get(client)
        _, next_one = timed_get(client)
    finally:
        app_on.resume()
    assert TIMEOUT <= trying < 2 * TIMEOUT
    assert next_one < TIMEOUT


# Redis dead


def test_a_dead_redis_is_logged_once_without_a_traceback(client, app_on, caplog):
    MovieFactory()
    client.get(READ)
    app_on.stop()
    with caplog.at_level(logging.INFO):
        statuses = [client.get(url).status_code for url in (READ, "/?q=movie", "/api/genres") * 5]
    assert set(statuses) == {200}
    [line] = outage_lines(caplog)
    assert line.msg == UNAVAILABLE
    assert line.exc_info is None
    # Redis back on its address: found again at the next try, and logged once.
    app_on.start()
    time.sleep(RETRY_SECONDS)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert client.get(READ).status_code == 200
        assert client.get(READ).status_code == 200
    assert [line.msg for line in outage_lines(caplog)] == [BACK]
    assert app_on.client().keys("*api-bytes*")


def test_health_says_redis_is_unavailable_while_it_is_skipped(client, app_on):
    app_on.stop()
    health = client.get("/healthz")
    # Still ready to serve, from the database: degraded, not out of the balancer.
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["checks"]["redis"] == "unavailable"
