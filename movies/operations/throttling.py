"""The API's throttles: counting in process memory while Redis is skipped, and telling
clients their budget.

Django REST framework's throttles keep each client's recent requests in the
cache. With the cache ignoring Redis errors, a Redis that refuses writes (full,
with ``noeviction``) or is away would make every throttle count nothing and
let every request through, silently. These count in Redis while it works,
and in the process's own memory while operations.redis skips it: limits then
hold per process (a client may get up to the limit once from each worker), and
the outage is logged once by operations.redis.

Each throttle that applies to a request notes on it what it decided, from the
history it read to decide (no second read of the counts), and
RateLimitHeadersMiddleware answers with the most restrictive of them as the
IETF draft's ``RateLimit-Limit``, ``RateLimit-Remaining`` and
``RateLimit-Reset`` headers, and ``Retry-After`` on a 429. A request no
throttle applies to gets none of them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest, HttpResponse
from rest_framework import throttling

from operations.redis import BREAKER

LIMIT_HEADER = "RateLimit-Limit"
REMAINING_HEADER = "RateLimit-Remaining"
RESET_HEADER = "RateLimit-Reset"
RATE_LIMIT_HEADERS = (LIMIT_HEADER, REMAINING_HEADER, RESET_HEADER)
# Where the decisions of a request's throttles are noted, by throttle, on Django's request.
DECISIONS_ATTRIBUTE = "throttle_decisions"


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


@dataclass(frozen=True)
class RateLimit:
    """One throttle's decision on one request, as the client is told it."""

    limit: int
    # Requests left in the window, this one counted.
    remaining: int
    # Seconds until the window frees a request: the next one allowed, when refused.
    reset: float
    allowed: bool

    @property
    def reset_seconds(self) -> int:
        return math.ceil(self.reset)

    def headers(self) -> dict[str, str]:
        return {
            LIMIT_HEADER: str(self.limit),
            REMAINING_HEADER: str(self.remaining),
            RESET_HEADER: str(self.reset_seconds),
        }


def most_restrictive(decisions: Iterable[RateLimit]) -> RateLimit:
    """A refusal before any allowance, the one waiting longest (as DRF's Retry-After);
    else the fewest requests left, the later reset of equals."""
    return min(decisions, key=lambda d: (d.allowed, d.remaining, -d.reset))


def decisions_of(request) -> dict[str, RateLimit]:
    """The decisions noted on ``request`` (Django's, or DRF's around it), by throttle."""
    request = getattr(request, "_request", request)
    decisions = getattr(request, DECISIONS_ATTRIBUTE, None)
    if decisions is None:
        decisions = {}
        setattr(request, DECISIONS_ATTRIBUTE, decisions)
    return decisions


class NotingThrottle(throttling.SimpleRateThrottle):
    """A throttle that notes its decision on the request, when it applies to it.

    A request checked twice (the response cache's check, then the view's) keeps
    the last decision of each throttle.
    """

    cache = COUNTS
    decision: RateLimit | None = None
    # Set from the rate by DRF (ScopedRateThrottle: from the view's scope) before any decision.
    num_requests: int
    duration: int

    def allow_request(self, request, view) -> bool:
        allowed = super().allow_request(request, view)
        if self.decision is not None:
            decisions_of(request)[type(self).__name__] = self.decision
        return allowed

    def throttle_success(self) -> bool:
        super().throttle_success()
        # The oldest request in the window is the first to leave it.
        self.decision = RateLimit(
            limit=self.num_requests,
            remaining=self.num_requests - len(self.history),
            reset=self.history[-1] + self.duration - self.now,
            allowed=True,
        )
        return True

    def throttle_failure(self) -> bool:
        # The history (newest first) may hold more than the limit (requests counted
        # concurrently, a lowered rate): a request is allowed once all but
        # limit - 1 of them have left the window.
        last_to_leave = (
            self.history[self.num_requests - 1]
            if 0 < self.num_requests <= len(self.history)
            else self.now
        )
        self.decision = RateLimit(
            limit=self.num_requests,
            remaining=0,
            reset=last_to_leave + self.duration - self.now,
            allowed=False,
        )
        return False

    def wait(self) -> float | None:
        # DRF's estimate spreads the window over the requests left, and has none
        # past the limit: Retry-After says when the next request is allowed.
        return self.decision.reset if self.decision is not None else super().wait()


class AnonRateThrottle(NotingThrottle, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(NotingThrottle, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(NotingThrottle, throttling.ScopedRateThrottle):
    """Throttles views that name a ``throttle_scope`` (the token endpoint); steps aside else."""


class RateLimitHeadersMiddleware:
    """Tells each client the budget its throttles decided on (operations.throttling).

    Outside the response cache (catalog.web.caching): the headers are the
    client's own, set on each answer, a replayed one or a 304 included, and
    never kept with one.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        decisions = getattr(request, DECISIONS_ATTRIBUTE, None)
        if decisions:
            decision = most_restrictive(decisions.values())
            for name, value in decision.headers().items():
                response[name] = value
            if response.status_code == 429 and not decision.allowed:
                response.setdefault("Retry-After", str(decision.reset_seconds))
        return response
