"""Evolution: the year told as up to ``max_phases`` phases, each with its sound and its artists.

Each month with qualified streams becomes a vector of shares: of genres (each stream's weight split
equally over its track's genres) or, for a user whose streams carry no genre at all, of primary
artists. The months, in order, are cut into 1..``max_phases`` contiguous phases; the cut chosen is
the one with the least total cosine distance of each month to its phase's centroid, plus
``phase_penalty`` for every phase beyond the first.

The number of ways to cut n months into at most three runs is small (67 for twelve months), so
every cut is scored: a fixed table of split patterns is joined to each user's months and the cost
is summed with aggregates. Cosine distances come from each user's month-by-month dot products:
with s the sum of a phase's vectors (the centroid's direction),
``cos(v_a, s) = sum_b v_a.v_b / (|v_a| |s|)`` and ``|s|^2 = sum_a sum_b v_a.v_b``, so one row per
(phase, month) suffices, however many genres or artists a month holds.

A phase names its top genre (else artist) and up to three pivotal artists: those whose streams
are most concentrated in the phase, scored ``phase streams x phase streams / period streams``, so
that an artist heard mostly then, and often, leads.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import combinations, pairwise

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spinback.stories.inputs import StoryInputs, story_struct
from spinback.stories.period import Period

PIVOTAL_ARTISTS = 3
# Totals are rounded before the cheapest cut is chosen, so that summation order never decides.
COST_DECIMALS = 9


def months_in(period: Period) -> int:
    """How many calendar months the period touches (the most months a user can have)."""
    last = period.end - timedelta(days=1)
    return (last.year - period.start.year) * 12 + last.month - period.start.month + 1


def split_patterns(spark: SparkSession, max_months: int, max_phases: int) -> DataFrame:
    """Every way to cut months 1..n into at most ``max_phases`` contiguous runs, for n up to
    ``max_months``: rows (``months``, ``pattern``, ``phases``, ``phase``, ``first``, ``last``).

    Pattern ids grow with the number of phases, then with the cut positions, so the smallest id
    among equal costs is the simplest cut.
    """
    # TODO: the table grows as C(n - 1, max_phases - 1) per month count n; should periods of
    # several years or more than three phases be wanted, score cuts with a dynamic programme
    # over months instead.
    rows = []
    pattern = 0
    for months in range(1, max_months + 1):
        for phases in range(1, min(max_phases, months) + 1):
            for cuts in combinations(range(2, months + 1), phases - 1):
                pattern += 1
                bounds = (1, *cuts, months + 1)
                for phase, (first, after) in enumerate(pairwise(bounds), start=1):
                    rows.append((months, pattern, phases, phase, first, after - 1))
    return spark.createDataFrame(
        rows, "months int, pattern int, phases int, phase int, first int, last int"
    )


def month_weights(items: DataFrame) -> DataFrame:
    """Per (user, month, item): ``weight`` of qualified streams, with ``kind`` genre or artist.

    A user whose streams carry any genre gets genre items (a stream split over its genres);
    otherwise primary artists. ``name`` is the item's display name.
    """
    streamed = items.where((F.col("content_type") == "music") & (F.col("streams") > 0))
    genres = streamed.where(F.size("genres") > 0).select(
        "user_id",
        "local_month",
        F.lit("genre").alias("kind"),
        F.explode("genres").alias("item_key"),
        (F.col("streams") / F.size("genres")).alias("weight"),
    )
    artists = streamed.where(F.col("artist_key").isNotNull()).select(
        "user_id",
        "local_month",
        F.lit("artist").alias("kind"),
        F.col("artist_key").alias("item_key"),
        F.col("streams").cast("double").alias("weight"),
        F.col("artist_name").alias("name"),
    )
    by_user = Window.partitionBy("user_id")
    has_genres = F.max((F.col("kind") == "genre").cast("int")).over(by_user) == 1
    chosen = F.when(has_genres, F.lit("genre")).otherwise(F.lit("artist"))
    return (
        genres.withColumn("name", F.col("item_key"))
        .unionByName(artists)
        .withColumn("chosen", chosen)
        .where(F.col("kind") == F.col("chosen"))
        .groupBy("user_id", "kind", "local_month", "item_key")
        .agg(F.sum("weight").alias("weight"), F.max("name").alias("name"))
    )


def month_vectors(weights: DataFrame) -> DataFrame:
    """``weights`` with ``month_index`` (1.. among the user's months), ``months`` (how many) and
    ``share`` (the item's share of its month)."""
    by_user = Window.partitionBy("user_id")
    by_month = Window.partitionBy("user_id", "local_month")
    return (
        weights.withColumn(
            "month_index", F.dense_rank().over(by_user.orderBy("local_month")).cast("int")
        )
        .withColumn("months", F.max("month_index").over(by_user))
        .withColumn("share", F.col("weight") / F.sum("weight").over(by_month))
    )


def month_dot_products(vectors: DataFrame) -> DataFrame:
    """Per (user, month a): ``dots``, the dot products of month a's vector with every month
    1..months (zeros where they share nothing), ``norm`` = |v_a| and ``months``."""
    left = vectors.select("user_id", "months", "item_key", "month_index", F.col("share"))
    right = vectors.select(
        "user_id",
        "item_key",
        F.col("month_index").alias("other_index"),
        F.col("share").alias("other_share"),
    )
    pairs = (
        left.join(right, ["user_id", "item_key"])
        .groupBy("user_id", "months", "month_index", "other_index")
        .agg(F.sum(F.col("share") * F.col("other_share")).alias("dot"))
    )
    by_other = F.map_from_entries(F.collect_list(F.struct("other_index", "dot")))
    return (
        pairs.groupBy("user_id", "months", "month_index")
        .agg(by_other.alias("by_other"))
        .select(
            "user_id",
            "months",
            "month_index",
            F.transform(
                F.sequence(F.lit(1), F.col("months")),
                lambda other: F.coalesce(F.try_element_at("by_other", other), F.lit(0.0)),
            ).alias("dots"),
        )
        .withColumn("norm", F.sqrt(F.element_at("dots", F.col("month_index"))))
    )


def segment_costs(dot_products: DataFrame, patterns: DataFrame) -> DataFrame:
    """Per (user, run of months ``first``..``last`` that some pattern uses): ``cost``, the sum of
    the cosine distances of its months to the run's centroid."""
    segments = (
        patterns.select("months", "first", "last")
        .distinct()
        .withColumn("month_index", F.explode(F.sequence("first", "last")))
    )
    length = F.col("last") - F.col("first") + 1
    # v_a . s: month a's dot products with the months of the run.
    toward_sum = F.aggregate(
        F.slice("dots", F.col("first"), length), F.lit(0.0), lambda total, dot: total + dot
    )
    per_month = dot_products.join(F.broadcast(segments), ["months", "month_index"]).select(
        "user_id", "months", "first", "last", toward_sum.alias("toward_sum"), "norm"
    )
    cosine_total = F.sum(F.col("toward_sum") / F.col("norm")) / F.sqrt(F.sum("toward_sum"))
    return per_month.groupBy("user_id", "months", "first", "last").agg(
        (length - cosine_total).alias("cost")
    )


def best_patterns(costs: DataFrame, patterns: DataFrame, phase_penalty: float) -> DataFrame:
    """Per user: the ``pattern`` of least total cost (ties: fewer phases, earlier cuts)."""
    totals = (
        costs.join(F.broadcast(patterns), ["months", "first", "last"])
        .groupBy("user_id", "pattern", "phases")
        .agg(F.sum("cost").alias("cost"))
        .withColumn(
            "total",
            F.round(F.col("cost") + phase_penalty * (F.col("phases") - 1), COST_DECIMALS),
        )
    )
    return totals.groupBy("user_id").agg(
        F.min_by("pattern", F.struct("total", "pattern")).alias("pattern")
    )


def phases_of(inputs: StoryInputs) -> DataFrame:
    """Per user with streams in at least two months: ``phases``, the ordered array of (start_month,
    end_month, kind, top, pivotal_artists); and per user with streams at all, ``months``."""
    settings = inputs.settings
    spark = inputs.items.sparkSession
    patterns = split_patterns(spark, months_in(inputs.period), settings.max_phases)
    # Read by the dot products (twice), the phases and the month counts.
    vectors = inputs.keep(month_vectors(month_weights(inputs.items)))

    several = vectors.where(F.col("months") >= 2)
    best = best_patterns(
        segment_costs(month_dot_products(several), patterns), patterns, settings.phase_penalty
    )
    month_phases = best.join(F.broadcast(patterns), "pattern").select(
        "user_id", "phase", F.explode(F.sequence("first", "last")).alias("month_index")
    )
    phased = several.join(month_phases, ["user_id", "month_index"])

    bounds = phased.groupBy("user_id", "phase").agg(
        F.date_format(F.min("local_month"), "yyyy-MM").alias("start_month"),
        F.date_format(F.max("local_month"), "yyyy-MM").alias("end_month"),
        F.first("kind").alias("kind"),
    )
    tops = _first_by_weight(
        phased.groupBy("user_id", "phase", "item_key").agg(
            F.sum("weight").alias("weight"), F.max("name").alias("name")
        ),
        keep=1,
    ).select("user_id", "phase", F.col("name").alias("top"))
    pivotal = _pivotal_artists(inputs.items, phased.select("user_id", "local_month", "phase"))

    phases = (
        bounds.join(tops, ["user_id", "phase"])
        .join(pivotal, ["user_id", "phase"], "left")
        .groupBy("user_id")
        .agg(
            F.array_sort(
                F.collect_list(
                    F.struct(
                        "phase",
                        "start_month",
                        "end_month",
                        "kind",
                        "top",
                        F.coalesce(F.col("pivotal_artists"), F.array().cast("array<string>")).alias(
                            "pivotal_artists"
                        ),
                    )
                )
            ).alias("phases")
        )
        .select("user_id", F.transform("phases", lambda p: p.dropFields("phase")).alias("phases"))
    )
    months = vectors.groupBy("user_id").agg(F.max("months").alias("months"))
    return months.join(phases, "user_id", "left")


def _first_by_weight(frame: DataFrame, keep: int) -> DataFrame:
    """The ``keep`` rows of each (user, phase) with the largest ``weight`` (ties: item key asc),
    numbered in ``position``."""
    order = Window.partitionBy("user_id", "phase").orderBy(
        F.col("weight").desc(), F.col("item_key").asc()
    )
    return frame.withColumn("position", F.row_number().over(order)).where(F.col("position") <= keep)


def _pivotal_artists(items: DataFrame, month_phases: DataFrame) -> DataFrame:
    """Per (user, phase): ``pivotal_artists``, the names of up to PIVOTAL_ARTISTS artists whose
    streams are most concentrated in the phase (phase streams^2 / period streams)."""
    per_phase = (
        items.where(
            (F.col("content_type") == "music")
            & (F.col("streams") > 0)
            & F.col("artist_key").isNotNull()
        )
        .join(month_phases.distinct(), ["user_id", "local_month"])
        .groupBy("user_id", "phase", F.col("artist_key").alias("item_key"))
        .agg(F.sum("streams").alias("streams"), F.max("artist_name").alias("name"))
    )
    period_streams = F.sum("streams").over(Window.partitionBy("user_id", "item_key"))
    scored = per_phase.withColumn(
        "concentration", F.col("streams") * F.col("streams") / period_streams
    )
    order = Window.partitionBy("user_id", "phase").orderBy(
        F.col("concentration").desc(), F.col("streams").desc(), F.col("item_key").asc()
    )
    top = scored.withColumn("position", F.row_number().over(order)).where(
        F.col("position") <= PIVOTAL_ARTISTS
    )
    names = F.array_sort(F.collect_list(F.struct("position", "name")))
    return top.groupBy("user_id", "phase").agg(
        F.transform(names, lambda entry: entry["name"]).alias("pivotal_artists")
    )


def evolution(inputs: StoryInputs) -> DataFrame:
    """``evolution``: phases[] (start_month, end_month, kind, top, pivotal_artists[])."""
    facts = inputs.listeners.select("user_id").join(phases_of(inputs), "user_id", "left")
    months = F.coalesce(F.col("months"), F.lit(0))
    eligible = months >= 2
    reason: Column = F.when(months == 0, F.lit("no qualified stream in the period")).otherwise(
        F.format_string("qualified streams in only %d month; phases need at least 2", months)
    )
    return facts.select(
        "user_id",
        story_struct(
            eligible,
            reason,
            F.when(eligible, F.col("phases")).otherwise(F.array()).alias("phases"),
        ).alias("evolution"),
    )
