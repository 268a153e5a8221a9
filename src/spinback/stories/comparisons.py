"""Year over year: the period against the same dates one year earlier.

- Minutes of all plays now and then, and the change in percent.
- Artist moves: the current top ``top_n`` artists (weighted streams, tie rule, as in top_artists)
  with their rank among all artists of the year before (null and "new" when not played then).
- Comebacks: artists streamed in the period whose last stream before it came at least
  ``comeback_days`` before their first stream in it.
- Loyal artists: artists streamed in at least ``loyal_months`` distinct months of the twelve months
  that end with the period's last month (for a calendar year, its own twelve months).

An artist is streamed when a qualified stream credits it, as primary or featured artist, as in
top_artists. Comebacks and loyal artists are listed by the artist's weighted streams (tie rule),
at most ``top_n`` of each. The story needs plays in the year before.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spinback.stories.inputs import MS_PER_MINUTE, StoryInputs, story_struct
from spinback.stories.period import Period
from spinback.stories.tops import (
    artist_credits,
    artist_totals,
    period_artist_totals,
    ranked_within_user,
)

MONTHS_PER_YEAR = 12
PERCENT_DECIMALS = 1
MINUTE_DECIMALS = 3


def loyalty_window_start(period: Period) -> date:
    """The first day of the eleventh month before the period's last month."""
    last = period.end - timedelta(days=1)
    month_index = last.year * MONTHS_PER_YEAR + last.month - 1 - (MONTHS_PER_YEAR - 1)
    return date(month_index // MONTHS_PER_YEAR, month_index % MONTHS_PER_YEAR + 1, 1)


def total_minutes(items: DataFrame, name: str) -> DataFrame:
    """Per user: minutes of every play in ``items``, in column ``name``."""
    return items.groupBy("user_id").agg((F.sum("ms_played") / MS_PER_MINUTE).alias(name))


def artist_moves(inputs: StoryInputs) -> DataFrame:
    """Per user: ``artist_moves``, the top ``top_n`` artists now with their rank a year before."""
    settings = inputs.settings
    current = ranked_within_user(period_artist_totals(inputs), "streams", "artist_key").where(
        F.col("rank") <= settings.top_n
    )
    previous = ranked_within_user(
        artist_totals(inputs.previous, settings.featured_weight), "streams", "artist_key"
    ).select("user_id", "artist_key", F.col("rank").alias("previous_rank"))

    rank, before = F.col("rank"), F.col("previous_rank")
    move = (
        F.when(before.isNull(), F.lit("new"))
        .when(rank < before, F.lit("up"))
        .when(rank > before, F.lit("down"))
        .otherwise(F.lit("same"))
    )
    moves = F.array_sort(
        F.collect_list(
            F.struct(
                "rank",
                "artist_key",
                "name",
                F.col("previous_rank").cast("int").alias("previous_rank"),
                move.alias("move"),
            )
        )
    )
    return (
        current.join(previous, ["user_id", "artist_key"], "left")
        .groupBy("user_id")
        .agg(
            F.transform(
                moves,
                lambda m: F.struct(
                    m["artist_key"].alias("artist_key"),
                    m["name"].alias("name"),
                    m["rank"].cast("int").alias("rank"),
                    m["previous_rank"].alias("previous_rank"),
                    m["move"].alias("move"),
                ),
            ).alias("artist_moves")
        )
    )


def credited_streams(items: DataFrame, featured_weight: float) -> DataFrame:
    """Rollup rows per credited artist that hold a qualified stream of music."""
    music = items.where((F.col("content_type") == "music") & (F.col("streams") > 0))
    return artist_credits(music, featured_weight)


def _top_by_streams(
    inputs: StoryInputs, chosen: DataFrame, fields: list[Column | str], column: str
) -> DataFrame:
    """Per user: ``column``, the ``chosen`` artists (user_id, artist_key, ...) ordered by their
    weighted streams in the period (tie rule), at most ``top_n``, as structs of ``fields``."""
    totals = period_artist_totals(inputs).join(chosen, ["user_id", "artist_key"])
    ranked = ranked_within_user(totals, "streams", "artist_key").where(
        F.col("rank") <= inputs.settings.top_n
    )
    entries = F.array_sort(F.collect_list(F.struct("rank", *fields)))
    return ranked.groupBy("user_id").agg(
        F.transform(entries, lambda entry: entry.dropFields("rank")).alias(column)
    )


def comebacks(inputs: StoryInputs) -> DataFrame:
    """Per user: ``comebacks`` (artist_key, name, silent_days)."""
    start = F.lit(inputs.period.start)
    in_period = F.col("local_date") >= start
    gaps = (
        credited_streams(inputs.history, inputs.settings.featured_weight)
        .groupBy("user_id", "artist_key")
        .agg(
            F.min(F.when(in_period, F.col("local_date"))).alias("back_on"),
            F.max(F.when(~in_period, F.col("local_date"))).alias("last_before"),
        )
        .withColumn("silent_days", F.datediff("back_on", "last_before"))
        .where(F.col("silent_days") >= inputs.settings.comeback_days)
        .select("user_id", "artist_key", "silent_days")
    )
    fields: list[Column | str] = [
        "artist_key",
        "name",
        F.col("silent_days").cast("int").alias("silent_days"),
    ]
    return _top_by_streams(inputs, gaps, fields, "comebacks")


def loyal_artists(inputs: StoryInputs) -> DataFrame:
    """Per user: ``loyal_artists`` (artist_key, name, months)."""
    window_start = F.lit(loyalty_window_start(inputs.period))
    loyal = (
        credited_streams(
            inputs.history.where(F.col("local_date") >= window_start),
            inputs.settings.featured_weight,
        )
        .groupBy("user_id", "artist_key")
        .agg(F.countDistinct("local_month").alias("months"))
        .where(F.col("months") >= inputs.settings.loyal_months)
    )
    fields: list[Column | str] = ["artist_key", "name", F.col("months").cast("int").alias("months")]
    return _top_by_streams(inputs, loyal, fields, "loyal_artists")


def year_over_year(inputs: StoryInputs) -> DataFrame:
    """``year_over_year``: minutes_previous, minutes_current, minutes_change_percent,
    artist_moves[], comebacks[], loyal_artists[]."""
    before = inputs.period.year_before()
    facts = (
        inputs.listeners.select("user_id")
        .join(total_minutes(inputs.items, "minutes_current"), "user_id", "left")
        .join(total_minutes(inputs.previous, "minutes_previous"), "user_id", "left")
        .join(artist_moves(inputs), "user_id", "left")
        .join(comebacks(inputs), "user_id", "left")
        .join(loyal_artists(inputs), "user_id", "left")
    )
    current, previous = F.col("minutes_current"), F.col("minutes_previous")
    eligible = previous.isNotNull()
    reason = F.lit(
        f"no plays in the year before the period ({before.start.isoformat()} to "
        f"{before.end.isoformat()}, end exclusive)"
    )
    change = F.round(100 * (current - previous) / previous, PERCENT_DECIMALS)

    def listed(column: str) -> Column:
        return F.when(eligible, F.coalesce(F.col(column), F.array())).otherwise(F.array())

    return facts.select(
        "user_id",
        story_struct(
            eligible,
            reason,
            F.round(F.coalesce(previous, F.lit(0.0)), MINUTE_DECIMALS).alias("minutes_previous"),
            F.round(current, MINUTE_DECIMALS).alias("minutes_current"),
            F.when(eligible & (previous > 0), change).alias("minutes_change_percent"),
            listed("artist_moves").alias("artist_moves"),
            listed("comebacks").alias("comebacks"),
            listed("loyal_artists").alias("loyal_artists"),
        ).alias("year_over_year"),
    )
