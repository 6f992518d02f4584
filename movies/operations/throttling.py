"""The API's throttles, counting in process memory while Redis is skipped.

Django REST framework's throttles keep each client's recent requests in the
cache. With the cache ignoring Redis errors, a Redis that refuses writes (full,
with ``noeviction``) or is away would make every throttle count nothing and
let every request through, silently. These count in Redis while it works,
and in the process's own memory while operations.redis skips it: limits then
hold per process (a client may get up to the limit once from each worker), and
the outage is logged once by operations.redis.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from rest_framework import throttling

from operations.redis import BREAKER


class ThrottleCounts(BaseCache):
    """The cache the throttles read and write: Redis, or this process's memory while it fails.

    Throttles only get and set.
    """

    def __init__(self) -> None:
        super().__init__({})
        self.local = LocMemCache("throttle-counts", {"OPTIONS": {"MAX_ENTRIES": 100_000}})

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        value = cache.get(key, default, version)
        return self.local.get(key, default, version) if BREAKER.open else value

    def set(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        cache.set(key, value, timeout, version)
        if BREAKER.open:  # the write failed, or was skipped
            self.local.set(key, value, timeout, version)


COUNTS = ThrottleCounts()


class AnonRateThrottle(throttling.AnonRateThrottle):
    cache = COUNTS


class UserRateThrottle(throttling.UserRateThrottle):
    cache = COUNTS


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """Throttles views that name a ``throttle_scope`` (the token endpoint); steps aside else."""

    cache = COUNTS
