"""The console's overview of completion events: every system's events and sources.

:func:`overview` answers what the console page shows — each event (system,
kind, record id, when it was recorded and by whom, the deletion its rule
scheduled and when that runs, where it stands), newest first, of one system
when asked, and each declared source's scan (watermark, last run, counts, last
failure).  The record id names a person's record (an order number, an account
id): it is shown only to a role that may read ``completion_events.record_id``
for the privacy desk (:func:`~doorstep.privacy.connectors.shown.may_see`);
others see that it is withheld.  The view is audited ``completion.listed`` with
how many ids it showed, never which.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record as audit
from doorstep.core.errors import InvalidInputError
from doorstep.privacy.connectors.completions.models import CompletionEvent, CompletionSourceState
from doorstep.privacy.connectors.completions.record import PURPOSE
from doorstep.privacy.connectors.shown import may_see
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.purposes import PurposeGate
from doorstep.staff.models import StaffRole

RECORD_ELEMENT = "completion_events.record_id"


@dataclass(frozen=True, slots=True)
class EventView:
    """One completion event as the console shows it (``record_id`` None when withheld)."""

    id: uuid.UUID
    system: str
    system_name: str
    kind: str
    record_id: str | None
    subject_id: uuid.UUID | None
    completed_at: datetime
    recorded_at: datetime
    recorded_by: str
    rule: str
    due_at: datetime
    state: str
    reason: str | None
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class SourceView:
    """Where the scan of one declared source stands."""

    system: str
    kind: str
    watermark: datetime | None
    scanned_at: datetime | None
    recorded: int
    refused: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class Overview:
    """The events, the sources, and whether record ids are shown to this role."""

    events: list[EventView]
    sources: list[SourceView]
    ids_shown: bool


def closable(pack: PolicyPack) -> list[tuple[str, str, str]]:
    """``(system, kind, words)`` of every kind of record the pack's systems may close."""
    return [
        (system.key, completion.kind, f"{system.name}: {completion.kind}")
        for system in pack.systems.systems.values()
        for completion in system.completions.values()
    ]


def overview(
    session: Session,
    pack: PolicyPack,
    gate: PurposeGate,
    role: StaffRole,
    *,
    actor: str,
    system: str | None = None,
    limit: int = 500,
) -> Overview:
    """The events (of ``system`` when given) and the sources (see the module docstring)."""
    systems = pack.systems.systems
    if system is not None and system not in systems:
        raise InvalidInputError.of("system", "declared_system", "no such connected system")
    query = sa.select(CompletionEvent)
    if system is not None:
        query = query.where(CompletionEvent.system == system)
    rows = list(
        session.scalars(
            query.order_by(CompletionEvent.created_at.desc(), CompletionEvent.id).limit(limit)
        )
    )
    shown = may_see(gate, role, RECORD_ELEMENT)
    events = [
        EventView(
            id=row.id,
            system=row.system,
            system_name=systems[row.system].name if row.system in systems else row.system,
            kind=row.kind,
            record_id=row.record_id if shown else None,
            subject_id=row.subject_id,
            completed_at=row.completed_at,
            recorded_at=row.created_at,
            recorded_by=row.recorded_by,
            rule=row.rule,
            due_at=row.due_at,
            state=row.state,
            reason=row.reason,
            done_at=row.done_at,
        )
        for row in rows
    ]
    states = sa.select(CompletionSourceState).order_by(
        CompletionSourceState.system, CompletionSourceState.kind
    )
    if system is not None:
        states = states.where(CompletionSourceState.system == system)
    sources = [
        SourceView(
            item.system,
            item.kind,
            item.watermark,
            item.scanned_at,
            item.recorded,
            item.refused,
            item.reason,
        )
        for item in session.scalars(states)
    ]
    if events:
        audit(
            session,
            action="completion.listed",
            actor=actor,
            purpose=PURPOSE,
            details={
                "count": len(events),
                "record_ids": len(events) if shown else 0,
                "system": system or "all",
            },
        )
    return Overview(events, sources, shown)
