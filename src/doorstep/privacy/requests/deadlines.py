"""Deadline arithmetic of requests, per jurisdiction (X-9).

The policy promises an answer "within 30 days" (CPE-V.1.c, V.6.b, IX.2) and says
nothing about pauses or extensions; GDPR Art. 12(3) counts one calendar month,
extendable by two more with notice and reasons inside the first month.  Both are
settings (``requests_periods``, ``requests_extensions``), ISO 8601 durations in
whole days (``P30D``) or calendar months (``P1M``).

We read the policy as follows, and accept the ambiguity because both readings
meet the 30-day promise: the clock runs from receipt (the date on a letter,
CPE-IX.3, not the date it was typed in) and pauses only while the requester owes
identity proof (``verifying``); the pause moves the deadline by exactly its
length.  Month arithmetic clamps to the month's end (31 January + 1 month =
28/29 February), the reading that never lengthens the period.

The policy's own promise (``requests_promised_days``, 30) caps every
jurisdiction's first period: GDPR's "one month" is up to 31 days, so a request
under it is due at the earlier of one calendar month and 30 days (decision 0014
addendum).  Pauses and a granted extension still move the capped deadline.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from doorstep.accounts.business_days import BusinessCalendar
from doorstep.core.errors import ConfigurationError, InvalidInputError
from doorstep.core.settings import Settings

_PERIOD = re.compile(r"^P(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?$")


@dataclass(frozen=True, slots=True)
class Period:
    """Whole calendar months plus whole days."""

    months: int = 0
    days: int = 0

    def after(self, instant: datetime) -> datetime:
        """``instant`` moved forward by this period."""
        return add_months(instant, self.months) + timedelta(days=self.days)


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """How long a jurisdiction gives to answer, and by how many months it may be extended."""

    jurisdiction: str
    period: Period
    max_extension_months: int
    #: Working days on the support desk's calendar instead of ``period`` (CPE-V.5.b).
    working_days: int = 0
    calendar: BusinessCalendar | None = None
    #: The policy's promised days, which the first period never exceeds (None: no cap).
    cap_days: int | None = None

    def first_period_after(self, received_at: datetime) -> datetime:
        """Receipt + the period, or + the promised days when that comes first."""
        end = self.period.after(received_at)
        if self.cap_days is not None:
            end = min(end, received_at + timedelta(days=self.cap_days))
        return end


def parse(text: str) -> Period:
    """``P30D`` or ``P1M`` (or ``P1M15D``) as a :class:`Period`; ConfigurationError otherwise."""
    match = _PERIOD.match(text.strip())
    if match is None or text.strip() == "P":
        raise ConfigurationError(f"request period {text!r} is not P<n>M or P<n>D")
    return Period(months=int(match["months"] or 0), days=int(match["days"] or 0))


def add_months(instant: datetime, months: int) -> datetime:
    """Calendar-month addition, clamped to the last day of the target month."""
    index = instant.month - 1 + months
    year, month = instant.year + index // 12, index % 12 + 1
    day = min(instant.day, calendar.monthrange(year, month)[1])
    return instant.replace(year=year, month=month, day=day)


def check_jurisdiction(settings: Settings, jurisdiction: str | None) -> None:
    """Refuse a requester's ``jurisdiction`` the deployment has no rule for.

    A caller's choice, so a 422 naming the field (rule ``known_jurisdiction``),
    never a configuration error; the detail lists the known keys of
    ``requests_periods`` and never repeats what was sent.  ``None`` (the
    configured default) always passes.
    """
    if jurisdiction is not None and jurisdiction not in settings.requests_periods:
        known = ", ".join(sorted(settings.requests_periods))
        raise InvalidInputError(
            f"unknown jurisdiction: use one of {known}",
            errors=[{"field": "jurisdiction", "rule": "known_jurisdiction"}],
        )


def rule_for(settings: Settings, jurisdiction: str | None, kind: str = "") -> DeadlineRule:
    """The rule of ``jurisdiction`` (None: the configured default).

    A manual deregistration (``kind`` ``deregistration``) is answered within
    ``manual_deregistration_working_days`` on the support desk's calendar
    (CPE-V.5.b), the same reading as the accounts area's.
    """
    key = jurisdiction or settings.requests_jurisdiction
    text = settings.requests_periods.get(key)
    if text is None:
        raise ConfigurationError(f"no request period for jurisdiction {key!r}")
    extension = settings.requests_extensions.get(key)
    months = 0
    if extension is not None:
        parsed = parse(extension)
        if parsed.days:
            raise ConfigurationError(f"extension of {key!r} must be whole months")
        months = parsed.months
    if kind == "deregistration":
        calendar = BusinessCalendar(settings.business_timezone, settings.business_holidays)
        days = settings.manual_deregistration_working_days
        return DeadlineRule(key, parse(text), 0, working_days=days, calendar=calendar)
    return DeadlineRule(key, parse(text), months, cap_days=settings.requests_promised_days)


def due_at(
    rule: DeadlineRule, received_at: datetime, *, paused_seconds: int = 0, extended_months: int = 0
) -> datetime:
    """When the answer is due: receipt + period + pauses, then + the extension's months."""
    if rule.calendar is not None and rule.working_days:
        start = rule.calendar.add_working_days(received_at, rule.working_days)
    else:
        start = rule.first_period_after(received_at)
    base = start + timedelta(seconds=paused_seconds)
    return add_months(base, extended_months)


def first_period_end(rule: DeadlineRule, received_at: datetime, paused_seconds: int) -> datetime:
    """End of the first period, inside which an extension must be notified."""
    return due_at(rule, received_at, paused_seconds=paused_seconds)
