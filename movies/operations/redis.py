"""Redis that fails fast: one failed command, then Redis is left alone for a while.

Redis holds the response cache, the published catalogue version and the
throttle counts; the service answers without it (IGNORE_EXCEPTIONS), only
slower. But a Redis that hangs costs a socket timeout per command, and a read
sends several; a dead one fails each command anew. So every command of the
cache's client (django-redis's REDIS_CLIENT_CLASS, FailFastRedis) goes through
a circuit breaker, one per process:

- a command that fails to reach Redis (refused, timed out) or that Redis
  refuses to serve (out of memory, read-only, unable to persist) opens it: the
  outage is logged once, as one line, and for REDIS_RETRY_SECONDS every
  command fails at once with RedisSkipped, without touching the network;
- then the next command first writes a probe key (a full Redis answers reads
  but refuses writes): if Redis takes it, the breaker closes and the end of
  the outage is logged; if not, it stays open for another REDIS_RETRY_SECONDS,
  silently.

A request therefore spends at most one timeout on a hung Redis, and an outage
logs two lines, however many requests it lasts. Throttles count in process
memory meanwhile (operations.throttling).
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

PROBE_KEY = "movies:redis-probe"
PROBE_TTL_MS = 1000
UNAVAILABLE = "Redis unavailable (%s: %s): skipped for %s s at a time until it answers"
BACK = "Redis answers again, after %.1f s"


class RedisSkipped(redis.ConnectionError):
    """A command not sent: Redis failed moments ago and is being left alone."""


def refuses_service(error: redis.ResponseError) -> bool:
    """Whether Redis answered that it cannot serve writes now (not that a command was wrong)."""
    if isinstance(error, redis.exceptions.OutOfMemoryError | redis.exceptions.ReadOnlyError):
        return True
    return str(error).startswith(("OOM ", "MISCONF ", "READONLY "))


class CircuitBreaker:
    """This process's view of Redis: reachable, or failed since some moment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.retry_at = 0.0

    @property
    def open(self) -> bool:
        return self.down_since is not None

    def due_for_retry(self) -> bool:
        return time.monotonic() >= self.retry_at

    def trip(self, error: Exception) -> None:
        """Redis failed: skip it for REDIS_RETRY_SECONDS; log the outage if it starts now."""
        pause = settings.REDIS_RETRY_SECONDS
        with self._lock:
            starts = self.down_since is None
            now = time.monotonic()
            if starts:
                self.down_since = now
            self.retry_at = now + pause
        if starts:
            logger.error(UNAVAILABLE, type(error).__name__, error, pause)

    def close(self) -> None:
        """Redis answered: use it again; log the end of the outage if there was one."""
        with self._lock:
            since, self.down_since, self.retry_at = self.down_since, None, 0.0
        if since is not None:
            logger.warning(BACK, time.monotonic() - since)


BREAKER = CircuitBreaker()


class FailFastRedis(redis.Redis):
    """redis-py's client, every command through this process's CircuitBreaker."""

    def execute_command(self, *args, **options):
        if BREAKER.open and not (BREAKER.due_for_retry() and self._probe()):
            raise RedisSkipped("Redis failed moments ago; not tried again yet")
        return self._through_breaker(super().execute_command, *args, **options)

    def _probe(self) -> bool:
        """Whether Redis takes a write again (closing the breaker), else open it anew."""
        try:
            self._through_breaker(
                super().execute_command, "SET", PROBE_KEY, b"1", "PX", PROBE_TTL_MS
            )
        except redis.RedisError:
            return False
        BREAKER.close()
        return True

    @staticmethod
    def _through_breaker(command, *args, **options):
        try:
            return command(*args, **options)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            BREAKER.trip(error)
            raise
        except redis.ResponseError as error:
            if refuses_service(error):
                BREAKER.trip(error)
            raise


class OutageFilter(logging.Filter):
    """Leaves out reports of Redis errors during an outage (the command that started it, or
    one the breaker skipped): CircuitBreaker logs the outage once."""

    def filter(self, record: logging.LogRecord) -> bool:
        errors = [record.exc_info[1]] if record.exc_info else []
        if isinstance(record.args, tuple):
            errors += [arg for arg in record.args if isinstance(arg, BaseException)]
        return not (BREAKER.open and any(isinstance(e, redis.RedisError) for e in errors))
