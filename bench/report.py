"""Markdown tables of the results in bench/results/, for docs/performance.md.

``python bench/report.py`` prints the import, search and throughput tables
from the JSON the benchmarks wrote; nothing is typed in by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def machine_line(result: dict) -> str:
    machine = result.get("machine", {})
    load_average = machine.get("load_average_at_start") or machine.get("load_average")
    return (
        f"{machine.get('cpu_model', '?')}, {machine.get('cpu_cores', '?')} cores, "
        f"{round(machine.get('ram_mb', 0) / 1024)} GiB, Python {machine.get('python', '?')}, "
        f"SQLite {machine.get('sqlite', '?')}, PostgreSQL {machine.get('postgresql', '?')}; "
        f"load average at start {load_average}; {machine.get('date', result.get('finished_at'))}"
    )


def import_table() -> list[str]:
    lines = [
        "| database | records | runs | median wall time | records/s | peak RSS "
        "| re-import (unchanged) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("import-sqlite-100000", "import-postgres-100000", "import-postgres-1000000"):
        result = load(name)
        if not result:
            continue
        rerun = result.get("rerun") or {}
        lines.append(
            f"| {result['database']} | {result['records']:,} | {len(result['runs'])} "
            f"| {result['median_wall_seconds']:.1f} s | {result['records_per_second']:,} "
            f"| {result['peak_rss_mb']:.0f} MB | {rerun.get('wall_seconds', float('nan')):.1f} s |"
        )
    return lines


def search_table(name: str) -> list[str]:
    result = load(name)
    if not result:
        return []
    inprocess = result["modes"]["inprocess"]["queries"]
    served = result["modes"].get("gunicorn", {}).get("queries", {})
    lines = [
        f"{result['movies']:,} movies, {result['iterations']} requests per query, "
        f"cache cold; {machine_line(result)}",
        "",
        "| query | count | in-process p50 / p95 / p99 (ms) | gunicorn p50 / p95 / p99 (ms) |",
        "|---|---|---|---|",
    ]
    for label, row in inprocess.items():
        other = served.get(label, {})
        count = f"{row['count']}{'' if row['count_exact'] else '+'}"
        lines.append(
            f"| `{label}` | {count} | {row['p50_ms']:.1f} / {row['p95_ms']:.1f} / "
            f"{row['p99_ms']:.1f} | {other.get('p50_ms', 0):.1f} / {other.get('p95_ms', 0):.1f} "
            f"/ {other.get('p99_ms', 0):.1f} |"
        )
    return lines


def throughput_table(name: str) -> list[str]:
    result = load(name)
    if not result:
        return []
    lines = [
        f"gunicorn, 2 workers; {result.get('wrk')}; {result['rounds']} rounds, medians; "
        f"{machine_line(result)}",
        "",
        "| case | requests/s | ratio to the bare app | DB queries per request |",
        "|---|---|---|---|",
    ]
    for label, case in result["cases"].items():
        queries = ", ".join(f"{q:g}" for q in case.get("db_queries_per_request", {}).values())
        lines.append(
            f"| {label} | {case['median_requests_per_second']:,.0f} "
            f"| {case['ratio_to_bare']:.1%} | {queries or '-'} |"
        )
    return lines


def main() -> None:
    sections = [
        ("Import", import_table()),
        ("Search, PostgreSQL", search_table("search-postgres-1m")),
        ("Search, SQLite", search_table("search-sqlite-100k")),
        ("Throughput, SQLite", throughput_table("throughput-sqlite-100k")),
        ("Throughput, PostgreSQL", throughput_table("throughput-postgres-1m")),
    ]
    for title, lines in sections:
        if lines:
            sys.stdout.write(f"### {title}\n\n" + "\n".join(lines) + "\n\n")


if __name__ == "__main__":
    main()
