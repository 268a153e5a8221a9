"""Periods in local time, and plays placed in them.

A period is ``[start, end)`` of local dates. Every play is placed at its ``started_at`` in the
user's own time zone (from the users table, else the configured default), never in the cluster's
zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # exclusive

    @classmethod
    def parse(cls, text: str) -> Period:
        """A calendar year such as ``2025``."""
        if not (text.isdigit() and len(text) == 4):
            raise ValueError(f"period {text!r}: expected a calendar year such as 2025")
        year = int(text)
        return cls(label=text, start=date(year, 1, 1), end=date(year + 1, 1, 1))


def with_local_time(plays: DataFrame, users: DataFrame, default_timezone: str) -> DataFrame:
    """Add ``time_zone`` and ``local_started_at`` (the start of playback on the user's clock)."""
    zones = users.select("user_id", "time_zone")
    return (
        # Spark's adaptive execution broadcasts the narrow users table when it is small enough.
        plays.join(zones, "user_id", "left")
        .withColumn("time_zone", F.coalesce(F.col("time_zone"), F.lit(default_timezone)))
        .withColumn("local_started_at", F.from_utc_timestamp("started_at", F.col("time_zone")))
    )


def in_period(local_plays: DataFrame, period: Period) -> DataFrame:
    """Plays whose local start falls in ``[period.start, period.end)``."""
    start = F.lit(period.start).cast("timestamp")
    end = F.lit(period.end).cast("timestamp")
    return local_plays.where(
        (F.col("local_started_at") >= start) & (F.col("local_started_at") < end)
    )
