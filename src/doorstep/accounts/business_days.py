"""The support desk's business-day calendar: weekends and a configured list of holidays.

A manual deregistration is answered "within 1-2 working days" (CPE-V.5.b).  We
read it as: the day of receipt does not count (it is at best part of a working
day); the deadline is the *end* of the N-th working day after it, in the desk's
time zone (``business_timezone``).  Filed on a Friday at 17:00 with N = 2, the
answer is due by the end of Tuesday; filed on Monday at 09:00, by the end of
Wednesday.  Weekends are Saturday and Sunday; ``business_holidays`` adds
closed days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from doorstep.core.clock import require_aware
from doorstep.core.errors import ConfigurationError

_SATURDAY = 5


class BusinessCalendar:
    """Working days in one time zone, closed on weekends and ``holidays``."""

    def __init__(self, timezone: str, holidays: Iterable[date] = ()) -> None:
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"business_timezone {timezone!r} is not a known time zone"
            ) from None
        self.holidays = frozenset(holidays)

    def is_working_day(self, day: date) -> bool:
        """Whether the desk works on ``day``."""
        return day.weekday() < _SATURDAY and day not in self.holidays

    def add_working_days(self, received: datetime, days: int) -> datetime:
        """The end (last microsecond, as UTC) of the ``days``-th working day after receipt."""
        if days < 1:
            raise ValueError("days must be at least 1")
        day = require_aware(received).astimezone(self.zone).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        end = datetime.combine(day, time.max, tzinfo=self.zone)
        return end.astimezone(UTC)
