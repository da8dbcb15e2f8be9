"""HTTP API of staff sign-in: exchange a one-time link for a console session, sign out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from doorstep.core.problems import problem_responses
from doorstep.services import ServicesDep, SessionDep
from doorstep.staff.auth import CurrentStaff, bearer_scheme, token_of
from doorstep.staff.signin import redeem_link, sign_out

router = APIRouter(
    prefix="/api/v1/console",
    tags=["console"],
    responses=problem_responses(409),  # the staff member was deactivated
)


class LinkIn(BaseModel):
    """The token of a sign-in link (``doorstep staff sign-in-link``)."""

    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=8, max_length=128)


class ConsoleSessionOut(BaseModel):
    """A console session: the bearer token (shown once) and who it signs in."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_at: datetime
    staff_id: uuid.UUID
    role: str


class StaffOut(BaseModel):
    """The signed-in staff member."""

    staff_id: uuid.UUID
    role: str


@router.post("/sessions", status_code=status.HTTP_201_CREATED, summary="Sign in with a link")
def sign_in(body: LinkIn, services: ServicesDep, session: SessionDep) -> ConsoleSessionOut:
    """Exchange a one-time sign-in link for a console session."""
    made = redeem_link(
        session,
        body.token,
        clock=services.runtime.clock,
        session_hours=services.runtime.settings.staff_session_hours,
    )
    return ConsoleSessionOut(
        access_token=made.token,
        expires_at=made.expires_at,
        staff_id=made.staff.id,
        role=made.staff.role.value,
    )


@router.get("/me", summary="Who is signed in to the console")
def me(staff: CurrentStaff) -> StaffOut:
    """The signed-in staff member's id and role."""
    return StaffOut(staff_id=staff.id, role=staff.role.value)


@router.delete("/sessions/current", status_code=204, summary="Sign out of the console")
def sign_out_current(
    request: Request,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Response:
    """End the current console session (204 with no body, so no content type)."""
    token = token_of(request, credentials)
    if token:
        sign_out(session, token, clock=services.runtime.clock)
    return Response(status_code=204)
