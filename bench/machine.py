"""What benchmarks report about the machine besides wall time: load, JVM CPU time, peak memory.

Reads /proc, so the figures exist on Linux only (0 elsewhere).
"""

from __future__ import annotations

import os
import resource
from pathlib import Path


def child_pids() -> list[int]:
    """The processes this one started (the Spark JVM among them)."""
    pids = []
    for children in Path("/proc/self/task").glob("*/children"):
        pids += [int(pid) for pid in children.read_text().split()]
    return pids


def jvm_cpu_seconds() -> float:
    """CPU seconds used so far by this process's children (the Spark JVM); 0 where unknown."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in child_pids():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:  # the child has just exited
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def jvm_peak_rss_mib() -> float:
    """The largest resident set the children reached so far (VmHWM), in MiB; 0 where unknown."""
    peak_kib = 0
    for pid in child_pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak_kib = max(peak_kib, int(line.split()[1]))
    return peak_kib / 1024


def own_peak_rss_mib() -> float:
    """This process's peak resident set in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> float:
    return os.getloadavg()[0]
