"""Latency of /api/movies searches, in-process and through gunicorn.

``python -m bench.search_bench --database-url URL --label LABEL [--iterations 30]
[--warmups 3] [--modes inprocess,gunicorn] [--rare-term auto]``

A fixed mix of list requests (the legacy service's README searches, broad and narrow terms, a
rare and a missing term, a deep page, every ordering and the unfiltered list)
is run against an existing, filled database, which is only read.

Every measured request is a cold one for the server-side response cache:

- in-process (Django's test ``Client``, the full middleware stack), the
  process-local cache is cleared before each request, outside the timing;
- through gunicorn (2 sync workers, started and stopped here), each request
  carries a unique ``_bench=<nonce>-<n>`` parameter. The API ignores unknown
  parameters but ``catalog.web.caching.request_fingerprint`` keys the cache on
  every parameter, so each request misses. /metrics (aggregated over the
  workers with PROMETHEUS_MULTIPROC_DIR) gives the database queries per
  request, which shows that: a cache hit costs one query, a miss four or five.

Requests are interleaved: each round runs every query of the mix once, so
noise on this shared machine spreads over all queries alike. Percentiles are
linear interpolations over the ``--iterations`` timed rounds (with 30, p99 is
close to the maximum). After the timed rounds, the SQL of each query is
captured once and each statement timed on its own (execute + fetch, median of
5); queries whose in-process p95 misses the target get an EXPLAIN (ANALYZE,
BUFFERS) on PostgreSQL or EXPLAIN QUERY PLAN on SQLite.

The measuring runs in a child process that imports the snapshot of the app
(``harness.run_in_app``). The result goes to ``search-<label>.json`` in the
results directory (``--results-dir``, see bench.report) with the machine's and
the code's facts, and its table (``bench.report``) is printed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import harness
from tests.support.legacy import README_SEARCHES

LIST_PATH = "/api/movies"
CACHE_BUST_PARAM = "_bench"
# Searches with a few to a few dozen matches are tried in this order; numbers
# come last because in a million generated movies every title word and name
# occurs hundreds of times, while a rare popularity value does not.
RARE_CANDIDATES = ("umberto", "troopers", "wilderpeople", "18.4", "19.9", "20.9", "17.9")
RARE_RANGE = (5, 50)
TARGET_P95_MS = {"postgresql": 20.0, "sqlite": 50.0}
STATEMENT_REPEAT = 5
# What a read must never send. A read may open a transaction (did_you_mean sets
# pg_trgm's threshold for its own statements with SET LOCAL).
WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|TRUNCATE|COPY)\b", re.I)


SUGGEST_PATH = "/api/movies/suggest"


@dataclass(frozen=True)
class Query:
    label: str
    params: str  # the query string, without "?"
    endpoint: str = LIST_PATH

    @property
    def path(self) -> str:
        return f"{self.endpoint}?{self.params}" if self.params else self.endpoint


def readme_label(params: str) -> str:
    return params.removeprefix("search=")


def query_mix(rare_term: str) -> list[Query]:
    """The legacy service's README searches, then broad, narrow, empty, deep and ordered lists."""
    queries = [Query(readme_label(params), params) for params in README_SEARCHES]
    queries += [
        Query("drama,crime", "search=drama,crime"),
        Query("7", "search=7"),
        Query("the", "search=the"),
        Query("a", "search=a"),
        Query("the godfather", "search=the+godfather"),
        Query("typo: godfater (did you mean)", "search=godfater"),
        Query(f"rare: {rare_term}", f"search={rare_term}"),
        Query("no match: zzqqxj", "search=zzqqxj"),
        Query("deep page: war offset 5000", "search=war&offset=5000"),
    ]
    for ordering in ("name", "-name", "popularity", "-popularity", "imdb_score", "-imdb_score"):
        queries.append(Query(f"ordering={ordering}", f"ordering={ordering}"))
    queries.append(Query("unfiltered list", ""))
    for typed in SUGGESTIONS_TYPED:
        queries.append(Query(f"suggest: {typed}", f"q={typed.replace(' ', '+')}", SUGGEST_PATH))
    return queries


# What someone types into a search box: prefixes of one and more words, a typo,
# a word found only in directors, and one found nowhere in names or directors.
SUGGESTIONS_TYPED = ("th", "godf", "the godf", "star wa", "godfater", "spielb", "drama")


# -- statistics ---------------------------------------------------------------


def summarise(samples_ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(harness.percentile(samples_ms, 50), 2),
        "p95_ms": round(harness.percentile(samples_ms, 95), 2),
        "p99_ms": round(harness.percentile(samples_ms, 99), 2),
        "min_ms": round(min(samples_ms), 2),
        "max_ms": round(max(samples_ms), 2),
        "mean_ms": round(statistics.fmean(samples_ms), 2),
    }


# -- the benchmark --------------------------------------------------------------


def choose_rare_term(requested: str) -> tuple[str, int]:
    """The requested term, or the first candidate with a few to a few dozen matches."""
    from catalog.models import Movie
    from catalog.search import Search, search_movies

    def count(term: str) -> int:
        return search_movies(Movie.objects.all(), Search.parse(term)).count()

    if requested != "auto":
        return requested, count(requested)
    counts = {}
    for term in RARE_CANDIDATES:
        counts[term] = count(term)
        if RARE_RANGE[0] <= counts[term] <= RARE_RANGE[1]:
            return term, counts[term]
    term = min(counts, key=lambda t: abs(counts[t] - 20))
    return term, counts[term]


@contextmanager
def db_timer() -> Iterator[list[float]]:
    """Seconds spent in cursor.execute (fetching rows afterwards is not included)."""
    from django.db import connection

    spent = [0.0]

    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += time.perf_counter() - started

    with connection.execute_wrapper(wrapper):
        yield spent


def interleaved(
    queries: Sequence[Query],
    rounds: int,
    warmups: int,
    one: Callable[[Query, int], tuple[float, dict[str, Any]]],
) -> dict[str, dict[str, Any]]:
    """Run every query once per round; returns samples and the last response facts."""
    results: dict[str, dict[str, Any]] = {q.label: {"samples_ms": []} for q in queries}
    sequence = 0
    for round_number in range(warmups + rounds):
        for query in queries:
            sequence += 1
            elapsed_ms, facts = one(query, sequence)
            if round_number >= warmups:
                results[query.label]["samples_ms"].append(elapsed_ms)
            results[query.label].update(facts)
    return results


def response_facts(status: int, body: bytes) -> dict[str, Any]:
    if status != 200:
        raise harness.BenchError(f"status {status}: {body[:500]!r}")
    data = json.loads(body)
    return {
        # Suggestions have no count: their number is the count, exactly.
        "count": data.get("count", len(data["results"])),
        "count_exact": data.get("count_exact", True),
        "results": len(data["results"]),
    }


def run_inprocess(
    queries: Sequence[Query],
    rounds: int,
    warmups: int,
    *,
    accept: Callable[[Query], str] = lambda query: "application/json",
    facts: Callable[[Query, int, bytes], dict[str, Any]] = (
        lambda query, status, body: response_facts(status, body)
    ),
) -> dict[str, Any]:
    """Each query through Django's test client, the cache emptied before every request.

    ``accept``: the Accept header a query is sent with; ``facts``: what is
    recorded of its answer (response_facts by default).
    """
    from django.core.cache import cache
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    db_ms: dict[str, list[float]] = {q.label: [] for q in queries}

    def one(query: Query, sequence: int) -> tuple[float, dict[str, Any]]:
        cache.clear()
        with db_timer() as spent:
            started = time.perf_counter()
            response = client.get(query.path, HTTP_ACCEPT=accept(query))
            elapsed = (time.perf_counter() - started) * 1000
        db_ms[query.label].append(spent[0] * 1000)
        return elapsed, facts(query, response.status_code, response.content)

    results = interleaved(queries, rounds, warmups, one)
    for query in queries:
        entry = results[query.label]
        entry.update(summarise(entry["samples_ms"]))
        timed = db_ms[query.label][warmups:]
        entry["db_execute_p50_ms"] = round(harness.percentile(timed, 50), 2)
    return results


def run_gunicorn(
    queries: Sequence[Query], rounds: int, warmups: int, database_url: str, app_dir: Path
) -> dict[str, Any]:
    env = harness.app_environment(database_url)
    nonce = secrets.token_hex(4)
    with harness.Gunicorn(
        "config.wsgi", chdir=app_dir, env=env, ready_path="/healthz", metrics=True
    ) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        connects = [0]
        original_connect = connection.connect

        def counting_connect() -> None:
            connects[0] += 1
            original_connect()

        connection.connect = counting_connect  # type: ignore[method-assign]
        per_query_queries: dict[str, list[float]] = {q.label: [] for q in queries}

        def one(query: Query, sequence: int) -> tuple[float, dict[str, Any]]:
            separator = "&" if query.params else "?"
            path = f"{query.path}{separator}{CACHE_BUST_PARAM}={nonce}-{sequence}"
            before = server.metrics()
            started = time.perf_counter()
            status, _, body = harness.http_get(server.port, path, connection)
            elapsed = (time.perf_counter() - started) * 1000
            delta = harness.metrics_delta(before, server.metrics())
            per_query_queries[query.label].extend(
                route["db_queries_per_request"] for route in delta.values()
            )
            return elapsed, response_facts(status, body)

        total_before = server.metrics()
        results = interleaved(queries, rounds, warmups, one)
        total = harness.metrics_delta(total_before, server.metrics())
        connection.close()
    for query in queries:
        entry = results[query.label]
        entry.update(summarise(entry["samples_ms"]))
        counts = per_query_queries[query.label]
        entry["db_queries_per_request"] = round(statistics.median(counts), 2) if counts else None
    requests = (rounds + warmups) * len(queries)
    return {
        "queries": results,
        "tcp_connections_opened": connects[0],
        "requests": requests,
        "routes": total,
        "note": (
            "gunicorn's sync workers close the connection after each response, so "
            "http.client reconnects for every request (a loopback TCP handshake)."
            if connects[0] >= requests
            else "connections were kept alive"
        ),
    }


def capture_statements(queries: Sequence[Query]) -> dict[str, list[dict[str, Any]]]:
    """The SQL each query runs (one cold request), each statement timed on its own."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT="application/json")
    statements: dict[str, list[dict[str, Any]]] = {}
    for query in queries:
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            client.get(query.path)
        timed = []
        for executed in captured.captured_queries:
            sql = executed["sql"]
            if WRITES.match(sql):
                raise harness.BenchError(f"{query.label} wrote to the database: {sql[:200]}")
            if not sql.lstrip().upper().startswith("SELECT"):
                continue  # BEGIN, SET LOCAL, COMMIT: nothing to time alone
            samples = []
            with connection.cursor() as cursor:
                for _ in range(STATEMENT_REPEAT):
                    started = time.perf_counter()
                    cursor.execute(sql)
                    rows = len(cursor.fetchall())
                    samples.append((time.perf_counter() - started) * 1000)
            timed.append(
                {"sql": sql, "rows": rows, "median_ms": round(statistics.median(samples), 2)}
            )
        statements[query.label] = timed
    return statements


def sql_breakdown(
    queries: Sequence[Query], timed: dict[str, Any], target: float, engine: str
) -> dict[str, Any]:
    """Each query's statements, with the plan of the slowest where its p95 missed ``target``."""
    statements = capture_statements(queries)
    breakdown: dict[str, Any] = {}
    for query in queries:
        entry: dict[str, Any] = {"statements": statements[query.label]}
        if timed[query.label]["p95_ms"] >= target and statements[query.label]:
            slowest = max(statements[query.label], key=lambda s: s["median_ms"])
            entry["explain_of_slowest"] = {
                "sql": slowest["sql"],
                "plan": explain(slowest["sql"], engine),
            }
        breakdown[query.label] = entry
    return breakdown


def explain(sql: str, engine: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if engine == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return [" ".join(str(part) for part in row) for row in cursor.fetchall()]


# -- the run ----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    harness.add_database_url_argument(parser)
    parser.add_argument("--label", required=True, help="names the result file: search-LABEL.json")
    parser.add_argument("--iterations", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmups", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--modes", default="inprocess,gunicorn")
    parser.add_argument(
        "--rare-term", default="auto", help=f"a term with {RARE_RANGE[0]}-{RARE_RANGE[1]} matches"
    )
    parser.add_argument("--target-p95-ms", type=float, default=None)
    parser.add_argument("--no-explain", action="store_true", help="skip the SQL breakdown")
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    harness.add_source_argument(parser)
    # Given to the child process that measures: the snapshot it imports the app from.
    parser.add_argument("--app-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    harness.require_database_url(parser, args)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if not modes or set(modes) - {"inprocess", "gunicorn"}:
        parser.error("--modes takes inprocess and/or gunicorn")
    if args.iterations < 2 or args.warmups < 0:
        parser.error("--iterations must be 2 or more and --warmups 0 or more")
    if args.app_dir is None:
        argv = sys.argv[1:] if argv is None else argv
        return harness.run_in_snapshot(
            "bench.search_bench", args.source, argv, prefix="movies-bench-search-"
        )
    path = args.results_dir / f"search-{args.label}.json"
    return harness.measure_and_publish(lambda: measure(args, modes), path)


def measure(args: argparse.Namespace, modes: Sequence[str]) -> dict[str, Any]:
    """The whole benchmark, in the process that imports the app from ``args.app_dir``."""
    engine = harness.engine_of(args.database_url)
    target = args.target_p95_ms or TARGET_P95_MS[engine]
    machine = harness.machine_facts(args.database_url)
    app_dir = args.app_dir
    code = harness.code_facts(app_dir, args.source)
    harness.setup_django(args.database_url)
    from catalog.models import Movie

    movies = Movie.objects.count()
    rare_term, rare_count = choose_rare_term(args.rare_term)
    harness.say(f"{movies:,} movies; rare term {rare_term!r} matches {rare_count}")
    queries = query_mix(rare_term)
    result: dict[str, Any] = {
        "benchmark": "search",
        "label": args.label,
        "database": engine,
        "database_url": args.database_url,
        "movies": movies,
        "rare_term": {"term": rare_term, "matches": rare_count},
        "iterations": args.iterations,
        "warmups": args.warmups,
        "target_p95_ms": target,
        "cache": "cold: cache.clear() before each in-process request; a unique "
        f"{CACHE_BUST_PARAM}= parameter per gunicorn request",
        "queries": [{"label": q.label, "path": q.path} for q in queries],
        "modes": {},
        "machine": machine,
        "code": code,
    }
    for mode in modes:
        load = os.getloadavg()[0]
        harness.say(
            f"[{args.label}] {mode}: {len(queries)} queries x {args.warmups}+{args.iterations}"
        )
        started = time.perf_counter()
        measured: dict[str, Any]
        if mode == "inprocess":
            measured = {"queries": run_inprocess(queries, args.iterations, args.warmups)}
        else:
            measured = run_gunicorn(
                queries, args.iterations, args.warmups, args.database_url, app_dir
            )
        measured["load_average_before"] = round(load, 2)
        measured["load_average_after"] = round(os.getloadavg()[0], 2)
        measured["wall_seconds"] = round(time.perf_counter() - started, 1)
        result["modes"][mode] = measured
    if not args.no_explain:
        harness.say(f"[{args.label}] capturing SQL")
        reference = result["modes"].get("inprocess") or result["modes"]["gunicorn"]
        result["sql"] = sql_breakdown(queries, reference["queries"], target, engine)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    harness.warn_if_code_changed(app_dir, code, result)
    return result


if __name__ == "__main__":
    sys.exit(main())
