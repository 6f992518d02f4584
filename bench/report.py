"""Markdown tables of benchmark results: the only place results are rendered.

``python -m bench.report RESULT.json ...`` prints each result's full table, as
its benchmark printed it at the end of the run. ``python -m bench.report``
prints the import, search, search page, throughput and load tables of
docs/performance.md from the results found in the results directory (the
files the benchmarks write there under their usual labels); nothing in those
tables is typed in by hand.

The benchmarks write their results to the results directory: ``--results-dir``,
else ``BENCH_RESULTS_DIR``, else /tmp/bench-results. It is outside the
repository on purpose: a result is one machine's measure at one time, and the
tables in docs/ are the record of the runs they cite.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR") or "/tmp/bench-results")
# Each route of the load table by its name in /metrics.
LOAD_ROUTES = (
    ("movie lists", "movie-list"),
    ("movie details", "movie-detail"),
    ("genre lists", "genre-list"),
)


def load(directory: Path, name: str) -> dict[str, Any] | None:
    """The result ``name`` in ``directory``, if a benchmark wrote it there."""
    path = directory / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def machine_line(result: dict) -> str:
    machine = result.get("machine", {})
    load_average = machine.get("load_average_at_start")
    return (
        f"{machine.get('cpu_model', '?')}, {machine.get('cpu_cores', '?')} cores, "
        f"{round(machine.get('ram_mb', 0) / 1024)} GiB, Python {machine.get('python', '?')}, "
        f"SQLite {machine.get('sqlite', '?')}, PostgreSQL {machine.get('postgresql', '?')}; "
        f"load average at start {load_average}; {machine.get('date', result.get('finished_at'))}"
    )


def latency_rows(latency: dict, cells: Callable[[dict], list[str]]) -> list[str]:
    """A row per group of the load benchmark's requests that has any: all, reads, writes, kinds."""
    groups = [("all", latency["overall"]), ("reads", latency["reads"])]
    groups += [("writes", latency["writes"]), *latency["by_kind"].items()]
    return [row([label, *cells(group)]) for label, group in groups if group["requests"]]


# -- the tables of docs/performance.md ----------------------------------------------


def import_table(results: Sequence[dict[str, Any]]) -> list[str]:
    if not results:
        return []
    lines = [
        "| database | records | runs | median wall time | records/s | peak RSS "
        "| re-import (unchanged) |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        rerun = result.get("rerun") or {}
        cells = [
            result["database"],
            f"{result['records']:,}",
            str(len(result["runs"])),
            f"{result['median_wall_seconds']:.1f} s",
            f"{result['records_per_second']:,}",
            f"{result['peak_rss_mb']:.0f} MB",
            f"{rerun.get('wall_seconds', float('nan')):.1f} s",
        ]
        lines.append(row(cells))
    return lines


def search_table(result: dict[str, Any] | None) -> list[str]:
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
    for label, measured in inprocess.items():
        other = served.get(label, {})
        count = f"{measured['count']}{'' if measured['count_exact'] else '+'}"
        percentiles = [
            " / ".join(f"{times[key]:.1f}" for key in ("p50_ms", "p95_ms", "p99_ms"))
            if times
            else "-"
            for times in (measured, other)
        ]
        lines.append(row([f"`{label}`", count, *percentiles]))
    return lines


def page_table(result: dict[str, Any] | None) -> list[str]:
    """bench.page_bench's pages (and the API's JSON of the same lists), measured in-process."""
    if not result:
        return []
    measured = result["modes"]["inprocess"]["queries"]
    lines = [
        f"{result['movies']:,} movies, {result['iterations']} requests per page, "
        f"cache bypassed, in-process; {machine_line(result)}",
        "",
        f"| page | count | p50 / p95 / p99 (ms) | p95 < {result['target_p95_ms']:g} ms |",
        "|---|---|---|---|",
    ]
    for label, times in measured.items():
        count = f"{times['count']:,}{'' if times['count_exact'] else '+'}"
        percentiles = " / ".join(f"{times[key]:.1f}" for key in ("p50_ms", "p95_ms", "p99_ms"))
        met = "yes" if times["p95_ms"] < result["target_p95_ms"] else "**no**"
        lines.append(row([f"`{label}`", count, percentiles, met]))
    return lines


def throughput_table(result: dict[str, Any] | None) -> list[str]:
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


def load_table(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return []
    cpu = result["cpu_seconds"]
    other = cpu["machine_busy"] - cpu["gunicorn_workers"] - cpu["database_backends"]
    other -= cpu["load_client"]
    routes = {
        label: result["routes"].get(route, {}).get("db_queries_per_request")
        for label, route in LOAD_ROUTES
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
        lines.append(row([target["target"], target["measured"], verdict]))
    lines += [
        "",
        "| requests | count | requests/s | p50 / p95 / p99 (ms) |",
        "|---|---|---|---|",
    ]
    latency = result["latency"]
    lines += latency_rows(
        latency,
        lambda group: [
            f"{group['requests']:,}",
            f"{group['requests_per_second']:,.1f}",
            f"{group['p50_ms']:.0f} / {group['p95_ms']:.0f} / {group['p99_ms']:.0f}",
        ],
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


def performance_sections(directory: Path) -> list[tuple[str, list[str]]]:
    """The tables of docs/performance.md, from the results in ``directory`` (empty without)."""

    def result(name: str) -> dict[str, Any] | None:
        return load(directory, name)

    imports = ("import-sqlite-100000", "import-postgres-100000", "import-postgres-1000000")
    return [
        ("Import", import_table([found for name in imports if (found := result(name))])),
        ("Search, PostgreSQL", search_table(result("search-postgres-1m"))),
        ("Search, SQLite", search_table(result("search-sqlite-100k"))),
        (
            "Search, PostgreSQL, another catalogue (bench.generate --profile other)",
            search_table(result("search-postgres-1m-other")),
        ),
        (
            "Search, SQLite, another catalogue (bench.generate --profile other)",
            search_table(result("search-sqlite-100k-other")),
        ),
        (
            "Throughput, PostgreSQL, the legacy catalogue (248 movies)",
            throughput_table(result("throughput-postgres-legacy")),
        ),
        ("Throughput, SQLite, 100,000 movies", throughput_table(result("throughput-sqlite-100k"))),
        (
            "Throughput, PostgreSQL, 1,000,000 movies",
            throughput_table(result("throughput-postgres-1m")),
        ),
        ("Load with concurrent writes, PostgreSQL", load_table(result("load-postgres-1m"))),
        # The last section of docs/performance.md, "The search page".
        ("The search page, SQLite", page_table(result("page-sqlite-100k"))),
        ("The search page, PostgreSQL", page_table(result("page-postgres-1m"))),
    ]


# -- a run's full tables, printed by each benchmark at its end ------------------------


def import_details(results: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| database | records | runs | median wall (s) | records/s | populate_db (s) "
        "| CPU (s) | peak RSS (MB) | re-run wall (s) | re-run RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def stopped(run: dict[str, Any] | None) -> str | None:
        return f"stopped at {run['wall_seconds']:.0f}" if run and run["timed_out"] else None

    for r in results:
        rerun = r["rerun"]
        median = number(r["median_wall_seconds"], ".2f")
        cells = [
            r["database"],
            f"{r['records']:,}",
            f"{r['completed_runs']}/{r['repeat']}",
            median if r["completed_runs"] else stopped(r["runs"][-1]) or median,
            number(r["records_per_second"], ","),
            number(r["median_import_seconds"], ".2f"),
            number(r["median_cpu_seconds"], ".1f"),
            number(r["peak_rss_mb"], ".0f"),
            stopped(rerun) or number(rerun and rerun["wall_seconds"], ".2f"),
            number(rerun and rerun["peak_rss_mb"], ".0f"),
        ]
        lines.append(row(cells))
    return "\n".join(lines)


def search_details(result: dict[str, Any]) -> str:
    modes = result["modes"]
    target = result["target_p95_ms"]
    header = ["query", "count", "exact", "rows"]
    if "inprocess" in modes:
        header += ["in-proc p50", "p95", "p99", "DB exec p50"]
    if "gunicorn" in modes:
        header += ["gunicorn p50", "p95", "p99", "SQL/req"]
    header.append(f"p95 < {target:g} ms")
    lines = [row(header), "|---|" + "---:|" * (len(header) - 2) + ":-:|"]
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
            cells.append(number(q["db_queries_per_request"], "g"))
        # Server-side: in-process when measured, else through gunicorn.
        server_p95 = (modes.get("inprocess") or modes["gunicorn"])["queries"][label]["p95_ms"]
        cells.append("yes" if server_p95 < target else "**no**")
        lines.append(row(cells))
    return "\n".join(lines)


def throughput_details(result: dict[str, Any]) -> str:
    lines = [
        "| case | path | req/s (median) | per round | ratio to bare | target | p50 / p99 ms "
        "| SQL/request |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, case in result["cases"].items():
        target = case["target_ratio"]
        verdict = (
            "-"
            if target is None
            else f"≥ {target:.0%} {'yes' if case['meets_target'] else '**no**'}"
        )
        latency = case["median_latency_ms"]
        queries = ", ".join(f"{value:g}" for value in case["db_queries_per_request"].values())
        cells = [
            name,
            f"`{case['path']}`",
            f"{case['median_requests_per_second']:,.0f}",
            " / ".join(f"{rate:,.0f}" for rate in case["requests_per_second"]),
            f"{case['ratio_to_bare']:.1%}",
            verdict,
            f"{latency.get('p50_ms', 0):.1f} / {latency.get('p99_ms', 0):.1f}",
            queries or "0",
        ]
        lines.append(row(cells))
    return "\n".join(lines)


def load_details(result: dict[str, Any]) -> str:
    lines = []
    cache = result.get("response_cache")
    if cache:
        ratio = "-" if cache["hit_ratio"] is None else f"{cache['hit_ratio']:.1%}"
        rate = result.get("writes_per_second")
        lines += [
            f"{result.get('mix', 'legacy')} mix, {result['connections']} clients, "
            f"{'free-running' if rate is None else f'{rate:g}/s'} writes; "
            f"response cache hit ratio {ratio} ({cache['hits']:,} hits, "
            f"{cache['misses']:,} misses)",
            "",
        ]
    lines += ["| target | measured | met |", "|---|---|:-:|"]
    for target in result["targets"]:
        lines.append(row([target["target"], target["measured"], yes_no(target["met"])]))
    lines += [
        "",
        "| requests | count | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += latency_rows(
        result["latency"],
        lambda group: [
            f"{group['requests']:,}",
            f"{group['requests_per_second']:,.1f}",
            *(f"{group[key]:.1f}" for key in ("p50_ms", "p95_ms", "p99_ms")),
            f"{group['max_ms']:.0f}",
        ],
    )
    return "\n".join(lines)


def longtail_details(result: dict[str, Any]) -> str:
    """Per kind and code version, per mode: p50/p95/p99, then the targets."""
    sources = list(result["sources"])
    lines = [
        f"{result['queries']:,} distinct requests, each once; {result['movies']:,} movies, "
        f"{result['database']} ({result['label']})"
    ]
    for mode, measured in result["modes"].items():
        lines += [
            "",
            f"**{mode}** ({measured['wall_seconds']:.0f} s, load average "
            f"{measured['load_average'][0]:.1f} → {measured['load_average'][1]:.1f})",
            "",
            "| kind | requests | "
            + " | ".join(f"{source} p50 / p95 / p99 ms" for source in sources)
            + " | errors |",
            "|---|---:|" + "---:|" * len(sources) + "---:|",
        ]
        first = measured[sources[0]]
        for group, entry in [*first["groups"].items(), ("all", first["all"])]:
            cells = [group, f"{entry['requests']:,}"]
            errors = 0
            for source in sources:
                found = measured[source]
                timing = found["all"] if group == "all" else found["groups"][group]
                cells.append(
                    " / ".join(f"{timing[k]:.1f}" for k in ("p50_ms", "p95_ms", "p99_ms"))
                )
                errors += timing.get("errors", len(found["errors"]) if group == "all" else 0)
            cells.append(str(errors))
            lines.append(row(cells))
    inprocess = result["modes"].get("inprocess")
    if inprocess:
        lines += [
            "",
            "**in-process, by what was typed**",
            "",
            "| typed | requests | "
            + " | ".join(f"{source} p50 / p95 / p99 ms" for source in sources)
            + " |",
            "|---|---:|" + "---:|" * len(sources),
        ]
        for shape, entry in inprocess[sources[0]]["shapes"].items():
            cells = [shape, f"{entry['requests']:,}"]
            for source in sources:
                timing = inprocess[source]["shapes"][shape]
                cells.append(
                    " / ".join(f"{timing[k]:.1f}" for k in ("p50_ms", "p95_ms", "p99_ms"))
                )
            lines.append(row(cells))
    for source, checks in result.get("targets", {}).items():
        lines += ["", f"**{source}**", "", "| target | measured | met |", "|---|---|:-:|"]
        lines += [row([c["target"], c["measured"], yes_no(c["met"])]) for c in checks]
    return "\n".join(lines)


def genre_details(result: dict[str, Any]) -> str:
    lines = [
        f"{result['movies']:,} movies, {result['database']}; genre {result['genre']!r}",
        "",
        "| operation | movies | runs | median request | median lock held "
        "| queries | status | wrong texts in samples |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for summary in result["summary"]:
        held = summary["median_lock_held_ms"]
        cells = [
            summary["operation"],
            f"{summary['movies']:,}",
            str(summary["runs"]),
            f"{summary['median_wall_ms'] / 1000:.2f} s",
            "-" if held is None else f"{held / 1000:.2f} s",
            str(summary["queries"]),
            ", ".join(map(str, summary["statuses"])) or "-",
            str(summary["wrong_texts_in_samples"]),
        ]
        lines.append(row(cells))
    return "\n".join(lines)


def consistency_details(result: dict[str, Any]) -> str:
    lines = [
        f"check_catalogue, {result['movies']:,} movies ({result['label']})",
        "",
        "| step | seconds | peak RSS | exit status | differences |",
        "|---|---|---|---|---|",
    ]
    for step in result["steps"]:
        rss = step["peak_rss_mb"]
        cells = [
            step["step"],
            f"{step['seconds']:.1f}",
            "-" if rss is None else f"{rss:.0f} MB",
            str(step["exit_status"]),
            f"{step['differences']:,}",
        ]
        lines.append(row(cells))
    return "\n".join(lines)


def correction_details(result: dict[str, Any]) -> str:
    machine = result["machine"]
    lines = [
        f"{result['label']}: {result['vocabulary_words']:,} words, {result['engine']}, "
        f"{result['runs']} runs; {machine['cpu_model']}, {machine['cpu_cores']} cores",
        "",
        "| case | call | median ms | p95 ms | max ms | answer |",
        "|---|---|---|---|---|---|",
    ]
    for case in result["cases"]:
        cells = [case["case"], case["kind"]]
        cells += [str(case[key]) for key in ("median_ms", "p95_ms", "max_ms", "answer")]
        lines.append(row(cells))
    return "\n".join(lines)


def yes_no(met: bool) -> str:
    return "yes" if met else "**no**"


QUALITY_ENDPOINTS = {"list": "search list", "suggest": "suggestions"}


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def setting_title(setting: dict[str, Any]) -> str:
    if not setting["generated"]:
        return f"fixture alone ({setting['movies']:,} movies)"
    return f"fixture among {setting['generated']:,} generated ({setting['movies']:,} movies)"


def quality_details(result: dict[str, Any]) -> str:
    """The targets per setting, then each setting's scores by endpoint and query kind."""
    settings = result["settings"]
    sample = f", a sample of {result['limit_queries']} per kind" if result["limit_queries"] else ""
    lines = [
        f"{sum(result['queries'].values()):,} labelled queries (seed {result['seed']}{sample}); "
        f"`{result['list_request']}`, `{result['suggest_request']}`; {result['database']}; "
        f"{machine_line(result)}",
        "",
        row(["target", *(setting_title(setting) for setting in settings)]),
        "|---|" + "---|" * len(settings),
    ]
    for position, target in enumerate(settings[0]["targets"]):
        cells = [f"{target['text']} ≥ {target['threshold']:.0%}"]
        for setting in settings:
            measured = setting["targets"][position]
            if measured["measured"] is None:
                cells.append("not measured")
            else:
                cell = f"{measured['measured']:.1%} {yes_no(measured['met'])}"
                if measured.get("ceiling") is not None and measured["ceiling"] < 1:
                    cell += f" (at most {measured['ceiling']:.1%}: shared titles)"
                cells.append(cell)
        lines.append(row(cells))
    for setting in settings:
        timing = setting["timing"]["list"]
        lines += [
            "",
            f"**{setting_title(setting)}**: loaded in {setting['load_seconds']:.0f} s, asked in "
            f"{setting['ask_seconds']:.0f} s; a search list request takes "
            f"{timing['p50_ms']:.1f} ms (p50), {timing['p95_ms']:.1f} ms (p95)",
            "",
            "| endpoint | kind | queries | top-1 | top-5 | MRR | that title first "
            "| nothing found | errors |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for key, name in QUALITY_ENDPOINTS.items():
            for kind, scores in setting["endpoints"][key]["kinds"].items():
                errors = ", ".join(f"{n} × {status}" for status, n in scores["errors"].items())
                cells = [
                    name,
                    kind,
                    f"{scores['queries']:,}",
                    *(percent(scores[key]) for key in ("top1", "top5")),
                    number(scores["mrr"], ".3f"),
                    *(percent(scores[key]) for key in ("title_first", "nothing_found")),
                    errors or "-",
                ]
                lines.append(row(cells))
        lines += [
            "",
            "| did_you_mean | queries | nothing found | given when nothing found "
            "| leads to the movie (top 5) | of those given |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for kind, scores in setting["endpoints"]["did_you_mean"]["kinds"].items():
            cells = [
                kind,
                f"{scores['queries']:,}",
                *(
                    percent(scores[key])
                    for key in ("nothing_found", "offered_when_nothing_found", "leads")
                ),
                percent(scores["leads_when_offered"]),
            ]
            lines.append(row(cells))
    return "\n".join(lines)


def details(results: Sequence[dict[str, Any]]) -> str:
    """The full tables of these results; an import's cases share one table."""
    imports = [result for result in results if result["benchmark"] == "populate_db"]
    renderers = {
        "search": search_details,
        # The search page's results have the same shape: a count and rows per page.
        "page": search_details,
        "throughput": throughput_details,
        "load": load_details,
        "longtail": longtail_details,
        "genre": genre_details,
        "search-quality": quality_details,
        "consistency": consistency_details,
        "correction": correction_details,
    }
    tables = [import_details(imports)] if imports else []
    tables += [renderers[r["benchmark"]](r) for r in results if r["benchmark"] in renderers]
    return "\n\n".join(tables)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "results",
        nargs="*",
        type=Path,
        help="result files to print in full (default: the tables of docs/performance.md)",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS_DIR,
        help=f"where the tables' results are (default: {RESULTS_DIR}, or BENCH_RESULTS_DIR)",
    )
    args = parser.parse_args(argv)
    if args.results:
        results = [json.loads(path.read_text()) for path in args.results]
        sys.stdout.write(details(results) + "\n")
        return 0
    sections = [(title, lines) for title, lines in performance_sections(args.results_dir) if lines]
    if not sections:
        sys.stderr.write(f"no results for the tables in {args.results_dir}\n")
        return 1
    for title, lines in sections:
        sys.stdout.write(f"### {title}\n\n" + "\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
