"""Daily rollups: what one day of plays becomes, and how new batches are merged in."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from conftest import local_test_config
from spinback import schema, tables
from spinback.config import Config
from spinback.rollups import daily_items, local_plays, update_rollups
from spinback.tables import TableLocations
from story_support import play, user_frame

BERLIN = "Europe/Berlin"


def rolled_up(spark: SparkSession, plays: list[dict], config: Config) -> dict[str, dict]:
    located = local_plays(
        spark.createDataFrame(plays, schema.PLAYS).withColumn(
            "duration_ms", F.lit(None).cast("long")
        ),
        user_frame(spark, {"u": BERLIN}),
        config.ingest.default_timezone,
    )
    rows = daily_items(located, config.wrapped).collect()
    return {f"{row.local_date}/{row.item_key}": row.asDict() for row in rows}


def test_a_day_of_plays_rolls_up_to_counts_and_local_hours(
    spark: SparkSession, config: Config
) -> None:
    # 22:30 UTC on 1 May is 00:30 on 2 May in Berlin (UTC+2): the play belongs to 2 May, hour 0.
    late = datetime(2025, 5, 1, 22, 30)
    plays = [
        play("u", late, 200_000, "A", reason_end="trackdone", shuffle=True),
        play("u", late + timedelta(hours=3), 20_000, "A", skipped=True),  # too short: no stream
        play("u", late + timedelta(hours=4), 90_000, "A", private=True, offline=True),
        play("u", datetime(2025, 5, 1, 12, 0), 60_000, "A"),  # 14:00 on 1 May
    ]
    days = rolled_up(spark, plays, config)

    may_2 = days["2025-05-02/key-track-of-A"]
    assert may_2["plays"] == 3
    assert may_2["streams"] == 1  # only the 200 s public play: one too short, one private
    assert may_2["ms_played"] == 200_000 + 20_000 + 90_000
    assert (may_2["skips"], may_2["completions"]) == (1, 1)
    assert (may_2["shuffle_plays"], may_2["offline_plays"], may_2["private_plays"]) == (1, 1, 1)
    # Outcome known for the trackdone and the skipped play; shuffle / offline said once each.
    assert may_2["outcome_known_plays"] == 2
    assert (may_2["shuffle_known_plays"], may_2["offline_known_plays"]) == (1, 1)
    assert may_2["hourly_streams"] == [1] + [0] * 23
    assert may_2["first_started_at"] == datetime(2025, 5, 2, 0, 30)
    assert may_2["last_started_at"] == datetime(2025, 5, 2, 4, 30)
    assert may_2["time_zone"] == BERLIN

    may_1 = days["2025-05-01/key-track-of-A"]
    assert (may_1["plays"], may_1["streams"]) == (1, 1)
    assert may_1["hourly_streams"][14] == 1 and sum(may_1["hourly_streams"]) == 1


def test_the_scrobble_rule_needs_half_the_track_at_most_four_minutes(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = local_test_config(tmp_path, "wrapped.stream_rule=scrobble")
    plays = spark.createDataFrame(
        [
            play("u", datetime(2025, 5, 1, 10), 100_000, "Half", track="half"),
            play("u", datetime(2025, 5, 1, 11), 80_000, "Short", track="short"),
            play("u", datetime(2025, 5, 1, 12), 250_000, "Long", track="long"),
            play("u", datetime(2025, 5, 1, 13), 25_000, "Tiny", track="tiny"),
            play("u", datetime(2025, 5, 1, 14), 40_000, "Unknown", track="unknown"),
            play("u", datetime(2025, 5, 1, 15), 180_000, "Scrobble", ms_played_estimated=True),
        ],
        schema.PLAYS,
    )
    durations = spark.createDataFrame(
        [
            ("key-half", 180_000),
            ("key-short", 180_000),
            ("key-long", 600_000),
            ("key-tiny", 25_000),
        ],
        "track_key string, duration_ms long",
    )
    located = local_plays(
        plays.join(durations, "track_key", "left"), user_frame(spark, {"u": "UTC"}), "UTC"
    )
    streams = {
        row.track_name: row.streams for row in daily_items(located, config.wrapped).collect()
    }
    assert streams == {
        "half": 1,  # 100 s >= 180 s / 2
        "short": 0,  # 80 s < 90 s
        "long": 1,  # 250 s >= min(300 s, 240 s)
        "tiny": 0,  # a 25 s track never scrobbles
        "unknown": 1,  # no duration: the 30 s rule, 40 s >= 30 s
        "track-of-Scrobble": 1,  # a scrobble is already a stream
    }


def _write_batch(
    spark: SparkSession, locations: TableLocations, plays: list[dict], batch: str
) -> None:
    frame = spark.createDataFrame([{**p, "batch_id": batch} for p in plays], schema.PLAYS)
    frame.write.format("delta").mode("append").save(locations.plays)
    spark.createDataFrame([(batch,)], "batch_id string").write.format("delta").mode(
        "append"
    ).option("mergeSchema", "true").save(locations.batches)


def _items(spark: SparkSession, locations: TableLocations) -> DataFrame:
    return tables.read_delta(spark, locations.daily_items)


def test_new_batches_merge_only_the_days_they_touched(
    spark: SparkSession, data_config: Config
) -> None:
    locations = TableLocations.from_config(data_config)
    tables.overwrite(user_frame(spark, {"u": "UTC", "v": "UTC"}), locations.users)
    first = [
        play("u", datetime(2025, 3, 1, 9), 60_000, "A"),
        play("v", datetime(2025, 3, 2, 9), 60_000, "B"),
    ]
    _write_batch(spark, locations, first, "b1")

    report = update_rollups(spark, data_config)
    assert report.rebuilt and report.batches == ["b1"]
    assert _items(spark, locations).count() == 2

    # b2 adds a second play of A on u's day 1 March and a new day for v.
    _write_batch(
        spark,
        locations,
        [
            play("u", datetime(2025, 3, 1, 18), 60_000, "A"),
            play("v", datetime(2025, 3, 5, 9), 60_000, "B"),
        ],
        "b2",
    )
    report = update_rollups(spark, data_config)
    assert not report.rebuilt and report.batches == ["b2"]

    days = {
        (row.user_id, row.local_date): (row.plays, row.streams)
        for row in _items(spark, locations).collect()
    }
    assert days == {
        ("u", date(2025, 3, 1)): (2, 2),  # the touched day, recomputed from both batches
        ("v", date(2025, 3, 2)): (1, 1),  # untouched
        ("v", date(2025, 3, 5)): (1, 1),  # new
    }
    last = spark.sql(f"DESCRIBE HISTORY delta.`{locations.daily_items}` LIMIT 1").first()
    assert last is not None and last.operation == "MERGE"
    # The merge read two source rows (u's 1 March, v's 5 March): v's 2 March was not recomputed.
    assert last.operationMetrics["numSourceRows"] == "2"

    # Nothing new: nothing written. A changed stream rule: everything rebuilt.
    version = spark.sql(f"DESCRIBE HISTORY delta.`{locations.daily_items}` LIMIT 1").first()
    assert update_rollups(spark, data_config).batches == []
    again = spark.sql(f"DESCRIBE HISTORY delta.`{locations.daily_items}` LIMIT 1").first()
    assert again is not None and version is not None and again.version == version.version

    stricter = local_test_config(Path(data_config.data_dir), "wrapped.min_stream_ms=90000")
    rebuilt = update_rollups(spark, stricter)
    assert rebuilt.rebuilt and sorted(rebuilt.batches) == ["b1", "b2"]
    assert _items(spark, locations).agg(F.sum("streams")).first()[0] == 0  # all plays are 60 s
