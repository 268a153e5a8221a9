"""The timeline: each user's period month by month.

Months are the local calendar months the period touches, in order, every one of them present
(zeros and nulls where nothing was played). Artist streams are weighted by credit, as in
``top_artists``, and the top artists of the period are the same ones.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spinback.stories.inputs import MS_PER_MINUTE, StoryInputs, story_struct, tie_order
from spinback.stories.period import Period
from spinback.stories.tops import artist_credits, ranked_within_user

MONTH_FORMAT = "yyyy-MM"


def period_months(period: Period) -> list[str]:
    """The local months ``"2025-03"`` the period touches, in order (a period is at most a few
    years, so this short list is built on the driver and shipped as a literal)."""
    months = []
    month = date(period.start.year, period.start.month, 1)
    while month < period.end:
        months.append(f"{month.year:04d}-{month.month:02d}")
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def running_totals(values: Column) -> Column:
    """The running sum of a numeric array: element i is the sum of elements 0..i."""
    return F.transform(
        values,
        lambda _, index: F.aggregate(
            F.slice(values, 1, index + 1), F.lit(0.0), lambda total, value: total + value
        ),
    )


def timeline(inputs: StoryInputs) -> DataFrame:
    """``timeline``: ``months[]`` (month, minutes of all content, top_artist {artist_key, name,
    streams}), ``top_artist_peaks[]`` (artist_key, name, peak_month: most streams, ties to the
    earlier month) and ``race[]`` (artist_key, name, cumulative_streams per month) for the
    period's top ``top_n`` artists, in rank order."""
    settings = inputs.settings
    months = F.array(*[F.lit(month) for month in period_months(inputs.period)])
    month = F.date_format("local_month", MONTH_FORMAT)

    month_minutes = inputs.items.groupBy("user_id", "local_month").agg(
        (F.sum("ms_played") / MS_PER_MINUTE).alias("minutes")
    )
    credits = artist_credits(
        inputs.items.where(F.col("content_type") == "music"), settings.featured_weight
    )
    # Read by the month tops, the peaks and the race.
    artist_months = inputs.keep(
        credits.groupBy("user_id", "artist_key", "local_month").agg(
            F.sum(F.col("streams") * F.col("credit_weight")).alias("streams"),
            (F.sum(F.col("ms_played") * F.col("credit_weight")) / MS_PER_MINUTE).alias("minutes"),
            F.min("first_stream_at").alias("first_played_at"),
            F.max("artist_name").alias("name"),
        )
    )

    # The top artist of each month, by the tie rule within the month.
    by_month = Window.partitionBy("user_id", "local_month").orderBy(
        *tie_order("streams", "artist_key")
    )
    month_tops = (
        artist_months.where(F.col("streams") > 0)
        .withColumn("place", F.row_number().over(by_month))
        .where(F.col("place") == 1)
        .select(
            "user_id",
            "local_month",
            F.struct("artist_key", "name", F.round("streams", 3).alias("streams")).alias(
                "top_artist"
            ),
        )
    )
    by_month_of_user = (
        month_minutes.join(month_tops, ["user_id", "local_month"], "left")
        .groupBy("user_id")
        .agg(
            F.map_from_entries(
                F.collect_list(F.struct(month, F.struct("minutes", "top_artist")))
            ).alias("by_month")
        )
    )

    def month_entry(label: Column) -> Column:
        entry = F.try_element_at("by_month", label)
        return F.struct(
            label.alias("month"),
            F.round(F.coalesce(entry["minutes"], F.lit(0.0)), 3).alias("minutes"),
            entry["top_artist"].alias("top_artist"),
        )

    # The period's top artists (ranked as in top_artists), their peaks and their race.
    period_totals = artist_months.groupBy("user_id", "artist_key").agg(
        F.sum("streams").alias("streams"),
        F.sum("minutes").alias("minutes"),
        F.min("first_played_at").alias("first_played_at"),
    )
    top = ranked_within_user(period_totals, "streams", "artist_key").where(
        F.col("rank") <= settings.top_n
    )
    peak = F.struct((-F.col("streams")).alias("negative_streams"), month.alias("month"))
    per_top_artist = (
        artist_months.join(top.select("user_id", "artist_key", "rank"), ["user_id", "artist_key"])
        .groupBy("user_id", "artist_key", "rank")
        .agg(
            F.max("name").alias("name"),
            F.min(F.when(F.col("streams") > 0, peak)).alias("peak"),
            F.map_from_entries(F.collect_list(F.struct(month, "streams"))).alias("streams"),
        )
    )
    monthly = F.transform(
        months, lambda label: F.coalesce(F.try_element_at("streams", label), F.lit(0.0))
    )
    race_rows = per_top_artist.select(
        "user_id",
        F.struct(
            "rank",
            "artist_key",
            "name",
            F.col("peak.month").alias("peak_month"),
            F.transform(running_totals(monthly), lambda total: F.round(total, 3)).alias(
                "cumulative_streams"
            ),
        ).alias("artist"),
    )
    races = race_rows.groupBy("user_id").agg(
        F.array_sort(F.collect_list("artist")).alias("top_artists")
    )

    top_artists = F.coalesce(F.col("top_artists"), F.array())
    return (
        inputs.listeners.select("user_id")
        .join(by_month_of_user, "user_id", "left")
        .join(races, "user_id", "left")
        .select(
            "user_id",
            story_struct(
                F.col("by_month").isNotNull(),
                F.lit("no play in the period"),
                F.transform(months, month_entry).alias("months"),
                F.transform(
                    top_artists,
                    lambda a: F.struct(
                        a["artist_key"].alias("artist_key"),
                        a["name"].alias("name"),
                        a["peak_month"].alias("peak_month"),
                    ),
                ).alias("top_artist_peaks"),
                F.transform(
                    top_artists,
                    lambda a: F.struct(
                        a["artist_key"].alias("artist_key"),
                        a["name"].alias("name"),
                        a["cumulative_streams"].alias("cumulative_streams"),
                    ),
                ).alias("race"),
            ).alias("timeline"),
        )
    )
