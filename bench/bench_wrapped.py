"""How long the full story set takes against DuckDB's time for the core aggregates.

Issue 4's reference: on 20 million generated plays of 50,000 users over one year, on 2 cores, the
full story set may take at most 2.5x what DuckDB needs for the core aggregates (top 5 tracks and
artists per user, totals, biggest day, 7x24 clock, minutes percentile) on the same plays exported
to Parquet.

Untimed set-up: generate the year, turn it into silver plays, users and catalog (Delta) as ingest
would, and export plays and users to Parquet. Timed:

1. Spark: the daily rollups rebuilt from silver plays (the one read of raw plays), then every
   registered story for every user written to gold.stories. Documents are timed apart.
2. DuckDB (in a child process, two threads): the core aggregates in SQL on the Parquet export,
   each materialised as a table.

Both top lists (tracks and artists, top 5 per user) are compared row for row. Prints each time,
the ratios, load average, and peak memory of the Spark JVM and of the DuckDB process.

    .venv/bin/pip install -e '.[local,dev,bench]'
    .venv/bin/python bench/bench_wrapped.py                 # 20 M plays, 50,000 users
    .venv/bin/python bench/bench_wrapped.py --plays 2000000 --users 5000
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from machine import jvm_cpu_seconds, jvm_peak_rss_mib, load_average
from spinback import schema, tables
from spinback.config import Config, load_config
from spinback.generate import expected_plays, generate_listening, write_generated
from spinback.ingest.generated import (
    candidate_plays,
    read_landing_plays,
    silver_catalog,
    silver_users,
)
from spinback.ingest.pseudonym import DEVELOPMENT_KEY
from spinback.ingest.quality import split_valid
from spinback.render.documents import story_documents, write_documents
from spinback.rollups import update_rollups
from spinback.session import build_session
from spinback.stories.job import write_period_stories
from spinback.stories.period import Period
from spinback.stories.registry import STORIES
from spinback.tables import TableLocations

REFERENCE_RATIO = 2.5
YEAR = 2025

# The core aggregates, by the spec's rules: qualified stream = music, >= 30 s, not private; ties
# by streams desc, minutes desc, first qualified play asc, key asc; times in the user's zone.
DUCKDB_CORE = """
CREATE TABLE plays AS
SELECT p.*, timezone(u.time_zone, p.started_at::TIMESTAMPTZ) AS local_started_at,
       p.content_type = 'music' AND p.ms_played >= 30000 AND NOT coalesce(p.private, false)
         AS qualified
FROM read_parquet('{plays}') p JOIN read_parquet('{users}') u USING (user_id)
WHERE timezone(u.time_zone, p.started_at::TIMESTAMPTZ) >= TIMESTAMP '{start}'
  AND timezone(u.time_zone, p.started_at::TIMESTAMPTZ) < TIMESTAMP '{end}';

CREATE TABLE top_tracks AS
SELECT * FROM (
  SELECT user_id, track_key, streams,
         row_number() OVER (PARTITION BY user_id
           ORDER BY streams DESC, minutes DESC, first_played_at ASC, track_key ASC) AS rank
  FROM (SELECT user_id, track_key, count(*) FILTER (WHERE qualified) AS streams,
               sum(ms_played) / 60000.0 AS minutes,
               min(local_started_at) FILTER (WHERE qualified) AS first_played_at
        FROM plays WHERE content_type = 'music' GROUP BY ALL)
  WHERE streams > 0)
WHERE rank <= 5;

CREATE TABLE top_artists AS
WITH credits AS (
  SELECT user_id, artist_key, 1.0 AS weight, ms_played, qualified, local_started_at
  FROM plays WHERE content_type = 'music' AND artist_key IS NOT NULL
  UNION ALL
  SELECT user_id, credit.artist_key, 0.5, ms_played, qualified, local_started_at
  FROM (SELECT *, unnest(featured_artists) AS credit FROM plays WHERE content_type = 'music')
  WHERE credit.artist_key IS NOT NULL)
SELECT * FROM (
  SELECT user_id, artist_key, streams,
         row_number() OVER (PARTITION BY user_id
           ORDER BY streams DESC, minutes DESC, first_played_at ASC, artist_key ASC) AS rank
  FROM (SELECT user_id, artist_key, sum(weight) FILTER (WHERE qualified) AS streams,
               sum(ms_played * weight) / 60000.0 AS minutes,
               min(local_started_at) FILTER (WHERE qualified) AS first_played_at
        FROM credits GROUP BY ALL)
  WHERE streams > 0)
WHERE rank <= 5;

CREATE TABLE totals AS
SELECT user_id, sum(ms_played) / 60000.0 AS total,
       sum(ms_played) FILTER (WHERE content_type = 'music') / 60000.0 AS music,
       sum(ms_played) FILTER (WHERE content_type = 'podcast') / 60000.0 AS podcast,
       sum(ms_played) FILTER (WHERE content_type = 'audiobook') / 60000.0 AS audiobook,
       percent_rank() OVER (ORDER BY sum(ms_played)) AS minutes_percent_rank
FROM plays GROUP BY user_id;

CREATE TABLE biggest_day AS
SELECT user_id, arg_max(local_date, (minutes, -epoch(local_date))) AS date, max(minutes) AS minutes
FROM (SELECT user_id, local_started_at::DATE AS local_date, sum(ms_played) / 60000.0 AS minutes
      FROM plays GROUP BY ALL)
GROUP BY user_id;

CREATE TABLE clock AS
SELECT user_id, isodow(local_started_at) AS weekday, hour(local_started_at) AS hour,
       count(*) AS streams
FROM plays WHERE qualified GROUP BY ALL;
"""


def main() -> None:
    arguments = _parse_arguments()
    if arguments.duckdb_only:
        _run_duckdb(arguments)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    work_dir = Path(arguments.work_dir or tempfile.mkdtemp(prefix="spinback-bench-wrapped-"))
    config = _config(arguments, work_dir)
    spark = build_session(config)
    locations = TableLocations.from_config(config)
    try:
        plays = _prepare(spark, config, work_dir, arguments.reuse)
        spark_figures = _time_spark(spark, config)
        spark_tops = _spark_top_lists(spark, locations)
    finally:
        spark.stop()

    duckdb_figures = _duckdb_in_child(work_dir)
    duckdb_tops = {
        "tracks": {tuple(row) for row in duckdb_figures.pop("top_tracks")},
        "artists": {tuple(row) for row in duckdb_figures.pop("top_artists")},
    }
    _report(plays, arguments, spark_figures, duckdb_figures, spark_tops, duckdb_tops)
    if not arguments.work_dir:
        shutil.rmtree(work_dir, ignore_errors=True)


def _config(arguments: argparse.Namespace, work_dir: Path) -> Config:
    defaults = load_config(mode="local").generate
    # Scale the daily rate so that the users reach the wanted number of plays in the year.
    per_user_default = expected_plays(defaults) / defaults.users
    rate = defaults.plays_per_active_day * arguments.plays / arguments.users / per_user_default
    return load_config(
        mode="local",
        overrides=[
            f"data_dir={work_dir / 'data'}",
            f"spark.master={arguments.master}",
            f"spark.driver_memory={arguments.driver_memory}",
            f"spark.shuffle_partitions={arguments.shuffle_partitions}",
            f"generate.users={arguments.users}",
            f"generate.year={YEAR}",
            f"generate.plays_per_active_day={rate:.4f}",
            f"wrapped.period='{YEAR}'",
        ],
    )


def _prepare(spark: SparkSession, config: Config, work_dir: Path, reuse: bool) -> int:
    """Silver plays, users and catalog as ingest writes them, plus the Parquet export."""
    locations = TableLocations.from_config(config)
    export = work_dir / "export"
    if reuse and tables.delta_exists(spark, locations.plays) and export.exists():
        return tables.read_delta(spark, locations.plays).count()

    started = time.perf_counter()
    landing = write_generated(generate_listening(spark, config.generate), str(work_dir / "landing"))
    landing_plays = read_landing_plays(spark, landing["plays"])
    valid = split_valid(candidate_plays(landing_plays, DEVELOPMENT_KEY, "bench")).valid
    tables.overwrite(valid.select(*[f.name for f in schema.PLAYS.fields]), locations.plays)
    tables.overwrite(silver_users(spark, landing["users"], DEVELOPMENT_KEY), locations.users)
    tables.overwrite(silver_catalog(spark, landing["catalog"]), locations.catalog)
    spark.createDataFrame([("bench",)], "batch_id string").write.format("delta").mode(
        "overwrite"
    ).save(locations.batches)

    silver = tables.read_delta(spark, locations.plays)
    silver.drop("raw_record").write.mode("overwrite").parquet(str(export / "plays"))
    tables.read_delta(spark, locations.users).write.mode("overwrite").parquet(str(export / "users"))
    count = silver.count()
    print(f"prepared {count:,} silver plays in {time.perf_counter() - started:,.0f} s (untimed)")
    return count


def _time_spark(spark: SparkSession, config: Config) -> dict[str, float]:
    locations = TableLocations.from_config(config)
    period = Period.parse(config.wrapped.period)
    load_before, cpu_before = load_average(), jvm_cpu_seconds()

    started = time.perf_counter()
    update_rollups(spark, config, rebuild=True)
    rollups_seconds = time.perf_counter() - started

    started = time.perf_counter()
    write_period_stories(spark, config, period)
    stories_seconds = time.perf_counter() - started

    started = time.perf_counter()
    write_documents(
        story_documents(tables.read_delta(spark, locations.stories), [s.id for s in STORIES]),
        locations.documents,
        period.label,
        is_local=True,
    )
    documents_seconds = time.perf_counter() - started
    return {
        "rollups": rollups_seconds,
        "stories": stories_seconds,
        "documents": documents_seconds,
        "jvm_cpu_seconds": jvm_cpu_seconds() - cpu_before,
        "jvm_peak_mib": jvm_peak_rss_mib(),
        "load_before": load_before,
        "load_after": load_average(),
    }


def _spark_top_lists(spark: SparkSession, locations: TableLocations) -> dict[str, set[tuple]]:
    """(user, rank, key) of both top-5 lists, read back for the comparison (bench only)."""
    stories = tables.read_delta(spark, locations.stories)
    lists: dict[str, set[tuple]] = {}
    for name, story, key in (
        ("tracks", "top_tracks", "track_key"),
        ("artists", "top_artists", "artist_key"),
    ):
        if story not in stories.columns:
            lists[name] = set()
            continue
        rows = stories.select("user_id", F.explode(f"{story}.items").alias("item")).select(
            "user_id", F.col(f"item.{key}"), F.col("item.rank")
        )
        lists[name] = {(r[0], r[1], r[2]) for r in rows.toLocalIterator()}
    return lists


def _duckdb_in_child(work_dir: Path) -> dict:
    """Run the DuckDB side in its own process, so its time and peak memory are its own."""
    completed = subprocess.run(
        [sys.executable, __file__, "--duckdb-only", "--work-dir", str(work_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["peak_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return figures


def _run_duckdb(arguments: argparse.Namespace) -> None:
    import duckdb

    export = Path(arguments.work_dir) / "export"
    connection = duckdb.connect()
    connection.execute("SET threads = 2")
    sql = DUCKDB_CORE.format(
        plays=export / "plays" / "*.parquet",
        users=export / "users" / "*.parquet",
        start=f"{YEAR}-01-01",
        end=f"{YEAR + 1}-01-01",
    )
    started = time.perf_counter()
    connection.execute(sql)
    seconds = time.perf_counter() - started
    top_tracks = connection.execute("SELECT user_id, track_key, rank FROM top_tracks").fetchall()
    top_artists = connection.execute("SELECT user_id, artist_key, rank FROM top_artists").fetchall()
    print(json.dumps({"seconds": seconds, "top_tracks": top_tracks, "top_artists": top_artists}))


def _report(
    plays: int,
    arguments: argparse.Namespace,
    spark_figures: dict[str, float],
    duckdb_figures: dict,
    spark_tops: dict[str, set[tuple]],
    duckdb_tops: dict[str, set[tuple]],
) -> None:
    duckdb_seconds = duckdb_figures["seconds"]
    full = spark_figures["rollups"] + spark_figures["stories"]
    print(f"plays                      {plays:,} ({arguments.users:,} users, {arguments.master})")
    print(f"stories                    {len(STORIES)}: {', '.join(s.id for s in STORIES)}")
    print(f"spark rollups (rebuild)    {spark_figures['rollups']:,.1f} s")
    print(f"spark stories from rollups {spark_figures['stories']:,.1f} s")
    print(f"spark full story set       {full:,.1f} s")
    print(f"spark documents (JSON)     {spark_figures['documents']:,.1f} s (not in the ratio)")
    print(f"duckdb core aggregates     {duckdb_seconds:,.1f} s")
    print(f"ratio full / duckdb        {full / duckdb_seconds:.2f} (goal <= {REFERENCE_RATIO})")
    print(f"ratio stories / duckdb     {spark_figures['stories'] / duckdb_seconds:.2f}")
    print(f"spark JVM peak RSS         {spark_figures['jvm_peak_mib']:,.0f} MiB")
    print(f"duckdb process peak RSS    {duckdb_figures['peak_mib']:,.0f} MiB")
    print(f"JVM CPU seconds            {spark_figures['jvm_cpu_seconds']:,.0f}")
    print(
        f"load average               {spark_figures['load_before']:.1f} before, "
        f"{spark_figures['load_after']:.1f} after"
    )
    for name in ("tracks", "artists"):
        ours, theirs = spark_tops[name], duckdb_tops[name]
        verdict = "identical" if ours == theirs else f"DIFFER: {len(ours ^ theirs):,} rows"
        print(f"top 5 {name:<8}             {verdict} ({len(theirs):,} rows from DuckDB)")


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plays", type=int, default=20_000_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--shuffle-partitions", type=int, default=16)
    parser.add_argument("--work-dir", help="keep data here (and reuse it with --reuse)")
    parser.add_argument("--reuse", action="store_true", help="reuse prepared data in --work-dir")
    parser.add_argument("--duckdb-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    main()
