"""The calendar year being generated, as plain numbers the Spark expressions can use.

Local times are carried as milliseconds since local midnight on January 1, so a day is
``day_index * DAY_MS`` and an hour is ``HOUR_MS`` away, whatever the user's zone. Only at the end
are they turned into UTC instants with the user's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class GeneratedYear:
    first_date: date
    days: int
    # Epoch milliseconds of January 1, 00:00 read as if it were UTC: the wall clock of midnight.
    start_wall_clock_ms: int

    @classmethod
    def of(cls, year: int) -> GeneratedYear:
        first = date(year, 1, 1)
        days = (date(year + 1, 1, 1) - first).days
        midnight = datetime(year, 1, 1, tzinfo=timezone.utc)
        return cls(
            first_date=first, days=days, start_wall_clock_ms=int(midnight.timestamp()) * 1000
        )

    @property
    def length_ms(self) -> int:
        return self.days * DAY_MS
