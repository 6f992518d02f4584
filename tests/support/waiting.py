"""Waiting for something that happens in another process: a server, a replica."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(condition: Callable[[], bool], *, seconds: float) -> bool:
    """Whether condition() holds within ``seconds``, asked every 50 ms."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
