"""What the incident services need from the process: the pack's rules, settings and clock.

:class:`IncidentContext` is built from the process's services
(:meth:`IncidentContext.of`) or, in tests, from its parts.  :meth:`clock_for`
is the one place the notification clocks are computed: awareness plus the
shorter of the setting and the jurisdiction's period of the pack (decision
0018: a pack may shorten the 72 hours, never lengthen them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from doorstep.core.clock import Clock
from doorstep.core.settings import Settings
from doorstep.privacy.datamap.incident_rules import IncidentRules, JurisdictionRule
from doorstep.privacy.incidents.models import Party
from doorstep.services import Services


@dataclass(frozen=True, slots=True)
class IncidentContext:
    """The incident rules of the pack in force, the settings and the clock."""

    rules: IncidentRules
    settings: Settings
    clock: Clock

    @classmethod
    def of(cls, services: Services) -> IncidentContext:
        """The context of a process (its pack, settings and clock)."""
        runtime = services.runtime
        return cls(services.pack.incidents, runtime.settings, runtime.clock)

    def rule(self, jurisdiction: str) -> JurisdictionRule:
        """The pack's rule of ``jurisdiction``; KeyError when the pack has none."""
        return self.rules.jurisdictions[jurisdiction]

    def hours(self, jurisdiction: str, party: Party) -> int:
        """Hours from awareness to notify ``party`` of ``jurisdiction``."""
        rule = self.rule(jurisdiction)
        if party is Party.AUTHORITY:
            return min(self.settings.incident_authority_hours, rule.authority_hours)
        return min(self.settings.incident_subject_hours, rule.subject_hours)

    def due(self, aware_at: datetime, jurisdiction: str, party: Party) -> datetime:
        """When the notification to ``party`` of ``jurisdiction`` is due."""
        return aware_at + timedelta(hours=self.hours(jurisdiction, party))
