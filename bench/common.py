"""What the benchmark scripts share: errors, subprocesses, output and host facts."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class BenchError(Exception):
    """A benchmark step that failed; the message says which and why."""


def run(command: Sequence[str], env: dict[str, str] | None = None) -> str:
    """A command's standard output; BenchError with its standard error if it fails."""
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise BenchError(
            f"{' '.join(command)} exited with {completed.returncode}: "
            f"{completed.stderr.strip()[-2000:]}"
        )
    return completed.stdout.strip()


def say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def write_json(path: Path, result: dict[str, Any]) -> Path:
    """Write a result atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    os.replace(partial, path)
    return path


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
