"""HTTP routes for the optional profile, guardians' consent and third-party sign-in."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Query, Response

from doorstep.accounts import children, profile, signup, thirdparty, tokens
from doorstep.accounts._transaction import AttemptSession
from doorstep.accounts.auth import CurrentSubscriber
from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration import deregister
from doorstep.accounts.exceptions import invalid
from doorstep.accounts.models import Account, DeregistrationReason
from doorstep.accounts.schemas import (
    ConsentOut,
    GuardianDecisionOut,
    GuardianDecisionRequest,
    GuardianNoticeOut,
    OidcResultOut,
    OidcStartOut,
    OidcStartRequest,
    ProfileOut,
    ProfileRequest,
    TokensOut,
)
from doorstep.core.errors import NotFoundError
from doorstep.core.problems import problem_responses
from doorstep.privacy.purposes import subject_actor
from doorstep.wiring import ServicesDep, SessionDep

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


@router.post("/me/profile/consent", status_code=201, summary="Agree to the optional profile")
def consent_to_profile(
    subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> ConsentOut:
    """Record consent to ``account.profile`` (after the app showed ``PROFILE_NOTICE``)."""
    event = profile.consent(session, AccountContext.of(services), subscriber.subject_id)
    return ConsentOut(consent_event=event.id, purpose=event.purpose, action=event.action.value)


@router.delete("/me/profile/consent", status_code=204, summary="Withdraw and delete the profile")
def withdraw_profile(
    subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> Response:
    """Withdraw consent to the optional profile; the stored profile is deleted."""
    profile.withdraw_consent(session, AccountContext.of(services), subscriber.subject_id)
    return Response(status_code=204)


@router.put("/me/profile", summary="Set the optional profile")
def put_profile(
    body: ProfileRequest, subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> ProfileOut:
    """Store avatar, nickname and date of birth; 403 (purpose refused) without consent."""
    avatar = None
    if body.avatar_base64 is not None:
        try:
            avatar = base64.b64decode(body.avatar_base64, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(("avatar_base64", "base64")) from None
    stored = profile.update(
        session,
        AccountContext.of(services),
        subscriber.subject_id,
        nickname=body.nickname,
        avatar=avatar,
        date_of_birth=body.date_of_birth,
    )
    return ProfileOut(
        nickname=stored.nickname,
        avatar_base64=body.avatar_base64,
        avatar_type=stored.avatar_type,
        date_of_birth=stored.date_of_birth,
    )


@router.get("/guardian-consent", summary="What a guardian is asked")
def guardian_notice(
    token: Annotated[str, Query(max_length=2048)], services: ServicesDep, session: SessionDep
) -> GuardianNoticeOut:
    """The notice behind the link in the guardian's e-mail (the link is not used up)."""
    row = children.guardian_of_token(session, AccountContext.of(services), token)
    return GuardianNoticeOut(notice=children.GUARDIAN_NOTICE, expires_at=row.token_expires_at)


@router.post("/guardian-consent", summary="A guardian's answer")
def guardian_decision(
    body: GuardianDecisionRequest, services: ServicesDep, session: SessionDep
) -> GuardianDecisionOut:
    """Record the guardian's consent or refusal; a refusal closes the child's account."""
    ctx = AccountContext.of(services)
    row = children.guardian_of_token(session, ctx, body.token)
    event_id = children.record_decision(session, ctx, row, grant=body.decision == "grant")
    child = session.get(Account, row.child_id)
    if child is None:
        raise NotFoundError("no such account")
    if body.decision == "grant":
        signup.refresh_status(session, child)
    else:
        deregister(
            session,
            ctx,
            child.id,
            reason=DeregistrationReason.GUARDIAN_REFUSED,
            actor=subject_actor(row.id),
        )
    return GuardianDecisionOut(decision=body.decision, consent_event=event_id)


@router.post(
    "/oidc/{provider}/start",
    summary="Start a third-party sign-in or link",
    responses=problem_responses(502),  # the provider failed
)
def oidc_start(
    provider: str,
    body: OidcStartRequest,
    services: ServicesDep,
    session: SessionDep,
) -> OidcStartOut:
    """Begin a sign-in (``intent=login``); linking uses ``/me/providers/{provider}``."""
    if body.intent != "login":
        raise invalid(("intent", "use_link_endpoint"))
    url = thirdparty.start(session, AccountContext.of(services), provider)
    return OidcStartOut(authorization_url=url)


@router.post(
    "/me/providers/{provider}",
    summary="Link a sign-in provider",
    responses=problem_responses(502),  # the provider failed
)
def oidc_link(
    provider: str,
    body: OidcStartRequest,
    subscriber: CurrentSubscriber,
    services: ServicesDep,
    session: SessionDep,
) -> OidcStartOut:
    """Begin linking ``provider`` to the signed-in account; ``share_with`` names services."""
    url = thirdparty.start(
        session,
        AccountContext.of(services),
        provider,
        account_id=subscriber.subject_id,
        share_with=body.share_with,
    )
    return OidcStartOut(authorization_url=url)


@router.get(
    "/oidc/{provider}/callback",
    summary="Where the provider sends the browser back",
    responses=problem_responses(502),  # the provider failed
)
def oidc_callback(
    provider: str,
    *,
    services: ServicesDep,
    session: AttemptSession,
    state: Annotated[str, Query(max_length=256)],
    code: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> OidcResultOut:
    """Finish the flow: link, sign in (tokens), or cancelled (nothing stored)."""
    result = thirdparty.finish(
        session, AccountContext.of(services), provider, state=state, code=code, error=error
    )
    issued = result.tokens
    return OidcResultOut(
        outcome=result.outcome,
        tokens=tokens_out(issued) if issued is not None else None,
    )


@router.delete("/me/providers/{provider}", status_code=204, summary="Unlink a provider")
def oidc_unlink(
    provider: str, subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> Response:
    """Delete the link and its tokens; the provider is asked to revoke them."""
    if not thirdparty.unlink(session, AccountContext.of(services), subscriber.subject_id, provider):
        raise NotFoundError("the provider is not linked", provider=provider)
    return Response(status_code=204)
