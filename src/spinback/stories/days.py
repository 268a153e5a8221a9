"""Days: the biggest day, the days listened, the longest daily streak and the longest artist run.

Every date is the user's local date. A streak is a run of consecutive local dates, each with a
qualified stream. Runs are found with the gaps-and-islands trick: within one user (and artist),
the date minus the row number of the date is the same for every date of a run, so that difference
names the run and one aggregate measures it.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spinback.stories.inputs import MS_PER_MINUTE, StoryInputs, story_struct

NO_STREAM = "no qualified stream in the period"


def run_of(date: Column, row_number: Column) -> Column:
    """The first date a run of consecutive dates would have if it started at row 1: equal for
    every date of the same run, different between runs."""
    return F.date_sub(date, row_number.cast("int"))


def days(inputs: StoryInputs) -> DataFrame:
    """``days``: ``biggest_day`` (date, minutes of all content; ties to the earlier date),
    ``days_listened`` (dates with a qualified stream) and ``longest_streak`` (start, end, length;
    ties to the earlier run).
    """
    per_day = inputs.items.groupBy("user_id", "local_date").agg(
        F.sum("ms_played").alias("ms_played"),
        F.sum("streams").alias("streams"),
    )

    # One window numbers the days with a stream: the running count of such days up to each date
    # is, on a day with a stream, its row number among them.
    by_user = Window.partitionBy("user_id").orderBy("local_date")
    streamed = F.col("streams") > 0
    numbered = per_day.withColumn(
        "run",
        F.when(streamed, run_of(F.col("local_date"), F.count(F.when(streamed, 1)).over(by_user))),
    )

    # Days without a stream fall in the null run; it holds no streak but can hold the biggest day.
    per_run = numbered.groupBy("user_id", "run").agg(
        F.count(F.when(streamed, 1)).alias("stream_days"),
        F.min("local_date").alias("start"),
        F.max("local_date").alias("end"),
        # min over (-ms, date): the most minutes, then the earlier date.
        F.min(F.struct((-F.col("ms_played")).alias("negative_ms"), "local_date")).alias("best"),
    )
    longest = F.struct(
        (-F.col("stream_days")).alias("negative_length"), "start", "end", "stream_days"
    )
    per_user = per_run.groupBy("user_id").agg(
        F.sum("stream_days").cast("int").alias("days_listened"),
        F.min(F.when(F.col("run").isNotNull(), longest)).alias("longest"),
        F.min("best").alias("best"),
    )

    days_listened = F.coalesce(F.col("days_listened"), F.lit(0))
    return (
        inputs.listeners.select("user_id")
        .join(per_user, "user_id", "left")
        .select(
            "user_id",
            story_struct(
                days_listened > 0,
                F.lit(NO_STREAM),
                F.struct(
                    F.col("best.local_date").alias("date"),
                    F.round(-F.col("best.negative_ms") / MS_PER_MINUTE, 3).alias("minutes"),
                ).alias("biggest_day"),
                days_listened.alias("days_listened"),
                F.when(
                    F.col("longest").isNotNull(),
                    F.struct(
                        F.col("longest.start").alias("start"),
                        F.col("longest.end").alias("end"),
                        F.col("longest.stream_days").cast("int").alias("length"),
                    ),
                ).alias("longest_streak"),
            ).alias("days"),
        )
    )


def artist_streak(inputs: StoryInputs) -> DataFrame:
    """``artist_streak``: the longest run of consecutive local dates with a qualified stream of the
    same artist (primary credit): artist_key, name, start, end, length. Ties go to the earlier
    start, then the smaller artist key.
    """
    artist_days = (
        inputs.items.where(
            (F.col("content_type") == "music")
            & (F.col("streams") > 0)
            & F.col("artist_key").isNotNull()
        )
        .groupBy("user_id", "artist_key", "local_date")
        .agg(F.max("artist_name").alias("name"))
    )
    by_artist = Window.partitionBy("user_id", "artist_key").orderBy("local_date")
    runs = (
        artist_days.withColumn("run", run_of(F.col("local_date"), F.row_number().over(by_artist)))
        .groupBy("user_id", "artist_key", "run")
        .agg(
            F.count(F.lit(1)).alias("length"),
            F.min("local_date").alias("start"),
            F.max("local_date").alias("end"),
            F.max("name").alias("name"),
        )
    )
    # min over (-length, start, artist_key): the longest run, then the earliest, then the key.
    best = runs.groupBy("user_id").agg(
        F.min(
            F.struct(
                (-F.col("length")).alias("negative_length"),
                "start",
                "artist_key",
                "end",
                "name",
                "length",
            )
        ).alias("best")
    )
    return (
        inputs.listeners.select("user_id")
        .join(best, "user_id", "left")
        .select(
            "user_id",
            story_struct(
                F.col("best").isNotNull(),
                F.lit(NO_STREAM),
                F.col("best.artist_key").alias("artist_key"),
                F.col("best.name").alias("name"),
                F.col("best.start").alias("start"),
                F.col("best.end").alias("end"),
                F.col("best.length").cast("int").alias("length"),
            ).alias("artist_streak"),
        )
    )
