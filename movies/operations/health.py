"""``/livez`` and ``/healthz``: is this process alive, and can it serve?

``/livez`` is liveness: it answers ``200`` from the process alone, touching no
dependency, for a supervisor or orchestrator that restarts processes which stop
answering. A database outage must not fail it: restarting every web process
would not bring the database back, and they recover by themselves when it is.

``/healthz`` is readiness, the load balancer's check: ``200`` when this machine
can serve, ``503`` when it cannot. It cannot without the database. Redis, when
configured, only holds the response cache and the throttle counts, and the API
answers without it (uncached, unthrottled): Redis not answering is reported as
``"status": "degraded"``, still ``200``, since every machine shares the one Redis
and taking them all out of rotation would turn a slower service into none.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"
DEGRADED = "degraded"
CACHE_PROBE_KEY = "healthz"


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as error:
        logger.warning("Database unavailable: %s", error)
        return False


def _cache_ok() -> bool:
    # The cache ignores Redis's errors (IGNORE_EXCEPTIONS): a value that does not
    # come back is how an outage shows.
    try:
        cache.set(CACHE_PROBE_KEY, OK, 5)
        answered = cache.get(CACHE_PROBE_KEY) == OK
    except Exception as error:
        logger.warning("Redis unavailable: %s", error)
        return False
    if not answered:
        logger.warning("Redis unavailable: the health probe was not stored")
    return answered


def livez(request: HttpRequest) -> JsonResponse:
    """``200 {"status": "ok"}`` whenever the process answers; checks no dependency."""
    return JsonResponse({"status": OK})


def healthz(request: HttpRequest) -> JsonResponse:
    """Readiness: ``200`` with the database (Redis down is ``degraded``), else ``503``.

    The body names each check: ``{"status": "ok" | "degraded" | "unavailable",
    "checks": {"database": "ok" | "unavailable", "redis": ...}}``, Redis only
    when ``REDIS_URL`` is set.
    """
    checks = {"database": OK if _database_ok() else UNAVAILABLE}
    if settings.REDIS_URL:
        checks["redis"] = OK if _cache_ok() else UNAVAILABLE
    if checks["database"] != OK:
        status = UNAVAILABLE
    elif any(state != OK for state in checks.values()):
        status = DEGRADED
    else:
        status = OK
    return JsonResponse(
        {"status": status, "checks": checks}, status=503 if status == UNAVAILABLE else 200
    )
