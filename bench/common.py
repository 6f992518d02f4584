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
