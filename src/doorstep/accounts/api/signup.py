"""Sign-up routes: create an account, prove its identifiers with one-time codes."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from doorstep.accounts.api.schemas import (
    Accepted,
    AccountStatusOut,
    ResendRequest,
    SignUpRequest,
    VerifyRequest,
)
from doorstep.accounts.attempts import AttemptSession
from doorstep.accounts.context import AccountContext
from doorstep.accounts.signin.ratelimit import count_address
from doorstep.accounts.signup import registration
from doorstep.core.proxies import client_address
from doorstep.services import ServicesDep

router = APIRouter()


@router.post("/signup", status_code=status.HTTP_202_ACCEPTED, summary="Create an account")
def sign_up(
    body: SignUpRequest, request: Request, services: ServicesDep, session: AttemptSession
) -> Accepted:
    """Create a pending account and send codes to prove its identifiers.

    The answer is the same when an identifier is already registered (its owner
    is told instead); every invalid field is named with its rule.
    """
    ctx = AccountContext.of(services)
    count_address(session, ctx, client_address(request))
    registration.sign_up(session, ctx, registration.SignUpForm(**body.model_dump()))
    return Accepted(status="verification_sent")


@router.post("/verification", summary="Prove an e-mail address or mobile number")
def verify(
    body: VerifyRequest, request: Request, services: ServicesDep, session: AttemptSession
) -> AccountStatusOut:
    """Redeem the one-time code; the account is active once everything is proven."""
    ctx = AccountContext.of(services)
    count_address(session, ctx, client_address(request))
    result = registration.verify(session, ctx, body.identifier, body.code)
    return AccountStatusOut(status=result.value)


@router.post("/verification/resend", status_code=202, summary="Send a new code")
def resend(
    body: ResendRequest, request: Request, services: ServicesDep, session: AttemptSession
) -> Accepted:
    """Send a new code to an unproven identifier (the same answer for unknown ones)."""
    ctx = AccountContext.of(services)
    count_address(session, ctx, client_address(request))
    registration.resend(session, ctx, body.identifier)
    return Accepted(status="accepted")
