"""The privacy desk's HTTP API for legal holds (the console page uses the same services).

* ``GET /api/v1/console/holds`` — holds, standing first (``place_holds``);
* ``POST /api/v1/console/holds`` — place one (201);
* ``GET /api/v1/console/holds/{id}`` — one hold;
* ``POST /api/v1/console/holds/{id}/release`` — release it: the erasures it
  deferred are queued, the next retention sweep takes the rest;
* ``GET /api/v1/console/holds-vocabulary`` — the legal bases, with their text.

Only a privacy officer has ``place_holds`` (decision 0021); any other role gets
a 403 problem and the refusal is audited.  Bad input is a 422 problem naming the
field and rule, an unknown subject or hold a 404, a hold that stands already or
was released already a 409: nothing changes.  It lives with the desk, not in
:mod:`doorstep.privacy.holds`, because it needs the staff sign-in, which sits
above the holds in the layers.  Views hold ids, codes, elements, references and
instants, never a value of the held data; every view and change is audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.models import schema_metadata
from doorstep.core.problems import problem_responses
from doorstep.privacy.holds import services as holds
from doorstep.privacy.holds.basis import BASIS_TEXT
from doorstep.privacy.holds.models import LegalHold
from doorstep.services import ServicesDep, SessionDep
from doorstep.staff.auth import CurrentStaff
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import Staff, require_action

router = APIRouter(
    prefix="/api/v1/console",
    tags=["console"],
    responses=problem_responses(403, 404, 409),  # the role, no such hold or subject, its state
)


class HoldView(BaseModel):
    """A legal hold as the desk sees it: ids, codes, element, reference and instants."""

    id: uuid.UUID
    subject_id: uuid.UUID
    element: str | None = Field(description="The table or table.column held; null: all the data.")
    basis: str
    authority: str
    reference: str
    placed_at: datetime
    placed_by: str
    released_at: datetime | None
    released_by: str | None
    standing: bool


class HoldIn(BaseModel):
    """A hold to place: whose data, which part, on which legal ground."""

    model_config = ConfigDict(extra="forbid")
    subject_id: uuid.UUID
    element: str | None = Field(
        default=None, max_length=200, description="A table or table.column; omit for all."
    )
    basis: str = Field(max_length=64, description="See /api/v1/console/holds-vocabulary.")
    authority: str = Field(max_length=200, description="The authority or law requiring it.")
    reference: str = Field(max_length=200, description="That authority's reference (an id).")


class HoldVocabulary(BaseModel):
    """What the place form offers: the legal bases with what the requester is told."""

    bases: dict[str, str]


def hold_view(row: LegalHold) -> HoldView:
    """The desk's view of ``row``."""
    return HoldView(
        id=row.id,
        subject_id=row.subject_id,
        element=row.element,
        basis=row.basis,
        authority=row.authority,
        reference=row.reference,
        placed_at=row.placed_at,
        placed_by=row.placed_by,
        released_at=row.released_at,
        released_by=row.released_by,
        standing=row.released_at is None,
    )


def holds_view(
    session: Session,
    actor: str,
    *,
    subject_id: uuid.UUID | None = None,
    standing_only: bool = False,
) -> list[HoldView]:
    """The holds list (see :func:`~doorstep.privacy.holds.services.listing`); audited."""
    rows = holds.listing(session, subject_id=subject_id, standing_only=standing_only)
    record(
        session,
        action="holds.listed",
        actor=actor,
        subject_id=subject_id,
        purpose=holds.PURPOSE,
        details={"count": len(rows)},
    )
    return [hold_view(row) for row in rows]


def _acting(session: Session, staff: Staff) -> str:
    return require_action(session, staff.id, StaffAction.PLACE_HOLDS).actor


@router.get("/holds", summary="Legal holds, standing first")
def list_holds(
    staff: CurrentStaff,
    session: SessionDep,
    subject: Annotated[uuid.UUID | None, Query(description="Only this subject's.")] = None,
    standing: Annotated[bool, Query(description="Only holds that stand.")] = False,
) -> list[HoldView]:
    """Holds (of one subject, or standing only), standing first, newest first."""
    actor = _acting(session, staff)
    return holds_view(session, actor, subject_id=subject, standing_only=standing)


@router.get("/holds-vocabulary", summary="The legal bases a hold may name")
def vocabulary(staff: CurrentStaff) -> HoldVocabulary:
    """The codes the place form offers, with what a requester is told."""
    return HoldVocabulary(bases={basis.value: text for basis, text in BASIS_TEXT.items()})


@router.post("/holds", status_code=status.HTTP_201_CREATED, summary="Place a legal hold")
def place_hold(
    body: HoldIn, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> HoldView:
    """Place a hold on a subject's data (or one element of it) with its legal basis."""
    actor = _acting(session, staff)
    given = holds.check(
        schema_metadata(),
        subject_id=body.subject_id,
        element=body.element,
        basis=body.basis,
        authority=body.authority,
        reference=body.reference,
    )
    return hold_view(holds.place(session, services.runtime.clock, given, actor=actor))


@router.get("/holds/{hold_id}", summary="One legal hold")
def show_hold(hold_id: uuid.UUID, staff: CurrentStaff, session: SessionDep) -> HoldView:
    """One hold; the view is audited."""
    actor = _acting(session, staff)
    row = holds.get(session, hold_id)
    record(
        session,
        action="hold.viewed",
        actor=actor,
        subject_id=row.subject_id,
        purpose=holds.PURPOSE,
        details={"hold": str(row.id)},
    )
    return hold_view(row)


@router.post("/holds/{hold_id}/release", summary="Release a legal hold")
def release_hold(
    hold_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> HoldView:
    """Release a standing hold: deferred erasures are queued, the next sweep takes the rest."""
    actor = _acting(session, staff)
    return hold_view(holds.release(session, services.runtime.clock, hold_id, actor=actor))
