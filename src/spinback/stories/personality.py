"""Personality: four letters and a name from where a user stands on four listening axes.

Each axis is one number per user, split at the median of all listeners of the period who have it:

- ``new_artist_share``: share of streams by artists first played in the period (the discovery
  story's definition); above the median **E**xploration, else **F**amiliarity.
- ``track_concentration``: Herfindahl index of the user's track stream shares (1 = one track);
  above the median **L**oyalty, else **V**ariety.
- ``music_age``: the period's first year minus the stream-weighted mean release year; above the
  median **T**imelessness, else **N**ewness.
- ``mainstream_score``: the mainstream story's score; above the median **C**ommonality, else
  **U**niqueness.

A value equal to the median takes the second letter. Medians are population statistics: the story
needs ``min_population`` listeners.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spinback.stories.discovery import discovery_shares
from spinback.stories.inputs import StoryInputs, population_size, story_struct
from spinback.stories.mainstream import mainstream_scores, population_reason

VALUE_DECIMALS = 4
MEDIAN_ACCURACY = 10_000

# (axis, letter above the median, letter at or below it), in the order of the four letters.
AXES: tuple[tuple[str, str, str], ...] = (
    ("new_artist_share", "E", "F"),
    ("track_concentration", "L", "V"),
    ("music_age", "T", "N"),
    ("mainstream_score", "C", "U"),
)

NAMES: dict[str, str] = {
    "EVNU": "The Trailblazer",
    "EVNC": "The Trend Hunter",
    "EVTU": "The Crate Digger",
    "EVTC": "The Time Traveller",
    "ELNU": "The Underground Obsessive",
    "ELNC": "The Hit Chaser",
    "ELTU": "The Relic Hunter",
    "ELTC": "The Rediscoverer",
    "FVNU": "The Quiet Curator",
    "FVNC": "The Radio Regular",
    "FVTU": "The Deep Cut Keeper",
    "FVTC": "The Classic Collector",
    "FLNU": "The Niche Loyalist",
    "FLNC": "The Repeat Player",
    "FLTU": "The Cult Classicist",
    "FLTC": "The Comfort Listener",
}


def track_concentrations(items: DataFrame) -> DataFrame:
    """Per user with a qualified stream: ``track_concentration``, the sum of squared track shares
    of the user's streams."""
    per_track = (
        items.where((F.col("content_type") == "music") & (F.col("streams") > 0))
        .groupBy("user_id", "track_key")
        .agg(F.sum("streams").alias("streams"))
    )
    return per_track.groupBy("user_id").agg(
        (F.sum(F.col("streams") * F.col("streams")) / F.pow(F.sum("streams"), 2)).alias(
            "track_concentration"
        )
    )


def music_ages(items: DataFrame, first_year: int) -> DataFrame:
    """Per user with a qualified stream of a track whose release year is known: ``music_age``,
    ``first_year`` minus the stream-weighted mean release year."""
    dated = items.where(
        (F.col("content_type") == "music")
        & (F.col("streams") > 0)
        & F.col("release_year").isNotNull()
    )
    mean_year = F.sum(F.col("streams") * F.col("release_year")) / F.sum("streams")
    return dated.groupBy("user_id").agg((F.lit(first_year) - mean_year).alias("music_age"))


def axis_values(inputs: StoryInputs) -> DataFrame:
    """Per listener: the four axis values (null where unknown) and ``streamed``."""
    items = inputs.items.join(inputs.listeners.select("user_id"), "user_id", "left_semi")
    shares = inputs.shared("discovery_shares", lambda: discovery_shares(inputs)).select(
        "user_id",
        (F.col("streams") > 0).alias("streamed"),
        F.col("share_of_streams").alias("new_artist_share"),
    )
    scores = inputs.shared("mainstream_scores", lambda: mainstream_scores(inputs)).select(
        "user_id", F.col("score").alias("mainstream_score")
    )
    return (
        inputs.listeners.select("user_id")
        .join(shares, "user_id", "left")
        .join(track_concentrations(items), "user_id", "left")
        .join(music_ages(items, inputs.period.start.year), "user_id", "left")
        .join(scores, "user_id", "left")
    )


def personality(inputs: StoryInputs) -> DataFrame:
    """``personality``: letters (four), name, axes[] (axis, value, population_median, letter)."""
    settings = inputs.settings
    values = axis_values(inputs)
    medians = values.agg(
        *[
            F.percentile_approx(axis, 0.5, MEDIAN_ACCURACY).alias(f"{axis}_median")
            for axis, _, _ in AXES
        ]
    )

    def letter(axis: str, above: str, otherwise: str) -> Column:
        value, median = F.col(axis), F.col(f"{axis}_median")
        return F.when(value > median, F.lit(above)).when(value <= median, F.lit(otherwise))

    letters = F.concat(*[letter(*axis) for axis in AXES])
    names = F.create_map(*[F.lit(part) for pair in NAMES.items() for part in pair])
    axes = F.array(
        *[
            F.struct(
                F.lit(axis).alias("axis"),
                F.round(axis, VALUE_DECIMALS).alias("value"),
                F.round(f"{axis}_median", VALUE_DECIMALS).alias("population_median"),
                letter(axis, above, otherwise).alias("letter"),
            )
            for axis, above, otherwise in AXES
        ]
    )

    streamed = F.coalesce(F.col("streamed"), F.lit(False))
    enough = F.col("population") >= settings.min_population
    eligible = (
        streamed & enough & F.col("new_artist_share").isNotNull() & F.col("music_age").isNotNull()
    )
    reason = (
        F.when(~streamed, F.lit("no qualified stream in the period"))
        .when(~enough, population_reason(settings.min_population))
        .when(
            F.col("new_artist_share").isNull(),
            F.lit("the history starts inside the period, so new artists are unknown"),
        )
        .otherwise(F.lit("the catalog gives no release year for any track streamed"))
    )
    return (
        values.crossJoin(F.broadcast(medians))
        .crossJoin(F.broadcast(population_size(inputs.listeners)))
        .select(
            "user_id",
            story_struct(
                eligible,
                reason,
                F.when(eligible, letters).alias("letters"),
                F.when(eligible, names[letters]).alias("name"),
                F.when(eligible, axes).otherwise(F.array()).alias("axes"),
            ).alias("personality"),
        )
    )
