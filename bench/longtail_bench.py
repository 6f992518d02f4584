"""Latency of the long tail: thousands of distinct requests, each sent once, none cached.

``python -m bench.longtail_bench --database-url URL --label LABEL [--queries 10000]
[--seed 0] [--source worktree] [--source COMMIT ...] [--modes inprocess,nginx]
[--chunks 10] [--explain 8]``

The requests (bench.longtail_queries) are drawn from the catalogue's own titles,
words, directors and genres, read from the database first: list searches in
every ordering, deep pages, numbers and suggestions, as people type them. Each
is sent once per code version measured, from a freshly started process, and
never answered from the response cache:

- in-process: Django's test ``Client`` in a child process that imports the
  code measured; its cache is per-process memory, emptied before each request
  outside the timing;
- nginx: gunicorn with the production settings (2 sync workers) behind nginx
  with ``deploy/nginx.conf``, started afresh; the cache is per-worker memory
  and each request carries a unique ``_bench=`` parameter, which the cache
  keys on, so none is a hit. The client keeps its connection to nginx.

``--source`` names a code version, as many times as needed: ``worktree`` (a
copy of the working tree, the default), ``head``, ``live`` or any commit
(``git archive``). All run on the same database. The requests are cut into
``--chunks`` consecutive pieces, and every version runs each piece in a new
process, the versions' order alternating from piece to piece, so that the
machine's noise and the database's warming fall on all versions alike. Each
process sends one untimed ``/healthz`` first (imports, the connection).

Per kind (lists per ordering, deep pages, numbers, suggestions) the result has
p50/p95/p99, errors, and the slowest requests; the last source's slowest
in-process requests are run again with their SQL captured and explained
(EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL; by then their pages are cached).
The result goes to ``longtail-<label>.json`` in the results directory, its
table is printed (bench.report).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import harness
from bench.longtail_queries import (
    FACETS,
    HIGHLIGHT,
    KINDS,
    LIST,
    MIXES,
    ORDERINGS,
    SYNTAX,
    SYNTAX_SHAPES,
    UNMARKED,
    LongtailQuery,
    connect,
    long_tail,
    vocabulary_of,
)

CACHE_BUST_PARAM = "_bench"
SLOWEST_KEPT = 10
# The targets, by database: p95 and p99 of every list kind, p95 of suggestions, nginx's p95.
TARGETS: dict[str, dict[str, float | None]] = {
    "postgresql": {
        "list_p95": 20.0,
        "list_p99": 50.0,
        "suggest_p95": 15.0,
        "nginx_p95": 30.0,
        "facets_p95": 30.0,
    },
    "sqlite": {
        "list_p95": 50.0,
        "list_p99": None,
        "suggest_p95": 30.0,
        "nginx_p95": None,
        "facets_p95": 50.0,
    },
}


# -- one process's run ------------------------------------------------------------


def measure_inprocess(paths: Sequence[str]) -> list[tuple[float, int, float]]:
    """Each path once through the test client: (milliseconds, status, of which in execute)."""
    from django.core.cache import cache
    from django.test import Client

    from bench.search_bench import db_timer

    client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT="application/json")
    client.get("/healthz")
    timings = []
    for path in paths:
        cache.clear()
        with db_timer() as spent:
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
        timings.append((elapsed, response.status_code, spent[0] * 1000))
    return timings


def measure_nginx(
    paths: Sequence[str], app_dir: Path, database_url: str
) -> list[tuple[float, int, float]]:
    """Each path once through nginx and freshly started gunicorn workers, never a cache hit."""
    from deploy.nginx import Nginx

    env = harness.app_environment(database_url, DEBUG="0", NUM_PROXIES="1")
    for name in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "PORT"):
        env.pop(name, None)
    nonce = secrets.token_hex(4)
    timings = []
    with (
        harness.ProductionGunicorn(
            "config.wsgi", chdir=app_dir, env=env, ready_path="/healthz"
        ) as server,
        Nginx(port=harness.free_port(), upstream=f"127.0.0.1:{server.port}") as nginx,
    ):
        connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=60)
        harness.http_get(nginx.port, "/healthz", connection)
        for number, path in enumerate(paths):
            separator = "&" if "?" in path else "?"
            busted = f"{path}{separator}{CACHE_BUST_PARAM}={nonce}-{number}"
            started = time.perf_counter()
            try:
                status, _, _ = harness.http_get(nginx.port, busted, connection)
            except (OSError, http.client.HTTPException):
                connection.close()
                status = 0
            timings.append(((time.perf_counter() - started) * 1000, status, 0.0))
        connection.close()
    return timings


def explain_slowest(paths: Sequence[str], engine: str) -> dict[str, Any]:
    """Each path's SQL, timed statement by statement, with the plan of the slowest."""
    from bench.search_bench import Query, sql_breakdown

    queries = []
    for path in paths:
        endpoint, _, params = path.partition("?")
        queries.append(Query(path, params, endpoint))
    always = {query.label: {"p95_ms": float("inf")} for query in queries}
    return sql_breakdown(queries, always, 0.0, engine)


def child(args: argparse.Namespace) -> int:
    """In the process that imports the code measured: time or explain ``--paths``."""
    paths = json.loads(Path(args.paths).read_text())
    measured: Any
    if args.child == "nginx":
        measured = measure_nginx(paths, args.app_dir, args.database_url)
    else:
        harness.setup_django(args.database_url)
        if args.child == "inprocess":
            measured = measure_inprocess(paths)
        else:
            measured = explain_slowest(paths, harness.engine_of(args.database_url))
    harness.write_json(Path(args.output), {"measured": measured})
    return 0


# -- the run ------------------------------------------------------------------------


def run_piece(
    mode: str, paths: Sequence[str], app_dir: Path, database_url: str, workdir: Path
) -> Any:
    listed = workdir / "paths.json"
    listed.write_text(json.dumps(list(paths)))
    argv = ["--child", mode, "--paths", str(listed), "--database-url", database_url]
    argv += ["--app-dir", str(app_dir)]
    return harness.results_of_child("bench.longtail_bench", app_dir, argv, role=f"{mode} measure")[
        "measured"
    ]


def summarise(timings: Sequence[float]) -> dict[str, Any]:
    if not timings:
        return {"requests": 0}
    return {
        "requests": len(timings),
        "p50_ms": round(harness.percentile(timings, 50), 2),
        "p95_ms": round(harness.percentile(timings, 95), 2),
        "p99_ms": round(harness.percentile(timings, 99), 2),
        "max_ms": round(max(timings), 2),
        "mean_ms": round(statistics.fmean(timings), 2),
    }


def groups_of(queries: Sequence[LongtailQuery]) -> list[str]:
    """The groups a result is reported by, lists first in ordering order."""
    present = {query.group for query in queries}
    lists = [f"{LIST} {ordering or 'relevance'}" for ordering in ORDERINGS]
    syntax = [f"{SYNTAX}: {shape}" for shape in SYNTAX_SHAPES]
    steering = [FACETS, HIGHLIGHT, UNMARKED]
    return [group for group in [*lists, *syntax, *steering, *KINDS] if group in present]


def summary(
    queries: Sequence[LongtailQuery], timings: Sequence[tuple[float, int, float]]
) -> dict[str, Any]:
    """Per group and per shape: latency, errors, and the slowest requests."""
    by_group: dict[str, Any] = {}
    for group in groups_of(queries):
        picked = [(q, t) for q, t in zip(queries, timings, strict=True) if q.group == group]
        entry = summarise([t[0] for _, t in picked])
        entry["db_execute_p50_ms"] = round(statistics.median(t[2] for _, t in picked), 2)
        entry["errors"] = sum(1 for _, t in picked if t[1] != 200)
        by_group[group] = entry
    by_shape = {
        shape: summarise([t[0] for q, t in zip(queries, timings, strict=True) if q.shape == shape])
        for shape in sorted({q.shape for q in queries})
    }
    ranked = sorted(zip(queries, timings, strict=True), key=lambda pair: -pair[1][0])
    lists = [t[0] for q, t in zip(queries, timings, strict=True) if q.kind != "suggest"]
    return {
        "all": summarise([t[0] for t in timings]),
        "all_lists": summarise(lists),
        "groups": by_group,
        "shapes": by_shape,
        "errors": [
            {"path": q.path, "status": t[1]}
            for q, t in zip(queries, timings, strict=True)
            if t[1] != 200
        ][:SLOWEST_KEPT],
        "slowest": [
            {"path": q.path, "ms": round(t[0], 1), "db_ms": round(t[2], 1)}
            for q, t in ranked[:SLOWEST_KEPT]
        ],
    }


def targets(engine: str, modes: dict[str, Any], source: str) -> list[dict[str, Any]]:
    """Whether ``source`` met the targets, per mode measured."""
    wanted: dict[str, Any] = TARGETS[engine]
    checks = []
    inprocess = modes.get("inprocess", {}).get(source)
    if inprocess:
        lists = {g: e for g, e in inprocess["groups"].items() if g not in ("suggest", FACETS)}
        worst95 = max(e["p95_ms"] for e in lists.values())
        checks.append(
            {
                "target": f"in-process p95 < {wanted['list_p95']:g} ms for every list kind",
                "measured": f"worst p95 {worst95:.1f} ms",
                "met": worst95 < wanted["list_p95"],
            }
        )
        if wanted["list_p99"]:
            worst99 = max(e["p99_ms"] for e in lists.values())
            checks.append(
                {
                    "target": f"in-process p99 < {wanted['list_p99']:g} ms for every list kind",
                    "measured": f"worst p99 {worst99:.1f} ms",
                    "met": worst99 < wanted["list_p99"],
                }
            )
        facets = inprocess["groups"].get(FACETS, {}).get("p95_ms")
        if facets is not None:
            checks.append(
                {
                    "target": f"in-process facets=genre p95 < {wanted['facets_p95']:g} ms",
                    "measured": f"p95 {facets:.1f} ms",
                    "met": facets < wanted["facets_p95"],
                }
            )
        suggest = inprocess["groups"].get("suggest", {}).get("p95_ms")
        if suggest is not None:
            checks.append(
                {
                    "target": f"in-process suggestions p95 < {wanted['suggest_p95']:g} ms",
                    "measured": f"p95 {suggest:.1f} ms",
                    "met": suggest < wanted["suggest_p95"],
                }
            )
    nginx = modes.get("nginx", {}).get(source)
    if nginx and wanted["nginx_p95"]:
        worst = max(e["p95_ms"] for e in nginx["groups"].values())
        checks.append(
            {
                "target": f"through nginx p95 < {wanted['nginx_p95']:g} ms for every kind",
                "measured": f"worst p95 {worst:.1f} ms",
                "met": worst < wanted["nginx_p95"],
            }
        )
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    harness.add_database_url_argument(parser)
    parser.add_argument("--label", help="names the result file: longtail-LABEL.json")
    parser.add_argument("--queries", type=int, default=10_000, help="distinct requests (10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--mix",
        choices=tuple(MIXES),
        default="longtail",
        help="longtail (default), or steering: searches with syntax",
    )
    parser.add_argument(
        "--source",
        action="append",
        help="a code version measured: worktree (default), head, live or a commit; repeatable",
    )
    parser.add_argument("--modes", default="inprocess,nginx")
    parser.add_argument("--chunks", type=int, default=10, help="pieces, each a new process (10)")
    parser.add_argument("--explain", type=int, default=8, help="slowest requests explained (8)")
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    # Given to the child processes that measure.
    parser.add_argument(
        "--child", choices=("inprocess", "nginx", "explain"), help=argparse.SUPPRESS
    )
    parser.add_argument("--paths", help=argparse.SUPPRESS)
    parser.add_argument("--app-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    harness.require_database_url(parser, args)
    if args.child:
        return child(args)
    if not args.label:
        parser.error("--label is required")
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if not modes or set(modes) - {"inprocess", "nginx"}:
        parser.error("--modes takes inprocess and/or nginx")
    if args.queries < 1 or not 1 <= args.chunks <= args.queries:
        parser.error("--queries must be at least 1, --chunks between 1 and --queries")
    path = args.results_dir / f"longtail-{args.label}.json"
    return harness.measure_and_publish(lambda: measure(args, modes, path), path)


def pieces(items: Sequence[Any], count: int) -> list[Sequence[Any]]:
    """``items`` cut into ``count`` consecutive pieces of nearly equal length."""
    size, extra = divmod(len(items), count)
    cuts = [index * size + min(index, extra) for index in range(count + 1)]
    return [items[start:end] for start, end in zip(cuts, cuts[1:], strict=False)]


def measure(args: argparse.Namespace, modes: Sequence[str], path: Path) -> dict[str, Any]:
    engine = harness.engine_of(args.database_url)
    sources = args.source or ["worktree"]
    started = time.perf_counter()
    vocabulary = vocabulary_of(args.database_url)
    queries = long_tail(vocabulary, args.queries, seed=args.seed, mix=args.mix)
    harness.say(
        f"[{args.label}] {len(queries):,} requests from {len(vocabulary.titles):,} titles, "
        f"{len(vocabulary.words):,} words, {len(vocabulary.directors):,} directors"
    )
    result: dict[str, Any] = {
        "benchmark": "longtail",
        "label": args.label,
        "database": engine,
        "database_url": args.database_url,
        "movies": movie_count(args.database_url),
        "queries": len(queries),
        "seed": args.seed,
        "chunks": args.chunks,
        "sources": {},
        "cache": "in-process: per-process memory, emptied before each request; nginx: "
        f"per-worker memory and a unique {CACHE_BUST_PARAM}= parameter per request",
        "targets_ms": TARGETS[engine],
        "modes": {},
        "machine": harness.machine_facts(args.database_url),
    }
    with harness.scratch_dir("movies-bench-longtail-") as workdir:
        app_dirs: dict[str, Path] = {}
        for source in sources:
            snapshot = workdir / f"source-{len(app_dirs)}"
            snapshot.mkdir()
            app_dirs[source] = harness.app_snapshot(source, snapshot)
            result["sources"][source] = harness.code_facts(app_dirs[source], source)
        cut = pieces(queries, args.chunks)
        for mode in modes:
            timings: dict[str, list[tuple[float, int, float]]] = {s: [] for s in sources}
            mode_started = time.perf_counter()
            load = os.getloadavg()[0]
            for number, piece in enumerate(cut):
                order = sources if number % 2 == 0 else list(reversed(sources))
                for source in order:
                    harness.say(f"[{args.label}] {mode} {source}: piece {number + 1}/{len(cut)}")
                    timings[source] += run_piece(
                        mode, [q.path for q in piece], app_dirs[source], args.database_url, workdir
                    )
            result["modes"][mode] = {
                source: summary(queries, timings[source]) for source in sources
            }
            result["modes"][mode]["load_average"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            result["modes"][mode]["wall_seconds"] = round(time.perf_counter() - mode_started, 1)
            harness.write_json(path, result)  # what is measured so far
        last = sources[-1]
        if args.explain and "inprocess" in modes:
            slowest = [entry["path"] for entry in result["modes"]["inprocess"][last]["slowest"]]
            result["explained"] = {
                "source": last,
                "note": "run after the timed requests: their pages are in the buffer cache",
                "queries": run_piece(
                    "explain", slowest[: args.explain], app_dirs[last], args.database_url, workdir
                ),
            }
    result["targets"] = {source: targets(engine, result["modes"], source) for source in sources}
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def movie_count(database_url: str) -> int:
    connection = connect(database_url)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM catalog_movie")
        return int(cursor.fetchone()[0])
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
