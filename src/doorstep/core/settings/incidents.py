"""Settings of incidents and breach notices (decision 0018, docs/incidents.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field

#: The longest clock decision 0018 allows, in hours from awareness (GDPR Art. 33).
INCIDENT_MAX_HOURS = 72


class IncidentSettings(BaseModel):
    """The notification clocks, their reminders and the notification fan-out's batch."""

    incident_authority_hours: int = Field(
        default=INCIDENT_MAX_HOURS,
        ge=0,
        le=INCIDENT_MAX_HOURS,
        description="Hours from awareness to notify the supervisory authority (GDPR Art. 33); "
        "the pack may name a shorter period per jurisdiction, never a longer one.",
    )
    incident_subject_hours: int = Field(
        default=INCIDENT_MAX_HOURS,
        ge=0,
        le=INCIDENT_MAX_HOURS,
        description="Hours from awareness to notify every affected subject (decision 0018); "
        "the pack may name a shorter period per jurisdiction.",
    )
    incident_reminder_hours: int = Field(
        default=24,
        ge=0,
        description="Hours before an obligation is due that the desk is reminded of it.",
    )
    incident_fanout_batch: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Affected subjects one notification batch handles per commit.",
    )
