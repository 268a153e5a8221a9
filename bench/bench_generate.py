"""How fast does the synthetic generator land plays as Parquet on this machine?

Generates about ``--plays`` plays (users are scaled to reach it with the default rates), writes
catalog, users and plays to a temporary folder, and prints the plays written, the seconds taken,
plays per second and the ratio to the reference of 50 million plays in 5 minutes. A ratio of 1 or
more meets the reference.

On a shared machine the wall clock depends on the neighbours, so the script also prints the load
average and, on Linux, the CPU seconds the Spark JVM spent: plays per CPU-second is steadier.

    .venv/bin/python bench/bench_generate.py                      # 50 million plays, local[2]
    .venv/bin/python bench/bench_generate.py --plays 10000000
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from machine import jvm_cpu_seconds
from spinback.config import load_config
from spinback.generate import expected_plays, generate_listening, write_generated
from spinback.session import build_session

REFERENCE_PLAYS = 50_000_000
REFERENCE_SECONDS = 5 * 60


def main() -> None:
    arguments = _parse_arguments()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    work_dir = Path(arguments.work_dir or tempfile.mkdtemp(prefix="spinback-bench-"))

    defaults = load_config(mode="local").generate
    plays_per_user = expected_plays(defaults) / defaults.users
    users = max(1, round(arguments.plays / plays_per_user))
    config = load_config(
        mode="local",
        overrides=[
            f"data_dir={work_dir / 'data'}",
            f"spark.master={arguments.master}",
            f"spark.driver_memory={arguments.driver_memory}",
            f"generate.users={users}",
            f"generate.seed={arguments.seed}",
        ],
    )
    spark = build_session(config)

    try:
        load_before = os.getloadavg()[0]
        cpu_before = jvm_cpu_seconds()
        started = time.perf_counter()
        data = generate_listening(spark, config.generate)
        written = write_generated(data, str(work_dir / "landing"))
        seconds = time.perf_counter() - started
        cpu_seconds = jvm_cpu_seconds() - cpu_before
        load_after = os.getloadavg()[0]
        # Parquet footers hold the row counts, so this reads no data.
        plays = spark.read.parquet(written["plays"]).count()
    finally:
        spark.stop()
        if not arguments.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)

    rate = plays / seconds
    reference_rate = REFERENCE_PLAYS / REFERENCE_SECONDS
    print(f"master          {arguments.master}")
    print(f"users           {users:,}")
    print(f"plays           {plays:,}")
    print(f"seconds         {seconds:,.1f}")
    print(f"plays/second    {rate:,.0f}")
    print(f"vs reference    {rate / reference_rate:.2f} (50M plays in 5 minutes = 1.00)")
    print(f"load average    {load_before:.1f} before, {load_after:.1f} after")
    if cpu_seconds > 0:
        print(
            f"JVM CPU seconds {cpu_seconds:,.0f} ({plays / cpu_seconds:,.0f} plays per CPU-second)"
        )


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plays", type=int, default=REFERENCE_PLAYS, help="plays to aim for")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--work-dir", help="keep the output here instead of a temporary folder that is removed"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
