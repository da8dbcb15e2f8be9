"""Routes of the signed-in subscriber's own account: read it; direct edits are refused."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from doorstep.accounts import view
from doorstep.accounts.account.language import set_language
from doorstep.accounts.api.schemas import (
    AccountOut,
    LanguageOut,
    LanguageRequest,
    ProfileOut,
    ProviderOut,
)
from doorstep.accounts.auth import CurrentSubscriber
from doorstep.accounts.context import AccountContext
from doorstep.accounts.signin import flows
from doorstep.core.route_names import FILE_REQUEST
from doorstep.services import ServicesDep, SessionDep

router = APIRouter()


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
        language=found.language,
    )


@router.put("/me/language", summary="Change the language I read")
def put_language(
    body: LanguageRequest, subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> LanguageOut:
    """E-mails, notices and the export README are written in it from now on (422: unknown)."""
    language = set_language(
        session, AccountContext.of(services), subscriber.subject_id, body.language
    )
    return LanguageOut(language=language)


@router.patch("/me", summary="Edit account data (refused: see password)", status_code=204)
def edit_me(body: dict[str, object], subscriber: CurrentSubscriber, request: Request) -> Response:
    """Registration data other than the password is not edited directly (CPE-V.2.a).

    Always 403 with a link to the correction request (built from that route, by
    its name); use PUT /me/password.
    """
    link = request.app.url_path_for(FILE_REQUEST)
    flows.refuse_direct_edit(sorted(body), correction_request=str(link))
    return Response(status_code=204)  # pragma: no cover - refuse_direct_edit always raises
