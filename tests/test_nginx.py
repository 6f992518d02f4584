"""nginx in front of gunicorn, with the shipped configuration (``deploy/nginx.conf``).

gunicorn runs as the Procfile starts it (two sync workers) behind nginx, as in
production. A slow client here sends half a request line and then nothing.
"""

from __future__ import annotations

import json
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.client import HTTPConnection
from urllib.parse import urlencode

import pytest

from catalog.api.errors import TOO_LARGE, UNAVAILABLE, error_body
from config.gunicorn_json import BAD_REQUEST, URI_TOO_LONG
from deploy.nginx import CONFIG, NOT_INSTALLED, OPEN_FILES, Nginx, nginx_binary, render
from operations.metrics import LOCAL_ONLY
from tests.support import waiting
from tests.support.servers import (
    WORKERS,
    Gunicorn,
    answers,
    exchange,
    free_port,
    raw_get,
    start_gunicorn,
)

pytestmark = [
    pytest.mark.skipif(nginx_binary() is None, reason=NOT_INSTALLED),
    pytest.mark.slow,
]

SLOW_CLIENTS = 50
# A machine that lets a process open 4,096 files (ulimit -Hn), a tenth of the shipped 40,000.
MACHINE_OPEN_FILES = 4096
HALF_A_REQUEST_LINE = b"GET /healthz HT"
PROMPT_SECONDS = 1.0


@pytest.fixture(scope="module")
def gunicorn(server_database_url, tmp_path_factory) -> Iterator[Gunicorn]:
    log_path = tmp_path_factory.mktemp("gunicorn") / "server.log"
    with start_gunicorn(server_database_url, log_path, NUM_PROXIES="1") as server:
        yield server


@pytest.fixture(scope="module")
def nginx(gunicorn) -> Iterator[Nginx]:
    with Nginx(port=free_port(), upstream=f"127.0.0.1:{gunicorn.port}") as proxy:
        yield proxy


@contextmanager
def slow_clients(port: int, count: int) -> Iterator[None]:
    """``count`` connections that each send half a request line and stall."""
    with ExitStack() as stack:
        for _ in range(count):
            client = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
            client.sendall(HALF_A_REQUEST_LINE)
        time.sleep(0.2)  # for the server to take them in
        yield


def healthz_seconds(port: int, *, timeout: float = 10.0) -> float:
    """How long ``GET /healthz`` takes to answer 200."""
    started = time.monotonic()
    connection = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == 200
    return time.monotonic() - started


def test_behind_nginx_fifty_stalled_clients_leave_healthz_answering_within_a_second(nginx):
    baseline = statistics.median(healthz_seconds(nginx.port) for _ in range(5))
    with slow_clients(nginx.port, SLOW_CLIENTS):
        stalled = [healthz_seconds(nginx.port) for _ in range(5)]
    # Against the baseline, so that a busy machine does not count as a delay.
    assert max(stalled) - baseline < PROMPT_SECONDS, (baseline, stalled)


def test_nginx_logs_nothing_as_it_starts(nginx):
    # No alert about open files it could not have, on whatever machine runs it.
    assert nginx.log.read_text() == ""


def test_without_nginx_as_many_stalled_clients_as_workers_stop_gunicorn_answering(gunicorn):
    # What nginx is there for: each stalled client holds a sync worker until it
    # gives up (gunicorn's 30 s timeout), so the next request waits as long.
    with slow_clients(gunicorn.port, WORKERS), pytest.raises(TimeoutError):
        healthz_seconds(gunicorn.port, timeout=PROMPT_SECONDS)
    assert healthz_seconds(gunicorn.port) < PROMPT_SECONDS  # free once they hang up


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_metrics_are_refused_through_nginx_and_served_to_a_scraper_on_the_machine(nginx, gunicorn):
    # Production settings: DEBUG off, no METRICS_TOKEN.
    assert get(nginx.port, "/metrics") == (403, LOCAL_ONLY.encode())
    status, body = get(gunicorn.port, "/metrics")
    assert status == 200
    assert b"movies_http_requests_total" in body


def test_nginx_answers_in_the_api_json_shape_when_gunicorn_is_down():
    with Nginx(port=free_port(), upstream=f"127.0.0.1:{free_port()}") as proxy:
        connection = HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        connection.request("GET", "/api/movies")
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
    assert (response.status, response.headers["Content-Type"]) == (503, "application/json")
    assert response.headers["Retry-After"] == "5"
    assert body == error_body(503, "unavailable", UNAVAILABLE)


@pytest.mark.parametrize(
    ("raw", "status", "code", "detail"),
    [
        pytest.param(b"GARBAGE\r\n\r\n", 400, "bad_request", BAD_REQUEST, id="garbage-line"),
        pytest.param(
            raw_get(b"/" + b"a" * 9000), 414, "uri_too_long", URI_TOO_LONG, id="over-long-line"
        ),
        pytest.param(
            b"POST /api/movies HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4000000\r\n"
            b"Connection: close\r\n\r\n",
            413,
            "payload_too_large",
            TOO_LARGE,
            id="over-large-body",
        ),
        pytest.param(
            b"TRACE /api/movies HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            405,
            "method_not_allowed",
            None,
            id="trace",
        ),
        pytest.param(
            b"GET /api/movies HTTP/2.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            505,
            "version_not_supported",
            None,
            id="http-2-as-text",
        ),
        pytest.param(
            b"POST /api/movies HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n"
            b"Connection: close\r\n\r\n",
            501,
            "not_implemented",
            None,
            id="unknown-transfer-coding",
        ),
    ],
)
def test_requests_nginx_rejects_are_answered_in_the_api_json_error_shape(
    nginx, raw, status, code, detail
):
    answered, headers, body = exchange(nginx.port, raw)
    assert (answered, headers["Content-Type"]) == (status, "application/json")
    answer = json.loads(body)
    assert (answer["status"], answer["code"], answer["errors"]) == (status, code, {})
    if detail is not None:
        assert answer == error_body(status, code, detail)


# After a write returns, no reader gets an answer from before it.

FRESHNESS_REDIS_URL = "redis://127.0.0.1:6379/13"


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def request(port: int, method: str, target: str, body=None, **headers) -> tuple[int, dict, dict]:
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        payload = json.dumps(body) if body is not None else None
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, target, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    return response.status, dict(response.getheaders()), json.loads(raw) if raw else {}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Iterator[tuple[int, str]]:
    """gunicorn behind nginx with Redis as the cache, the fixture loaded; its port and a token."""
    from tests.support.servers import manage, sqlite_url

    if not redis_answers():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    import redis

    redis.Redis.from_url(FRESHNESS_REDIS_URL).flushdb()
    folder = tmp_path_factory.mktemp("deployed")
    url = sqlite_url(folder / "db.sqlite3")
    manage(url, "migrate", "--no-input")
    manage(url, "populate_db")
    create = "from django.contrib.auth.models import User; User.objects.create_superuser('ed')"
    manage(url, "shell", "-c", create)
    token = manage(url, "api_token", "issue", "ed").strip()
    # Readers many more than a client may be: the throttles are not what is tested.
    environment = {
        "REDIS_URL": FRESHNESS_REDIS_URL,
        "NUM_PROXIES": "1",
        "THROTTLE_ANON_RATE": "100000/minute",
    }
    with ExitStack() as stack:
        server = stack.enter_context(start_gunicorn(url, folder / "server.log", **environment))
        proxy = stack.enter_context(Nginx(port=free_port(), upstream=f"127.0.0.1:{server.port}"))
        yield proxy.port, token


def test_after_a_write_returns_every_reader_through_nginx_gets_it(deployed):
    port, token = deployed
    staff = {"Authorization": f"Token {token}"}
    status, _, listing = request(port, "GET", "/api/movies?ordering=name&limit=30")
    assert status == 200, listing
    for round_, movie in enumerate(listing["results"]):
        # One term no other movie holds, without a digit (scores hold digits).
        new_name = "Qzx" + "".join(chr(ord("a") + int(digit)) for digit in str(round_))
        search = f"/api/movies?search={new_name}"
        old_search = f"/api/movies?{urlencode({'search': movie['name'], 'limit': 100})}"
        # Answers cached before the write, by every worker and in Redis.
        for _ in range(3):
            assert request(port, "GET", search)[2]["count"] == 0
            request(port, "GET", old_search)
        _, headers, _ = request(port, "GET", old_search)
        status, _, written = request(
            port, "PATCH", f"/api/movies/{movie['id']}", {"name": new_name}, **staff
        )
        assert status == 200, written
        for _ in range(4):  # whichever worker answers, from whatever cache
            assert [found["id"] for found in request(port, "GET", search)[2]["results"]] == [
                movie["id"]
            ]
            _, _, old = request(port, "GET", old_search)
            assert movie["id"] not in [found["id"] for found in old["results"]]
            assert request(port, "GET", f"/api/movies/{movie['id']}")[2]["name"] == new_name
            revalidated, _, _ = request(
                port, "GET", old_search, **{"If-None-Match": headers["ETag"]}
            )
            assert revalidated == 200


def on_a_machine_with_few_open_files() -> None:
    """In the child, before it runs: the hard limit such a machine sets."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, MACHINE_OPEN_FILES))


def what_nginx_logs_as_it_starts(config: str, prefix) -> str:
    """nginx's log from its start until it answers, run with ``config`` on that machine."""
    prefix.mkdir()
    (prefix / "nginx.conf").write_text(config)
    port = int(re.search(r"listen 127\.0\.0\.1:(\d+);", config).group(1))
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"]
        + ["-g", "daemon off;"],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=on_a_machine_with_few_open_files,
    )
    try:
        assert waiting.eventually(lambda: answers(port), seconds=10)
        time.sleep(0.5)  # for the workers to have started and set their limits
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=10)
    return log


def test_nginx_fits_its_open_files_to_the_machine_and_starts_without_an_alert(tmp_path):
    upstream = f"127.0.0.1:{free_port()}"
    fitted = render(listen=f"127.0.0.1:{free_port()}", upstream=upstream, open_files=4096)
    assert "worker_rlimit_nofile 4096;" in fitted
    assert "worker_connections 1677;" in fitted
    assert what_nginx_logs_as_it_starts(fitted, tmp_path / "fitted") == ""
    # What it fits: the shipped 40,000, which such a machine refuses at every start.
    shipped = render(listen=f"127.0.0.1:{free_port()}", upstream=upstream, open_files=OPEN_FILES)
    assert "[alert]" in what_nginx_logs_as_it_starts(shipped, tmp_path / "shipped")


def test_the_configuration_is_rendered_for_the_machine_it_is_rendered_on():
    rendered = subprocess.run(
        [sys.executable, "-m", "deploy.nginx"],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=on_a_machine_with_few_open_files,
    ).stdout
    assert f"worker_rlimit_nofile {MACHINE_OPEN_FILES};" in rendered


def test_the_shipped_configuration_listens_on_loopback_only():
    assert re.findall(r"^\s*listen\s+([^;]+);", CONFIG.read_text(), flags=re.M) == [
        "127.0.0.1:8080"
    ]
