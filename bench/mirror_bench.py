"""What a client mirroring a large catalogue costs: cursor pages, the changes feed, the export.

``python -m bench.mirror_bench --database-url URL --label LABEL [--runs 15]
[--source worktree|head|live]`` on a loaded catalogue (read only):

- cursor pages of ``/api/movies``' list (catalog.reads.list_movies, in a child
  process importing the app, DEBUG off, no response cache): for each ordering
  but relevance, and for a broad search in popularity order, the first page
  (an empty cursor) and the page after the entry at row 900,000 of the order
  (or at 90% of the search's matches), 20 rows, alternated ``--runs`` times:
  medians, p95s and the deep page's p95 over the first's;
- a page of 100 of the changes feed, from the start and from the middle;
- ``manage.py export_db`` to a scratch file, NDJSON: wall time and the peak
  memory of its process (getrusage of the child).

Writes ``mirror-<label>.json`` to the results directory and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import harness

DEEP_ROW = 900_000
PAGE = 20


def measure_in_app(database_url: str, runs: int) -> dict[str, Any]:
    """In the child: cursor pages and feed pages, alternated, after one warming run each."""
    harness.setup_django(database_url)
    from catalog import changes
    from catalog.models import Change, Movie
    from catalog.reads import MovieQuery, list_movies
    from catalog.reads.cursors import Cursor, entry_of
    from catalog.reads.listing import matching, ordering_keys
    from catalog.search import Search

    def timed(call) -> float:
        started = time.perf_counter()
        call()
        return (time.perf_counter() - started) * 1000

    cases = []
    total = Movie.objects.count()
    lists: list[tuple[str, str | None]] = [
        (ordering, None) for ordering in ("-popularity", "name", "imdb_score")
    ]
    lists.append(("-popularity", "the"))
    for ordering, search in lists:
        query = MovieQuery(
            search=Search.parse(search) if search else None, ordering=ordering, limit=PAGE
        )
        keys = ordering_keys(ordering)
        found = matching(Movie.objects.all(), query).order_by(*keys)
        matches = found.count() if search else total
        row = min(DEEP_ROW, int(matches * 0.9))
        deep_movie = found.values_list(keys[0].lstrip("-"), "pk")[row]
        first = MovieQuery(**{**query.__dict__, "cursor": Cursor()})
        deep = MovieQuery(**{**query.__dict__, "cursor": Cursor(tuple(deep_movie))})
        page = list_movies(deep)
        assert len(page.rows) == PAGE, "the deep page is full"
        assert entry_of(page.rows[0], keys) != tuple(deep_movie)
        list_movies(first)
        samples: dict[str, list[float]] = {"first": [], "deep": []}
        for _ in range(runs):
            samples["first"].append(timed(lambda: list_movies(first)))  # noqa: B023
            samples["deep"].append(timed(lambda: list_movies(deep)))  # noqa: B023
        cases.append(
            case(f"ordering={ordering}" + (f"&search={search}" if search else ""), row, samples)
        )
    middle = Change.objects.order_by("id").values_list("id", flat=True)[
        Change.objects.count() // 2
    ]
    tokens = {"start": "", "middle": changes.encode_token(middle)}
    changes.changes_since("", limit=100)
    samples = {name: [] for name in tokens}
    for _ in range(runs):
        for name, token in tokens.items():
            samples[name].append(timed(lambda: changes.changes_since(token, limit=100)))  # noqa: B023
    cases.append(case("changes feed, 100 entries", None, samples))
    return {"movies": total, "runs": runs, "cases": cases}


def case(name: str, row: int | None, samples: dict[str, list[float]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"case": name, "deep_row": row}
    for part, values in samples.items():
        summary[part] = {
            "median_ms": round(harness.percentile(values, 50), 1),
            "p95_ms": round(harness.percentile(values, 95), 1),
        }
    parts = list(samples)
    summary["p95_ratio"] = round(
        summary[parts[1]]["p95_ms"] / max(summary[parts[0]]["p95_ms"], 0.01), 2
    )
    return summary


def measure_export(database_url: str, app_dir: Path, workdir: Path) -> dict[str, Any]:
    """export_db of the whole catalogue in a child process: seconds, peak memory, lines."""
    path = workdir / "export.ndjson"
    env = harness.app_environment(database_url)
    command = [sys.executable, str(app_dir / "manage.py"), "export_db", str(path)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with path.open("rb") as stream:
        lines = sum(1 for _ in stream)
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(max(peak, before) / 1024),
        "lines": lines,
        "bytes": path.stat().st_size,
        "load_average_after": [round(load, 2) for load in os.getloadavg()],
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "| case | first page: median / p95 ms | deep page (row): median / p95 ms | p95 ratio |",
        "|---|---|---|---|",
    ]
    for item in result["cases"]:
        first, deep = (item[part] for part in list(item)[2:4])
        row = f"row {item['deep_row']:,}" if item["deep_row"] is not None else "middle"
        lines.append(
            f"| {item['case']} | {first['median_ms']} / {first['p95_ms']} | "
            f"{deep['median_ms']} / {deep['p95_ms']} ({row}) | {item['p95_ratio']} |"
        )
    export = result["export"]
    lines.append("")
    lines.append(
        f"export_db, {result['movies']:,} movies: {export['seconds']} s, peak "
        f"{export['peak_rss_mb']} MB, {export['lines']:,} lines, {export['bytes']:,} bytes"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    harness.add_database_url_argument(parser, "a loaded catalogue (read only)")
    parser.add_argument("--label", default="postgres-1m")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    harness.add_source_argument(parser)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    harness.require_database_url(parser, args)
    if args.output is not None:  # the child
        args.output.write_text(json.dumps(measure_in_app(args.database_url, args.runs)))
        return 0
    try:
        with harness.scratch_dir("mirror-bench-") as workdir:
            app_dir = harness.app_snapshot(args.source, workdir)
            code = harness.code_facts(app_dir, args.source)
            child = ["--database-url", args.database_url, "--runs", str(args.runs)]
            measured = harness.results_of_child(
                "bench.mirror_bench", app_dir, child, role="measurement"
            )
            export = measure_export(args.database_url, app_dir, workdir)
    except (harness.BenchError, subprocess.CalledProcessError) as error:
        harness.say(f"error: {error}")
        return 1
    result = {
        "benchmark": "mirror",
        "label": args.label,
        "machine": harness.machine_facts(args.database_url),
        "code": code,
        **measured,
        "export": export,
    }
    path = harness.write_json(args.results_dir / f"mirror-{args.label}.json", result)
    harness.say(f"wrote {path}")
    sys.stdout.write(table(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
