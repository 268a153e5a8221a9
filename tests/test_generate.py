"""The synthetic listening log: shaped like real listening, and the same for the same seed."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spinback.config import GenerateConfig, load_config
from spinback.generate import GeneratedData, generate_listening


def small_config(*overrides: str) -> GenerateConfig:
    return load_config(
        overrides=[
            "generate.users=120",
            "generate.tracks=2000",
            "generate.artists=300",
            "generate.plays_per_active_day=6",
            *overrides,
        ]
    ).generate


@pytest.fixture(scope="module")
def generated(spark: SparkSession) -> GeneratedData:
    data = generate_listening(spark, small_config())
    data.plays.cache()
    return data


def share_of_top(plays: DataFrame, key: str, top_share: float) -> tuple[float, float]:
    """(share of plays held by the top ``top_share`` of keys, top count / median count)."""
    counts = plays.groupBy(key).count()
    stats = counts.agg(
        F.sum("count").alias("total"),
        F.count("*").alias("keys"),
        F.percentile_approx("count", 0.5).alias("median"),
        F.max("count").alias("most"),
    ).first()
    assert stats is not None
    top = max(1, int(stats["keys"] * top_share))
    top_plays = counts.orderBy(F.col("count").desc()).limit(top).agg(F.sum("count")).first()
    assert top_plays is not None
    return top_plays[0] / stats["total"], stats["most"] / stats["median"]


def test_track_and_artist_popularity_have_a_heavy_tail(generated: GeneratedData) -> None:
    music = generated.plays.where("content_type = 'music'")

    track_share, track_ratio = share_of_top(music, "track_key", 0.01)
    artist_share, artist_ratio = share_of_top(music, "artist_key", 0.01)

    # Uniform popularity would give the top 1 % of tracks 1 % of plays and a ratio near 1.
    assert track_share >= 0.10, track_share
    assert track_ratio >= 20, track_ratio
    assert artist_share >= 0.10, artist_share
    assert artist_ratio >= 20, artist_ratio


def test_users_differ_widely_in_activity(generated: GeneratedData) -> None:
    per_user = generated.plays.groupBy("user_name").count()

    quantiles = per_user.approxQuantile("count", [0.1, 0.9], 0.0)

    assert quantiles[1] >= 5 * quantiles[0], quantiles


def test_night_hours_are_quiet_in_each_users_local_time(generated: GeneratedData) -> None:
    zones = generated.users.select("user_name", "time_zone")
    started_local = F.from_utc_timestamp(
        F.timestamp_millis(F.unix_millis("ts") - F.col("ms_played")), F.col("time_zone")
    )
    hours = (
        generated.plays.join(zones, "user_name")
        .select(F.hour(started_local).alias("hour"))
        .groupBy("hour")
        .count()
    )
    by_hour = {row["hour"]: row["count"] for row in hours.collect()}

    night = (by_hour.get(3, 0) + by_hour.get(4, 0)) / 2  # per hour, 03:00-05:00
    evening = sum(by_hour.get(h, 0) for h in range(18, 22)) / 4  # per hour, 18:00-22:00
    assert night < evening / 4, (night, evening)


def test_skips_short_plays_podcasts_and_late_joiners_are_there(
    generated: GeneratedData,
) -> None:
    plays = generated.plays
    shares = plays.agg(
        F.avg((F.col("ms_played") < 30_000).cast("int")).alias("short"),
        F.avg((F.col("ms_played") == 0).cast("int")).alias("zero"),
        F.avg((F.col("content_type") == "podcast").cast("int")).alias("podcast"),
    ).first()
    assert shares is not None
    assert 0.05 <= shares["short"] <= 0.40, shares
    assert shares["zero"] > 0, shares
    assert 0.02 <= shares["podcast"] <= 0.15, shares

    before_joining = plays.join(generated.users, "user_name").where(
        F.timestamp_millis(F.unix_millis("ts") - F.col("ms_played")) < F.col("joined_at")
    )
    assert before_joining.isEmpty()
    late = generated.users.where(F.month("joined_at") > 1).count()
    assert late > 0


def test_same_seed_same_data_and_another_seed_other_data(spark: SparkSession) -> None:
    config = small_config("generate.users=15", "generate.tracks=300", "generate.artists=40")

    first = generate_listening(spark, config).plays
    second = generate_listening(spark, config).plays
    other = generate_listening(spark, small_config("generate.users=15", "generate.seed=8")).plays

    order = ["user_name", "ts", "track_key", "episode_key"]
    assert_df_equality(first.orderBy(order), second.orderBy(order))
    assert first.exceptAll(other).count() > 0
