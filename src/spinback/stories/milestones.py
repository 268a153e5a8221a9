"""Milestones: when the user's lifetime totals crossed round numbers during the period.

Running totals are taken over the whole history (every local date up to the period's end), in
local time order, overall and for each of the period's top ``top_n`` artists (weighted by artist
credit, as in top_artists); only crossings inside the period are reported.

- Streams (thresholds ``milestone_streams``) are placed at the local date and hour of the stream
  that crossed, from the rollups' qualified streams per hour.
- Minutes (thresholds ``milestone_minutes``, all plays; for an artist, its music plays) are placed
  at the local date only: the rollups keep milliseconds per day, not per hour, so
  ``reached_hour`` is null for them.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from spinback.stories.inputs import MS_PER_MINUTE, StoryInputs, story_struct
from spinback.stories.tops import artist_credits, period_artist_totals, ranked_within_user

# Hours past the last (23) sort minute milestones, placed at the day, after that day's hours.
END_OF_DAY = 24


def top_artists_of(inputs: StoryInputs) -> DataFrame:
    """Per user: the period's top ``top_n`` artists (``artist_key``, ``name``), ranked as in
    top_artists."""
    totals = period_artist_totals(inputs)
    return (
        ranked_within_user(totals, "streams", "artist_key")
        .where(F.col("rank") <= inputs.settings.top_n)
        .select("user_id", "artist_key", "name")
    )


def progress_steps(inputs: StoryInputs, top: DataFrame) -> DataFrame:
    """What each (user, artist of ``top`` or null for overall, kind) gained at each local date
    and hour: rows (user_id, artist_key, kind, local_date, hour, gained), ``gained`` in streams
    or milliseconds."""
    settings = inputs.settings
    history = inputs.history
    music = history.where(F.col("content_type") == "music")
    credited = artist_credits(music, settings.featured_weight).join(
        top.select("user_id", "artist_key"), ["user_id", "artist_key"], "left_semi"
    )
    no_artist = F.lit(None).cast("string").alias("artist_key")
    overall = music.select(
        "user_id", no_artist, "local_date", "hourly_streams", F.lit(1.0).alias("credit_weight")
    )
    by_artist = credited.select(
        "user_id", "artist_key", "local_date", "hourly_streams", "credit_weight"
    )

    streams = (
        overall.unionByName(by_artist)
        .select(
            "user_id",
            "artist_key",
            "local_date",
            "credit_weight",
            # A generator, not a lambda over the array: this runs on every rollup row of the
            # history, and Spark interprets higher-order functions row by row.
            F.posexplode("hourly_streams").alias("hour", "streams"),
        )
        .where(F.col("streams") > 0)
        .groupBy("user_id", "artist_key", "local_date", "hour")
        .agg(F.sum(F.col("streams") * F.col("credit_weight")).alias("gained"))
        .withColumn("kind", F.lit("streams"))
    )
    minutes = (
        history.select(
            "user_id", no_artist, "local_date", "ms_played", F.lit(1.0).alias("credit_weight")
        )
        .unionByName(
            credited.select("user_id", "artist_key", "local_date", "ms_played", "credit_weight")
        )
        .groupBy("user_id", "artist_key", "local_date")
        .agg(F.sum(F.col("ms_played") * F.col("credit_weight")).alias("gained"))
        .withColumn("hour", F.lit(None).cast("int"))
        .withColumn("kind", F.lit("minutes"))
    )
    return streams.unionByName(minutes)


def crossings(inputs: StoryInputs, top: DataFrame) -> DataFrame:
    """Per milestone reached inside the period: (user_id, artist_key, kind, threshold,
    reached_on, reached_hour)."""
    settings = inputs.settings
    steps = progress_steps(inputs, top)
    running = (
        Window.partitionBy("user_id", "artist_key", "kind")
        .orderBy("local_date", "hour")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    total = F.col("total")
    before = total - F.col("gained")
    # Thresholds in the unit of `gained`: streams, or milliseconds for minutes.
    stream_marks = F.array(*[F.lit(float(t)) for t in settings.milestone_streams])
    minute_marks = F.array(*[F.lit(float(t * MS_PER_MINUTE)) for t in settings.milestone_minutes])
    marks = F.when(F.col("kind") == "streams", stream_marks).otherwise(minute_marks)
    unit = F.when(F.col("kind") == "streams", F.lit(1)).otherwise(F.lit(MS_PER_MINUTE))
    return (
        steps.withColumn("total", F.sum("gained").over(running))
        .where(F.col("local_date") >= F.lit(inputs.period.start))
        .select(
            "user_id",
            "artist_key",
            "kind",
            F.col("local_date").alias("reached_on"),
            F.col("hour").alias("reached_hour"),
            F.explode(F.filter(marks, lambda mark: (before < mark) & (mark <= total))).alias(
                "mark"
            ),
            unit.alias("unit"),
        )
        .withColumn("threshold", F.round(F.col("mark") / F.col("unit")).cast("long"))
        .drop("mark", "unit")
    )


def milestones(inputs: StoryInputs) -> DataFrame:
    """``milestones``: items[] (kind, threshold, reached_on, reached_hour, artist_key, name), in
    the order they were reached (overall before artists, smaller thresholds first)."""
    top = top_artists_of(inputs)
    order = F.struct(
        "reached_on",
        F.coalesce("reached_hour", F.lit(END_OF_DAY)).alias("hour_order"),
        F.col("artist_key").isNotNull().alias("for_artist"),
        F.coalesce("artist_key", F.lit("")).alias("artist_order"),
        "kind",
        "threshold",
    )
    entries = F.array_sort(
        F.collect_list(
            F.struct(
                order.alias("order"),
                "kind",
                "threshold",
                "reached_on",
                F.col("reached_hour").cast("int").alias("reached_hour"),
                "artist_key",
                "name",
            )
        )
    )
    items = (
        crossings(inputs, top)
        .join(top, ["user_id", "artist_key"], "left")
        .groupBy("user_id")
        .agg(F.transform(entries, lambda entry: entry.dropFields("order")).alias("items"))
    )
    lifetime = inputs.history.groupBy("user_id").agg(
        F.sum(F.when(F.col("content_type") == "music", F.col("streams")).otherwise(0)).alias(
            "streams"
        ),
        (F.sum("ms_played") / MS_PER_MINUTE).alias("minutes"),
    )
    facts = (
        inputs.listeners.select("user_id")
        .join(items, "user_id", "left")
        .join(lifetime, "user_id", "left")
    )
    eligible = F.size(F.coalesce(F.col("items"), F.array())) > 0
    reason = F.format_string(
        "no milestone crossed in the period (lifetime totals: %d streams, %.0f minutes)",
        F.coalesce(F.col("streams"), F.lit(0)),
        F.coalesce(F.col("minutes"), F.lit(0.0)),
    )
    return facts.select(
        "user_id",
        story_struct(eligible, reason, F.coalesce(F.col("items"), F.array()).alias("items")).alias(
            "milestones"
        ),
    )
