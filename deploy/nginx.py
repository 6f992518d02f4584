"""The shipped nginx configuration (``deploy/nginx.conf``) for a machine, address and upstream.

``python deploy/nginx.py --listen 10.0.0.12:8080 --upstream 127.0.0.1:8000 > nginx.conf``
prints it; ``Nginx`` runs it in a directory of its own, for the tests, the
benchmarks and ``make serve``. Only three things change: the ``listen`` address,
the upstream ``server``, and the open files and connections of each worker,
which are lowered (in the shipped proportion) to what the machine lets a
process open (its hard ``RLIMIT_NOFILE``, ``ulimit -Hn``) when that is below the
shipped 40,000, so that nginx never fails to raise its limit. Everything else is
the shipped file as it stands.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

CONFIG = Path(__file__).with_name("nginx.conf")
SHIPPED_LISTEN = "listen 127.0.0.1:8080;"
SHIPPED_UPSTREAM = "server 127.0.0.1:8000;"
# Each worker's open files, and its connections: a proxied request holds two
# connections (the client's and gunicorn's) and may buffer to temporary files.
OPEN_FILES = 40000
CONNECTIONS = 16384
SHIPPED_OPEN_FILES = f"worker_rlimit_nofile {OPEN_FILES};"
SHIPPED_CONNECTIONS = f"worker_connections {CONNECTIONS};"
NOT_SHIPPED_ONCE = "deploy/nginx.conf must hold {line!r} exactly once"
NOT_INSTALLED = "nginx is not installed (Debian: apt-get install nginx; CI: .ci/install-nginx)"
DID_NOT_START = "nginx did not start: {log}"
STARTUP_SECONDS = 10.0


def open_files_allowed() -> int:
    """The most files this machine lets a process open: its hard RLIMIT_NOFILE."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return OPEN_FILES if hard == resource.RLIM_INFINITY else hard


def render(*, listen: str, upstream: str, open_files: int | None = None) -> str:
    """The shipped configuration listening on ``listen``, proxying to ``upstream``.

    Each worker opens at most ``open_files`` files (by default what this process
    may open, ``open_files_allowed()``), never more than the shipped 40,000, and
    takes connections in the shipped proportion to them.
    """
    files = min(OPEN_FILES, open_files_allowed() if open_files is None else open_files)
    text = CONFIG.read_text()
    for shipped, wanted in (
        (SHIPPED_LISTEN, f"listen {listen};"),
        (SHIPPED_UPSTREAM, f"server {upstream};"),
        (SHIPPED_OPEN_FILES, f"worker_rlimit_nofile {files};"),
        (SHIPPED_CONNECTIONS, f"worker_connections {CONNECTIONS * files // OPEN_FILES};"),
    ):
        if text.count(shipped) != 1:
            raise ValueError(NOT_SHIPPED_ONCE.format(line=shipped))
        text = text.replace(shipped, wanted)
    return text


def nginx_binary() -> str | None:
    # /usr/sbin is not on every user's PATH.
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


class Nginx:
    """nginx with the shipped configuration on a port (of loopback unless ``host`` says
    otherwise), in a temporary prefix.

    Its error log goes to ``prefix/nginx.log``, or to ``output`` (a file, such as the
    terminal's standard error) when given.
    """

    def __init__(
        self, *, port: int, upstream: str, host: str = "127.0.0.1", output: IO | None = None
    ) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError(NOT_INSTALLED)
        self.host = host
        self.port = port
        self.output = output
        self.prefix = Path(tempfile.mkdtemp(prefix="movies-nginx-"))
        # Run as root, nginx's workers drop to an unprivileged user that must reach
        # the temporary files it buffers bodies in.
        self.prefix.chmod(0o755)
        self.config = self.prefix / "nginx.conf"
        self.config.write_text(render(listen=f"{host}:{port}", upstream=upstream))
        self.log = self.prefix / "nginx.log"
        self.command = [
            binary,
            "-p",
            str(self.prefix),
            "-c",
            str(self.config),
            "-e",
            "stderr",
            "-g",
            "daemon off;",
        ]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Nginx:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=self.output or log,
                stderr=subprocess.STDOUT,
                # Stopped by __exit__, not by the terminal's Ctrl-C to its caller.
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log.read_text(errors="replace") if self.output is None else "see above"
                self.__exit__(None, None, None)
                raise RuntimeError(DID_NOT_START.format(log=log))
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # fast shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def _answers(self) -> bool:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "*") else self.host.strip("[]")
        try:
            with socket.create_connection((host, self.port), timeout=1):
                return True
        except OSError:
            return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--listen",
        default="127.0.0.1:8080",
        help="address and/or port (127.0.0.1:8080; a port alone is every interface)",
    )
    parser.add_argument("--upstream", default="127.0.0.1:8000", help="gunicorn's address")
    parser.add_argument(
        "--open-files",
        type=int,
        default=None,
        help="files nginx may open (default: this process's hard limit, ulimit -Hn)",
    )
    args = parser.parse_args(argv)
    sys.stdout.write(
        render(listen=args.listen, upstream=args.upstream, open_files=args.open_files)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
