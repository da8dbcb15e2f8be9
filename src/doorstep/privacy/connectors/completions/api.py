"""Console API of completion events (``decide_requests`` to record, ``view_requests`` to list).

* ``POST /api/v1/console/systems/{system}/completions`` — a record of the system
  was closed (``kind``, ``record_id``, optional ``at`` and ``subject_id``):
  201 with the scheduled event; an undeclared system 404, a kind the system's
  ``completions:`` do not name or another bad field 422 (RFC 9457 problem),
  the record recorded already 409 — nothing stored;
* ``GET …/completions[?state=]`` — the system's events and where each stands
  (held ones are the hold report);
* ``POST …/completions/{id}/done`` — the desk deleted a manual event's record:
  ``{"evidence": "TICKET-42"}``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from doorstep.core.errors import NotFoundError
from doorstep.core.problems import problem_responses
from doorstep.privacy.connectors.completions import desk
from doorstep.privacy.connectors.completions.models import CompletionEvent
from doorstep.privacy.connectors.completions.record import Closing, record
from doorstep.services import ServicesDep, SessionDep
from doorstep.staff.auth import CurrentStaff
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import require_action

router = APIRouter(tags=["console"], responses=problem_responses(403, 404, 409, 422))
_PATH = "/api/v1/console/systems/{system}/completions"


class CompletionIn(BaseModel):
    """A record of the system was closed."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(min_length=1, max_length=50, description="order, ticket … as the pack says.")
    record_id: str = Field(min_length=1, max_length=100, description="The record's id there.")
    at: datetime | None = Field(default=None, description="When it was closed (default: now).")
    subject_id: uuid.UUID | None = Field(default=None, description="Its subject, when known.")


class DoneIn(BaseModel):
    """The desk's confirmation of a manual deletion."""

    model_config = ConfigDict(extra="forbid")
    evidence: str = Field(min_length=1, max_length=100, description="A reference, e.g. AS-2041.")


class CompletionOut(BaseModel):
    """A completion event and where its deletion stands."""

    id: uuid.UUID
    system: str
    kind: str
    record_id: str
    subject_id: uuid.UUID | None
    completed_at: datetime
    rule: str
    due_at: datetime
    state: str = Field(description="scheduled, held, manual, done or failed.")
    attempts: int
    reason: str | None = Field(description="legal_hold, legal_retention or a failure's code.")
    rows: int | None
    evidence: str | None
    done_at: datetime | None


def _out(row: CompletionEvent) -> CompletionOut:
    return CompletionOut.model_validate(row, from_attributes=True)


@router.post(_PATH, status_code=201, summary="Record a closed record; schedule its deletion")
def record_completion(
    system: str, body: CompletionIn, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> CompletionOut:
    """Record that a record of ``system`` was closed; its deletion is scheduled by its rule."""
    actor = require_action(session, staff.id, StaffAction.DECIDE_REQUESTS).actor
    given = Closing(system, body.kind, body.record_id, body.at, body.subject_id)
    row = record(
        session,
        services.runtime.clock,
        services.pack,
        services.runtime.settings,
        given,
        actor=actor,
    )
    return _out(row)


@router.get(_PATH, summary="A system's completion events")
def list_completions(
    system: str,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
    state: str | None = None,
) -> list[CompletionOut]:
    """The system's events, newest first; ``state=held`` lists those a legal hold keeps."""
    require_action(session, staff.id, StaffAction.VIEW_REQUESTS)
    if system not in services.pack.systems.systems:
        raise NotFoundError("no such connected system", system=system)
    return [_out(row) for row in desk.listing(session, system, state=state)]


@router.post(_PATH + "/{event_id}/done", summary="Confirm a manual deletion")
def confirm_done(
    system: str,
    event_id: uuid.UUID,
    *,
    body: DoneIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> CompletionOut:
    """The desk deleted the record of a manual event by hand."""
    actor = require_action(session, staff.id, StaffAction.DECIDE_REQUESTS).actor
    row = desk.confirm(
        session, services.runtime.clock, system, event_id, body.evidence, actor=actor
    )
    return _out(row)
