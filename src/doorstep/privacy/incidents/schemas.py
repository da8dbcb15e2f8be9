"""What the incident desk's HTTP API takes and gives: bodies and views (ids, names, counts).

The bodies check shapes and sizes (pydantic: a 422 problem naming the field
and rule); the rules that need the pack, the schema or the state (a known
table, a personal element, a jurisdiction of the pack, a window that ends in
the past) are the services' and come back as 422 or 409 problems the same way.
Free text may not hold a NUL character (PostgreSQL's text cannot store it).
The views are :class:`~doorstep.privacy.incidents.views.IncidentView` as JSON:
never a value of anyone's data, only ids, names, counts, states and instants.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from doorstep.privacy.incidents.models import Obligation
from doorstep.privacy.incidents.notices import MAX_PART
from doorstep.privacy.incidents.reports import is_overdue
from doorstep.privacy.incidents.services import MAX_SCOPE
from doorstep.privacy.incidents.views import IncidentView, ObligationView

#: Text without NUL characters (a name, a part of the notice).
_NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=_NO_NUL)]
Part = Annotated[str, Field(max_length=MAX_PART, pattern=_NO_NUL)]
Kind = Literal["loss", "disclosure", "alteration", "unauthorised_access"]


class IncidentIn(BaseModel):
    """An incident to open: its type, awareness, window and what it spans (names and ids)."""

    model_config = ConfigDict(extra="forbid")
    type: Kind = Field(description="What happened to the data.")
    aware_at: AwareDatetime | None = Field(
        default=None, description="When the operator became aware (default now); clocks start."
    )
    window_start: AwareDatetime | None = Field(
        default=None, description="Start of the time window (null: unknown)."
    )
    window_end: AwareDatetime | None = Field(
        default=None, description="End of the window (null: until the incident is recorded)."
    )
    systems: list[Name] = Field(
        default_factory=list, max_length=MAX_SCOPE, description="Affected tables of the data map."
    )
    elements: list[Name] = Field(
        default_factory=list,
        max_length=MAX_SCOPE,
        description="Affected personal elements of the data map (table.column).",
    )
    device_models: list[Name] = Field(
        default_factory=list, max_length=MAX_SCOPE, description="Affected device models."
    )
    device_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=MAX_SCOPE, description="Affected units (devices.id)."
    )
    subject_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=MAX_SCOPE, description="Subjects known to be affected."
    )
    jurisdictions: list[Name] = Field(
        default_factory=list,
        max_length=50,
        description="Jurisdictions of the pack known to be affected (their obligations open).",
    )


class RatingIn(BaseModel):
    """The risk rating (CPE-IV.1.e): it picks the notice's words, not whether it is sent."""

    model_config = ConfigDict(extra="forbid")
    risk: Literal["low", "significant"]


class NoticeIn(BaseModel):
    """The notice's five parts in one language (CPE-IV.7.a); parts left out keep their text.

    Written for everyone affected: it names no one.
    """

    model_config = ConfigDict(extra="forbid")
    basic_situation: Part | None = None
    possible_impact: Part | None = None
    measures: Part | None = None
    self_protection_advice: Part | None = None
    remedies: Part | None = None


class PublicNoticeIn(BaseModel):
    """A public notice that replaces individual contact (CPE-IV.7.c), and why."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, pattern=_NO_NUL, description="Where it is published (https).")
    reason: Literal["contact_failed", "impracticable"]


class WithholdIn(BaseModel):
    """A legal ground to delay one jurisdiction's notice to its subjects (decision 0018)."""

    model_config = ConfigDict(extra="forbid")
    jurisdiction: Name
    authority: Name = Field(description="The authority that asked.")
    legal_reference: Name = Field(description="The legal reference of the ground.")
    until: AwareDatetime = Field(description="When the ground lapses.")


class FilingIn(BaseModel):
    """That a regulator report was filed: when, and the authority's reference (a code)."""

    model_config = ConfigDict(extra="forbid")
    reference: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9/_.:-]+$")
    filed_at: AwareDatetime | None = Field(default=None, description="Default: now.")


class ObligationOut(BaseModel):
    """One obligation and its clock: to an authority (a report) or to a jurisdiction's subjects."""

    id: uuid.UUID
    incident_id: uuid.UUID
    party: str = Field(description="authority or subjects")
    jurisdiction: str
    authority: str
    due_at: datetime
    status: str = Field(description="draft, filed, acknowledged; open or met for subjects")
    overdue: bool
    filed_at: datetime | None
    acknowledged_at: datetime | None
    reference: str | None
    met_at: datetime | None
    withheld_until: datetime | None


class PublicNoticeOut(BaseModel):
    """A public notice and the counts its decision was taken on."""

    id: uuid.UUID
    url: str
    reason: str
    published_at: datetime
    unreached: int
    affected: int


class IncidentSummaryOut(BaseModel):
    """One line of the incident list."""

    id: uuid.UUID
    type: str
    status: str
    risk: str | None
    aware_at: datetime
    opened_at: datetime
    affected: int
    overdue: bool = Field(description="Whether an obligation of it is past its clock.")


class IncidentOut(BaseModel):
    """An incident: scope, tasks, affected counts, notices, deliveries and obligations."""

    id: uuid.UUID
    type: str
    status: str
    risk: str | None
    aware_at: datetime
    opened_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    systems: list[str]
    elements: list[str]
    device_models: list[str]
    devices: int = Field(description="How many units were named.")
    affected: int
    notify_started_at: datetime | None
    tasks: dict[str, datetime | None] = Field(description="contain, assess: when done.")
    by_jurisdiction: dict[str, dict[str, int]] = Field(
        description="Affected subjects per jurisdiction and notice status."
    )
    deliveries: dict[str, dict[str, int]] = Field(description="Deliveries per channel and status.")
    notices: dict[str, list[str]] = Field(
        description="Per language written: the parts still missing."
    )
    obligations: list[ObligationOut]
    public_notices: list[PublicNoticeOut]


class AffectedOut(BaseModel):
    """What a new computation of the affected subjects added."""

    added: int
    affected: int
    by_jurisdiction: dict[str, dict[str, int]]


class NoticeOut(BaseModel):
    """A notice as written: its language and the parts still missing."""

    locale: str
    missing: list[str]


class SubjectStatusOut(BaseModel):
    """One affected subject: jurisdiction, notice status and each channel's status (ids only)."""

    subject_id: uuid.UUID
    jurisdiction: str
    status: str
    channels: dict[str, str]


def _obligation(row: ObligationView, incident_id: uuid.UUID) -> ObligationOut:
    return ObligationOut(
        id=row.id,
        incident_id=incident_id,
        party=row.party,
        jurisdiction=row.jurisdiction,
        authority=row.authority,
        due_at=row.due_at,
        status=row.status,
        overdue=row.overdue,
        filed_at=row.filed_at,
        acknowledged_at=row.acknowledged_at,
        reference=row.reference,
        met_at=row.met_at,
        withheld_until=row.withheld_until,
    )


def obligation_out(row: Obligation, now: datetime) -> ObligationOut:
    """The API's view of one obligation as of ``now``."""
    return ObligationOut(
        id=row.id,
        incident_id=row.incident_id,
        party=row.party,
        jurisdiction=row.jurisdiction,
        authority=row.authority,
        due_at=row.due_at,
        status=row.status,
        overdue=is_overdue(row, now),
        filed_at=row.filed_at,
        acknowledged_at=row.acknowledged_at,
        reference=row.reference,
        met_at=row.met_at,
        withheld_until=row.hold_until,
    )


def incident_out(view: IncidentView) -> IncidentOut:
    """The API's view of :class:`IncidentView`."""
    return IncidentOut(
        id=view.id,
        type=view.kind,
        status=view.status,
        risk=view.risk,
        aware_at=view.aware_at,
        opened_at=view.opened_at,
        window_start=view.window_start,
        window_end=view.window_end,
        systems=view.systems,
        elements=view.elements,
        device_models=view.device_models,
        devices=view.devices,
        affected=view.affected,
        notify_started_at=view.notify_started_at,
        tasks=view.tasks,
        by_jurisdiction=view.by_jurisdiction,
        deliveries=view.deliveries,
        notices=view.notices,
        obligations=[_obligation(row, view.id) for row in view.obligations],
        public_notices=[PublicNoticeOut.model_validate(row) for row in view.public_notices],
    )
