"""Password routes: change it when signed in, or reset it with a code."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from doorstep.accounts.api.schemas import (
    Accepted,
    PasswordChangeRequest,
    ResetConfirmRequest,
    ResetRequest,
)
from doorstep.accounts.attempts import AttemptSession
from doorstep.accounts.auth import CurrentSubscriber
from doorstep.accounts.context import AccountContext
from doorstep.accounts.signin import flows
from doorstep.core.proxies import client_address
from doorstep.services import ServicesDep

router = APIRouter()


@router.put("/me/password", status_code=204, summary="Change the password")
def change_password(
    body: PasswordChangeRequest,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: AttemptSession,
) -> Response:
    """Check the current password, set the new one, end every other session."""
    flows.change_password(
        session,
        AccountContext.of(services),
        subscriber.subject_id,
        subscriber.session_id,
        current=body.current_password,
        new=body.new_password,
    )
    return Response(status_code=204)


@router.post("/password-reset", status_code=202, summary="Ask for a password-reset code")
def request_reset(
    body: ResetRequest, request: Request, services: ServicesDep, session: AttemptSession
) -> Accepted:
    """Send a reset code; the same answer for identifiers that are not registered."""
    flows.request_reset(
        session, AccountContext.of(services), body.identifier, address=client_address(request)
    )
    return Accepted(status="accepted")


@router.post("/password-reset/confirm", status_code=204, summary="Reset the password")
def confirm_reset(
    body: ResetConfirmRequest, request: Request, services: ServicesDep, session: AttemptSession
) -> Response:
    """Set a new password with the reset code; every session of the account ends."""
    flows.confirm_reset(
        session,
        AccountContext.of(services),
        body.identifier,
        body.code,
        body.new_password,
        address=client_address(request),
    )
    return Response(status_code=204)
