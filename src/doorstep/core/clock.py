"""The one source of time.

Everything that deals with periods and deadlines takes a :class:`Clock` instead of
calling ``datetime.now()``; production uses :class:`SystemClock`, tests use
:class:`FakeClock` and move it.  Every datetime handed out is timezone-aware UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Return ``datetime.now(UTC)``."""
        return datetime.now(UTC)


class FakeClock:
    """A clock that stands still until a test moves it.  Thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._now = require_aware(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the instant the clock is set to."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (which may not be negative) and return the new now."""
        if delta < timedelta(0):
            raise ValueError("a clock does not run backwards; use set() on purpose")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant`` (aware), forwards or backwards."""
        with self._lock:
            self._now = require_aware(instant)


def require_aware(instant: datetime) -> datetime:
    """Return ``instant`` in UTC; refuse naive datetimes, which are always a bug here."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetime: Doorstep only handles timezone-aware instants")
    return instant.astimezone(UTC)
