"""gunicorn as configured (``movies/config/gunicorn.py``), serving the app for real."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.client import HTTPConnection

import pytest

from tests import waiting
from tests.servers import Gunicorn, app_environment, start_gunicorn

LOG_SECONDS = 10.0


@pytest.fixture(scope="module")
def server(server_database, tmp_path_factory) -> Iterator[Gunicorn]:
    logs = tmp_path_factory.mktemp("gunicorn")
    # The access log in a file of its own, so that every line in it is the access log's.
    args = ["--access-logfile", str(logs / "access.log")]
    env = app_environment(server_database)
    with start_gunicorn(env, logs / "server.log", args=args) as server:
        yield server


def access_log(server: Gunicorn) -> list[str]:
    path = server.log_path.with_name("access.log")
    return path.read_text(errors="replace").splitlines() if path.exists() else []


@pytest.mark.parametrize(
    ("escaped", "character"),
    [("%0A", "\n"), ("%00", "\x00"), ("%22", '"'), ("%5C", "\\")],
    ids=["newline", "nul", "quote", "backslash"],
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
