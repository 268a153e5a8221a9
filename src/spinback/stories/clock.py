"""The clock: when in the week each user listens, and what each part of their day sounds like.

Both stories read the rollups' ``hourly_streams`` (24 qualified-stream counts per row, by local
wall-clock hour) and ``weekday`` (1 = Monday .. 7 = Sunday, of the local date). Hours are the
clock on the wall: on a daylight-saving day the skipped hour stays empty and the repeated hour
holds both of its passes.
"""

from __future__ import annotations

import operator
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spinback.config import DayPart
from spinback.rollups import HOURS_PER_DAY
from spinback.stories.inputs import StoryInputs, story_struct

DAYS_PER_WEEK = 7
NO_STREAM = "no qualified stream in the period"
# Scores are compared at this many decimals, so that sums added up in a different order (which
# can differ in the last bits) never change a winner.
SCORE_DECIMALS = 9


def added(left: Column, right: Column) -> Column:
    return F.zip_with(left, right, lambda a, b: a + b)


def clock(inputs: StoryInputs) -> DataFrame:
    """``clock``: ``heatmap`` (7 arrays of 24 qualified-stream counts, Monday first, zeros
    filled), ``peak_hour`` (0-23) and ``peak_weekday`` (1-7); peaks tie to the earlier one."""
    hourly = F.col("hourly_streams")
    per_weekday = (
        inputs.items.where(F.col("streams") > 0)
        .groupBy("user_id", "weekday")
        .agg(F.array(*[F.sum(hourly[hour]) for hour in range(HOURS_PER_DAY)]).alias("hours"))
    )
    per_user = per_weekday.groupBy("user_id").agg(
        F.map_from_entries(F.collect_list(F.struct("weekday", "hours"))).alias("by_weekday")
    )

    zeros = F.array_repeat(F.lit(0).cast("long"), HOURS_PER_DAY)
    heatmap = F.array(
        *[
            F.coalesce(F.try_element_at("by_weekday", F.lit(weekday)), zeros)
            for weekday in range(1, DAYS_PER_WEEK + 1)
        ]
    ).cast("array<array<int>>")
    per_hour = F.aggregate("heatmap", F.array_repeat(F.lit(0), HOURS_PER_DAY), added)
    per_day = F.transform("heatmap", lambda hours: F.aggregate(hours, F.lit(0), lambda a, b: a + b))
    # array_position finds the first maximum: ties go to the earlier hour and weekday.
    peak_hour = F.array_position(per_hour, F.array_max(per_hour)).cast("int") - 1
    peak_weekday = F.array_position(per_day, F.array_max(per_day)).cast("int")

    eligible = F.col("by_weekday").isNotNull()
    return (
        inputs.listeners.select("user_id")
        .join(per_user, "user_id", "left")
        .withColumn("heatmap", heatmap)
        .select(
            "user_id",
            story_struct(
                eligible,
                F.lit(NO_STREAM),
                F.col("heatmap"),
                F.when(eligible, peak_hour).alias("peak_hour"),
                F.when(eligible, peak_weekday).alias("peak_weekday"),
            ).alias("clock"),
        )
    )


def part_streams(day_parts: tuple[DayPart, ...]) -> Column:
    """Per rollup row, the qualified streams of each day part (an array in ``day_parts`` order).

    Written as plain sums of the hours: this runs on every rollup row, and Spark compiles these
    where it interprets a higher-order function (a fold) row by row.
    """
    hourly = F.col("hourly_streams")
    return F.array(
        *[
            reduce(
                operator.add,
                [hourly[hour] for hour in range(part.start_hour, part.end_hour)],
                F.lit(0),
            ).cast("double")
            for part in day_parts
        ]
    )


def audio_day(inputs: StoryInputs) -> DataFrame:
    """``audio_day``: for each of ``day_parts``, the most characteristic genre of the user (their
    artist when none of their streams has a genre).

    An item's score in a part is ``share_part * ln(share_part / share_all_day)``: share_part is
    its share of the user's streams in that part, share_all_day its share of all their streams
    (a stream's weight split equally over its genres; shares are over the user's streams that
    have an item of the kind, so they add up to 1). The highest score wins; ties go to the key.
    """
    day_parts = inputs.settings.day_parts
    streamed = inputs.items.where((F.col("content_type") == "music") & (F.col("streams") > 0))
    streamed = streamed.withColumn("parts", part_streams(day_parts))

    genre_count = F.size("genres")
    by_genre = streamed.where(genre_count > 0).select(
        "user_id",
        F.lit("genre").alias("kind"),
        F.explode("genres").alias("key"),
        F.array(*[F.col("parts")[part] / genre_count for part in range(len(day_parts))]).alias(
            "parts"
        ),
    )
    by_genre = by_genre.withColumn("name", F.col("key"))
    by_artist = streamed.where(F.col("artist_key").isNotNull()).select(
        "user_id",
        F.lit("artist").alias("kind"),
        F.col("artist_key").alias("key"),
        "parts",
        F.col("artist_name").alias("name"),
    )
    per_item = (
        by_genre.unionByName(by_artist)
        .groupBy("user_id", "kind", "key")
        .agg(
            F.array(*[F.sum(F.col("parts")[i]) for i in range(len(day_parts))]).alias("parts"),
            F.max("name").alias("name"),
        )
        .withColumn(
            "item_streams",
            reduce(
                operator.add, [F.col("parts")[part] for part in range(len(day_parts))], F.lit(0.0)
            ),
        )
    )

    # Genres where the user has any; else artists. Then each item's share of the whole day.
    by_user = Window.partitionBy("user_id")
    has_genres = F.max((F.col("kind") == "genre").cast("int")).over(by_user) == 1
    items = per_item.withColumn("has_genres", has_genres).where(
        F.col("kind") == F.when(F.col("has_genres"), "genre").otherwise("artist")
    )
    items = items.withColumn(
        "share_all_day", F.try_divide(F.col("item_streams"), F.sum("item_streams").over(by_user))
    )

    by_part = Window.partitionBy("user_id", "part")
    in_parts = items.select(
        "user_id",
        "kind",
        "key",
        "name",
        "share_all_day",
        F.posexplode("parts").alias("part", "streams"),
    ).where(F.col("streams") > 0)
    share_part = F.try_divide(F.col("streams"), F.sum("streams").over(by_part))
    scored = in_parts.withColumn(
        "score", share_part * F.ln(share_part / F.col("share_all_day"))
    ).withColumn(
        "place",
        F.row_number().over(
            by_part.orderBy(F.round("score", SCORE_DECIMALS).desc(), F.col("key").asc())
        ),
    )
    winners = (
        scored.where(F.col("place") == 1)
        .groupBy("user_id")
        .agg(
            F.map_from_entries(
                F.collect_list(F.struct("part", F.struct("kind", "key", "name", "score")))
            ).alias("winners")
        )
    )

    parts = F.array(
        *[
            F.struct(
                F.lit(part.name).alias("part"),
                F.lit(part.start_hour).alias("start_hour"),
                F.lit(part.end_hour).alias("end_hour"),
                winner["kind"].alias("kind"),
                winner["key"].alias("key"),
                winner["name"].alias("name"),
                F.round(winner["score"], 4).alias("score"),
            )
            for index, part in enumerate(day_parts)
            for winner in [F.try_element_at("winners", F.lit(index))]
        ]
    )
    parts_with_streams = F.when(F.col("winners").isNull(), 0).otherwise(F.size("winners"))
    # Streams without a genre do not count where the user's other streams have genres.
    kind = F.try_element_at(F.map_values("winners"), F.lit(1))["kind"]
    counted = F.when(kind == "genre", F.lit("qualified streams with a genre")).otherwise(
        F.lit("qualified streams")
    )
    reason = F.when(F.col("winners").isNull(), F.lit(NO_STREAM)).otherwise(
        F.format_string("%s in fewer than 2 parts of the day (%d)", counted, parts_with_streams)
    )
    return (
        inputs.listeners.select("user_id")
        .join(winners, "user_id", "left")
        .select(
            "user_id",
            story_struct(parts_with_streams >= 2, reason, parts.alias("parts")).alias("audio_day"),
        )
    )
