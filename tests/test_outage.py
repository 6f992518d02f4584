"""The database going away: JSON 503s, not tracebacks, and recovery without a restart.

The app runs as in production: gunicorn with ``movies/config/gunicorn.py`` and two
sync workers, ``DEBUG`` off, persistent database connections (``CONN_MAX_AGE``)
with health checks. Its database is a PostgreSQL database of
these tests' own, migrated and loaded with ``fixtures/imdb.json`` by the
management commands, and dropped at the end. The app reaches it through a TCP
proxy (``tests/support/tcp_proxy.py``): cutting the proxy resets the workers' open
connections and refuses new ones, as when PostgreSQL stops, without touching
the PostgreSQL server other databases live on.

``REDIS_URL`` is left unset, so each worker caches in its own memory and
``/healthz`` reports on the database alone; every read asks the database for the
catalogue version before it looks in any cache, so no cache can hide an outage.
Redis going away is the last part: a server of its own reaches the real Redis
through a second proxy.

Which worker answered a request is read from the access log, whose every line
names the worker's pid.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from catalog.api.errors import RETRY_AFTER_SECONDS, UNAVAILABLE
from tests.support import waiting
from tests.support.redis import redis_server
from tests.support.servers import WORKERS, Gunicorn, free_port, manage, start_gunicorn
from tests.support.tcp_proxy import TCPProxy

pytestmark = [pytest.mark.requires_postgres, pytest.mark.slow]

FIXTURE = settings.REPO_ROOT / "fixtures" / "imdb.json"
STAFF_USERNAME = "outage-editor"

# A request during an outage is answered at once, not when gunicorn gives up on it
# (30 s); the margin is for a loaded machine.
PROMPT_SECONDS = 10.0
# libpq's minimum; without one, a connection to a database that never answers waits
# until gunicorn kills the worker.
CONNECT_TIMEOUT_SECONDS = 2
# Generous for a loaded two-core machine; recovery itself takes one request.
DEADLINE_SECONDS = 15.0

HEALTHY = {"status": "ok", "checks": {"database": "ok"}}
UNHEALTHY = {"status": "unavailable", "checks": {"database": "unavailable"}}
API_UNAVAILABLE = {"status": 503, "code": "unavailable", "detail": UNAVAILABLE, "errors": {}}
READ_PATHS = ["/api/movies", "/api/movies/1", "/api/genres"]
NEW_MOVIE = {
    "name": "Written During The Outage",
    "director": "Nobody",
    "popularity": 50.0,
    "imdb_score": 5.0,
    "genre": ["Drama"],
}


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self):
        assert self.headers["Content-Type"] == "application/json", self.body[:200]
        return json.loads(self.body)


@dataclass
class Server:
    """A gunicorn serving the app, and the requests sent to it."""

    gunicorn: Gunicorn
    requests_sent: int = 0
    _counting: threading.Lock = field(default_factory=threading.Lock)

    def request(self, path: str, *, method: str = "GET", body=None, token: str = "") -> Reply:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body).encode()
        if token:
            headers["Authorization"] = f"Token {token}"
        request = Request(self.gunicorn.base_url + path, data=body, method=method, headers=headers)
        with self._counting:
            self.requests_sent += 1
        started = time.monotonic()
        try:
            with urlopen(request, timeout=2 * DEADLINE_SECONDS) as response:
                status, response_headers, content = (
                    response.status,
                    response.headers,
                    response.read(),
                )
        except HTTPError as error:
            status, response_headers, content = error.code, error.headers, error.read()
        return Reply(status, dict(response_headers), content, time.monotonic() - started)

    def burst(self, paths: list[str], *, concurrency: int = 4) -> list[tuple[str, Reply]]:
        """Each path ``concurrency`` times at once, so that both workers take a share."""
        every = [path for path in paths for _ in range(concurrency)]
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(zip(every, pool.map(self.request, every), strict=True))

    def log(self) -> str:
        return self.gunicorn.log()

    def access_log(self) -> list[dict]:
        """The access log so far, once it has caught up with the requests sent."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            entries = [
                json.loads(line) for line in self.log().splitlines() if line.startswith('{"time"')
            ]
            if len(entries) >= self.requests_sent or time.monotonic() > deadline:
                return entries
            time.sleep(0.02)

    def workers(self) -> set[str]:
        return self.gunicorn.workers()

    def served(self, since: int, *, status: int, path: str | None = None) -> set[str]:
        """Pids of the workers that answered with ``status`` after the first ``since`` entries."""
        return {
            str(entry["pid"])
            for entry in self.access_log()[since:]
            if entry["status"] == status and path in (None, entry["path"])
        }


def eventually(condition: Callable[[], bool], *, seconds: float = DEADLINE_SECONDS) -> bool:
    return waiting.eventually(condition, seconds=seconds)


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    def url(self, database: str, *, port: int | None = None, query: str = "") -> str:
        credentials = f"{self.user}:{self.password}" if self.password else self.user
        return f"postgres://{credentials}@{self.host}:{port or self.port}/{database}{query}"

    def connect(self, database: str) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=database,
            autocommit=True,
        )


@pytest.fixture(scope="module")
def postgres() -> PostgresServer:
    """The PostgreSQL server the suite runs against."""
    assert connection.vendor == "postgresql"
    config = connection.settings_dict
    return PostgresServer(
        host=config["HOST"] or "127.0.0.1",
        port=int(config["PORT"] or 5432),
        user=config["USER"],
        password=config["PASSWORD"] or "",
    )


@dataclass(frozen=True)
class OutageDatabase:
    name: str
    token: str


@pytest.fixture(scope="module")
def outage_database(postgres) -> Iterator[OutageDatabase]:
    """A database of its own: migrated, loaded, with a staff account's API token."""
    name = f"movies_outage_{uuid.uuid4().hex[:12]}"
    with postgres.connect("postgres") as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = postgres.url(name)
        manage(url, "migrate", "--no-input")
        manage(url, "populate_db", str(FIXTURE), "--no-progress")
        manage(
            url,
            "createsuperuser",
            "--no-input",
            "--username",
            STAFF_USERNAME,
            "--email",
            "editor@example.com",
        )
        token = manage(url, "api_token", "issue", STAFF_USERNAME).strip()
        yield OutageDatabase(name=name, token=token)
    finally:
        with postgres.connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def start_server(database_url: str, log_path: Path, **env: str) -> Iterator[Server]:
    # Persistent connections, as in production: an outage finds them open.
    with start_gunicorn(database_url, log_path, CONN_MAX_AGE="60", **env) as gunicorn:
        yield Server(gunicorn)


@pytest.fixture(scope="module")
def proxy(postgres) -> Iterator[TCPProxy]:
    with TCPProxy(upstream=(postgres.host, postgres.port)) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def server(outage_database, postgres, proxy, tmp_path_factory) -> Iterator[Server]:
    url = postgres.url(outage_database.name, port=proxy.port)
    with start_server(url, tmp_path_factory.mktemp("gunicorn") / "server.log") as server:
        yield server


@pytest.fixture
def outage(proxy, server) -> Iterator[TCPProxy]:
    """The database cut off for the test; back, and served by every worker, afterwards."""
    yield proxy
    proxy.restore()
    assert every_worker_recovers(server), server.log()


def every_worker_recovers(server: Server) -> bool:
    since = len(server.access_log())

    def recovered() -> bool:
        for path, reply in server.burst(["/healthz", "/api/movies"]):
            if reply.status != 200:
                assert_unavailable(path, reply)
        return all(
            server.served(since, status=200, path=path) >= server.workers()
            for path in ("/healthz", "/api/movies")
        )

    return eventually(recovered)


def assert_unavailable(path: str, reply: Reply, *, within: float = PROMPT_SECONDS) -> None:
    """The answer to any request while the database is away."""
    assert reply.seconds < within, path
    if path == "/healthz":
        assert (reply.status, reply.json()) == (503, UNHEALTHY), path
    else:
        assert (reply.status, reply.json()) == (503, API_UNAVAILABLE), path
        assert reply.headers["Retry-After"] == str(RETRY_AFTER_SECONDS), path


def count_movies(postgres: PostgresServer, database: str, *, name: str | None = None) -> int:
    with postgres.connect(database) as reader:
        return reader.execute(
            "SELECT count(*) FROM catalog_movie WHERE %(name)s::text IS NULL OR name = %(name)s",
            {"name": name},
        ).fetchone()[0]


def catalogue_version(postgres: PostgresServer, database: str) -> int:
    with postgres.connect(database) as reader:
        return reader.execute("SELECT version FROM catalog_catalogueversion").fetchone()[0]


# A healthy database


def test_with_the_database_up_health_and_api_answer_200(server, proxy, postgres, outage_database):
    health = server.request("/healthz")
    assert (health.status, health.json()) == (200, HEALTHY)
    movies = server.request("/api/movies")
    assert movies.status == 200
    assert movies.json()["count"] == count_movies(postgres, outage_database.name) > 0
    # Persistent connections: the workers keep theirs open between requests.
    assert proxy.open_connections >= 1


# The database going away


def test_with_the_database_cut_off_every_worker_answers_json_503s_at_once(server, outage):
    outage.cut()
    since, log_start = len(server.access_log()), len(server.log())
    failed = 0

    def every_worker_failed() -> bool:
        nonlocal failed
        for path, reply in server.burst(["/healthz", *READ_PATHS]):
            assert_unavailable(path, reply)
            failed += 1
        return server.served(since, status=503) >= server.workers()

    assert eventually(every_worker_failed)
    # Logged once per failed request, a line each, without a traceback.
    log = server.log()[log_start:]
    assert log.count("Service Unavailable: ") == failed
    assert "Traceback" not in log


def test_with_the_database_cut_off_livez_still_answers_at_once(server, outage):
    # Liveness: a process that answers is not restarted because its database is away.
    outage.cut()
    for _, reply in server.burst(["/livez"]):
        assert (reply.status, reply.json()) == (200, {"status": "ok"})
        assert reply.seconds < PROMPT_SECONDS


def test_a_staff_write_while_the_database_is_away_is_a_503_and_writes_nothing(
    server, outage, outage_database, postgres
):
    outage.cut()
    reply = server.request(
        "/api/movies", method="POST", body=NEW_MOVIE, token=outage_database.token
    )
    assert_unavailable("/api/movies", reply)
    outage.restore()
    assert every_worker_recovers(server)
    assert count_movies(postgres, outage_database.name, name=NEW_MOVIE["name"]) == 0
    written = server.request(
        "/api/movies", method="POST", body=NEW_MOVIE, token=outage_database.token
    )
    assert written.status == 201
    assert count_movies(postgres, outage_database.name, name=NEW_MOVIE["name"]) == 1


def test_a_write_cut_off_halfway_is_rolled_back_whole(server, outage, outage_database, postgres):
    version = catalogue_version(postgres, outage_database.name)
    movie = {**NEW_MOVIE, "name": "Cut Off Halfway"}
    # The movie's row is inserted and the catalogue version bumped, in the open
    # transaction, before its genres are linked: cut there.
    tripped = outage.cut_on(b'INSERT INTO "catalog_movie_genres"')
    reply = server.request("/api/movies", method="POST", body=movie, token=outage_database.token)
    assert tripped.wait(DEADLINE_SECONDS)
    assert_unavailable("/api/movies", reply)
    outage.restore()
    assert every_worker_recovers(server)
    assert count_movies(postgres, outage_database.name, name=movie["name"]) == 0
    assert catalogue_version(postgres, outage_database.name) == version


# The database coming back


def test_connections_the_database_dropped_while_idle_are_replaced_unnoticed(server, proxy):
    # Every worker holds a connection; the database drops them all and is back at once.
    assert every_worker_recovers(server)
    assert proxy.open_connections == WORKERS
    proxy.cut()
    proxy.restore()
    since = len(server.access_log())

    def every_worker_answered() -> bool:
        for path, reply in server.burst(["/healthz", *READ_PATHS]):
            assert reply.status == 200, (path, reply.body)
        return server.served(since, status=200) >= server.workers()

    # Not one request fails: each worker's first query finds its connection gone and
    # opens another (CONN_HEALTH_CHECKS).
    assert eventually(every_worker_answered)


def test_after_an_outage_every_worker_recovers_without_a_restart(server, outage):
    workers = server.workers()
    outage.cut()
    for path, reply in server.burst(["/healthz", "/api/movies"]):
        assert_unavailable(path, reply)
    outage.restore()
    restored = time.monotonic()
    assert every_worker_recovers(server), server.log()
    assert time.monotonic() - restored < PROMPT_SECONDS
    for _ in range(3):
        for path, reply in server.burst(["/healthz", *READ_PATHS]):
            assert reply.status == 200, (path, reply.body)
    assert server.workers() == workers  # none was restarted
    assert server.gunicorn.process.poll() is None


# A wrong DATABASE_URL


@pytest.fixture
def misconfigured_server(request, postgres, tmp_path) -> Iterator[Server]:
    with start_server(request.param(postgres), tmp_path / "server.log") as server:
        yield server


@pytest.mark.parametrize(
    "misconfigured_server",
    [
        pytest.param(
            lambda postgres: postgres.url("movies", port=free_port()), id="nothing-listens"
        ),
        pytest.param(
            lambda postgres: postgres.url(f"movies_missing_{uuid.uuid4().hex[:12]}"),
            id="no-such-database",
        ),
    ],
    indirect=True,
)
def test_with_a_wrong_database_url_the_server_starts_and_answers_503(misconfigured_server):
    paths = ["/healthz", *READ_PATHS]
    for path in paths:
        assert_unavailable(path, misconfigured_server.request(path))
    assert misconfigured_server.gunicorn.process.poll() is None
    assert misconfigured_server.log().count("Service Unavailable: ") == len(paths)


@pytest.fixture
def unresponsive_port() -> Iterator[int]:
    """A port that accepts connections and never answers, like a hung database server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # the kernel completes the handshakes; nobody reads
        yield listener.getsockname()[1]


def test_a_database_that_never_answers_is_a_503_within_the_connect_timeout(
    postgres, unresponsive_port, tmp_path
):
    url = postgres.url("movies", port=unresponsive_port)
    timeout = str(CONNECT_TIMEOUT_SECONDS)
    with start_server(url, tmp_path / "server.log", DATABASE_CONNECT_TIMEOUT=timeout) as server:
        paths = ["/healthz", "/api/movies"]
        with ThreadPoolExecutor(max_workers=len(paths)) as pool:
            replies = list(pool.map(server.request, paths))
    for path, reply in zip(paths, replies, strict=True):
        # One wait each: a list read is answered as soon as its first query fails.
        assert_unavailable(path, reply, within=CONNECT_TIMEOUT_SECONDS + 3)


# Redis going away


@pytest.fixture
def redis_proxy() -> Iterator[TCPProxy]:
    redis = redis_server()
    if not redis.answers():
        pytest.skip(f"Redis does not answer on {redis.host}:{redis.port}")
    with TCPProxy(upstream=(redis.host, redis.port)) as proxy:
        yield proxy


def test_with_redis_cut_off_every_worker_stays_in_rotation_and_answers(
    outage_database, postgres, redis_proxy, tmp_path
):
    redis_url = redis_server().url(port=redis_proxy.port)
    url = postgres.url(outage_database.name)
    with start_server(url, tmp_path / "server.log", REDIS_URL=redis_url) as server:
        health = server.request("/healthz")
        assert (health.status, health.json()) == (
            200,
            {"status": "ok", "checks": {"database": "ok", "redis": "ok"}},
        )
        redis_proxy.cut()
        since = len(server.access_log())

        def every_worker_answered() -> bool:
            for path, reply in server.burst(["/healthz", *READ_PATHS]):
                assert reply.status == 200, (path, reply.body)
                assert reply.seconds < PROMPT_SECONDS, path
                if path == "/healthz":
                    assert reply.json() == {
                        "status": "degraded",
                        "checks": {"database": "ok", "redis": "unavailable"},
                    }
            return server.served(since, status=200, path="/healthz") >= server.workers()

        # The balancer keeps every machine: each serves, uncached, without Redis.
        assert eventually(every_worker_answered), server.log()
        redis_proxy.restore()
        assert eventually(lambda: server.request("/healthz").json()["status"] == "ok")
