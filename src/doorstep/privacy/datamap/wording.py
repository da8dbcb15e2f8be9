"""Words shared by the generated documents: periods, time limits, legal bases, Markdown.

Every function here is pure and deterministic, so a generated document changes
only when the data map or the pack does.  Nothing here ever sees a data value.
The phrases are English message ids marked with ``_()`` (:mod:`doorstep.locale`),
so a document or page that shows them can translate them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from doorstep.locale import _
from doorstep.privacy.datamap.pack import RetentionRule, Trigger
from doorstep.vocabulary.declarations import LegalBasis

#: GDPR Art. 6(1) point of each basis, as a record of processing names it.
LEGAL_BASIS_ARTICLE: dict[LegalBasis, str] = {
    LegalBasis.CONSENT: _("consent (GDPR Art. 6(1)(a))"),
    LegalBasis.CONTRACT: _("contract (GDPR Art. 6(1)(b))"),
    LegalBasis.LEGAL_OBLIGATION: _("legal obligation (GDPR Art. 6(1)(c))"),
    LegalBasis.VITAL_INTERESTS: _("vital interests (GDPR Art. 6(1)(d))"),
    LegalBasis.PUBLIC_INTEREST: _("public interest (GDPR Art. 6(1)(e))"),
    LegalBasis.LEGITIMATE_INTERESTS: _("legitimate interests (GDPR Art. 6(1)(f))"),
}

#: The same bases in the words a privacy notice uses.
LEGAL_BASIS_PLAIN: dict[LegalBasis, str] = {
    LegalBasis.CONSENT: _("You agreed to it; you can withdraw your consent at any time."),
    LegalBasis.CONTRACT: _("We need it to provide the service you signed up for."),
    LegalBasis.LEGAL_OBLIGATION: _("The law requires us to process it."),
    LegalBasis.VITAL_INTERESTS: _("We need it to protect someone's life or health."),
    LegalBasis.PUBLIC_INTEREST: _("We need it for a task carried out in the public interest."),
    LegalBasis.LEGITIMATE_INTERESTS: _(
        "It is in our legitimate interest, weighed against yours; you can object to it."
    ),
}

_AFTER: dict[Trigger, str] = {
    Trigger.CREATED: _("it is created"),
    Trigger.SUBJECT_ERASED: _("the data subject is erased"),
    Trigger.DEREGISTERED: _("the account is deregistered"),
    Trigger.DEVICE_OFFLINE: _("the device was last online"),
    Trigger.DEVICE_UNBOUND: _("the device is unbound"),
    Trigger.REQUEST_CLOSED: _("the request is closed"),
}


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _split(period: timedelta) -> tuple[int, int, int, int, int]:
    """(years, days, hours, minutes, seconds); a year is 365 days, as the pack reads it."""
    if period.days and period.days % 365 == 0:
        years, days = period.days // 365, 0
    else:
        years, days = 0, period.days
    hours, rest = divmod(period.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return years, days, hours, minutes, seconds


def iso_period(period: timedelta) -> str:
    """``period`` as an ISO 8601 duration: whole 365-day years as ``Y``, else days (``P14D``)."""
    years, days, hours, minutes, seconds = _split(period)
    date = (f"{years}Y" if years else "") + (f"{days}D" if days else "")
    time = "".join(
        f"{value}{unit}" for value, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if value
    )
    if not date and not time:
        return "P0D"
    return "P" + date + (f"T{time}" if time else "")


def period_words(period: timedelta) -> str:
    """``period`` in words (``2 years``, ``14 days``, ``1 day and 2 hours``)."""
    years, days, hours, minutes, seconds = _split(period)
    parts = [
        _plural(value, unit)
        for value, unit in (
            (years, "year"),
            (days, "day"),
            (hours, "hour"),
            (minutes, "minute"),
            (seconds, "second"),
        )
        if value
    ]
    if not parts:
        return "0 days"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def time_limit(rule: RetentionRule) -> str:
    """When the element is erased under ``rule``, in one phrase (Art. 30(1)(f))."""
    if rule.trigger is Trigger.NOT_STORED:
        return _("not stored")
    event = _AFTER[rule.trigger]
    if not rule.period:
        return _("erased when %(event)s") % {"event": event}
    return _("erased %(period)s after %(event)s") % {
        "period": period_words(rule.period),
        "event": event,
    }


def purpose_title(key: str) -> str:
    """A heading for a purpose key: ``account.management`` -> ``Account management``."""
    words = key.replace(".", " ").replace("_", " ").replace("-", " ").split()
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def md_cell(text: str) -> str:
    """``text`` made safe for one Markdown table cell (pipes escaped, one line)."""
    return " ".join(text.split()).replace("|", r"\|")


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table as lines; every cell goes through :func:`md_cell`."""
    lines = [
        "| " + " | ".join(md_cell(cell) for cell in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines.extend("| " + " | ".join(md_cell(cell) for cell in row) + " |" for row in rows)
    return lines
