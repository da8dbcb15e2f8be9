"""Session routes: sign in with a password, rotate the refresh token, sign out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from doorstep.accounts.api.schemas import RefreshRequest, SignInRequest, TokensOut
from doorstep.accounts.attempts import AttemptSession
from doorstep.accounts.auth import CurrentSubscriber
from doorstep.accounts.context import AccountContext
from doorstep.accounts.sessions import tokens
from doorstep.accounts.signin import flows
from doorstep.core.proxies import client_address
from doorstep.services import ServicesDep, SessionDep

router = APIRouter()


def tokens_out(issued: tokens.IssuedTokens) -> TokensOut:
    """The response body of a new session."""
    return TokensOut(
        access_token=issued.access_token,
        expires_at=issued.expires_at,
        refresh_token=issued.refresh_token,
        refresh_expires_at=issued.refresh_expires_at,
        session_id=issued.session_id,
    )


@router.post("/sessions", status_code=201, summary="Sign in with a password")
def sign_in(
    body: SignInRequest, request: Request, services: ServicesDep, session: AttemptSession
) -> TokensOut:
    """Open a session; 401 for a wrong identifier or password, 429 during a lockout."""
    ctx = AccountContext.of(services)
    issued = flows.sign_in(
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
    flows.sign_out(session, ctx, subscriber.subject_id, subscriber.session_id)
    return Response(status_code=204)
