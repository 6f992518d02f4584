"""Real servers for the tests that need one: gunicorn as the Procfile starts it.

The app runs with production settings (``DEBUG`` off, a ``SECRET_KEY``) on the
database a URL names: a SQLite file the tests migrate, so that these tests run
in every CI leg, or a PostgreSQL database of a test's own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from tests.support import waiting

MANAGE = settings.BASE_DIR / "manage.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")
GUNICORN_CONFIG = settings.BASE_DIR / "config" / "gunicorn.py"
WORKERS = 2  # as the Procfile's default WEB_CONCURRENCY
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def app_environment(database_url: str, **extra: str) -> dict[str, str]:
    """Production settings on the database, and nothing from the tests' environment."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/"),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "server-tests-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        **extra,
    }


def manage(database_url: str, *args: str) -> str:
    """What a manage.py command prints, run with the production settings on the database."""
    result = subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=app_environment(database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def raw_get(target: bytes, *header_lines: bytes) -> bytes:
    """The bytes of a GET of ``target`` from 127.0.0.1, with more header lines if given."""
    head = [b"GET " + target + b" HTTP/1.1", b"Host: 127.0.0.1", *header_lines]
    return b"\r\n".join(head) + b"\r\n\r\n"


def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; the status, headers and body (``Content-Length`` long) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(raw)
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := client.recv(65536)):
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in header_lines)
        while len(body) < int(headers["Content-Length"]) and (chunk := client.recv(65536)):
            body += chunk
    return int(status_line.split()[1]), headers, body


@dataclass(frozen=True)
class Gunicorn:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def workers(self) -> set[str]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return set(children.read_text().split())


@contextmanager
def start_gunicorn(
    database_url: str,
    log_path: Path,
    *,
    args: Sequence[str] = (),
    bind: bool = True,
    **env: str,
) -> Iterator[Gunicorn]:
    """gunicorn with ``movies/config/gunicorn.py`` on a free loopback port, for the block.

    Its stdout and stderr go to ``log_path``; ``env`` adds to the production settings.
    Without ``bind``, the port is only given as ``PORT``, as a platform gives it, and the
    configuration chooses the address.
    """
    port = free_port()
    if not bind:
        env = {**env, "PORT": str(port)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(GUNICORN),
                "--chdir",
                str(settings.BASE_DIR),
                "--config",
                str(GUNICORN_CONFIG),
                *(["--bind", f"127.0.0.1:{port}"] if bind else []),
                "--workers",
                str(WORKERS),
                "--no-control-socket",
                *args,
                "config.wsgi",
            ],
            env=app_environment(database_url, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Gunicorn(process=process, port=port, log_path=log_path)
    try:
        booted = waiting.eventually(
            lambda: len(server.workers()) == WORKERS, seconds=STARTUP_SECONDS
        )
        assert booted, server.log()
        assert waiting.eventually(lambda: answers(port), seconds=STARTUP_SECONDS), server.log()
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
