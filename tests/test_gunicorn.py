"""gunicorn as configured (``movies/config/gunicorn.py``), serving the app for real."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import pytest

from catalog.api.errors import error_body
from config.gunicorn_json import BAD_REQUEST, HEADERS_TOO_LARGE, URI_TOO_LONG
from tests.support import waiting
from tests.support.servers import Gunicorn, exchange, raw_get, start_gunicorn

pytestmark = pytest.mark.slow

LOG_SECONDS = 10.0
# /proc/net/tcp's state of a listening socket, and 127.0.0.1 as it writes it.
LISTEN = "0A"
LOOPBACK = "0100007F"


@pytest.fixture(scope="module")
def server(server_database_url, tmp_path_factory) -> Iterator[Gunicorn]:
    logs = tmp_path_factory.mktemp("gunicorn")
    # The access log in a file of its own, so that every line in it is the access log's.
    args = ["--access-logfile", str(logs / "access.log")]
    with start_gunicorn(server_database_url, logs / "server.log", args=args) as server:
        yield server


def access_log(server: Gunicorn) -> list[str]:
    path = server.log_path.with_name("access.log")
    return path.read_text(errors="replace").splitlines() if path.exists() else []


@pytest.mark.parametrize(
    ("escaped", "character"),
    [("%0A", "\n"), ("%00", "\x00"), ("%22", '"'), ("%5C", "\\"), ("%C3%A9", "é")],
    ids=["newline", "nul", "quote", "backslash", "utf-8"],
)
def test_a_request_is_one_json_access_log_line_whatever_its_path_and_query(
    server, escaped, character
):
    before = len(access_log(server))
    connection = HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", f"/api/movies{escaped}x?search=a{escaped}b")
    status = connection.getresponse().status
    connection.close()
    assert waiting.eventually(lambda: len(access_log(server)) > before, seconds=LOG_SECONDS)
    [line] = access_log(server)[before:]
    entry = json.loads(line)
    assert (entry["method"], entry["path"], entry["query"], entry["status"]) == (
        "GET",
        f"/api/movies{character}x",
        f"search=a{escaped}b",
        status,
    )
    assert set(entry) == {
        "time",
        "pid",
        "remote",
        "forwarded_for",
        "method",
        "path",
        "query",
        "status",
        "bytes",
        "duration_us",
        "referer",
        "user_agent",
    }
    assert str(entry["pid"]) in server.workers()


@pytest.mark.parametrize(
    ("raw", "status", "code", "detail"),
    [
        pytest.param(b"GARBAGE\r\n\r\n", 400, "bad_request", BAD_REQUEST, id="garbage-line"),
        pytest.param(
            raw_get(b"/" + b"a" * 5000), 414, "uri_too_long", URI_TOO_LONG, id="over-long-line"
        ),
        pytest.param(
            raw_get(b"/healthz", b"Host: example.com"),
            400,
            "bad_request",
            BAD_REQUEST,
            id="two-hosts",
        ),
        pytest.param(
            raw_get(b"/healthz", b"X-Big: " + b"b" * 9000),
            431,
            "headers_too_large",
            HEADERS_TOO_LARGE,
            id="over-large-header",
        ),
    ],
)
def test_requests_gunicorn_rejects_are_answered_in_the_api_json_error_shape(
    server, raw, status, code, detail
):
    answered, headers, body = exchange(server.port, raw)
    assert answered == status
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)
    assert json.loads(body) == error_body(status, code, detail)


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on ``port``, as the kernel lists them."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == LISTEN and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_by_default_gunicorn_listens_on_loopback_only(server_database_url, tmp_path):
    # As a platform starts it: the port in PORT, no address on the command line.
    with start_gunicorn(server_database_url, tmp_path / "server.log", bind=False) as server:
        assert listening_addresses(server.port) == {LOOPBACK}
        connection = HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
        connection.close()
