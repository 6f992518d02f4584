"""Throughput of ``populate_db``, on SQLite and on PostgreSQL.

``python -m bench.import_bench [--sizes 100000,1000000] [--databases sqlite,postgres]
[--repeat 3] [--timeout SECONDS] [--source worktree|head|live]``

For each size and database: a synthetic catalogue of that size (bench/generate.py,
cached in /tmp/bench-data/), then ``--repeat`` imports, each into a freshly
migrated database, run as ``manage.py populate_db FILE --no-progress`` in a
subprocess with ``SECRET_KEY=bench DEBUG=0``; wall time and peak RSS are taken
for the whole process, with its CPU time and the load average before it (the
machine's other work skews wall time). The last filled database then gets the
same file again (every movie unchanged), which is the cost of re-running an
import. ``--timeout`` stops an import that runs too long and records it as such.

Each case is written to ``import-<database>-<size>.json`` in the results directory
(``--results-dir``, see bench.report) with the machine's and the code's facts; a
table of all cases (``bench.report``) ends the run.
The app measured is a snapshot of the working tree taken at the start
(``--source``, see bench.harness.app_snapshot).

SQLite runs use a temporary file. PostgreSQL runs drop and recreate the database
named in ``--postgres-url`` (default movies_bench) with psql, so never point it
at a database you want to keep.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from bench import generate, harness, report

GENERATOR = Path(generate.__file__)
FIXTURE = harness.REPO_ROOT / "fixtures" / "imdb.json"
DATA_DIR = Path("/tmp/bench-data")
GNU_TIME = Path("/usr/bin/time")
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/movies_bench"
DEFAULT_SEED = 0
BENCH_ENV = {"SECRET_KEY": "bench", "DEBUG": "0"}
MB = 1024 * 1024

SUMMARY = re.compile(
    r"Imported (?P<total>\d+) movies from .* in (?P<seconds>[\d.]+)s: (?P<created>\d+) created, "
    r"(?P<updated>\d+) updated, (?P<unchanged>\d+) unchanged"
)
MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
CPU_TIME = re.compile(r"(?:User|System) time \(seconds\): ([\d.]+)")
POSTGRES_UNREACHABLE = (
    "PostgreSQL is not reachable at {url} ({reason}). Start it, pass --postgres-url, "
    "or benchmark SQLite only with --databases sqlite."
)


@dataclass
class Measurement:
    wall_seconds: float
    # populate_db's own user + system time: less sensitive than wall time to
    # other work on the machine, but blind to the database server's share.
    # None, like the peak RSS, when the import was stopped at --timeout.
    cpu_seconds: float | None
    peak_rss_mb: float | None
    # What populate_db itself reports: the import without interpreter and Django start-up.
    import_seconds: float | None
    created: int | None
    updated: int | None
    unchanged: int | None
    # Other work on the machine skews a run; this says whether there was any.
    load_average_before: float
    timed_out: bool = False


@dataclass
class _Finished:
    wall: float
    cpu: float | None
    peak_mb: float | None
    output: str
    timed_out: bool


class Database(Protocol):
    name: str

    def fresh(self) -> str:
        """An empty database's DATABASE_URL; any previous one is gone."""

    def drop(self) -> None: ...


class SQLiteDatabase:
    name = "sqlite"

    def __init__(self) -> None:
        self._directory: Path | None = None

    def fresh(self) -> str:
        self.drop()
        self._directory = Path(tempfile.mkdtemp(prefix="movies-bench-sqlite-"))
        return f"sqlite:///{self._directory / 'bench.sqlite3'}"

    def drop(self) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None


class PostgresDatabase:
    name = "postgres"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = url
        self.database = parts.path.lstrip("/")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.database):
            raise harness.BenchError(f"--postgres-url must name a plain database, got {url!r}")
        # Dropping and creating happen from the maintenance database.
        self._admin_url = urlunsplit(parts._replace(path="/postgres"))

    def _psql(self, url: str, sql: str) -> str:
        return harness.run(["psql", url, "-X", "-v", "ON_ERROR_STOP=1", "-qtAc", sql])

    def check(self) -> None:
        try:
            self._psql(self._admin_url, "SELECT 1")
        except (harness.BenchError, FileNotFoundError) as error:
            raise harness.BenchError(
                POSTGRES_UNREACHABLE.format(url=self.url, reason=error)
            ) from None

    def fresh(self) -> str:
        self.drop()
        self._psql(self._admin_url, f'CREATE DATABASE "{self.database}"')
        return self.url

    def drop(self) -> None:
        self._psql(self._admin_url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def version(self) -> str:
        return self._psql(self._admin_url, "SHOW server_version")


def catalogue_file(size: int, seed: int, data_dir: Path) -> Path:
    """The synthetic catalogue of ``size`` movies, generated once per generator version."""
    version = harness.fingerprint([GENERATOR, FIXTURE])[:12]
    path = data_dir / f"catalogue-{size}-seed{seed}-{version}.json"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        harness.say(f"generating {path}")
        command = [sys.executable, "-m", "bench.generate", str(size), str(path)]
        harness.run([*command, "--seed", str(seed)], cwd=harness.REPO_ROOT)
    return path


def measure(command: Sequence[str], env: dict[str, str], timeout: float | None) -> _Finished:
    """Run ``command`` to completion, or kill it after ``timeout`` seconds."""
    with (
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
        tempfile.NamedTemporaryFile("r") as rusage,
    ):
        use_time = GNU_TIME.exists()
        if use_time:
            command = [str(GNU_TIME), "-v", "-o", rusage.name, *command]
        started = time.perf_counter()
        # Its own session, so that a timeout kills the command and not just GNU time.
        process = subprocess.Popen(
            command, env=env, stdout=stdout, stderr=stderr, start_new_session=True
        )
        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, stop) if timeout else None
        if timer:
            timer.start()
        try:
            # wait4 gives this child's own peak RSS (ru_maxrss, kB on Linux),
            # where RUSAGE_CHILDREN would be the largest of all children so far.
            # It may include this process's size from before the exec, which
            # matters only for commands smaller than the benchmark itself.
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - started
        process.returncode = returncode = os.waitstatus_to_exitcode(status)
        if timed_out.is_set():
            return _Finished(wall, None, None, "", timed_out=True)
        if use_time:
            report = rusage.read()
            match = MAX_RSS.search(report)
            peak_kb = int(match.group(1)) if match else 0
            cpu = sum(float(seconds) for seconds in CPU_TIME.findall(report))
        else:
            peak_kb = usage.ru_maxrss
            cpu = usage.ru_utime + usage.ru_stime
        stdout.seek(0)
        stderr.seek(0)
        output = stdout.read().decode(errors="replace")
        if returncode != 0:
            errors = stderr.read().decode(errors="replace").strip()[-2000:]
            raise harness.BenchError(f"{' '.join(command)} exited with {returncode}: {errors}")
    return _Finished(wall, cpu, peak_kb * 1024 / MB, output, timed_out=False)


def import_once(manage: Path, path: Path, database_url: str, timeout: float | None) -> Measurement:
    env = {**os.environ, **BENCH_ENV, "DATABASE_URL": database_url}
    load = os.getloadavg()[0]
    finished = measure(
        [sys.executable, str(manage), "populate_db", str(path), "--no-progress"], env, timeout
    )
    summary = SUMMARY.search(finished.output)
    if summary is None and not finished.timed_out:
        harness.say(
            f"warning: no summary in populate_db's output: {finished.output.strip()[-500:]!r}"
        )
    counts = summary.groupdict() if summary else {}
    return Measurement(
        wall_seconds=round(finished.wall, 3),
        cpu_seconds=None if finished.cpu is None else round(finished.cpu, 2),
        peak_rss_mb=None if finished.peak_mb is None else round(finished.peak_mb, 1),
        import_seconds=float(counts["seconds"]) if counts else None,
        created=int(counts["created"]) if counts else None,
        updated=int(counts["updated"]) if counts else None,
        unchanged=int(counts["unchanged"]) if counts else None,
        load_average_before=round(load, 2),
        timed_out=finished.timed_out,
    )


def _describe(run: Measurement) -> str:
    if run.timed_out:
        return f"stopped after {run.wall_seconds:.0f}s (--timeout), load {run.load_average_before}"
    return (
        f"{run.wall_seconds:.2f}s wall, {run.cpu_seconds:.2f}s CPU, {run.import_seconds}s in "
        f"populate_db, {run.peak_rss_mb:.0f} MB, load {run.load_average_before}"
    )


def migrate(manage: Path, database_url: str) -> None:
    env = {**os.environ, **BENCH_ENV, "DATABASE_URL": database_url}
    harness.run([sys.executable, str(manage), "migrate", "--no-input", "--verbosity", "0"], env)


def _median(values: Sequence[float | None], digits: int) -> float | None:
    known = [value for value in values if value is not None]
    return round(statistics.median(known), digits) if known else None


def bench_case(
    *,
    manage: Path,
    database: Database,
    path: Path,
    size: int,
    repeat: int,
    timeout: float | None,
) -> dict[str, Any]:
    """``repeat`` imports into fresh databases, then one re-run into the last one.

    An import stopped at ``timeout`` ends the case: the next would be stopped
    too, and there is no filled database to re-run into.
    """
    runs: list[Measurement] = []
    rerun: Measurement | None = None
    checks: list[str] = []
    try:
        for attempt in range(1, repeat + 1):
            url = database.fresh()
            migrate(manage, url)
            run = import_once(manage, path, url, timeout)
            runs.append(run)
            harness.say(f"[{database.name} {size}] import {attempt}/{repeat}: {_describe(run)}")
            if run.timed_out:
                checks.append(f"import {attempt} was stopped after {timeout:g}s")
                break
            if run.created != size:
                checks.append(f"import {attempt} created {run.created} of {size} movies")
        else:
            rerun = import_once(manage, path, url, timeout)
            harness.say(f"[{database.name} {size}] re-run: {_describe(rerun)}")
            if rerun.timed_out:
                checks.append(f"the re-run was stopped after {timeout:g}s")
            elif rerun.unchanged != size:
                checks.append(f"re-run left {rerun.unchanged} of {size} movies unchanged")
    finally:
        database.drop()
    for check in checks:
        harness.say(f"warning: {check}")
    completed = [run for run in runs if not run.timed_out]
    median_wall = _median([run.wall_seconds for run in completed], 3)
    return {
        "database": database.name,
        "records": size,
        "repeat": repeat,
        "timeout_seconds": timeout,
        "completed_runs": len(completed),
        "median_wall_seconds": median_wall,
        "records_per_second": round(size / median_wall) if median_wall else None,
        "median_import_seconds": _median([run.import_seconds for run in completed], 3),
        "median_cpu_seconds": _median([run.cpu_seconds for run in completed], 2),
        "peak_rss_mb": max((run.peak_rss_mb or 0 for run in completed), default=None),
        "runs": [asdict(run) for run in runs],
        "rerun": asdict(rerun) if rerun else None,
        "checks_failed": checks,
    }


def import_machine_facts(databases: Sequence[Database]) -> dict[str, Any]:
    """The machine's facts, with how peak memory was read and PostgreSQL's version."""
    facts = harness.machine_facts()
    facts["peak_rss_source"] = "GNU time -v" if GNU_TIME.exists() else "wait4 ru_maxrss"
    for database in databases:
        if isinstance(database, PostgresDatabase):
            facts["postgresql"] = database.version()
    return facts


def write_result(result: dict[str, Any], results_dir: Path) -> Path:
    name = f"import-{result['database']}-{result['records']}.json"
    return harness.write_json(results_dir / name, result)


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    parser.add_argument(
        "--sizes", default="100000", help="comma-separated catalogue sizes (default 100000)"
    )
    parser.add_argument(
        "--databases", default="sqlite,postgres", help="sqlite, postgres or both (the default)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="imports per case (default 3)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="stop an import after this many seconds and record it as stopped (default: none)",
    )
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    harness.add_source_argument(parser)
    args = parser.parse_args(argv)
    try:
        sizes = [int(size.replace("_", "")) for size in _comma_list(args.sizes)]
    except ValueError:
        parser.error(f"--sizes must be whole numbers, got {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes must be positive")
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    names = _comma_list(args.databases)
    if not names or set(names) - {"sqlite", "postgres"}:
        parser.error(f"--databases takes sqlite and/or postgres, got {args.databases!r}")

    try:
        with harness.scratch_dir("movies-bench-import-") as workdir:
            results = run(args, sizes, names, harness.app_snapshot(args.source, workdir))
    except harness.BenchError as error:
        harness.say(f"error: {error}")
        return 1
    sys.stdout.write(report.details(results) + "\n")
    return 0


def run(
    args: argparse.Namespace, sizes: Sequence[int], names: Sequence[str], app_dir: Path
) -> list[dict[str, Any]]:
    """Every case of sizes x databases, each written to --results-dir as it ends."""
    manage = app_dir / "manage.py"
    databases: list[Database] = []
    for name in names:
        if name == "sqlite":
            databases.append(SQLiteDatabase())
        else:
            postgres = PostgresDatabase(args.postgres_url)
            postgres.check()
            databases.append(postgres)
    machine = import_machine_facts(databases)
    results = []
    for size in sizes:
        path = catalogue_file(size, args.seed, args.data_dir)
        for database in databases:
            code = harness.code_facts(app_dir, args.source)
            result = bench_case(
                manage=manage,
                database=database,
                path=path,
                size=size,
                repeat=args.repeat,
                timeout=args.timeout,
            )
            if harness.code_fingerprint(app_dir) != code["app_code_sha256"]:
                result["checks_failed"].append("the app's code changed during the case")
                harness.say(f"warning: {result['checks_failed'][-1]}")
            result.update(
                {
                    "benchmark": "populate_db",
                    "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "data_file": str(path),
                    "data_bytes": path.stat().st_size,
                    "seed": args.seed,
                    "machine": machine,
                    "code": code,
                }
            )
            harness.say(f"wrote {write_result(result, args.results_dir)}")
            results.append(result)
    return results


if __name__ == "__main__":
    sys.exit(main())
