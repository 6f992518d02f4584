"""What every benchmark runs on: errors and output, machine and code facts, servers, /proc.

The scripts in ``bench/`` run as modules from the repository root
(``python -m bench.search_bench ...``). Measuring code that must import the app
itself runs in a child process started by ``run_in_app``, whose import path
holds the app's source directory; nothing here edits ``sys.path``.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django

from bench import report

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
APP_DIR = REPO_ROOT / "movies"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
# Where the scripts write their results, and the report reads them.
RESULTS_DIR = report.RESULTS_DIR
# The app's environment for every benchmark: DEBUG off, no throttling.
APP_ENV = {
    "SECRET_KEY": "bench",
    "THROTTLE_ANON_RATE": "",
    "THROTTLE_USER_RATE": "",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LOG_LEVEL": "WARNING",
}
SERVER_START_SECONDS = 60


class BenchError(Exception):
    """A benchmark step that failed; the message says which and why."""


# -- commands and output --------------------------------------------------------


def run(command: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """A command's standard output; BenchError with its standard error if it fails."""
    completed = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise BenchError(
            f"{' '.join(command)} exited with {completed.returncode}: "
            f"{completed.stderr.strip()[-2000:]}"
        )
    return completed.stdout.strip()


def say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of the script's docstring."""
    return argparse.ArgumentParser(
        description=(doc or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_database_url_argument(
    parser: argparse.ArgumentParser, description: str | None = None
) -> None:
    """``--database-url``, defaulting to DATABASE_URL; check it with ``require_database_url``."""
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help=description)


def require_database_url(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")


def write_json(path: Path, result: dict[str, Any]) -> Path:
    """Write a result atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    os.replace(partial, path)
    return path


def publish(result: dict[str, Any], path: Path) -> None:
    """Write the result to ``path`` and print its table (rendered by bench.report)."""
    say(f"wrote {write_json(path, result)}")
    sys.stdout.write(report.details([result]) + "\n")


def measure_and_publish(measure: Callable[[], dict[str, Any]], path: Path) -> int:
    """The exit status of a benchmark run: 0 with its result published, 1 after a BenchError."""
    try:
        result = measure()
    except BenchError as error:
        say(f"error: {error}")
        return 1
    publish(result, path)
    return 0


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory for one run, removed at its end whatever happens."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile, interpolated linearly between the closest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- machine facts --------------------------------------------------------------


def host_facts() -> dict[str, Any]:
    """CPU, memory, OS and current load of the machine the benchmark runs on."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    memory = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    return {
        "cpu_model": model.group(1).strip() if model else platform.processor() or None,
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)),
        "ram_mb": int(memory.group(1)) // 1024 if memory else None,
        "os": platform.platform(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
    }


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
    """CPU, memory, OS and the versions of Python, SQLite, Django and PostgreSQL in use.

    The app runs on this interpreter (its SQLite library is the one measured);
    ``database_url``, when PostgreSQL's, gives the server version.
    """
    facts: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **host_facts(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": None,
        "django": django.get_version(),
    }
    if database_url and engine_of(database_url) == "postgresql":
        facts["postgresql"] = postgres_version(database_url)
    return facts


def tool_version(command: Sequence[str], pattern: str) -> str | None:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    found = re.search(pattern, completed.stdout + completed.stderr)
    return found.group(1) if found else None


def server_versions(redis_url: str) -> dict[str, str | None]:
    """Redis's and gunicorn's versions; BenchError when Redis does not answer."""
    versions = {
        "redis": tool_version(
            ["redis-cli", "-u", redis_url, "INFO", "server"], r"redis_version:(\S+)"
        ),
        "gunicorn": tool_version(
            [str(Path(sys.executable).parent / "gunicorn"), "--version"], r"\(version ([\d.]+)\)"
        ),
    }
    if versions["redis"] is None:
        raise BenchError(f"Redis does not answer at {redis_url}")
    return versions


# -- the code measured ----------------------------------------------------------


def fingerprint(paths: Sequence[Path], root: Path | None = None) -> str:
    """A hash of the files' contents (and of their paths below ``root``, if given)."""
    digest = hashlib.sha256()
    for path in paths:
        if root is not None:
            digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_fingerprint(app_dir: Path) -> str:
    """A hash of the app's Python files."""
    return fingerprint(sorted(app_dir.rglob("*.py")), app_dir)


def git(*args: str, repository: Path = REPO_ROOT) -> str | None:
    """git's output in ``repository``, or None when git fails or is missing."""
    try:
        return run(["git", "-C", str(repository), *args])
    except (BenchError, FileNotFoundError):
        return None


def git_archive(ref: str, into: Path, *paths: str) -> None:
    """Extract ``paths`` (everything when none) of this repository at ``ref`` into ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", ref, *paths],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise BenchError(f"git archive {ref} failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")


def app_snapshot(source: str, into: Path) -> Path:
    """The ``movies/`` directory to measure, frozen for the whole run.

    Others edit the working tree while benchmarks run, so by default the
    in-process run and the gunicorn workers load a copy taken at the start
    (``worktree``); ``head`` measures the last commit, ``live`` the tree itself,
    anything else names a commit (its ``movies/``, by ``git archive``).
    """
    if source == "live":
        return APP_DIR
    target = into / "movies"
    if source == "worktree":
        shutil.copytree(APP_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        git_archive("HEAD" if source == "head" else source, into, "movies")
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


def code_facts(app_dir: Path, source: str) -> dict[str, Any]:
    working_tree = source in ("worktree", "live")
    status = git("status", "--porcelain", "--", "movies")
    return {
        "source": source,
        "commit": git(
            "rev-parse", source if source not in ("worktree", "head", "live") else "HEAD"
        ),
        "uncommitted_files_in_movies": (
            [line.split(maxsplit=1)[-1] for line in status.splitlines()]
            if status and working_tree
            else []
        ),
        "app_code_sha256": code_fingerprint(app_dir),
    }


def warn_if_code_changed(app_dir: Path, code: dict[str, Any], result: dict[str, Any]) -> None:
    """Mark the result when the measured app's files changed during the run."""
    if code_fingerprint(app_dir) != code["app_code_sha256"]:
        result["warning"] = "the app's code changed on disk during the run"
        say(f"warning: {result['warning']}")


# -- the app in this process ----------------------------------------------------


def app_environment(database_url: str, **extra: str) -> dict[str, str]:
    """This process's environment for the app: APP_ENV, the database, no DEBUG or Redis."""
    env = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "REDIS_URL")}
    env.update(APP_ENV)
    env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def run_in_app(module: str, app_dir: Path, argv: Sequence[str], *, stdout: Any = None) -> int:
    """Run ``python -m module argv`` in a child process that imports the app from ``app_dir``.

    The benchmark's in-process measures load the app (``catalog``, ``config``)
    from a snapshot of its source: the child's import path puts that directory
    first, then this repository for the ``bench`` package. Its exit status.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(app_dir), str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    command = [sys.executable, "-m", module, *argv]
    return subprocess.run(command, env=env, cwd=REPO_ROOT, stdout=stdout, check=False).returncode


def results_of_child(module: str, app_dir: Path, argv: Sequence[str], *, role: str) -> Any:
    """Run ``module`` as run_in_app does, with ``--output FILE``; what it wrote there, as JSON.

    The child's own output is silenced; a failing child is a BenchError
    naming its ``role``.
    """
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as output:
        path = Path(output.name)
    try:
        returncode = run_in_app(
            module, app_dir, [*argv, "--output", str(path)], stdout=subprocess.DEVNULL
        )
        if returncode != 0:
            raise BenchError(f"the {role} exited with {returncode}")
        return json.loads(path.read_text())
    finally:
        path.unlink(missing_ok=True)


def run_in_snapshot(module: str, source: str, argv: Sequence[str], *, prefix: str) -> int:
    """Run ``module`` with ``argv`` in a child importing a snapshot of the app (app_snapshot).

    The child is given ``--app-dir`` with the snapshot's directory, which is
    removed when it ends. Its exit status, or 1 after a BenchError.
    """
    try:
        with scratch_dir(prefix) as workdir:
            app_dir = app_snapshot(source, workdir)
            return run_in_app(module, app_dir, [*argv, "--app-dir", str(app_dir)])
    except BenchError as error:
        say(f"error: {error}")
        return 1


def setup_django(database_url: str) -> None:
    """Set the app up in this process (started by run_in_app), on ``database_url``."""
    # cache.clear() must clear this process's cache only: no REDIS_URL.
    env = app_environment(database_url, DJANGO_SETTINGS_MODULE="config.settings")
    os.environ.clear()
    os.environ.update(env)
    django.setup()


# -- servers ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
        deadline = time.monotonic() + SERVER_START_SECONDS
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
        tail = self.log.read_text()[-2000:]
        self.__exit__(BenchError, None, None)
        raise BenchError(f"gunicorn did not answer in {SERVER_START_SECONDS}s: {tail}")

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

    @property
    def pid(self) -> int:
        """The master's process id."""
        return pid_of(self.process)

    def metrics(self) -> dict[str, dict[str, float]]:
        return read_metrics(self.port)


def pid_of(process: subprocess.Popen | None) -> int:
    """A server's process id, once it has been started."""
    if process is None:
        raise BenchError("the server has not been started")
    return process.pid


class ProductionGunicorn(Gunicorn):
    """gunicorn with the production settings file; workers are never recycled."""

    @property
    def command(self) -> list[str]:
        # The command line wins over the settings file: the bind is this benchmark's.
        config = self.chdir / "config" / "gunicorn.py"
        return [*super().command, "--config", str(config), "--max-requests", "0"]


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
            if route is None:
                continue
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


def settled_metrics(server: Gunicorn) -> dict[str, dict[str, float]]:
    """/metrics once the requests still in flight when a load stopped are served."""
    previous = server.metrics()
    for _ in range(40):
        time.sleep(0.1)
        current = server.metrics()
        if metrics_delta(previous, current) == {}:
            return current
        previous = current
    return previous


# -- processes, from /proc --------------------------------------------------------


def worker_pids(master: int) -> list[int]:
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("PPid:") and int(line.split()[1]) == master:
                pids.append(int(status.parent.name))
                break
    return sorted(pids)


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int | None:
    """A process's resident memory (VmRSS), from /proc/<pid>/status."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def process_table() -> dict[int, tuple[str, float]]:
    """Every process's name and CPU seconds so far.

    PostgreSQL's processes are named by their title, which says the database
    they serve; the others by their executable's name only.
    """
    table = {}
    for directory in Path("/proc").glob("[0-9]*"):
        try:
            command = (directory / "cmdline").read_bytes().replace(b"\0", b" ").strip()
            name = command.decode(errors="replace")
            if not name.startswith("postgres:"):
                name = (directory / "comm").read_text().strip()
        except OSError:
            continue
        cpu = cpu_seconds(int(directory.name))
        if cpu is not None:
            table[int(directory.name)] = (" ".join(name.split())[:100], cpu)
    return table


def serves_database(process_name: str, database: str) -> bool:
    """Whether a process is one of PostgreSQL's for this database (its title names it)."""
    words = process_name.split()
    return words[:1] == ["postgres:"] and database in words


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idling, since boot."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds spent so far: by the machine, by each process, by this one, by its children."""

    machine: float
    processes: dict[int, tuple[str, float]]
    own: float  # this process: the load benchmark's clients are its threads
    children: float  # finished child processes, wrk among them

    @classmethod
    def take(cls) -> CpuSnapshot:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(
            machine=machine_busy_seconds(),
            processes=process_table(),
            own=time.process_time(),
            children=children.ru_utime + children.ru_stime,
        )

    def of(self, pids: Sequence[int]) -> float:
        """The CPU seconds of these processes (0 for any not running)."""
        return sum(self.processes[pid][1] for pid in pids if pid in self.processes)
