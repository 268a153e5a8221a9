"""How many plays per second `spinback ingest --format event-log` takes from JSON lines and Parquet.

Generates N plays with Spark once (untimed) and writes them as JSON lines and as Parquet. Then, for
each format, times the whole ingest job (spinback.ingest.job.run_ingest_files, as the command line
runs it) into a fresh data directory: the generic reader, candidate plays (pseudonym, event id),
the quality rules, the Delta writes of bronze, quarantine and silver plays, then silver users and
the catalog, and the batch record.

    .venv/bin/python bench/bench_ingest.py --plays 10000000

Prints, per format: plays written, seconds, plays per second and its ratio to the reference below,
the CPU seconds the Spark JVM spent, its peak resident memory, and the load average before and
after (the machine may be shared: a load above the core count means the figures are pessimistic).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spinback.config import load_config
from spinback.ingest.job import run_ingest_files
from spinback.session import build_session

# 2025-01-01 00:00:00 UTC; one play every 3 s keeps 10 million plays inside the year.
YEAR_START_MS = 1_735_689_600_000
PLAY_SPACING_MS = 3_000

# The reference: plays per second of bronze, quarantine and silver plays alone (no users, no
# catalog), measured at 2 million plays on 2 shared cores before the input was read only once.
REFERENCE_PLAYS_PER_SECOND = {"jsonl": 7_080, "parquet": 5_734}

PROFILE = {
    "service": "bench",
    "columns": {
        "account": "user",
        "timestamp": "ts_ms",
        "ms_played": "ms_played",
        "track_key": "track_id",
        "track_name": "title",
        "artist_name": "artist",
        "album_name": "album",
    },
    "timestamp_kind": "ended",
    "timestamp_format": "unix_millis",
}


def synthetic_plays(spark: SparkSession, plays: int, files: int) -> DataFrame:
    """A multi-user log with distinct plays: user, end time, duration and names of the track."""
    users = max(1, plays // 5_000)
    plays_frame = spark.range(0, plays, numPartitions=files)
    track = (F.col("id") * 2_654_435_761) % 50_000
    return plays_frame.select(
        F.format_string("user-%06d", F.col("id") % users).alias("user"),
        (F.lit(YEAR_START_MS) + F.col("id") * PLAY_SPACING_MS).alias("ts_ms"),
        (F.lit(30_000) + (F.col("id") * 7_919) % 240_000).alias("ms_played"),
        F.concat(F.lit("T"), track.cast("string")).alias("track_id"),
        F.concat(F.lit("Track "), track.cast("string")).alias("title"),
        F.concat(F.lit("Artist "), (track % 5_000).cast("string")).alias("artist"),
        F.concat(F.lit("Album "), (track % 10_000).cast("string")).alias("album"),
    )


@dataclass(frozen=True)
class Measurement:
    plays: int
    quarantined: int
    seconds: float
    jvm_cpu_seconds: float | None
    jvm_peak_bytes: int | None
    load_before: float
    load_after: float


def measure_ingest(
    spark: SparkSession, data_dir: Path, input_dir: Path, profile_file: Path, overrides: list[str]
) -> Measurement:
    """Run one ingest of ``input_dir`` into ``data_dir`` and measure it."""
    config = load_config(overrides=[f"data_dir={data_dir}", *overrides])
    jvm = _driver_jvm_pid()
    if jvm is not None:
        _reset_peak_memory(jvm)
    cpu_before = _cpu_seconds(jvm)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    report = run_ingest_files(
        spark, config, str(input_dir), source_format="event-log", profile=str(profile_file)
    )
    seconds = time.monotonic() - started
    cpu_after = _cpu_seconds(jvm)
    return Measurement(
        plays=report.plays_inserted,
        quarantined=report.quarantine_inserted,
        seconds=seconds,
        jvm_cpu_seconds=None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
        jvm_peak_bytes=_peak_memory(jvm),
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plays", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=8, help="input files per format")
    parser.add_argument("--formats", default="jsonl,parquet")
    parser.add_argument("--work-dir", help="default: a temporary folder, removed at the end")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="configuration override, e.g. spark.driver_memory=6g",
    )  # fmt: skip
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    formats = arguments.formats.split(",")
    unknown = sorted(set(formats) - set(REFERENCE_PLAYS_PER_SECOND))
    if unknown:
        parser.error(f"--formats: unknown {', '.join(unknown)}; known: jsonl, parquet")

    work = Path(arguments.work_dir or tempfile.mkdtemp(prefix="spinback-bench-"))
    config = load_config(overrides=[f"data_dir={work / 'session'}", *arguments.overrides])
    spark = build_session(config)
    try:
        started = time.monotonic()
        generated = synthetic_plays(spark, arguments.plays, arguments.files)
        for input_format in formats:
            writer = generated.write.mode("overwrite")
            target = str(work / "input" / input_format)
            if input_format == "jsonl":
                writer.json(target)
            else:
                writer.parquet(target)
        print(
            f"spark {spark.version}, master {config.spark.master}, "
            f"driver memory {config.spark.driver_memory}, {os.cpu_count()} cores, "
            f"plays {arguments.plays:,} in {arguments.files} files per format "
            f"(generated in {time.monotonic() - started:.0f} s)"
        )
        print(
            f"{'format':<8} {'plays':>12} {'quarantined':>11} {'seconds':>8} {'plays/s':>8} "
            f"{'x ref':>6} {'jvm cpu s':>9} {'jvm peak':>9} {'load before/after':>17}"
        )
        for input_format in formats:
            profile_file = work / f"profile-{input_format}.yaml"
            profile_file.write_text(yaml.safe_dump({**PROFILE, "input_format": input_format}))
            data_dir = work / "data" / input_format
            shutil.rmtree(data_dir, ignore_errors=True)
            result = measure_ingest(
                spark, data_dir, work / "input" / input_format, profile_file, arguments.overrides
            )
            rate = result.plays / result.seconds
            cpu = "?" if result.jvm_cpu_seconds is None else f"{result.jvm_cpu_seconds:.0f}"
            peak = "?" if result.jvm_peak_bytes is None else f"{result.jvm_peak_bytes / 2**30:.1f}G"
            print(
                f"{input_format:<8} {result.plays:>12,} {result.quarantined:>11,} "
                f"{result.seconds:>8.1f} {rate:>8,.0f} "
                f"{rate / REFERENCE_PLAYS_PER_SECOND[input_format]:>6.2f} {cpu:>9} {peak:>9} "
                f"{result.load_before:>8.1f} / {result.load_after:<6.1f}",
                flush=True,
            )
    finally:
        spark.stop()
        if not arguments.work_dir:
            shutil.rmtree(work, ignore_errors=True)


# --- the driver JVM, from /proc (Linux, local mode); None where it cannot be found ---------------


def _driver_jvm_pid() -> int | None:
    """The java process that pyspark started under this Python process, if there is one."""
    parents: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        names[pid] = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        parents.setdefault(parent, []).append(pid)
    waiting = [os.getpid()]
    while waiting:
        for child in parents.get(waiting.pop(), []):
            if names.get(child) == "java":
                return child
            waiting.append(child)
    return None


def _cpu_seconds(pid: int | None) -> float | None:
    """User and system CPU seconds the process has used so far."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    user_ticks, system_ticks = stat[stat.rindex(")") + 2 :].split()[11:13]
    return (int(user_ticks) + int(system_ticks)) / os.sysconf("SC_CLK_TCK")


def _reset_peak_memory(pid: int) -> None:
    """Restart the kernel's peak-resident-memory count (VmHWM) of ``pid``, where allowed."""
    # Where it is not allowed, the peak counts from the JVM's start: still an upper bound.
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def _peak_memory(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


if __name__ == "__main__":
    main()
