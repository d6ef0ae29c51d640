"""What a process costs, read from Linux's /proc: CPU seconds and resident memory. Shared by the
benchmarks; every figure covers all threads of the process (RocksDB's included)."""

from __future__ import annotations

import math
import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads (nan when /proc cannot tell)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of a process in MiB: VmRSS and VmHWM (nan, nan when
    /proc cannot tell)."""
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    except OSError:
        return math.nan, math.nan
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def tree_cpu_seconds(pid: int) -> float:
    """:func:`cpu_seconds` of a process plus those of its living children, recursively: the
    reference Metadata Service parses bodies and runs queries in worker processes of its own.
    A child that ended meanwhile is not counted (the service's workers live as long as it)."""
    return cpu_seconds(pid) + sum(tree_cpu_seconds(child) for child in _children(pid))


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        return []
    return children


def cpu_by_thread(pid: int) -> dict[str, float]:
    """CPU seconds of a process split by who spent them: its main thread (``main``: an asyncio
    service's event loop), RocksDB's background threads (``rocksdb``: flushes and compactions),
    and every other thread, those that ended included (``other``: the process total less the
    two; the bulk loader's threads end with each load, so they are only counted this way)."""
    split = {"main": 0.0, "rocksdb": 0.0, "other": 0.0}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return {name: math.nan for name in split}
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # ended meanwhile: in the process total
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rpartition(")")[2].split()
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if int(task.name) == pid:
            split["main"] += seconds
        elif name.startswith("rocksdb"):
            split["rocksdb"] += seconds
    split["other"] = cpu_seconds(pid) - split["main"] - split["rocksdb"]
    return split
