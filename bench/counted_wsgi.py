"""The app's WSGI application, with the response cache's hits and misses in /metrics.

For bench/load_bench.py, which serves ``bench.counted_wsgi:application`` so
that it can report a hit ratio: an answer replayed from the cache and one the
view produced look alike to a client. Every lookup of the cache middleware
(``CachedResponseMiddleware._current_entry``) is counted, by outcome, in
``movies_bench_response_cache_lookups_total``, aggregated over the workers
like the app's own metrics (PROMETHEUS_MULTIPROC_DIR).
"""

from __future__ import annotations

from prometheus_client import Counter

from config.wsgi import application  # sets Django up: the app's modules import after it

# isort: split
from catalog.web.caching import CachedResponseMiddleware

LOOKUPS = Counter(
    "movies_bench_response_cache_lookups_total", "Response cache lookups.", ["outcome"]
)
_current_entry = CachedResponseMiddleware._current_entry


def _counted_entry(request, key: str) -> tuple | None:
    entry = _current_entry(request, key)
    LOOKUPS.labels("hit" if entry is not None else "miss").inc()
    return entry


CachedResponseMiddleware._current_entry = staticmethod(_counted_entry)  # type: ignore[method-assign]

__all__ = ["application"]
