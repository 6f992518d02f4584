"""The search page rendered on the server: latency per page, the response cache bypassed.

``python -m bench.page_bench --database-url URL --label LABEL [--iterations 30]
[--warmups 3] [--target-p95-ms MS] [--no-explain] [--no-api] [--source worktree|head|live]``

The database given, a catalogue loaded with populate_db (see docs/performance.md),
is only read. Each page of the mix (the home page, a title, ``drama,crime``
with a genre chip, a broad word and its second page, a misspelt title with its
"did you mean", genres alone, two movies' pages) is requested once per round,
in turn, each results page followed by the API's JSON of the same list (to
tell the page's own cost from the search's; ``--no-api`` leaves them out).
Requests go through Django's test ``Client`` with the full middleware stack,
DEBUG off (after collectstatic, as deployments run it), throttling off and a
process-local cache emptied before every request, so that each one is
rendered from the database (as search_bench measures the API). The time is
the whole request, from the client's call to the HTML in hand; the time spent
in cursor.execute is reported beside it. With ``--no-explain`` left out, each
page's SQL is captured once, each statement timed alone, and the plan of the
slowest statement of a page over the target is kept (EXPLAIN ANALYZE on
PostgreSQL, EXPLAIN QUERY PLAN on SQLite).

The measuring runs in a child process that imports a snapshot of the app
(``harness.run_in_app``). The result goes to ``page-<label>.json`` in the results
directory (``--results-dir``, see bench.report) with the machine's and the code's
facts, and its table (``bench.report``) is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import harness, search_bench
from bench.search_bench import LIST_PATH, Query, response_facts, sql_breakdown

TARGET_P95_MS = {"postgresql": 30.0, "sqlite": 50.0}
PAGE_PATH = "/"
COUNT = re.compile(r'id="result-count">([^<·]*)')
CARD = re.compile(r'class="card-title"')
# What someone looking for a movie asks the page for.
PAGES = (
    ("home page", ""),
    ("title: the godfather", "q=the+godfather"),
    ("drama,crime", "q=drama%2Ccrime"),
    ("drama,crime + chip Thriller", "q=drama%2Ccrime&genre=Thriller"),
    ("broad word: the", "q=the"),
    ("page 2: the", "q=the&page=2"),
    ("page 2: drama,crime + chip Thriller", "q=drama%2Ccrime&genre=Thriller&page=2"),
    ("misspelt: the godfahter (did you mean)", "q=the+godfahter"),
    ("genres alone: Crime, Drama", "genre=Crime&genre=Drama"),
)


def page_mix(*, api_twins: bool) -> list[Query]:
    """The search pages, then the pages of two movies: the best match for
    ``the godfather`` and the most popular movie. With ``api_twins``, each
    results page is followed by the API's JSON of the same list, to tell the
    page's own cost from the search's."""
    from catalog.reads import MovieQuery, list_movies
    from catalog.search import Search

    queries = []
    for label, params in PAGES:
        queries.append(Query(label, params, PAGE_PATH))
        if api_twins and params:
            queries.append(Query(f"api: {label}", api_params(params), LIST_PATH))
    best = list_movies(MovieQuery(search=Search.parse("the godfather"), limit=1)).rows
    popular = list_movies(MovieQuery(limit=1)).rows
    movie_pages = (("movie: the godfather's best match", best), ("movie: most popular", popular))
    for label, movies in movie_pages:
        if movies:
            queries.append(Query(label, "", f"/movies/{movies[0].id}"))
    return queries


def api_params(page_params: str) -> str:
    """The API list's query string for a search page's: ``search`` for ``q``, an offset
    for the page."""
    from catalog.site.params import PAGE_SIZE

    params = []
    for pair in page_params.split("&"):
        name, _, value = pair.partition("=")
        if name == "q":
            params.append(f"search={value}")
        elif name == "page":
            params.append(f"offset={(int(value) - 1) * PAGE_SIZE}")
        else:
            params.append(pair)
    return "&".join(params)


def facts(query: Query, status: int, body: bytes) -> dict[str, Any]:
    if query.endpoint == LIST_PATH:
        return response_facts(status, body)
    return page_facts(status, body)


def page_facts(status: int, body: bytes) -> dict[str, Any]:
    """The count a results page shows (1,000+ is 1,000 and not exact), and its movies.

    A movie's page shows no count: its count is the movies it lists.
    """
    if status != 200:
        raise harness.BenchError(f"status {status}: {body[:500]!r}")
    text = body.decode()
    cards = len(CARD.findall(text))
    shown = COUNT.search(text)
    if shown is None:
        return {"count": cards, "count_exact": True, "results": cards, "bytes": len(body)}
    words = shown.group(1).split()
    number = 0 if words[0] == "No" else int(words[0].rstrip("+").replace(",", ""))
    exact = not words[0].endswith("+")
    return {"count": number, "count_exact": exact, "results": cards, "bytes": len(body)}


def collect_static_files() -> None:
    """collectstatic, as a deployment's build step runs it: with DEBUG off, the pages
    name their stylesheet and script by the manifest it writes (into STATIC_ROOT,
    inside the snapshot of the app unless ``--source live``)."""
    from io import StringIO

    from django.core.management import call_command

    call_command("collectstatic", "--no-input", stdout=StringIO())


# What a browser accepts for a page; what a program accepts from the API.
ACCEPTS = {PAGE_PATH: "text/html,application/xhtml+xml", LIST_PATH: "application/json"}


def run_inprocess(queries: Sequence[Query], rounds: int, warmups: int) -> dict[str, Any]:
    return search_bench.run_inprocess(
        queries,
        rounds,
        warmups,
        accept=lambda query: ACCEPTS.get(query.endpoint, "*/*"),
        facts=facts,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    harness.add_database_url_argument(parser)
    parser.add_argument("--label", required=True, help="names the result file: page-LABEL.json")
    parser.add_argument("--iterations", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmups", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--target-p95-ms", type=float, default=None)
    parser.add_argument("--no-explain", action="store_true", help="skip the SQL breakdown")
    parser.add_argument(
        "--no-api", action="store_true", help="leave out the API's JSON of each results page"
    )
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    harness.add_source_argument(parser)
    # Given to the child process that measures: the snapshot it imports the app from.
    parser.add_argument("--app-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    harness.require_database_url(parser, args)
    if args.iterations < 2 or args.warmups < 0:
        parser.error("--iterations must be 2 or more and --warmups 0 or more")
    if args.app_dir is None:
        argv = sys.argv[1:] if argv is None else argv
        return harness.run_in_snapshot(
            "bench.page_bench", args.source, argv, prefix="movies-bench-page-"
        )
    path = args.results_dir / f"page-{args.label}.json"
    return harness.measure_and_publish(lambda: measure(args), path)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark, in the process that imports the app from ``args.app_dir``."""
    engine = harness.engine_of(args.database_url)
    target = args.target_p95_ms or TARGET_P95_MS[engine]
    machine = harness.machine_facts(args.database_url)
    app_dir = args.app_dir
    code = harness.code_facts(app_dir, args.source)
    harness.setup_django(args.database_url)
    collect_static_files()
    from catalog.models import Movie

    movies = Movie.objects.count()
    queries = page_mix(api_twins=not args.no_api)
    harness.say(f"{movies:,} movies; {len(queries)} pages")
    result: dict[str, Any] = {
        "benchmark": "page",
        "label": args.label,
        "database": engine,
        "database_url": args.database_url,
        "movies": movies,
        "iterations": args.iterations,
        "warmups": args.warmups,
        "target_p95_ms": target,
        "cache": "bypassed: cache.clear() before each request, so every page is rendered",
        "queries": [{"label": q.label, "path": q.path} for q in queries],
        "modes": {},
        "machine": machine,
        "code": code,
    }
    load = os.getloadavg()[0]
    harness.say(f"[{args.label}] {len(queries)} pages x {args.warmups}+{args.iterations}")
    started = time.perf_counter()
    measured: dict[str, Any] = {"queries": run_inprocess(queries, args.iterations, args.warmups)}
    measured["load_average_before"] = round(load, 2)
    measured["load_average_after"] = round(os.getloadavg()[0], 2)
    measured["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["modes"]["inprocess"] = measured
    if not args.no_explain:
        harness.say(f"[{args.label}] capturing SQL")
        result["sql"] = sql_breakdown(queries, measured["queries"], target, engine)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    harness.warn_if_code_changed(app_dir, code, result)
    return result


if __name__ == "__main__":
    sys.exit(main())
