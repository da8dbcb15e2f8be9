"""Time zones as operators and routers write them: IANA names and POSIX TZ strings.

:mod:`zoneinfo` reads IANA names (``Europe/Berlin``) but not the POSIX ``TZ`` strings
routers keep (TR-181 ``Device.Time.LocalTimeZone``, OpenWrt's ``system.timezone``,
the footer of every TZif file): ``CET-1CEST,M3.5.0,M10.5.0/3``.  This module reads both.

* :func:`parse_zone` — the zone a text names: an IANA name first (``EST5EDT`` is one),
  else a POSIX TZ string; :class:`ZoneError` says what is wrong with it.
  :func:`check_zone` is the same for input: the zone's canonical text, or an
  :class:`~doorstep.core.errors.InvalidInputError` (rule ``time_zone``) that names what
  is wrong without repeating the value.  :func:`iana_zone` and :func:`zone_or_none` are
  the lenient forms: None when the text names no zone (IANA only, or either kind).
* :class:`PosixZone` — a :class:`~datetime.tzinfo` for ``std offset [dst [offset]
  ,start[/time],end[/time]]`` (POSIX.1-2017 §8.3 with the RFC 8536 §3.3.1 extensions:
  quoted names such as ``<+0330>``, transition times from -167 to 167 hours).  Offsets
  count hours *west* of Greenwich, as POSIX writes them: ``CET-1`` is UTC+01:00; the
  daylight-saving offset defaults to one hour east of the standard one.  A date is
  ``Mm.w.d`` (weekday ``d``, 0 Sunday, of week ``w`` of month ``m``, week 5 the last),
  ``Jn`` (day 1-365, never counting 29 February) or ``n`` (day 0-365, counting it); a
  time (default 02:00) is local time then in force.  A zone with a daylight-saving name
  must give its rule: POSIX leaves the default to each C library, and guessing the US
  rules for a European router would put its window an hour out for weeks a year.
* Wall-clock times follow PEP 495 as :mod:`zoneinfo` does: in a fold (a repeated hour)
  ``fold=0`` is the first instant, in a gap (a skipped hour) ``fold=0`` is read with the
  offset in force before it.  ``tests/test_zones.py`` holds the reader to
  :mod:`zoneinfo` on every rule the IANA database itself writes as a POSIX string.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from doorstep.core.errors import InvalidInputError

MAX_LENGTH = 64
"""The longest zone text accepted (IANA names and POSIX strings are far shorter)."""
EXAMPLES = "an IANA name like Europe/Berlin or a POSIX TZ string like CET-1CEST,M3.5.0,M10.5.0/3"

_NAME = r"[A-Za-z]{3,}|<[A-Za-z0-9+-]{3,}>"
_OFFSET = r"[+-]?\d{1,2}(?::\d{1,2}){0,2}"
_TIME = r"[+-]?\d{1,3}(?::\d{1,2}){0,2}"
_DATE = r"M\d{1,2}\.\d\.\d|J\d{1,3}|\d{1,3}"
_POSIX = re.compile(
    rf"(?P<std>{_NAME})(?P<std_offset>{_OFFSET})"
    rf"(?:(?P<dst>{_NAME})(?P<dst_offset>{_OFFSET})?"
    rf"(?:,(?P<start>{_DATE})(?:/(?P<start_time>{_TIME}))?"
    rf",(?P<end>{_DATE})(?:/(?P<end_time>{_TIME}))?)?)?"
)
_DEFAULT_TIME = 2 * 3600
_HOUR = timedelta(hours=1)


class ZoneError(ValueError):
    """A text that names no time zone; the message says why (never the text itself)."""


def _seconds(text: str, *, max_hours: int, what: str) -> int:
    """``[+-]hh[:mm[:ss]]`` in seconds, sign kept; ZoneError outside the ranges."""
    sign = -1 if text.startswith("-") else 1
    parts = [int(part) for part in text.lstrip("+-").split(":")]
    hours, minutes, seconds = [*parts, 0, 0][:3]
    if hours > max_hours or minutes > 59 or seconds > 59:
        raise ZoneError(f"{what} must be at most {max_hours} hours, with minutes and seconds 0-59")
    return sign * (hours * 3600 + minutes * 60 + seconds)


@dataclass(frozen=True, slots=True)
class _Rule:
    """When a transition happens each year: a date rule and a local time of day."""

    kind: str
    """``M`` (month, week, weekday), ``J`` (day 1-365 without 29 February), ``n`` (0-365)."""
    day: int
    """The day of the year (``J``, ``n``) or the weekday, 0 Sunday (``M``)."""
    month: int
    week: int
    seconds: int
    """Local time of the transition, in seconds from midnight (-167 to 167 hours)."""

    @classmethod
    def parse(cls, text: str, time_text: str | None) -> _Rule:
        seconds = (
            _DEFAULT_TIME
            if time_text is None
            else _seconds(time_text, max_hours=167, what="a transition time")
        )
        if text.startswith("M"):
            month, week, weekday = (int(part) for part in text[1:].split("."))
            if not (1 <= month <= 12 and 1 <= week <= 5 and 0 <= weekday <= 6):
                raise ZoneError("an Mm.w.d date needs month 1-12, week 1-5 and weekday 0-6")
            return cls("M", weekday, month, week, seconds)
        if text.startswith("J"):
            day = int(text[1:])
            if not 1 <= day <= 365:
                raise ZoneError("a Jn date needs a day from 1 to 365")
            return cls("J", day, 0, 0, seconds)
        if not 0 <= int(text) <= 365:
            raise ZoneError("an n date needs a day from 0 to 365")
        return cls("n", int(text), 0, 0, seconds)

    def date_in(self, year: int) -> date:
        """The day of the transition in ``year``."""
        if self.kind == "J":
            leap_day = calendar.isleap(year) and self.day >= 60
            return date(year, 1, 1) + timedelta(days=self.day - 1 + leap_day)
        if self.kind == "n":
            return date(year, 1, 1) + timedelta(days=self.day)
        first = date(year, self.month, 1)
        day = 1 + (self.day - (first.weekday() + 1) % 7) % 7 + 7 * (self.week - 1)
        last = calendar.monthrange(year, self.month)[1]
        while day > last:  # week 5: the last such weekday of the month
            day -= 7
        return first.replace(day=day)

    def local(self, year: int) -> datetime:
        """The transition's wall-clock time (naive) in ``year``, in the time then in force."""
        return datetime.combine(self.date_in(year), datetime.min.time()) + timedelta(
            seconds=self.seconds
        )


class PosixZone(tzinfo):
    """A time zone written as a POSIX TZ string (see the module docstring)."""

    __slots__ = ("_dst", "_dst_name", "_end", "_start", "_std", "_std_name", "_text")

    def __init__(self, text: str) -> None:
        found = _POSIX.fullmatch(text)
        if found is None:
            raise ZoneError(f"it is not {EXAMPLES}")
        self._text = text
        self._std_name = found["std"].strip("<>")
        self._std = -timedelta(
            seconds=_seconds(found["std_offset"], max_hours=24, what="an offset")
        )
        self._dst_name: str | None = None
        self._dst: timedelta | None = None
        self._start: _Rule | None = None
        self._end: _Rule | None = None
        if found["dst"] is None:
            return
        if found["start"] is None:
            raise ZoneError("a zone with daylight-saving time must give its rule: ,start,end")
        self._dst_name = found["dst"].strip("<>")
        self._dst = (
            self._std + _HOUR
            if found["dst_offset"] is None
            else -timedelta(seconds=_seconds(found["dst_offset"], max_hours=24, what="an offset"))
        )
        self._start = _Rule.parse(found["start"], found["start_time"])
        self._end = _Rule.parse(found["end"], found["end_time"])

    # -- which offset is in force ---------------------------------------------------

    def _dst_at(self, utc: datetime) -> bool:
        """Whether daylight-saving time is in force at ``utc`` (naive UTC)."""
        if self._dst is None or self._start is None or self._end is None:
            return False
        for year in range(max(utc.year - 1, 2), min(utc.year + 1, 9997) + 1):
            begins = self._start.local(year) - self._std
            ends = self._end.local(year) - self._dst
            if ends <= begins:  # southern hemisphere: it ends the next year
                ends = self._end.local(year + 1) - self._dst
            if begins <= utc < ends:
                return True
        return False

    def _dst_on_wall(self, local: datetime, fold: int) -> bool:
        """Whether wall-clock ``local`` (naive) reads as daylight-saving time (PEP 495)."""
        if self._dst is None:
            return False
        as_std = not self._dst_at(local - self._std)
        as_dst = self._dst_at(local - self._dst)
        if as_std != as_dst:
            return as_dst
        # Both readings hold (a fold: fold=0 is the first, with the bigger offset) or
        # neither (a gap: fold=0 reads with the offset before it, the smaller one).
        bigger = not fold if as_std else bool(fold)
        return (self._dst > self._std) == bigger

    # -- tzinfo ----------------------------------------------------------------------

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        """The offset from UTC of wall-clock ``dt``."""
        if dt is None:
            return None
        if self._dst is not None and self._dst_on_wall(dt.replace(tzinfo=None), dt.fold):
            return self._dst
        return self._std

    def dst(self, dt: datetime | None) -> timedelta | None:
        """The daylight-saving adjustment in force at wall-clock ``dt``."""
        if dt is None:
            return None
        if self._dst is not None and self._dst_on_wall(dt.replace(tzinfo=None), dt.fold):
            return self._dst - self._std
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        """The abbreviation in force at wall-clock ``dt`` (``CET``, ``CEST``, ``+03``)."""
        in_dst = dt is not None and self._dst_on_wall(dt.replace(tzinfo=None), dt.fold)
        return self._dst_name if in_dst and self._dst_name is not None else self._std_name

    def fromutc(self, dt: datetime) -> datetime:
        """Wall-clock time of UTC ``dt`` (``fold=1`` on the second pass of a repeated hour)."""
        if dt.tzinfo is not self:
            raise ValueError("fromutc: dt.tzinfo is not self")
        utc = dt.replace(tzinfo=None)
        in_dst = self._dst_at(utc)
        offset = self._dst if in_dst and self._dst is not None else self._std
        local = utc + offset
        other = self._std if in_dst else self._dst
        fold = 0
        if other is not None and other > offset and self._dst_at(local - other) != in_dst:
            fold = 1  # the same wall time came first with the bigger offset
        return local.replace(tzinfo=self, fold=fold)

    def __repr__(self) -> str:
        return f"PosixZone({self._text!r})"

    def __str__(self) -> str:
        return self._text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PosixZone) and other._text == self._text

    def __hash__(self) -> int:
        return hash(("PosixZone", self._text))

    def __reduce__(self) -> tuple[type[PosixZone], tuple[str]]:
        return (PosixZone, (self._text,))


def iana_zone(name: str) -> ZoneInfo | None:
    """The IANA time zone ``name``, or None when there is none of that name."""
    if not name or len(name) > MAX_LENGTH or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def parse_zone(text: str) -> tzinfo:
    """The zone ``text`` names: an IANA name, else a POSIX TZ string; ZoneError if neither."""
    if not text or len(text) > MAX_LENGTH or not text.isascii() or not text.isprintable():
        raise ZoneError(f"it is not {EXAMPLES} (at most {MAX_LENGTH} characters)")
    return iana_zone(text) or PosixZone(text)


def zone_or_none(text: str | None) -> tzinfo | None:
    """The zone ``text`` names, or None (no text, or none it names)."""
    if not text:
        return None
    try:
        return parse_zone(text)
    except ZoneError:
        return None


def check_zone(text: str, *, field: str = "time_zone") -> str:
    """The zone's canonical text (``str`` of it), or InvalidInputError (rule ``time_zone``)."""
    try:
        return str(parse_zone(text.strip()))
    except ZoneError as exc:
        raise InvalidInputError.of(
            field, "time_zone", f"the time zone is not valid: {exc}"
        ) from None
