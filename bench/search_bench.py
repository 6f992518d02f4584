"""Latency of /api/movies searches, in-process and through gunicorn.

``python bench/search_bench.py --database-url URL --label LABEL [--iterations 30]
[--warmups 3] [--modes inprocess,gunicorn] [--rare-term auto]``

A fixed mix of list requests (the README's searches, broad and narrow terms, a
rare and a missing term, a deep page, every ordering and the unfiltered list)
is run against an existing, filled database, which is only read.

Every measured request is a cold one for the server-side response cache:

- in-process (Django's test ``Client``, the full middleware stack), the
  process-local cache is cleared before each request, outside the timing;
- through gunicorn (2 sync workers, started and stopped here), each request
  carries a unique ``_bench=<nonce>-<n>`` parameter. The API ignores unknown
  parameters but ``catalog.api.caching.request_fingerprint`` keys the cache on
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

The result goes to ``bench/results/search-<label>.json`` with the machine's and
the code's facts, and a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BenchError, host_facts, run, say, write_json  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
APP_DIR = REPO_ROOT / "movies"
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
LIST_PATH = "/api/movies"
CACHE_BUST_PARAM = "_bench"
# The app's environment for every benchmark: DEBUG off, no throttling.
APP_ENV = {
    "SECRET_KEY": "bench",
    "THROTTLE_ANON_RATE": "",
    "THROTTLE_USER_RATE": "",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LOG_LEVEL": "WARNING",
}
# Searches with a few to a few dozen matches are tried in this order; numbers
# come last because in a million generated movies every title word and name
# occurs hundreds of times, while a rare popularity value does not.
RARE_CANDIDATES = ("umberto", "troopers", "wilderpeople", "18.4", "19.9", "20.9", "17.9")
RARE_RANGE = (5, 50)
TARGET_P95_MS = {"postgresql": 20.0, "sqlite": 50.0}
STATEMENT_REPEAT = 5


@dataclass(frozen=True)
class Query:
    label: str
    params: str  # the query string, without "?"

    @property
    def path(self) -> str:
        return f"{LIST_PATH}?{self.params}" if self.params else LIST_PATH


def query_mix(rare_term: str) -> list[Query]:
    """The README's searches, then broad, narrow, empty, deep and ordered lists."""
    readme = [
        "search=titanic",
        "search=war&limit=10&offset=0",
        "search=War",
        "search=the,war",
        "search=titanic,james",
        "search=the,john,70,7",
        "search=the,john,70,7,war&limit=10&offset=0",
    ]
    queries = [Query(params.replace("search=", "", 1), params) for params in readme]
    queries += [
        Query("drama,crime", "search=drama,crime"),
        Query("7", "search=7"),
        Query("the", "search=the"),
        Query(f"rare: {rare_term}", f"search={rare_term}"),
        Query("no match: zzqqxj", "search=zzqqxj"),
        Query("deep page: war offset 5000", "search=war&offset=5000"),
    ]
    for ordering in ("name", "-name", "popularity", "-popularity", "imdb_score", "-imdb_score"):
        queries.append(Query(f"ordering={ordering}", f"ordering={ordering}"))
    queries.append(Query("unfiltered list", ""))
    return queries


# -- statistics ---------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile, interpolated linearly between the closest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise(samples_ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples_ms, 50), 2),
        "p95_ms": round(percentile(samples_ms, 95), 2),
        "p99_ms": round(percentile(samples_ms, 99), 2),
        "min_ms": round(min(samples_ms), 2),
        "max_ms": round(max(samples_ms), 2),
        "mean_ms": round(statistics.fmean(samples_ms), 2),
    }


# -- facts --------------------------------------------------------------------


def engine_of(database_url: str) -> str:
    scheme = urlsplit(database_url).scheme
    if scheme.startswith("postgres") or scheme == "pgsql":
        return "postgresql"
    if scheme == "sqlite":
        return "sqlite"
    raise BenchError(f"unsupported DATABASE_URL scheme: {database_url!r}")


def postgres_version(database_url: str) -> str | None:
    try:
        return run(["psql", database_url, "-X", "-qtAc", "SHOW server_version"])
    except (BenchError, FileNotFoundError):
        return None


def machine_facts(database_url: str | None = None) -> dict[str, Any]:
    """CPU, memory, OS and versions of what the benchmark runs on."""
    import sqlite3

    facts: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **host_facts(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": None,
    }
    try:
        import django

        facts["django"] = django.get_version()
    except ImportError:
        facts["django"] = None
    if database_url and engine_of(database_url) == "postgresql":
        facts["postgresql"] = postgres_version(database_url)
    return facts


def code_fingerprint(app_dir: Path) -> str:
    """A hash of the app's Python files."""
    digest = hashlib.sha256()
    for path in sorted(app_dir.rglob("*.py")):
        digest.update(str(path.relative_to(app_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _git(*args: str) -> str | None:
    try:
        return run(["git", "-C", str(REPO_ROOT), *args])
    except (BenchError, FileNotFoundError):
        return None


def app_snapshot(source: str, into: Path) -> Path:
    """The ``movies/`` directory to measure, frozen for the whole run.

    Others edit the working tree while benchmarks run, so by default the
    in-process run and the gunicorn workers load a copy taken at the start
    (``worktree``); ``head`` measures the last commit, ``live`` the tree itself.
    """
    if source == "live":
        return APP_DIR
    target = into / "movies"
    if source == "worktree":
        shutil.copytree(APP_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    elif source == "head":
        archive = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "archive", "HEAD", "movies"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    else:
        raise BenchError(f"--source is worktree, head or live, got {source!r}")
    return target


def add_source_argument(parser: argparse.ArgumentParser) -> None:
    """``--source``: which app the benchmark measures (see app_snapshot)."""
    parser.add_argument(
        "--source",
        default="worktree",
        choices=("worktree", "head", "live"),
        help="the app measured: a copy of the working tree taken at the start (default), "
        "the last commit, or the live working tree",
    )


def warn_if_code_changed(app_dir: Path, code: dict[str, Any], result: dict[str, Any]) -> None:
    """Mark the result when the measured app's files changed during the run."""
    if code_fingerprint(app_dir) != code["app_code_sha256"]:
        result["warning"] = "the app's code changed on disk during the run"
        say(f"warning: {result['warning']}")


def code_facts(app_dir: Path, source: str) -> dict[str, Any]:
    status = _git("status", "--porcelain", "--", "movies")
    return {
        "source": source,
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_files_in_movies": (
            [line.split(maxsplit=1)[-1] for line in status.splitlines()]
            if status and source != "head"
            else []
        ),
        "app_code_sha256": code_fingerprint(app_dir),
    }


# -- gunicorn -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "REDIS_URL")}
    env.update(APP_ENV)
    env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


class Gunicorn:
    """A gunicorn master this benchmark starts, waits for, and stops."""

    def __init__(
        self,
        app: str,
        *,
        chdir: Path,
        env: dict[str, str],
        workers: int = 2,
        ready_path: str = "/",
        metrics: bool = False,
    ) -> None:
        self.port = free_port()
        self.app = app
        self.chdir = chdir
        self.env = dict(env)
        self.workers = workers
        self.ready_path = ready_path
        self.metrics_dir: Path | None = None
        if metrics:
            # Shared by the workers, so /metrics counts both of them.
            self.metrics_dir = Path(tempfile.mkdtemp(prefix="movies-bench-prom-"))
            self.env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        descriptor, log = tempfile.mkstemp(prefix="movies-bench-gunicorn-", suffix=".log")
        os.close(descriptor)
        self.log = Path(log)
        self.process: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        gunicorn = VENV_BIN / "gunicorn"
        return [
            str(gunicorn if gunicorn.exists() else "gunicorn"),
            "--chdir",
            str(self.chdir),
            self.app,
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
        ]

    def __enter__(self) -> Gunicorn:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited early: {self.log.read_text()[-2000:]}")
            try:
                status, _, _ = http_get(self.port, self.ready_path)
                if status < 500:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        log = self.log.read_text()[-2000:]
        self.__exit__(BenchError, None, None)
        raise BenchError(f"gunicorn did not answer in 60s: {log}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.metrics_dir is not None:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
        if exc[0] is None:
            self.log.unlink(missing_ok=True)  # kept when something went wrong

    def metrics(self) -> dict[str, dict[str, float]]:
        return read_metrics(self.port)


def http_get(
    port: int, path: str, connection: http.client.HTTPConnection | None = None
) -> tuple[int, dict[str, str], bytes]:
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        if own:
            connection.close()


def read_metrics(port: int) -> dict[str, dict[str, float]]:
    """Requests and database queries per route, from the app's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    status, _, body = http_get(port, "/metrics")
    if status != 200:
        raise BenchError(f"/metrics answered {status}")
    totals: dict[str, dict[str, float]] = {"requests": {}, "queries": {}}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            route = sample.labels.get("route")
            if sample.name == "movies_http_requests_total":
                totals["requests"][route] = totals["requests"].get(route, 0.0) + sample.value
            elif sample.name == "movies_db_queries_total":
                totals["queries"][route] = totals["queries"].get(route, 0.0) + sample.value
    return totals


def metrics_delta(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, Any]:
    """Requests and queries per route between two reads of /metrics (itself excluded)."""
    routes = {}
    for route, count in after["requests"].items():
        requests = count - before["requests"].get(route, 0.0)
        if requests <= 0 or route == "metrics":
            continue
        queries = after["queries"].get(route, 0.0) - before["queries"].get(route, 0.0)
        routes[route] = {
            "requests": int(requests),
            "db_queries": int(queries),
            "db_queries_per_request": round(queries / requests, 2),
        }
    return routes


# -- the benchmark --------------------------------------------------------------


def setup_django(database_url: str, app_dir: Path) -> None:
    os.environ.pop("DEBUG", None)
    os.environ.pop("REDIS_URL", None)  # cache.clear() must clear this process's cache only
    os.environ.update(APP_ENV)
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(app_dir))
    import django

    django.setup()


def choose_rare_term(requested: str) -> tuple[str, int]:
    """The requested term, or the first candidate with a few to a few dozen matches."""
    from catalog.models import Movie
    from catalog.search import search_movies

    def count(term: str) -> int:
        return search_movies(Movie.objects.all(), term).count()

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

    def wrapper(execute, sql, params, many, context):
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
        raise BenchError(f"status {status}: {body[:500]!r}")
    data = json.loads(body)
    return {
        "count": data["count"],
        "count_exact": data["count_exact"],
        "results": len(data["results"]),
    }


def run_inprocess(queries: Sequence[Query], rounds: int, warmups: int) -> dict[str, Any]:
    from django.core.cache import cache
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT="application/json")
    db_ms: dict[str, list[float]] = {q.label: [] for q in queries}

    def one(query: Query, sequence: int) -> tuple[float, dict[str, Any]]:
        cache.clear()
        with db_timer() as spent:
            started = time.perf_counter()
            response = client.get(query.path)
            elapsed = (time.perf_counter() - started) * 1000
        db_ms[query.label].append(spent[0] * 1000)
        return elapsed, response_facts(response.status_code, response.content)

    results = interleaved(queries, rounds, warmups, one)
    for query in queries:
        entry = results[query.label]
        entry.update(summarise(entry["samples_ms"]))
        timed = db_ms[query.label][warmups:]
        entry["db_execute_p50_ms"] = round(percentile(timed, 50), 2)
    return results


def run_gunicorn(
    queries: Sequence[Query], rounds: int, warmups: int, database_url: str, app_dir: Path
) -> dict[str, Any]:
    env = app_environment(database_url)
    nonce = secrets.token_hex(4)
    with Gunicorn(
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
            status, _, body = http_get(server.port, path, connection)
            elapsed = (time.perf_counter() - started) * 1000
            delta = metrics_delta(before, server.metrics())
            per_query_queries[query.label].extend(
                route["db_queries_per_request"] for route in delta.values()
            )
            return elapsed, response_facts(status, body)

        total_before = server.metrics()
        results = interleaved(queries, rounds, warmups, one)
        total = metrics_delta(total_before, server.metrics())
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
            if not sql.lstrip().upper().startswith("SELECT"):
                raise BenchError(f"{query.label} wrote to the database: {sql[:200]}")
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


def explain(sql: str, engine: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if engine == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return [" ".join(str(part) for part in row) for row in cursor.fetchall()]


# -- output ---------------------------------------------------------------------


def markdown_table(result: dict[str, Any]) -> str:
    modes = result["modes"]
    target = result["target_p95_ms"]
    header = ["query", "count", "exact", "rows"]
    if "inprocess" in modes:
        header += ["in-proc p50", "p95", "p99", "DB exec p50"]
    if "gunicorn" in modes:
        header += ["gunicorn p50", "p95", "p99", "SQL/req"]
    header.append(f"p95 < {target:g} ms")
    lines = [
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 2) + ":-:|",
    ]
    for query in result["queries"]:
        label = query["label"]
        first = (
            modes.get("inprocess", {}).get("queries", {}).get(label)
            or modes["gunicorn"]["queries"][label]
        )
        cells = [
            f"`{label}`",
            f"{first['count']:,}",
            "yes" if first["count_exact"] else "no",
            str(first["results"]),
        ]
        if "inprocess" in modes:
            q = modes["inprocess"]["queries"][label]
            cells += [f"{q['p50_ms']:.1f}", f"{q['p95_ms']:.1f}", f"{q['p99_ms']:.1f}"]
            cells.append(f"{q['db_execute_p50_ms']:.1f}")
        if "gunicorn" in modes:
            q = modes["gunicorn"]["queries"][label]
            cells += [f"{q['p50_ms']:.1f}", f"{q['p95_ms']:.1f}", f"{q['p99_ms']:.1f}"]
            per_request = q["db_queries_per_request"]
            cells.append("-" if per_request is None else f"{per_request:g}")
        # Server-side: in-process when measured, else through gunicorn.
        server_p95 = (modes.get("inprocess") or modes["gunicorn"])["queries"][label]["p95_ms"]
        cells.append("yes" if server_p95 < target else "**no**")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--label", required=True, help="names the result file: search-LABEL.json")
    parser.add_argument("--iterations", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmups", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--modes", default="inprocess,gunicorn")
    parser.add_argument(
        "--rare-term", default="auto", help=f"a term with {RARE_RANGE[0]}-{RARE_RANGE[1]} matches"
    )
    parser.add_argument("--target-p95-ms", type=float, default=None)
    parser.add_argument("--no-explain", action="store_true", help="skip the SQL breakdown")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    add_source_argument(parser)
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if not modes or set(modes) - {"inprocess", "gunicorn"}:
        parser.error("--modes takes inprocess and/or gunicorn")
    if args.iterations < 2 or args.warmups < 0:
        parser.error("--iterations must be 2 or more and --warmups 0 or more")

    workdir = Path(tempfile.mkdtemp(prefix="movies-bench-search-"))
    try:
        engine = engine_of(args.database_url)
        target = args.target_p95_ms or TARGET_P95_MS[engine]
        machine = machine_facts(args.database_url)
        app_dir = app_snapshot(args.source, workdir)
        code = code_facts(app_dir, args.source)
        setup_django(args.database_url, app_dir)
        from catalog.models import Movie

        movies = Movie.objects.count()
        rare_term, rare_count = choose_rare_term(args.rare_term)
        say(f"{movies:,} movies; rare term {rare_term!r} matches {rare_count}")
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
            say(
                f"[{args.label}] {mode}: {len(queries)} queries x {args.warmups}+{args.iterations}"
            )
            started = time.perf_counter()
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
            say(f"[{args.label}] capturing SQL")
            statements = capture_statements(queries)
            reference = result["modes"].get("inprocess") or result["modes"]["gunicorn"]
            for query in queries:
                entry = {"statements": statements[query.label]}
                if reference["queries"][query.label]["p95_ms"] >= target:
                    slowest = max(statements[query.label], key=lambda s: s["median_ms"])
                    entry["explain_of_slowest"] = {
                        "sql": slowest["sql"],
                        "plan": explain(slowest["sql"], engine),
                    }
                result.setdefault("sql", {})[query.label] = entry
        result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        warn_if_code_changed(app_dir, code, result)
    except BenchError as error:
        say(f"error: {error}")
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    path = write_json(args.results_dir / f"search-{args.label}.json", result)
    say(f"wrote {path}")
    sys.stdout.write(markdown_table(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
