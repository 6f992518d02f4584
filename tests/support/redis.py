"""The real Redis the tests use: the suite's ``REDIS_URL``, or the local default."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_URL = "redis://127.0.0.1:6379/15"


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int
    database: str

    def url(self, *, port: int | None = None) -> str:
        """The URL of the tests' database on this server, or through a proxy's ``port``."""
        if port is None:
            return f"redis://{self.host}:{self.port}/{self.database}"
        return f"redis://127.0.0.1:{port}/{self.database}"

    def answers(self) -> bool:
        try:
            socket.create_connection((self.host, self.port), timeout=0.2).close()
            return True
        except OSError:
            return False


def redis_server() -> RedisServer:
    """Where the tests' Redis is: ``REDIS_URL`` when the suite runs with one."""
    parts = urlsplit(os.environ.get("REDIS_URL") or DEFAULT_URL)
    return RedisServer(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 6379,
        database=parts.path.strip("/") or "0",
    )
