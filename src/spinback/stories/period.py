"""Periods in local time, and plays placed in them.

A period is ``[start, end)`` of local dates. Every play is placed at its ``started_at`` in the
user's own time zone (from the users table, else the configured default), never in the cluster's
zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # exclusive

    @classmethod
    def parse(cls, text: str, today: date | None = None) -> Period:
        """A period from its label.

        ``2025`` (a calendar year), ``2025-Q2`` (a quarter), ``2025-07`` (a month),
        ``2025-03-01..2025-06-01`` (any range, end exclusive) or ``2026-ytd`` (the year to date:
        up to and including ``today``, the driver's date unless given).
        """
        text = text.strip()
        if match := re.fullmatch(r"(\d{4})", text):
            year = int(match[1])
            return cls(text, date(year, 1, 1), date(year + 1, 1, 1))
        if match := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
            year, quarter = int(match[1]), int(match[2])
            start = date(year, 3 * quarter - 2, 1)
            return cls(f"{year}-Q{quarter}", start, _add_months(start, 3))
        if match := re.fullmatch(r"(\d{4})-(\d{2})", text):
            if not 1 <= int(match[2]) <= 12:
                raise ValueError(f"period {text!r}: month must be 01..12")
            start = date(int(match[1]), int(match[2]), 1)
            return cls(text, start, _add_months(start, 1))
        if match := re.fullmatch(r"(\d{4})-ytd", text, flags=re.IGNORECASE):
            year = int(match[1])
            end = (today or date.today()) + timedelta(days=1)
            if end.year < year or end <= date(year, 1, 1):
                raise ValueError(f"period {text!r}: that year has not started yet")
            return cls(f"{year}-ytd", date(year, 1, 1), min(end, date(year + 1, 1, 1)))
        if match := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", text):
            try:
                start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            except ValueError as error:
                raise ValueError(f"period {text!r}: {error}") from None
            if end <= start:
                raise ValueError(f"period {text!r}: the end must come after the start")
            return cls(text, start, end)
        raise ValueError(
            f"period {text!r}: expected a year (2025), quarter (2025-Q2), month (2025-07), "
            "range (2025-03-01..2025-06-01, end exclusive) or year to date (2026-ytd)"
        )

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def year_before(self) -> Period:
        """The same dates one year earlier: what year-over-year stories compare against."""
        start, end = _shift_year(self.start, -1), _shift_year(self.end, -1)
        label = self.label if "." in self.label else None
        if label is None:
            label = re.sub(r"^\d{4}", str(self.start.year - 1), self.label)
        else:
            label = f"{start.isoformat()}..{end.isoformat()}"
        return Period(label, start, end)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    return date(day.year + month_index // 12, month_index % 12 + 1, 1)


def _shift_year(day: date, years: int) -> date:
    # 29 February has no twin in a common year: the day after (1 March) keeps periods contiguous.
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


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
