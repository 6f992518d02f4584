"""Markdown tables of the results in bench/results/, for docs/performance.md.

``python bench/report.py`` prints the import, search, throughput and load
tables from the JSON the benchmarks wrote; nothing is typed in by hand.
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
        "| case | requests/s | ratio to the bare app | DB queries per request "
        "| CPU ms per request: workers / database / Redis / wrk / other = machine |",
        "|---|---|---|---|---|",
    ]
    for label, case in result["cases"].items():
        queries = ", ".join(f"{q:g}" for q in case.get("db_queries_per_request", {}).values())
        lines.append(
            f"| {label} | {case['median_requests_per_second']:,.0f} "
            f"| {case['ratio_to_bare']:.1%} | {queries or '-'} | {cpu_cell(case)} |"
        )
    return lines


def cpu_cell(case: dict) -> str:
    cpu = case.get("median_cpu_ms_per_request")
    if not cpu:
        return "-"
    parts = " / ".join(
        f"{cpu[key]:.2f}" for key in ("workers", "database", "redis", "wrk", "other")
    )
    return f"{parts} = {cpu['machine']:.2f}"


def load_table(name: str) -> list[str]:
    result = load(name)
    if not result:
        return []
    cpu = result["cpu_seconds"]
    other = cpu["machine_busy"] - cpu["gunicorn_workers"] - cpu["database_backends"]
    other -= cpu["load_client"]
    routes = {
        label: result["routes"].get(route, {}).get("db_queries_per_request")
        for label, route in (
            ("movie lists", "api/movies/?$"),
            ("movie details", "api/movies/(?P<pk>[0-9]{1,18})/?$"),
            ("genre lists", "api/genres/?$"),
        )
    }
    lines = [
        f"{result['movies']:,} movies; {result['connections']} clients for "
        f"{result['duration_seconds']} s after {result['warmup_seconds']} s of warm-up: "
        f"{result['readers']} anonymous readers, {result['writers']} staff writers; "
        f"gunicorn, 2 sync workers, production settings, cache in Redis; {machine_line(result)}",
        "",
        "| target | measured | |",
        "|---|---|---|",
    ]
    for target in result["targets"]:
        verdict = "met" if target["met"] else "not met"
        lines.append(f"| {target['target']} | {target['measured']} | {verdict} |")
    lines += [
        "",
        "| requests | count | requests/s | p50 / p95 / p99 (ms) |",
        "|---|---|---|---|",
    ]
    latency = result["latency"]
    rows = [("all", latency["overall"]), ("reads", latency["reads"])]
    rows += [("writes", latency["writes"]), *latency["by_kind"].items()]
    for label, row in rows:
        if not row["requests"]:
            continue
        lines.append(
            f"| {label} | {row['requests']:,} | {row['requests_per_second']:,.1f} "
            f"| {row['p50_ms']:.0f} / {row['p95_ms']:.0f} / {row['p99_ms']:.0f} |"
        )
    queries = ", ".join(f"{label} {value:g}" for label, value in routes.items() if value)
    overall = latency["overall"]
    rate = overall["requests_per_second"]
    workers = result["gunicorn"]["workers"]
    lines += [
        "",
        f"A sync worker serves one request at a time, so the {result['connections']} clients "
        f"queue: at {rate:.1f} requests/s a request takes {result['connections']} / {rate:.1f} "
        f"= {result['connections'] / rate * 1000:,.0f} ms on average (Little's law; the "
        f"clients measured {overall['mean_ms']:,.0f} ms), of which a worker spends {workers} "
        f"/ {rate:.1f} = {workers / rate * 1000:,.0f} ms on it and the rest is waiting. "
        f"CPU seconds over the measured {result['duration_seconds']} s "
        f"({cpu['available']} available): gunicorn workers {cpu['gunicorn_workers']:.0f}, "
        f"PostgreSQL backends {cpu['database_backends']:.0f}, load client "
        f"{cpu['load_client']:.0f}, other processes on the shared machine {other:.0f}. "
        f"Database queries per request, answers from the cache and full ones together: "
        f"{queries}.",
    ]
    return lines


def main() -> None:
    sections = [
        ("Import", import_table()),
        ("Search, PostgreSQL", search_table("search-postgres-1m")),
        ("Search, SQLite", search_table("search-sqlite-100k")),
        (
            "Throughput, PostgreSQL, the legacy catalogue (248 movies)",
            throughput_table("throughput-postgres-legacy"),
        ),
        ("Throughput, SQLite, 100,000 movies", throughput_table("throughput-sqlite-100k")),
        ("Throughput, PostgreSQL, 1,000,000 movies", throughput_table("throughput-postgres-1m")),
        ("Load with concurrent writes, PostgreSQL", load_table("load-postgres-1m")),
    ]
    for title, lines in sections:
        if lines:
            sys.stdout.write(f"### {title}\n\n" + "\n".join(lines) + "\n\n")


if __name__ == "__main__":
    main()
