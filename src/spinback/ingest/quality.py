"""Checks every candidate play must pass before silver, and the quarantine for those that fail.

A reader turns its records into candidate plays: the silver columns plus the lineage columns
``source_file``, ``source_position`` and ``raw_record``. :func:`judge` names the first rule each
record broke, and :func:`split_valid` sends it either to silver or, with that reason, to quarantine,
so nothing is silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spinback import schema

LINEAGE_COLUMNS = ("source_file", "source_position", "raw_record")
# The column judge adds, named as in the quarantine table.
REASON = "reason"

# Unix time 0 is what several exporters write when they lost the date.
_EPOCH_SQL = "TIMESTAMP '1970-01-01 00:00:00'"
# No single playback lasts a day; longer values are corrupt counters.
_LONGEST_PLAY_MS = 86_400_000
# A small allowance for clocks that run a little ahead of the ingesting machine.
_FUTURE_TOLERANCE_SQL = "INTERVAL 1 DAY"


@dataclass(frozen=True)
class SplitPlays:
    valid: DataFrame
    quarantined: DataFrame


def rejection_reason(candidates: DataFrame) -> Column:
    """The first rule a candidate play breaks, or null when it is a valid play."""
    has_content = F.col("track_key").isNotNull() | F.col("episode_key").isNotNull()
    return (
        F.when(F.col("reject_reason").isNotNull(), F.col("reject_reason"))
        .when(F.col("ended_at").isNull(), "missing or unparsable timestamp")
        # Start-stamped sources (scrobbles) lose the date in started_at, end-stamped in ended_at.
        .when(
            F.least("ended_at", F.coalesce("started_at", "ended_at")) <= F.expr(_EPOCH_SQL),
            "timestamp at or before 1970-01-01 (zero)",
        )
        .when(
            F.col("ended_at") > F.expr(f"current_timestamp() + {_FUTURE_TOLERANCE_SQL}"),
            "timestamp in the future",
        )
        .when(F.col("ms_played").isNull(), "missing ms_played")
        .when(F.col("ms_played") < 0, "negative ms_played")
        .when(F.col("ms_played") > _LONGEST_PLAY_MS, "ms_played longer than a day")
        .when(F.col("started_at").isNull(), "missing or unparsable start time")
        .when(~has_content, "neither track nor episode")
        .when(~F.col("content_type").isin(*schema.CONTENT_TYPES), "unknown content type")
    )


def judge(candidates: DataFrame) -> DataFrame:
    """Candidate plays with ``reason``: the first rule each one breaks, null for a valid play.

    Candidates judged already come back as they are, so that the ingest job can judge once,
    persist the result and split it without judging (or reading) again.
    """
    if REASON in candidates.columns:
        return candidates
    if "reject_reason" not in candidates.columns:
        candidates = candidates.withColumn("reject_reason", F.lit(None).cast("string"))
    return candidates.withColumn(REASON, rejection_reason(candidates))


def split_valid(candidates: DataFrame, ingested_at: Column | None = None) -> SplitPlays:
    """Split candidate plays into silver rows (schema.PLAYS) and quarantine rows (QUARANTINE)."""
    judged = judge(candidates)
    valid = judged.where(F.col(REASON).isNull()).select(
        *[F.col(field.name).cast(field.dataType) for field in schema.PLAYS.fields]
    )
    quarantined = judged.where(F.col(REASON).isNotNull()).select(
        F.col("source"),
        F.col("source_file"),
        F.col("source_position").cast("long"),
        F.col("raw_record"),
        F.col(REASON),
        F.col("batch_id"),
        (ingested_at if ingested_at is not None else F.current_timestamp()).alias("ingested_at"),
    )
    return SplitPlays(valid=valid, quarantined=quarantined)


def event_id(*parts: Column) -> Column:
    """A deterministic play id: SHA-256 of the parts that make a play unique."""
    separator = "\u001f"  # the ASCII unit separator never appears in names or keys
    return F.sha2(
        F.concat_ws(separator, *[F.coalesce(p.cast("string"), F.lit("")) for p in parts]), 256
    )
