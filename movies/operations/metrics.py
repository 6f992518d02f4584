"""Prometheus metrics: requests, latencies and database queries per route.

Every label takes its values from a fixed set, whatever clients send: a route
is the name of the URL pattern that matched (``movie-detail``), a made-up
method counts as "other" and a path no route matches as "unmatched", so
/metrics cannot be grown by requests (each label value is a time series kept
for the life of the worker).

Under gunicorn each worker keeps its own counters; set PROMETHEUS_MULTIPROC_DIR
to a directory the workers share to have /metrics aggregate them all
(prometheus_client's multiprocess mode).

Who may read them: with ``METRICS_TOKEN`` set, whoever sends it as a bearer
token; without one, with ``DEBUG`` off, only a scraper on this machine that
connects to the app itself (from loopback, through no proxy). Behind nginx every
request carries the X-Forwarded-For it appends, so nothing reaches the metrics
from outside unless the token is set.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from contextlib import ExitStack

from django.conf import settings
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

REQUESTS = Counter(
    "movies_http_requests_total", "HTTP requests served.", ["route", "method", "status"]
)
LATENCY = Histogram(
    "movies_http_request_duration_seconds",
    "Time to produce a response.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
DB_QUERIES = Counter("movies_db_queries_total", "Database queries run.", ["route"])

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "unmatched"
# Headers a proxy adds: a request that carries one came through a proxy.
FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
TOKEN_REQUIRED = "metrics token required\n"
LOCAL_ONLY = (
    "/metrics answers scrapers on this machine only (straight to the app, through no "
    "proxy); set METRICS_TOKEN to scrape it from elsewhere\n"
)


def _route(request: HttpRequest) -> str:
    """The name of the route that matched (namespaced: ``admin:index``), never the path.

    A route without a name is known by its view's dotted path, as Django names it.
    """
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else UNMATCHED_ROUTE


def _method(request: HttpRequest) -> str:
    return request.method if request.method in KNOWN_METHODS else OTHER_METHOD


class _QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class MetricsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        queries = _QueryCounter()
        with ExitStack() as stack:
            # Every alias: with read replicas, most reads run on one of them.
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(queries))
            response = self.get_response(request)
        route, method = _route(request), _method(request)
        LATENCY.labels(route, method).observe(time.perf_counter() - started)
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        if queries.count:
            DB_QUERIES.labels(route).inc(queries.count)
        return response


def is_local_scrape(request: HttpRequest) -> bool:
    """Whether the request comes straight from this machine: from loopback, through no proxy."""
    if any(header in request.headers for header in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; 404 when disabled, 401 without the configured token,
    403 from elsewhere than this machine when no token is configured and DEBUG is off."""
    if not settings.METRICS_ENABLED:
        raise Http404
    if settings.METRICS_TOKEN:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(sent.encode(), settings.METRICS_TOKEN.encode()):
            return HttpResponse(TOKEN_REQUIRED, status=401, content_type="text/plain")
    elif not settings.DEBUG and not is_local_scrape(request):
        return HttpResponse(LOCAL_ONLY, status=403, content_type="text/plain")
    registry = DEFAULT_REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
