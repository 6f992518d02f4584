"""``make serve``: the production-like start on one machine, run as an operator runs it.

``make serve`` with a PostgreSQL database of the test's own (which it creates), a Redis
database and free ports, in a process group of its own; Ctrl-C is SIGINT to that group,
as a terminal sends it. PostgreSQL and Redis already answer here, so ``deploy/services``
leaves them alone.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlsplit, urlunsplit
from urllib.request import urlopen

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from deploy.nginx import NOT_INSTALLED, nginx_binary
from operations.metrics import LOCAL_ONLY
from tests.support import waiting
from tests.support.redis import redis_server
from tests.support.servers import answers, free_port

pytestmark = [
    pytest.mark.requires_postgres,
    pytest.mark.slow,
    pytest.mark.skipif(nginx_binary() is None, reason=NOT_INSTALLED),
]

FIXTURE_MOVIES = len(json.loads((settings.REPO_ROOT / "fixtures" / "imdb.json").read_text()))
# collectstatic, the migrations and the fixture on a loaded two-core machine.
START_SECONDS = 240.0
STOP_SECONDS = 45.0


@dataclass
class Served:
    process: subprocess.Popen
    port: int
    upstream_port: int
    state_dir: Path
    output: Path

    def get(self, path: str, *, port: int | None = None) -> tuple[int, bytes]:
        try:
            with urlopen(f"http://127.0.0.1:{port or self.port}{path}", timeout=10) as answer:
                return answer.status, answer.read()
        except HTTPError as error:
            return error.code, error.read()

    def log(self) -> str:
        return self.output.read_text(errors="replace")


def server_url(database: str) -> str:
    """The suite's PostgreSQL server, with another database."""
    config = connection.settings_dict
    credentials = config["USER"] + (f":{config['PASSWORD']}" if config["PASSWORD"] else "")
    host = f"{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{database}"


@pytest.fixture
def served(tmp_path) -> Iterator[Served]:
    database = f"movies_serve_{uuid.uuid4().hex[:12]}"
    port, upstream_port = free_port(), free_port()
    state_dir, output = tmp_path / "state", tmp_path / "serve.log"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/"),
        "DATABASE_URL": server_url(database),
        "REDIS_URL": redis_server().url(),
    }
    args = (
        f"--listen 127.0.0.1:{port} --upstream 127.0.0.1:{upstream_port} --state-dir {state_dir}"
    )
    with output.open("wb") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "serve", f"ARGS={args}"],
            cwd=settings.REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(process, port, upstream_port, state_dir, output)
    try:
        yield served
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        parts = urlsplit(server_url(database))
        with psycopg.connect(
            urlunsplit(parts._replace(path="/postgres")), autocommit=True
        ) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_make_serve_starts_the_whole_stack_and_ctrl_c_stops_it(served):
    started = waiting.eventually(
        lambda: served.process.poll() is not None or answers(served.port), seconds=START_SECONDS
    )
    assert started, served.log()
    assert served.process.poll() is None, served.log()

    # Through nginx: the app on PostgreSQL with the fixture, Redis answering, DEBUG off.
    health = served.get("/healthz")
    assert health == (200, b'{"status": "ok", "checks": {"database": "ok", "redis": "ok"}}')
    status, body = served.get("/api/movies?limit=1")
    assert (status, json.loads(body)["count"]) == (200, FIXTURE_MOVIES)
    assert served.get("/metrics") == (403, LOCAL_ONLY.encode())
    assert served.get("/metrics", port=served.upstream_port)[0] == 200
    # The static files collected at build time, under their hashed names.
    page = served.get("/api/redoc/")[1].decode()
    [script] = re.findall(r'src="(/static/catalog/api/redoc-local\.[0-9a-f]{12}\.js)"', page)
    assert served.get(script)[0] == 200
    secret_key = served.state_dir / "secret-key"
    assert oct(secret_key.stat().st_mode & 0o777) == "0o600"
    assert len(secret_key.read_text()) >= 50

    os.killpg(served.process.pid, signal.SIGINT)  # Ctrl-C
    served.process.wait(timeout=STOP_SECONDS)
    assert not answers(served.port)
    assert not answers(served.upstream_port)
    log = served.log()
    assert "stopping nginx, then gunicorn" in log
    assert "[alert]" not in log
    assert "Traceback" not in log
