"""Third-party sign-in routes (OpenID Connect): start, link, callback, unlink."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from doorstep.accounts.api.schemas import OidcResultOut, OidcStartOut, OidcStartRequest
from doorstep.accounts.api.sessions import tokens_out
from doorstep.accounts.attempts import AttemptSession
from doorstep.accounts.auth import CurrentSubscriber
from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import invalid
from doorstep.accounts.thirdparty import providers
from doorstep.core.errors import NotFoundError
from doorstep.core.problems import problem_responses
from doorstep.services import ServicesDep, SessionDep

router = APIRouter()


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
    url = providers.start(session, AccountContext.of(services), provider)
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
    url = providers.start(
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
    result = providers.finish(
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
    if not providers.unlink(session, AccountContext.of(services), subscriber.subject_id, provider):
        raise NotFoundError("the provider is not linked", provider=provider)
    return Response(status_code=204)
