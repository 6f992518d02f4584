"""Requests per second of the API under gunicorn, against a bare WSGI app.

``python -m bench.throughput_bench --database-url URL --label LABEL [--rounds 3]
[--duration 10] [--connections 8] [--threads 2] [--redis-url redis://127.0.0.1:6379/13]``

Two gunicorn servers run side by side on 127.0.0.1, 2 sync workers each: the
real app (DEBUG off, no throttling, the response cache in Redis) against an
existing, filled database that is only read, and bench/bare_app.py serving the
exact bytes the real app returns for the search below. wrk on loopback
(``wrk -t2 -c8 -d10s --latency``) loads one of them at a time with:

- ``search warm``: /api/movies?search=the,war&limit=10&offset=0, the same URL
  every time, so every request after the first is a server-side cache hit;
- ``search cold``: the same search with a distinct dummy ``&n=<nonce>-<thread>-<i>``
  per request (a wrk Lua script). The API ignores unknown parameters but the
  cache key covers them all, so every request runs the search;
- ``list``: /api/movies?limit=20 (cached after the first request);
- ``detail``: /api/movies/<id> of an existing movie (never cached server-side);
- ``bare``: the bare app.

Each round runs every case once; the result is the median over ``--rounds``
and each case's ratio to the bare app, both as the ratio of the medians and as
the median of the per-round ratios. /metrics (both workers aggregated through
PROMETHEUS_MULTIPROC_DIR) is read before and after each case for the database
queries per request. wrk runs on the same 2 cores as the servers, so every
figure includes its share of the CPU.

The result goes to ``throughput-<label>.json`` in the results directory
(``--results-dir``, see bench.report) with the machine's and the code's facts,
and its table (``bench.report``) is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import harness

SEARCH_PATH = "/api/movies?search=the,war&limit=10&offset=0"
LIST_PATH = "/api/movies?limit=20"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
TARGET_RATIO = {"search warm": 0.30, "search cold": 0.10}
COLD_SCRIPT = """\
-- A distinct dummy parameter per request: the server-side cache never hits.
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function request()
  counter = counter + 1
  return wrk.format(nil, wrk.path .. "&n=%(nonce)s-" .. tid .. "-" .. counter)
end
"""
REQUESTS_PER_SECOND = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
TOTAL = re.compile(r"^\s+(\d+) requests in ([\d.]+)(\w+), ", re.MULTILINE)
NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
LATENCY_LINE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Case:
    name: str
    server: str  # "app" or "bare"
    path: str
    script: Path | None = None


def wrk(port: int, case: Case, *, threads: int, connections: int, duration: int) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if case.script:
        command += ["-s", str(case.script)]
    command.append(f"http://127.0.0.1:{port}{case.path}")
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    output = completed.stdout
    rate = REQUESTS_PER_SECOND.search(output)
    if completed.returncode != 0 or rate is None:
        raise harness.BenchError(f"{' '.join(command)} failed: {completed.stderr or output}")
    total = TOTAL.search(output)
    non_2xx = NON_2XX.search(output)
    errors = SOCKET_ERRORS.search(output)
    latency = {
        f"p{percent}_ms": round(float(value) * UNIT_MS[unit], 2)
        for percent, value, unit in LATENCY_LINE.findall(output)
    }
    return {
        "requests_per_second": float(rate.group(1)),
        "requests": int(total.group(1)) if total else None,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": dict(
            zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
        )
        if errors
        else None,
        "latency": latency,
    }


def cpu_per_request(
    before: harness.CpuSnapshot,
    after: harness.CpuSnapshot,
    *,
    workers: Sequence[int],
    database: str,
    requests: int,
) -> dict[str, float]:
    """Milliseconds of CPU per request: the server's workers, the database, Redis, wrk, the rest.

    The machine's busy time covers everything, the kernel's work on loopback
    included; "other" is what no process listed here accounts for.
    """
    spent = {"workers": 0.0, "database": 0.0, "redis": 0.0}
    for pid, (name, cpu) in after.processes.items():
        used = cpu - before.processes.get(pid, (name, 0.0))[1]
        if pid in workers:
            spent["workers"] += used
        elif harness.serves_database(name, database):
            spent["database"] += used
        elif name == "redis-server":
            spent["redis"] += used
    spent["wrk"] = after.children - before.children
    spent["machine"] = after.machine - before.machine
    spent["other"] = spent["machine"] - sum(
        spent[key] for key in ("workers", "database", "redis", "wrk")
    )
    return {key: round(1000 * value / max(requests, 1), 3) for key, value in spent.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    harness.add_database_url_argument(parser)
    parser.add_argument("--label", required=True, help="names the result: throughput-LABEL.json")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    harness.add_source_argument(parser)
    args = parser.parse_args(argv)
    harness.require_database_url(parser, args)
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")
    path = args.results_dir / f"throughput-{args.label}.json"
    return harness.measure_and_publish(lambda: measure(args), path)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with harness.scratch_dir("movies-bench-throughput-") as workdir:
        engine = harness.engine_of(args.database_url)
        database_name = urlsplit(args.database_url).path.lstrip("/")
        machine = harness.machine_facts(args.database_url)
        machine["wrk"] = harness.tool_version(["wrk", "-v"], r"wrk (\S+)")
        machine.update(harness.server_versions(args.redis_url))
        app_dir = harness.app_snapshot(args.source, workdir)
        code = harness.code_facts(app_dir, args.source)
        cold_script = workdir / "cold.lua"
        app_env = harness.app_environment(args.database_url, REDIS_URL=args.redis_url)
        with harness.Gunicorn(
            "config.wsgi", chdir=app_dir, env=app_env, ready_path="/healthz", metrics=True
        ) as app:
            status, _, body = harness.http_get(app.port, "/api/movies?limit=1")
            if status != 200 or not json.loads(body)["results"]:
                raise harness.BenchError(f"the catalogue is empty or unreachable ({status})")
            movie_id = json.loads(body)["results"][0]["id"]
            status, headers, body = harness.http_get(app.port, SEARCH_PATH)
            if status != 200:
                raise harness.BenchError(f"{SEARCH_PATH} answered {status}")
            body_file = workdir / "body.json"
            body_file.write_bytes(body)
            bare_env = {**os.environ, "BARE_APP_BODY": str(body_file)}
            with harness.Gunicorn(
                "bench.bare_app:application", chdir=harness.REPO_ROOT, env=bare_env
            ) as bare:
                if harness.http_get(bare.port, "/")[2] != body:
                    raise harness.BenchError("the bare app does not serve the captured bytes")
                cases = [
                    Case("search warm", "app", SEARCH_PATH),
                    Case("search cold", "app", SEARCH_PATH, cold_script),
                    Case("list", "app", LIST_PATH),
                    Case("detail", "app", f"/api/movies/{movie_id}"),
                    Case("bare", "bare", "/"),
                ]
                runs: dict[str, list[dict[str, Any]]] = {case.name: [] for case in cases}
                for round_number in range(1, args.rounds + 1):
                    for case in cases:
                        server = app if case.server == "app" else bare
                        if case.script:
                            # A new nonce each run: Redis keeps earlier runs' entries.
                            nonce = secrets.token_hex(6)
                            case.script.write_text(COLD_SCRIPT % {"nonce": nonce})
                        load = os.getloadavg()[0]
                        before = harness.settled_metrics(app)
                        cpu_before = harness.CpuSnapshot.take()
                        run = wrk(
                            server.port,
                            case,
                            threads=args.threads,
                            connections=args.connections,
                            duration=args.duration,
                        )
                        run["cpu_ms_per_request"] = cpu_per_request(
                            cpu_before,
                            harness.CpuSnapshot.take(),
                            workers=harness.worker_pids(server.pid),
                            database=database_name,
                            requests=run["requests"] or 0,
                        )
                        run["routes"] = harness.metrics_delta(before, harness.settled_metrics(app))
                        run["load_average_before"] = round(load, 2)
                        runs[case.name].append(run)
                        harness.say(
                            f"[{args.label}] round {round_number}/{args.rounds} {case.name}: "
                            f"{run['requests_per_second']:.1f} req/s, load {load:.2f}"
                        )
        result = summarise(runs, cases, args, engine, movie_id, body, headers)
        result.update(
            {
                "machine": machine,
                "code": code,
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        harness.warn_if_code_changed(app_dir, code, result)
        return result


def summarise(
    runs: dict[str, list[dict[str, Any]]],
    cases: Sequence[Case],
    args: argparse.Namespace,
    engine: str,
    movie_id: int,
    body: bytes,
    headers: dict[str, str],
) -> dict[str, Any]:
    bare_rates = [run["requests_per_second"] for run in runs["bare"]]
    bare_median = statistics.median(bare_rates)
    summary = {}
    for case in cases:
        case_runs = runs[case.name]
        rates = [run["requests_per_second"] for run in case_runs]
        median = statistics.median(rates)
        per_round = [rate / bare for rate, bare in zip(rates, bare_rates, strict=True)]
        routes: dict[str, dict[str, int]] = {}
        for run in runs[case.name]:
            for route, counts in run["routes"].items():
                total = routes.setdefault(route, {"requests": 0, "db_queries": 0})
                total["requests"] += counts["requests"]
                total["db_queries"] += counts["db_queries"]
        per_request = {
            route: round(total["db_queries"] / total["requests"], 2)
            for route, total in routes.items()
        }
        target = TARGET_RATIO.get(case.name)
        ratio = median / bare_median
        summary[case.name] = {
            "path": case.path + (" (+ &n=<unique>)" if case.script else ""),
            "median_requests_per_second": round(median, 1),
            "requests_per_second": rates,
            "ratio_to_bare": round(ratio, 3),
            "median_per_round_ratio_to_bare": round(statistics.median(per_round), 3),
            "target_ratio": target,
            "meets_target": None if target is None else ratio >= target,
            "db_queries_per_request": per_request,
            "non_2xx": sum(run["non_2xx"] for run in runs[case.name]),
            "median_cpu_ms_per_request": {
                key: round(
                    statistics.median(run["cpu_ms_per_request"][key] for run in case_runs), 3
                )
                for key in case_runs[0]["cpu_ms_per_request"]
            },
            "median_latency_ms": {
                key: round(statistics.median(run["latency"][key] for run in runs[case.name]), 2)
                for key in runs[case.name][0]["latency"]
            },
        }
    return {
        "benchmark": "throughput",
        "label": args.label,
        "database": engine,
        "database_url": args.database_url,
        "redis_url": args.redis_url,
        "wrk": f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency",
        "gunicorn": "--workers 2 (sync), 127.0.0.1; the app and the bare app side by side",
        "rounds": args.rounds,
        "movie_id": movie_id,
        "response_bytes": len(body),
        "app_response_headers": headers,
        "cases": summary,
        "runs": runs,
    }


if __name__ == "__main__":
    sys.exit(main())
