"""How many plays per second the event-log ingest takes from JSON lines and from Parquet.

Generates N plays with Spark (untimed), writes them as JSON lines and as Parquet, then times, for
each format, what `spinback ingest --format event-log` does with them: the generic reader,
candidate plays (pseudonym, event id), quality.split_valid and the Delta writes of bronze,
quarantine and silver plays (spinback.ingest.job.write_plays), into a fresh data directory.

    .venv/bin/python bench/bench_ingest.py --plays 2000000

Prints one line per format: plays written, seconds, plays per second.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spinback.config import Config, load_config
from spinback.ingest.job import new_batch_id, write_plays
from spinback.ingest.pseudonym import DEVELOPMENT_KEY
from spinback.ingest.readers.generic import EventLogReader, profile_from_mapping
from spinback.ingest.records import to_candidates
from spinback.session import build_session

# 2025-01-01 00:00:00 UTC; one play every 3 s keeps 10 million plays inside the year.
YEAR_START_MS = 1_735_689_600_000
PLAY_SPACING_MS = 3_000


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


def profile_for(input_format: str) -> EventLogReader:
    return EventLogReader(
        profile_from_mapping(
            {
                "service": "bench",
                "input_format": input_format,
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
            },
            "bench profile",
        )
    )


def time_ingest(
    spark: SparkSession, config: Config, input_format: str, files: list[str]
) -> tuple[int, int, float]:
    """(plays written, records quarantined, seconds) for one ingest of ``files``."""
    reader = profile_for(input_format)
    batch_id = new_batch_id()
    started = time.monotonic()
    normalized = reader.read(spark, files, None)
    candidates = to_candidates(normalized, DEVELOPMENT_KEY, "bench", "event-log", batch_id)
    report = write_plays(spark, config, candidates, batch_id)
    return report.plays_inserted, report.quarantine_inserted, time.monotonic() - started


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

    work = Path(arguments.work_dir or tempfile.mkdtemp(prefix="spinback-bench-"))
    config = load_config(overrides=[f"data_dir={work / 'session'}", *arguments.overrides])
    spark = build_session(config)
    try:
        formats = arguments.formats.split(",")
        generated = synthetic_plays(spark, arguments.plays, arguments.files)
        for input_format in formats:
            target = work / "input" / input_format
            if input_format == "jsonl":
                generated.write.mode("overwrite").json(str(target))
            else:
                generated.write.mode("overwrite").parquet(str(target))

        print(f"spark {spark.version}, master {config.spark.master}, plays {arguments.plays:,}")
        print(f"{'format':<8} {'plays':>12} {'quarantined':>12} {'seconds':>9} {'plays/s':>10}")
        for input_format in formats:
            folder = work / "input" / input_format
            files = sorted(str(p) for p in folder.iterdir() if p.name.startswith("part-"))
            run_config = load_config(
                overrides=[f"data_dir={work / 'data' / input_format}", *arguments.overrides]
            )
            plays, quarantined, seconds = time_ingest(spark, run_config, input_format, files)
            print(
                f"{input_format:<8} {plays:>12,} {quarantined:>12,} {seconds:>9.1f} "
                f"{plays / seconds:>10,.0f}"
            )
    finally:
        spark.stop()
        if not arguments.work_dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
