"""Synthetic listeners: where they live, when they joined, and the habits that shape their plays.

Each user is one row of traits, all drawn from hashes of the user's index. The plays module reads
the traits; only ``user_name``, ``time_zone``, ``country`` and ``joined_at`` are published.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spinback.config import GenerateConfig
from spinback.generate.sampling import log_normal_around_one, pick_by_weight, pick_from, uniform
from spinback.generate.year import DAY_MS, HOUR_MS, GeneratedYear

# (IANA zone, country, weight): a spread of zones, including one with a half-hour offset.
TIME_ZONES = (
    ("America/New_York", "US", 12),
    ("America/Chicago", "US", 6),
    ("America/Los_Angeles", "US", 7),
    ("America/Mexico_City", "MX", 6),
    ("America/Sao_Paulo", "BR", 9),
    ("Europe/London", "GB", 8),
    ("Europe/Berlin", "DE", 9),
    ("Europe/Paris", "FR", 6),
    ("Europe/Madrid", "ES", 5),
    ("Europe/Stockholm", "SE", 3),
    ("Europe/Warsaw", "PL", 3),
    ("Africa/Lagos", "NG", 2),
    ("Asia/Kolkata", "IN", 5),
    ("Asia/Tokyo", "JP", 6),
    ("Australia/Sydney", "AU", 4),
)

PLATFORMS = ("android", "ios", "windows", "osx", "web_player")
PLATFORM_WEIGHTS = (45, 30, 10, 7, 8)

# Spread of the log-normal activity multiplier: at 0.9 the 90th percentile user is about ten times
# as active as the 10th.
ACTIVITY_SIGMA = 0.9
# Active days: each user listens on a fixed share of days, between a fifth and almost all of them.
ACTIVE_SHARE_RANGE = (0.2, 0.95)
# Share of users who never play a podcast.
PODCAST_ABSTAINERS = 0.3
# Late joiners join between two weeks into the year and a month before its end.
LATE_JOIN_FIRST_DAY = 14
LATE_JOIN_LAST_DAYS_LEFT = 31
# Everyone else joined up to three years before the year began.
EARLY_JOIN_SPAN_MS = 3 * 365 * DAY_MS


def build_users(
    spark: SparkSession, config: GenerateConfig, year: GeneratedYear, partitions: int
) -> DataFrame:
    """One row per user with the published columns and the traits the plays are drawn from.

    ``partitions`` decides how the users (and so their plays, which are exploded from them) are
    split. ``spark.range`` splits by contiguous index ranges, which Spark knows about, so the plays
    can later be ordered per user without a shuffle.
    """
    seed = config.seed
    user = F.col("user_index")

    def draw(purpose: str) -> Column:
        return uniform(seed, purpose, user)

    zone_index = pick_by_weight(draw("time-zone"), [weight for _, _, weight in TIME_ZONES])
    zones = F.array(*[F.lit(zone) for zone, _, _ in TIME_ZONES])
    countries = F.array(*[F.lit(country) for _, country, _ in TIME_ZONES])

    low, high = ACTIVE_SHARE_RANGE
    podcast_listener = draw("podcast-listener") >= PODCAST_ABSTAINERS
    # Listeners average podcast_share / (1 - abstainers), so over everyone it is podcast_share.
    listener_affinity = (
        config.podcast_share / (1 - PODCAST_ABSTAINERS) * (0.25 + 1.5 * draw("podcast-affinity"))
    )

    users = spark.range(0, config.users, 1, partitions).select(
        F.col("id").alias("user_index"),
        F.format_string("user-%06d", F.col("id") + 1).alias("user_name"),
        zone_index.alias("zone_index"),
        zones[zone_index].alias("time_zone"),
        countries[zone_index].alias("country"),
        log_normal_around_one(ACTIVITY_SIGMA, seed, "activity", F.col("id")).alias("activity"),
        (low + (high - low) * uniform(seed, "active-share", F.col("id"))).alias("active_share"),
    )
    return users.select(
        "*",
        # Share of music plays that go to the user's own favourite artists.
        (0.35 + 0.4 * draw("favourite-share")).alias("favourite_share"),
        # Multiplies the skip rates: some people skip far more than others.
        (0.6 + 0.8 * draw("skip-tendency")).alias("skip_tendency"),
        # Mean number of plays in one listening session.
        (4.0 + 12.0 * draw("session-length")).alias("session_length"),
        F.when(podcast_listener, F.least(listener_affinity, F.lit(0.9)))
        .otherwise(0.0)
        .alias("podcast_affinity"),
        draw("shuffle-tendency").alias("shuffle_tendency"),
        pick_from(draw("platform"), PLATFORMS, PLATFORM_WEIGHTS).alias("platform"),
        *_joined(config, year),
    )


def _joined(config: GenerateConfig, year: GeneratedYear) -> list[Column]:
    """``joined_at`` (UTC) and ``first_day``, the first local day of the year the user can play.

    About ``late_joiner_share`` of users join during the year, at a daytime hour of their own zone;
    the rest had joined by local midnight on January 1 and can play from the first day.
    """
    seed = config.seed
    user = F.col("user_index")
    zone = F.col("time_zone")
    late = uniform(seed, "late-joiner", user) < config.late_joiner_share

    join_days = year.days - LATE_JOIN_LAST_DAYS_LEFT - LATE_JOIN_FIRST_DAY
    join_day = LATE_JOIN_FIRST_DAY + F.floor(join_days * uniform(seed, "join-day", user))
    join_time_ms = 8 * HOUR_MS + F.floor(14 * HOUR_MS * uniform(seed, "join-time", user))
    late_local = F.timestamp_millis(year.start_wall_clock_ms + join_day * DAY_MS + join_time_ms)

    year_start_utc = F.unix_millis(
        F.to_utc_timestamp(F.timestamp_millis(F.lit(year.start_wall_clock_ms)), zone)
    )
    early_by_ms = F.floor(EARLY_JOIN_SPAN_MS * uniform(seed, "join-early", user))

    return [
        F.when(late, F.to_utc_timestamp(late_local, zone))
        .otherwise(F.timestamp_millis(year_start_utc - early_by_ms))
        .alias("joined_at"),
        F.when(late, join_day).otherwise(F.lit(0)).cast("int").alias("first_day"),
    ]


def build_zone_offsets(spark: SparkSession, year: GeneratedYear) -> DataFrame:
    """How far each zone's clocks are ahead of UTC, for every local hour of the year.

    One row per zone and local hour: ``zone_index``, ``local_hour`` (hours since local New Year)
    and ``utc_offset_ms``. Plays look their offset up here (a broadcast join) rather than calling
    ``to_utc_timestamp`` with a zone column, which parses the zone's name on every row. The
    offsets come from ``to_utc_timestamp`` itself, so they agree with Spark, including in the hour
    a clock skips or repeats (our zones change their clocks on whole hours).
    """
    hours = year.days * 24
    zones = F.array(*[F.lit(zone) for zone, _, _ in TIME_ZONES])
    slot = F.col("id")
    local_hour = slot % hours
    local_time = F.timestamp_millis(year.start_wall_clock_ms + local_hour * HOUR_MS)
    zone_index = F.floor(slot / hours).cast("int")
    utc_time = F.to_utc_timestamp(local_time, zones[zone_index])
    return spark.range(len(TIME_ZONES) * hours).select(
        zone_index.alias("zone_index"),
        local_hour.alias("local_hour"),
        (F.unix_millis(local_time) - F.unix_millis(utc_time)).alias("utc_offset_ms"),
    )


def published_users(users: DataFrame) -> DataFrame:
    """The columns of ``schema.GENERATED_USERS`` from the full users frame."""
    return users.select("user_name", "time_zone", "country", "joined_at")
