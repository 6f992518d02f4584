"""The shipped nginx configuration (``deploy/nginx.conf``) for any port and upstream.

``python deploy/nginx.py --listen 80 --upstream 127.0.0.1:8000 > nginx.conf`` prints
it; ``Nginx`` runs it in a directory of its own, for the tests and the benchmarks.
Only the ``listen`` address and the upstream ``server`` change: everything else
is the shipped file as it stands.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

CONFIG = Path(__file__).with_name("nginx.conf")
SHIPPED_LISTEN = "listen 8080;"
SHIPPED_UPSTREAM = "server 127.0.0.1:8000;"
NOT_SHIPPED_ONCE = "deploy/nginx.conf must hold {line!r} exactly once"
NOT_INSTALLED = "nginx is not installed (Debian: apt-get install nginx; CI: .ci/install-nginx)"
DID_NOT_START = "nginx did not start: {log}"
STARTUP_SECONDS = 10.0


def render(*, listen: str, upstream: str) -> str:
    """The shipped configuration listening on ``listen``, proxying to ``upstream``."""
    text = CONFIG.read_text()
    for shipped, wanted in (
        (SHIPPED_LISTEN, f"listen {listen};"),
        (SHIPPED_UPSTREAM, f"server {upstream};"),
    ):
        if text.count(shipped) != 1:
            raise ValueError(NOT_SHIPPED_ONCE.format(line=shipped))
        text = text.replace(shipped, wanted)
    return text


def nginx_binary() -> str | None:
    # /usr/sbin is not on every user's PATH.
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


class Nginx:
    """nginx with the shipped configuration on a loopback port, in a temporary prefix."""

    def __init__(self, *, port: int, upstream: str) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError(NOT_INSTALLED)
        self.port = port
        self.prefix = Path(tempfile.mkdtemp(prefix="movies-nginx-"))
        # Run as root, nginx's workers drop to an unprivileged user that must reach
        # the temporary files it buffers bodies in.
        self.prefix.chmod(0o755)
        self.config = self.prefix / "nginx.conf"
        self.config.write_text(render(listen=f"127.0.0.1:{port}", upstream=upstream))
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
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log.read_text(errors="replace")
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
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="8080", help="address and/or port (8080)")
    parser.add_argument("--upstream", default="127.0.0.1:8000", help="gunicorn's address")
    args = parser.parse_args(argv)
    sys.stdout.write(render(listen=args.listen, upstream=args.upstream))
    return 0


if __name__ == "__main__":
    sys.exit(main())
