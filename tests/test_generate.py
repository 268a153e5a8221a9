"""The synthetic generator: contract (schemas, keys, value sets), realism, determinism, landing.

Most tests share one small generated year (150 users, about 100 000 plays), built once and cached.
Realism thresholds sit well inside what the generator's rates imply; each says where it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spinback import schema
from spinback.config import ConfigError, GenerateConfig, load_config
from spinback.generate import (
    GeneratedData,
    expected_plays,
    generate_listening,
    write_generated,
)
from spinback.generate.sampling import pick_from, power_law_index, scattered_number
from spinback.generate.users import TIME_ZONES

SMALL = (
    "generate.users=150",
    "generate.year=2025",
    "generate.tracks=2000",
    "generate.artists=300",
    "generate.genres=20",
    "generate.shows=30",
    "generate.plays_per_active_day=4",
    "generate.podcast_share=0.07",
    "generate.late_joiner_share=0.15",
)
TINY = (
    "generate.users=12",
    "generate.tracks=300",
    "generate.artists=40",
    "generate.shows=5",
    "generate.plays_per_active_day=3",
)
YEAR_START = datetime(2025, 1, 1)
YEAR_END = datetime(2026, 1, 1)


def generate_config(*overrides: str) -> GenerateConfig:
    return load_config(overrides=list(overrides)).generate


@pytest.fixture(scope="module")
def small() -> GenerateConfig:
    return generate_config(*SMALL)


@pytest.fixture(scope="module")
def generated(spark: SparkSession, small: GenerateConfig) -> Iterator[GeneratedData]:
    yield from cached(generate_listening(spark, small))


@pytest.fixture(scope="module")
def tiny(spark: SparkSession) -> Iterator[GeneratedData]:
    """A dozen users with a few plays a day: enough to compare whole outputs row by row."""
    yield from cached(generate_listening(spark, generate_config(*TINY)))


def cached(data: GeneratedData) -> Iterator[GeneratedData]:
    """The three frames cached for the tests of a module, released afterwards."""
    frames = GeneratedData(
        catalog=data.catalog.cache(), users=data.users.cache(), plays=data.plays.cache()
    )
    yield frames
    for frame in (frames.catalog, frames.users, frames.plays):
        frame.unpersist()


@pytest.fixture(scope="module")
def music(generated: GeneratedData) -> DataFrame:
    return generated.plays.where(F.col("content_type") == "music")


@pytest.fixture(scope="module")
def local_plays(generated: GeneratedData) -> Iterator[DataFrame]:
    """Plays with the user's columns, start instant and local start and end times."""
    started_at = F.timestamp_millis(F.unix_millis("ts") - F.col("ms_played"))
    plays = generated.plays.join(generated.users, on="user_name").select(
        "*",
        started_at.alias("started_at"),
        F.from_utc_timestamp(started_at, F.col("time_zone")).alias("local_start"),
        F.from_utc_timestamp("ts", F.col("time_zone")).alias("local_end"),
    )
    yield plays.cache()
    plays.unpersist()


def count_where(frame: DataFrame, condition: Column) -> int:
    return frame.where(condition).count()


def broken_rules(frame: DataFrame, rules: dict[str, Column]) -> dict[str, int]:
    """How many rows break each rule (false or null), in one pass; only broken rules are listed."""
    counts = frame.agg(
        *[F.sum(F.when(rule, 0).otherwise(1)).alias(name) for name, rule in rules.items()]
    ).first()
    assert counts is not None
    return {name: counts[name] for name in rules if counts[name]}


def descending_counts(frame: DataFrame, column: str) -> list[int]:
    return sorted((row["count"] for row in frame.groupBy(column).count().collect()), reverse=True)


def same_rows(left: DataFrame, right: DataFrame) -> bool:
    """Whether both frames hold the same rows, duplicates included, in any order."""
    left, right = left.cache(), right.cache()
    try:
        return left.exceptAll(right).isEmpty() and right.exceptAll(left).isEmpty()
    finally:
        left.unpersist()
        right.unpersist()


# --- contract ---------------------------------------------------------------------------------


def test_frames_have_exactly_the_published_schemas(generated: GeneratedData) -> None:
    assert generated.catalog.schema == schema.CATALOG
    assert generated.users.schema == schema.GENERATED_USERS
    assert generated.plays.schema == schema.GENERATED_PLAYS


def test_catalog_has_the_configured_tracks_artists_and_genres(
    generated: GeneratedData, small: GenerateConfig
) -> None:
    catalog = generated.catalog
    summary = catalog.agg(
        F.count("*").alias("tracks"),
        F.countDistinct("track_key").alias("track_keys"),
        F.countDistinct("artist_key").alias("artists"),
        F.countDistinct("album_key").alias("albums"),
        F.min(F.size("genres")).alias("fewest_genres"),
        F.max(F.size("genres")).alias("most_genres"),
        F.min("release_year").alias("earliest"),
        F.max("release_year").alias("latest"),
        F.percentile_approx("release_year", 0.5).alias("median_year"),
    ).first()
    assert summary is not None

    assert summary["tracks"] == summary["track_keys"] == small.tracks
    assert summary["artists"] == small.artists
    # Albums hold 6 to 14 tracks, except an artist's last, shorter one: so 2000 tracks make far
    # fewer than 2000 / 2 albums, and at least one per artist.
    assert small.artists <= summary["albums"] < small.tracks / 2
    assert (summary["fewest_genres"], summary["most_genres"]) == (1, 3)
    assert summary["earliest"] >= 1960 and summary["latest"] <= small.year
    # Release years fall back from the year with a mean of 6 years: the median is recent.
    assert summary["median_year"] >= small.year - 6

    genres = {row["genre"] for row in catalog.select(F.explode("genres").alias("genre")).collect()}
    assert len(genres) <= small.genres


def test_catalog_keys_durations_and_featured_artists_look_real(generated: GeneratedData) -> None:
    rows = generated.catalog.collect()

    for row in rows[:50]:
        assert re.fullmatch(r"spinback:track:\d+", row["track_key"])
        assert re.fullmatch(r"spinback:artist:\d+", row["artist_key"])
        assert re.fullmatch(r"spinback:album:\d+", row["album_key"])
        assert row["track_name"] == "Track " + row["track_key"].rsplit(":", 1)[1]
    durations = sorted(row["duration_ms"] for row in rows)
    # Log-normal around 3.5 minutes with a spread of 0.25: about 95 % between 2.1 and 5.8 minutes.
    assert durations[0] >= 90_000 and durations[-1] <= 600_000
    assert sum(120_000 <= d <= 420_000 for d in durations) >= 0.9 * len(durations)

    featured = [row["featured_artists"] for row in rows]
    with_guests = [credits for credits in featured if credits]
    # Every track has a list, empty unless it has guests: on about 12 % of tracks, never more
    # than two, never the track's own artist.
    assert all(credits is not None for credits in featured)
    assert 0.06 <= len(with_guests) / len(rows) <= 0.2
    assert max(len(credits) for credits in with_guests) <= 2
    for row in rows:
        assert all(guest["artist_key"] != row["artist_key"] for guest in row["featured_artists"])


def test_users_have_names_zones_countries_and_join_dates(
    generated: GeneratedData, small: GenerateConfig
) -> None:
    users = generated.users.collect()
    country_of_zone = {zone: country for zone, country, _ in TIME_ZONES}

    assert len(users) == small.users
    assert sorted(user["user_name"] for user in users)[:2] == ["user-000001", "user-000002"]
    assert all(re.fullmatch(r"user-\d{6}", user["user_name"]) for user in users)
    assert all(country_of_zone[user["time_zone"]] == user["country"] for user in users)
    assert len({user["time_zone"] for user in users}) >= 8

    # Late joiners join from two weeks into the year; everyone else by local New Year, which is
    # at most 14 hours after 2025-01-01 00:00 UTC (the zones span UTC-8 to UTC+11).
    late = [user for user in users if user["joined_at"] > datetime(2025, 1, 2)]
    assert all(user["joined_at"] >= datetime(2025, 1, 14) for user in late)
    # 15 % of 150 users is 22.5; the binomial spread is about 4.4.
    assert 10 <= len(late) <= 38


def test_plays_carry_either_a_track_or_an_episode(generated: GeneratedData) -> None:
    music = F.col("content_type") == "music"
    podcast = F.col("content_type") == "podcast"
    track_fields = ["track_key", "track_name", "artist_key", "artist_name", "album_key"]
    episode_fields = ["show_key", "show_name", "episode_key", "episode_name"]
    rules = {
        "music or podcast": music | podcast,
        "music has featured artists": ~music | F.col("featured_artists").isNotNull(),
        "podcast has no guests": ~podcast
        | F.coalesce(F.size("featured_artists") == 0, F.lit(True)),
        "show key format": ~podcast | F.col("show_key").rlike(r"^spinback:show:\d+$"),
        "episode key format": ~podcast | F.col("episode_key").rlike(r"^spinback:episode:\d+$"),
        **{f"{field} for music only": music == F.col(field).isNotNull() for field in track_fields},
        **{
            f"{field} for podcasts only": podcast == F.col(field).isNotNull()
            for field in episode_fields
        },
    }

    assert broken_rules(generated.plays, rules) == {}


def test_plays_use_the_documented_values(generated: GeneratedData, local_plays: DataFrame) -> None:
    plays = generated.plays
    seen = plays.agg(
        *[
            F.collect_set(column).alias(column)
            for column in ("reason_start", "reason_end", "platform")
        ],
        *[
            F.avg(F.col(flag).cast("double")).alias(flag)
            for flag in ("shuffle", "offline", "incognito_mode")
        ],
    ).first()
    assert seen is not None

    assert set(seen["reason_start"]) == {
        "clickrow", "trackdone", "fwdbtn", "backbtn", "playbtn", "appload"
    }  # fmt: skip
    assert set(seen["reason_end"]) == {"trackdone", "fwdbtn", "backbtn", "endplay", "logout"}
    assert set(seen["platform"]) == {"android", "ios", "web_player", "windows", "osx"}
    # Incognito sessions are 1 %, offline ones 6 %; shuffle follows each user's habit (mean 50 %).
    assert 0.002 <= seen["incognito_mode"] <= 0.03
    assert 0.02 <= seen["offline"] <= 0.12
    assert 0.25 <= seen["shuffle"] <= 0.75

    rules = {
        "ms_played >= 0": F.col("ms_played") >= 0,
        "skipped by a button": F.col("skipped") == F.col("reason_end").isin("fwdbtn", "backbtn"),
        "connected from home": F.col("conn_country") == F.col("country"),
    }
    assert broken_rules(local_plays, rules) == {}


def test_every_play_starts_and_ends_inside_the_year_in_local_time(local_plays: DataFrame) -> None:
    bounds = local_plays.agg(F.min("local_start"), F.max("local_end")).first()
    assert bounds is not None
    assert bounds[0] >= YEAR_START and bounds[1] < YEAR_END


# --- realism ----------------------------------------------------------------------------------


def test_track_and_artist_popularity_has_a_heavy_tail(
    music: DataFrame, small: GenerateConfig
) -> None:
    music_plays = music.count()
    tracks = descending_counts(music, "track_key")
    artists = descending_counts(music, "artist_key")

    # Under an even spread the top 1 % would hold 1 % of plays; a Zipf-like law gives it over 15 %.
    assert sum(tracks[: small.tracks // 100]) >= 0.15 * music_plays
    assert sum(artists[: small.artists // 100]) >= 0.15 * music_plays
    # And the most played item dwarfs the median of those played at least once.
    assert tracks[0] >= 20 * tracks[len(tracks) // 2]
    assert artists[0] >= 20 * artists[len(artists) // 2]


def test_users_keep_returning_to_their_favourite_artists(music: DataFrame) -> None:
    by_rank = Window.partitionBy("user_name").orderBy(F.desc("count"), "artist_key")
    shares = (
        music.groupBy("user_name", "artist_key")
        .count()
        .withColumn("rank", F.row_number().over(by_rank))
        .groupBy("user_name")
        .agg(
            F.sum("count").alias("plays"),
            F.sum(F.when(F.col("rank") <= 10, F.col("count")).otherwise(0)).alias("top_ten"),
        )
        .where(F.col("plays") >= 200)
    )
    median = shares.select(F.percentile_approx(F.col("top_ten") / F.col("plays"), 0.5)).first()
    assert median is not None
    # 35-75 % of a user's music goes to their ten favourites, and chart plays add to the same
    # artists; ten artists out of 300 chosen at random would hold a few per cent.
    assert median[0] >= 0.4


def test_activity_differs_widely_between_users(generated: GeneratedData) -> None:
    per_user = sorted(
        row["count"] for row in generated.plays.groupBy("user_name").count().collect()
    )
    tenth, ninetieth = per_user[len(per_user) // 10], per_user[9 * len(per_user) // 10]
    # A log-normal activity (sigma 0.9) alone puts the 90th percentile at ten times the 10th;
    # active days and late joining spread it further.
    assert ninetieth >= 5 * tenth


def test_listening_follows_the_daily_and_weekly_clock(local_plays: DataFrame) -> None:
    hour = F.hour("local_start")
    weekend = F.dayofweek("local_start").isin(1, 7)
    night = count_where(local_plays, hour.between(3, 4)) / 2
    evening = count_where(local_plays, hour.between(18, 21)) / 4
    # Session start weights are about 0.12 per hour at 3-5 am against 4.5 in the evening.
    assert night < evening / 4

    commute_share = local_plays.groupBy(weekend.alias("weekend")).agg(
        F.avg(hour.between(7, 8).cast("double")).alias("commute")
    )
    share = {row["weekend"]: row["commute"] for row in commute_share.collect()}
    # Weekdays have a morning commute peak; weekends start later.
    assert share[False] > 1.5 * share[True]


def test_plays_come_in_sessions_and_never_overlap(local_plays: DataFrame) -> None:
    in_order = Window.partitionBy("user_name").orderBy("started_at", "ts")
    gaps = local_plays.select(
        (F.unix_millis("started_at") - F.lag(F.unix_millis("ts")).over(in_order)).alias("gap_ms")
    ).where(F.col("gap_ms").isNotNull())

    # A play never starts before the previous one of the same user ended; at least half a second
    # passes in between, so no two plays of a user end at the same instant.
    assert count_where(gaps, F.col("gap_ms") < 500) == 0
    # At 4 plays per active day most days hold one session of about 4 plays: about 3 of 4 gaps
    # fall inside a session (a few seconds, unless a stop paused it) and the rest between sessions.
    within_session = count_where(gaps, F.col("gap_ms") <= 3000) / gaps.count()
    between_sessions = count_where(gaps, F.col("gap_ms") >= 30 * 60_000) / gaps.count()
    assert within_session >= 0.6
    assert between_sessions >= 0.1


def test_skips_and_short_plays_are_common_but_most_plays_complete(
    music: DataFrame, generated: GeneratedData
) -> None:
    music_plays = music.count()
    early = count_where(music, F.col("ms_played") < 30_000) / music_plays
    silent = count_where(music, F.col("ms_played") == 0)
    complete = music.where(F.col("reason_end") == "trackdone").join(
        generated.catalog.select("track_key", "duration_ms"), on="track_key"
    )

    # Skips: 25 % of plays times a per-user tendency (mean 1); 76 % of skips come within 30 s.
    assert 0.15 <= early <= 0.25
    assert silent > 0
    assert complete.count() >= 0.6 * music_plays
    assert count_where(complete, F.col("ms_played") != F.col("duration_ms")) == 0


def test_podcasts_take_their_share_with_long_plays(
    generated: GeneratedData, small: GenerateConfig
) -> None:
    plays = generated.plays
    podcasts = plays.where(F.col("content_type") == "podcast")
    share = podcasts.count() / plays.count()
    mean = podcasts.agg(F.avg("ms_played")).first()
    assert mean is not None
    mean_minutes = mean[0] / 60_000

    # The share is met on average over users; heavy users tilt it by a point or two.
    assert abs(share - small.podcast_share) <= 0.03
    # Episodes run about 40 minutes; half are stopped part-way.
    assert mean_minutes >= 15


def test_late_joiners_play_only_after_joining(local_plays: DataFrame) -> None:
    late = local_plays.where(F.col("joined_at") > F.lit(YEAR_START))
    assert count_where(local_plays, F.col("started_at") < F.col("joined_at")) == 0
    assert late.select("user_name").distinct().count() >= 10


def test_expected_plays_is_a_fair_estimate(generated: GeneratedData, small: GenerateConfig) -> None:
    # The estimate uses mean rates; 200 users' heavy-tailed activity lands within a quarter of it.
    assert generated.plays.count() == pytest.approx(expected_plays(small), rel=0.25)


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_the_same_rows_however_spark_splits_them(
    spark: SparkSession, tiny: GeneratedData
) -> None:
    shuffle_partitions = spark.conf.get("spark.sql.shuffle.partitions")
    # The generator splits users into at least this many partitions: 5 splits them differently
    # from the fixture's 2, and the rows must not change.
    spark.conf.set("spark.sql.shuffle.partitions", "5")
    try:
        again = generate_listening(spark, generate_config(*TINY))
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", shuffle_partitions or "2")

    assert tiny.plays.rdd.getNumPartitions() != again.plays.rdd.getNumPartitions()
    assert same_rows(tiny.plays, again.plays)
    assert same_rows(tiny.catalog, again.catalog)
    assert same_rows(tiny.users, again.users)


def test_another_seed_gives_other_rows(spark: SparkSession, tiny: GeneratedData) -> None:
    other = generate_listening(spark, generate_config(*TINY, "generate.seed=8"))
    assert not same_rows(tiny.plays, other.plays)
    assert not same_rows(tiny.users, other.users)


# --- landing and configuration ----------------------------------------------------------------


def test_write_generated_lands_three_parquet_folders(
    spark: SparkSession, tiny: GeneratedData, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"

    written = write_generated(tiny, str(landing))

    assert written == {name: str(landing / name) for name in ("catalog", "users", "plays")}
    plays = spark.read.schema(schema.GENERATED_PLAYS).parquet(written["plays"])
    assert same_rows(plays, tiny.plays)
    assert spark.read.parquet(written["users"]).count() == 12
    assert spark.read.parquet(written["catalog"]).count() == 300


def test_more_artists_than_tracks_is_refused(spark: SparkSession) -> None:
    config = generate_config(*TINY, "generate.tracks=30", "generate.artists=40")
    with pytest.raises(ConfigError, match=r"generate\.tracks: 30 .*generate\.artists \(40\)"):
        generate_listening(spark, config)


# --- sampling helpers -------------------------------------------------------------------------


def test_power_law_index_stays_in_range_and_favours_low_indexes(spark: SparkSession) -> None:
    draws = spark.createDataFrame([(1e-16,), (0.5,), (1 - 1e-16,)], "draw double")
    picked = [row[0] for row in draws.select(power_law_index(F.col("draw"), 10, 1.05)).collect()]
    # The smallest draw picks the top index, the largest the last one; the middle draw lands in
    # the top few, since (i + 1)^-1.05 puts half the weight on the first three of ten.
    assert picked[0] == 0 and picked[2] == 9
    assert picked[1] <= 3


def test_pick_from_follows_the_weights(spark: SparkSession) -> None:
    draws = spark.createDataFrame([(0.05,), (0.2,), (0.99,)], "draw double")
    picked = draws.select(pick_from(F.col("draw"), ("a", "b", "c"), (1, 2, 7))).collect()
    # Cumulative shares 0.1, 0.3, 1.0.
    assert [row[0] for row in picked] == ["a", "b", "c"]


def test_scattered_numbers_use_every_number_once(spark: SparkSession) -> None:
    numbers = spark.range(97).select(scattered_number(F.col("id"), 97, 7).alias("number"))
    assert sorted(row[0] for row in numbers.collect()) == list(range(1, 98))
