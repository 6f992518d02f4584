"""check_catalogue on a large catalogue: how long a check and a repair take, and their memory.

Loads a generated catalogue into a database of its own with populate_db
(``--keep`` keeps it; a second run with ``--loaded`` starts from it), then
runs ``manage.py check_catalogue`` as an operator would, each run a process of
its own timed with GNU time (wall time, peak RSS):

1. the check right after the import (nothing should differ);
2. drift planted in SQL: one movie in a thousand with a stale search text, one
   in a thousand with no digit pairs, one in a thousand with a genre id its
   links lack, every genre's count off by one and a thousand words' counts
   wrong; the check, ``--repair``, and the check again;
3. what a rolling deploy of migration 0011 leaves: no movie with digit pairs;
   ``--repair`` mends them all, then the check again.

Usage: python -m bench.consistency_bench --database-url postgres://.../movies_consistency \\
           --catalogue /tmp/catalogue-1m.json --label postgres-1m
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench import harness

MANAGE = harness.REPO_ROOT / "movies" / "manage.py"
GNU_TIME = Path("/usr/bin/time")
MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
DIFFERENCES = re.compile(r"(\d+) differences \(")
REPAIRED = re.compile(r"Repaired (\d+) differences")

PLANT_DRIFT = [
    # A stale search text: the name as it was before an edit.
    "UPDATE catalog_movie SET search_text = 'old name' || substr(search_text, "
    "strpos(search_text, E'\\n')) WHERE id % 1000 = 1",
    "UPDATE catalog_movie SET digit_pairs = '' WHERE id % 1000 = 2 AND digit_pairs <> ''",
    "UPDATE catalog_movie SET genre_ids = '{}'::jsonb WHERE id % 1000 = 3 AND genre_ids <> '{}'",
    "UPDATE catalog_genre SET movie_count = movie_count + 1",
    "UPDATE catalog_word SET movies = movies + 1 WHERE id % 300 = 0",
]
ROLLING_DEPLOY = ["UPDATE catalog_movie SET digit_pairs = ''"]


def manage(database_url: str, *args: str) -> dict[str, Any]:
    """Run a manage.py command; its wall time, peak RSS, exit status and what it printed."""
    env = harness.app_environment(database_url)
    with tempfile.NamedTemporaryFile("r") as rusage, tempfile.TemporaryFile() as output:
        command = [sys.executable, str(MANAGE), *args]
        if GNU_TIME.exists():
            command = [str(GNU_TIME), "-v", "-o", rusage.name, *command]
        started = time.perf_counter()
        finished = subprocess.run(command, env=env, stdout=output, stderr=subprocess.PIPE)
        wall = time.perf_counter() - started
        peak = MAX_RSS.search(rusage.read()) if GNU_TIME.exists() else None
        output.seek(0)
        printed = output.read().decode(errors="replace")
    stderr = finished.stderr.decode(errors="replace")
    if finished.returncode not in (0, 1):
        raise harness.BenchError(f"manage.py {' '.join(args)}: {stderr.strip()[-2000:]}")
    summary = DIFFERENCES.search(stderr) or REPAIRED.search(printed)
    return {
        "command": " ".join(args),
        "seconds": round(wall, 2),
        "peak_rss_mb": round(int(peak.group(1)) / 1024, 1) if peak else None,
        "exit_status": finished.returncode,
        "differences": int(summary.group(1)) if summary else 0,
        "lines_printed": printed.count("\n"),
    }


def psql(database_url: str, statements: list[str]) -> None:
    for statement in statements:
        harness.run(["psql", database_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", statement])


def database_named(database_url: str) -> tuple[str, str]:
    """The server URL (its postgres database) and the database's name."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def load(database_url: str, catalogue: Path) -> dict[str, Any]:
    server, name = database_named(database_url)
    psql(server, [f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'])
    manage(database_url, "migrate", "--no-input")
    return manage(database_url, "populate_db", str(catalogue), "--no-progress")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    if harness.engine_of(args.database_url) != "postgresql":
        raise harness.BenchError("this benchmark measures PostgreSQL")
    steps: list[dict[str, Any]] = []
    if not args.loaded:
        harness.say(f"loading {args.catalogue}")
        steps.append({"step": "populate_db", **load(args.database_url, args.catalogue)})
    movies = int(
        harness.run(
            ["psql", args.database_url, "-X", "-qtAc", "SELECT count(*) FROM catalog_movie"]
        )
    )
    harness.say("checking the loaded catalogue")
    steps.append(
        {"step": "check after the import", **manage(args.database_url, "check_catalogue")}
    )
    psql(args.database_url, PLANT_DRIFT)
    harness.say("drift planted: check, repair, check")
    steps.append({"step": "check, drift planted", **manage(args.database_url, "check_catalogue")})
    steps.append({"step": "repair", **manage(args.database_url, "check_catalogue", "--repair")})
    steps.append(
        {"step": "check after the repair", **manage(args.database_url, "check_catalogue")}
    )
    psql(args.database_url, ROLLING_DEPLOY)
    harness.say("every movie's digit pairs gone: repair, check")
    steps.append(
        {
            "step": "repair, no digit pairs",
            **manage(args.database_url, "check_catalogue", "--repair"),
        }
    )
    steps.append(
        {"step": "check after the repair", **manage(args.database_url, "check_catalogue")}
    )
    if not args.keep:
        server, name = database_named(args.database_url)
        psql(server, [f'DROP DATABASE "{name}"'])
    return {
        "benchmark": "consistency",
        "label": args.label,
        "movies": movies,
        "machine": harness.machine_facts(args.database_url),
        "steps": steps,
    }


def main(argv: list[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    harness.add_database_url_argument(parser, "a PostgreSQL database this benchmark may drop")
    parser.add_argument("--catalogue", type=Path, help="the catalogue file to load")
    parser.add_argument("--loaded", action="store_true", help="the database is loaded already")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument("--label", default="postgres-1m")
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    args = parser.parse_args(argv)
    harness.require_database_url(parser, args)
    if not args.loaded and not args.catalogue:
        parser.error("--catalogue is required unless --loaded")
    return harness.measure_and_publish(
        lambda: measure(args), args.results_dir / f"consistency-{args.label}.json"
    )


if __name__ == "__main__":
    sys.exit(main())
