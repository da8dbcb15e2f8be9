"""HTTP API of the accounts area under ``/api/v1/accounts`` (thin: parse, call, shape).

Errors are RFC 9457 problems raised by the services.  Steps that count failed
attempts (sign-in, codes, password checks) run in an ``attempt_session``, which
commits the count before answering with the error.  The client address is
passed to the rate limiter only (it keeps a keyed hash), never logged or stored.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from doorstep.accounts import deregistration, signin, signup, tokens, view
from doorstep.accounts._api_more import router as more_router
from doorstep.accounts._api_more import tokens_out
from doorstep.accounts._lookup import require_open
from doorstep.accounts._transaction import AttemptSession
from doorstep.accounts.auth import CurrentSubscriber
from doorstep.accounts.context import AccountContext
from doorstep.accounts.models import DeregistrationReason
from doorstep.accounts.ratelimit import count_address
from doorstep.accounts.schemas import (
    Accepted,
    AccountOut,
    AccountStatusOut,
    DeregisteredOut,
    DeregisterRequest,
    PasswordChangeRequest,
    ProfileOut,
    ProviderOut,
    RefreshRequest,
    ResendRequest,
    ResetConfirmRequest,
    ResetRequest,
    SignInRequest,
    SignUpRequest,
    TokensOut,
    VerifyRequest,
)
from doorstep.core.problems import problem_responses
from doorstep.core.proxies import client_address
from doorstep.privacy.purposes import subject_actor
from doorstep.privacy.requests.api import FILE_REQUEST_ROUTE
from doorstep.wiring import ServicesDep, SessionDep

router = APIRouter(
    prefix="/api/v1/accounts",
    tags=["accounts"],
    # Wrong password or code, not allowed, no such thing, state, attempt limits.
    responses=problem_responses(401, 403, 404, 409, 429),
)


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
    signup.sign_up(session, ctx, signup.SignUpForm(**body.model_dump()))
    return Accepted(status="verification_sent")


@router.post("/verification", summary="Prove an e-mail address or mobile number")
def verify(
    body: VerifyRequest, request: Request, services: ServicesDep, session: AttemptSession
) -> AccountStatusOut:
    """Redeem the one-time code; the account is active once everything is proven."""
    ctx = AccountContext.of(services)
    count_address(session, ctx, client_address(request))
    result = signup.verify(session, ctx, body.identifier, body.code)
    return AccountStatusOut(status=result.value)


@router.post("/verification/resend", status_code=202, summary="Send a new code")
def resend(
    body: ResendRequest, request: Request, services: ServicesDep, session: AttemptSession
) -> Accepted:
    """Send a new code to an unproven identifier (the same answer for unknown ones)."""
    ctx = AccountContext.of(services)
    count_address(session, ctx, client_address(request))
    signup.resend(session, ctx, body.identifier)
    return Accepted(status="accepted")


@router.post("/sessions", status_code=201, summary="Sign in with a password")
def sign_in(
    body: SignInRequest, request: Request, services: ServicesDep, session: AttemptSession
) -> TokensOut:
    """Open a session; 401 for a wrong identifier or password, 429 during a lockout."""
    ctx = AccountContext.of(services)
    issued = signin.sign_in(
        session, ctx, body.identifier, body.password, address=client_address(request)
    )
    return tokens_out(issued)


@router.post("/sessions/refresh", summary="Rotate the refresh token")
def refresh(body: RefreshRequest, services: ServicesDep, session: AttemptSession) -> TokensOut:
    """Exchange a refresh token for new tokens (the old ones stop working)."""
    return tokens_out(tokens.refresh(session, AccountContext.of(services), body.refresh_token))


@router.delete("/sessions/current", status_code=204, summary="Sign out")
def sign_out(subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep) -> Response:
    """End this session; the account and its data stay (CPE-IV.1.c)."""
    ctx = AccountContext.of(services)
    signin.sign_out(session, ctx, subscriber.subject_id, subscriber.session_id)
    return Response(status_code=204)


@router.get("/me", summary="My account")
def me(subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep) -> AccountOut:
    """The signed-in subscriber's account data, linked providers and optional profile."""
    import base64

    found = view.own_account(session, AccountContext.of(services), subscriber.subject_id)
    profile = found.profile
    return AccountOut(
        id=found.id,
        status=found.status,
        email=found.email,
        phone=found.phone,
        email_verified=found.email_verified,
        phone_verified=found.phone_verified,
        child=found.child,
        created_at=found.created_at,
        providers=[
            ProviderOut(provider=p.provider, linked_at=p.linked_at, share_with=list(p.share_with))
            for p in found.providers
        ],
        profile=None
        if profile is None
        else ProfileOut(
            nickname=profile.nickname,
            avatar_base64=base64.b64encode(profile.avatar).decode() if profile.avatar else None,
            avatar_type=profile.avatar_type,
            date_of_birth=profile.date_of_birth,
        ),
    )


@router.patch("/me", summary="Edit account data (refused: see password)", status_code=204)
def edit_me(body: dict[str, object], subscriber: CurrentSubscriber, request: Request) -> Response:
    """Registration data other than the password is not edited directly (CPE-V.2.a).

    Always 403 with a link to the correction request (built from that route, by
    its name); use PUT /me/password.
    """
    link = request.app.url_path_for(FILE_REQUEST_ROUTE)
    signin.refuse_direct_edit(sorted(body), correction_request=str(link))
    return Response(status_code=204)  # pragma: no cover - refuse_direct_edit always raises


@router.put("/me/password", status_code=204, summary="Change the password")
def change_password(
    body: PasswordChangeRequest,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: AttemptSession,
) -> Response:
    """Check the current password, set the new one, end every other session."""
    signin.change_password(
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
    signin.request_reset(
        session, AccountContext.of(services), body.identifier, address=client_address(request)
    )
    return Accepted(status="accepted")


@router.post("/password-reset/confirm", status_code=204, summary="Reset the password")
def confirm_reset(
    body: ResetConfirmRequest, request: Request, services: ServicesDep, session: AttemptSession
) -> Response:
    """Set a new password with the reset code; every session of the account ends."""
    signin.confirm_reset(
        session,
        AccountContext.of(services),
        body.identifier,
        body.code,
        body.new_password,
        address=client_address(request),
    )
    return Response(status_code=204)


@router.post("/me/deregistration", summary="Deregister my account")
def deregister(
    body: DeregisterRequest,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: AttemptSession,
) -> DeregisteredOut:
    """Close the account now (CPE-V.5.a); 409 listing the devices while any is bound.

    Sign-in stops with this answer; the data is erased by a job right after.
    """
    ctx = AccountContext.of(services)
    account = require_open(session, subscriber.subject_id, lock=True)
    signin.check_password(session, ctx, account, body.password)
    at = deregistration.deregister(
        session,
        ctx,
        subscriber.subject_id,
        reason=DeregistrationReason.SELF_SERVICE,
        actor=subject_actor(subscriber.subject_id),
    )
    return DeregisteredOut(deregistered_at=at)


router.include_router(more_router)
