"""The period in force for each rule: the pack's, or a shorter one from the settings.

The pack states the promise ("at most 30 days"), so a setting may shorten a
period but never lengthen it: start-up refuses a longer one (CPE-IV.3.b: an
extension needs a legal hold, not a configuration knob).  Two settings:

* ``retention_periods`` — ``{rule: ISO 8601 duration}``, e.g. ``{"outbox_messages": "P7D"}``;
* ``audit_retention_days`` — the audit trail's period in days; unset means the
  pack's ``audit_trail``, and ``0`` keeps the trail for good (the one exception
  to "never longer", as the audit trail is evidence the operator may be obliged
  to keep; the report says so).
"""

from __future__ import annotations

from datetime import timedelta

from doorstep.core.errors import ConfigurationError
from doorstep.core.settings import Settings
from doorstep.privacy.datamap.pack import PolicyPack, Trigger, parse_period
from doorstep.privacy.datamap.wording import iso_period

#: The rule of the audit trail (``doorstep.audit.models.RETENTION_RULE``).
AUDIT_RULE = "audit_trail"


def period_problems(pack: PolicyPack, settings: Settings) -> list[str]:
    """Every reason the retention settings do not fit the pack, each naming the setting."""
    found: list[str] = []
    for key, text in sorted(settings.retention_periods.items()):
        where = f"retention_periods.{key}"
        rule = pack.retention.get(key)
        if rule is None:
            found.append(f"{where}: unknown retention rule {key!r}")
            continue
        if rule.trigger is Trigger.NOT_STORED:
            found.append(f"{where}: rule {key!r} is not_stored; it has no period to set")
            continue
        if key == AUDIT_RULE:
            found.append(f"{where}: set the audit trail's period with audit_retention_days")
            continue
        try:
            period = parse_period(text)
        except ConfigurationError:
            found.append(f"{where}: {text!r} is not an ISO 8601 duration")
            continue
        if period > rule.period:
            found.append(
                f"{where}: {iso_period(period)} is longer than the policy pack's "
                f"{iso_period(rule.period)}; a longer period needs a new pack, not a setting"
            )
    days = settings.audit_retention_days
    audit = pack.retention.get(AUDIT_RULE)
    if days and audit is not None and timedelta(days=days) > audit.period:
        found.append(
            f"audit_retention_days: {days} days is longer than the policy pack's "
            f"{iso_period(audit.period)} (0 keeps the trail; unset uses the pack's)"
        )
    return found


def effective_period(pack: PolicyPack, settings: Settings, rule: str) -> timedelta | None:
    """The period in force for ``rule``; None when it is kept for good (audit trail, 0 days).

    Raises :class:`ConfigurationError` when the settings do not fit the pack.
    """
    found = period_problems(pack, settings)
    if found:
        raise ConfigurationError("retention settings are invalid: " + "; ".join(found))
    if rule == AUDIT_RULE and settings.audit_retention_days is not None:
        days = settings.audit_retention_days
        return None if days == 0 else timedelta(days=days)
    override = settings.retention_periods.get(rule)
    if override is not None:
        return parse_period(override)
    return pack.retention[rule].period
