"""Routes of the optional profile: consent, withdrawal (which deletes it), and setting it."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Response

from doorstep.accounts.api.schemas import ConsentOut, ProfileOut, ProfileRequest
from doorstep.accounts.auth import CurrentSubscriber
from doorstep.accounts.context import AccountContext
from doorstep.accounts.exceptions import invalid
from doorstep.accounts.profile.service import PURPOSE, consent, update, withdraw_consent
from doorstep.audit.entries import subject_actor
from doorstep.privacy.consent.services import latest
from doorstep.services import ServicesDep, SessionDep

router = APIRouter()


@router.post("/me/profile/consent", status_code=201, summary="Agree to the optional profile")
def consent_to_profile(
    subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> ConsentOut:
    """Record consent to ``account.profile`` (after the app showed ``PROFILE_NOTICE``)."""
    event = consent(session, AccountContext.of(services), subscriber.subject_id)
    return ConsentOut(consent_event=event.id, purpose=event.purpose, action=event.action.value)


@router.delete("/me/profile/consent", status_code=204, summary="Withdraw and delete the profile")
def withdraw_profile(
    subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> Response:
    """Withdraw consent to the optional profile; the stored profile is deleted."""
    subject_id = subscriber.subject_id
    withdraw_consent(session, AccountContext.of(services), subject_id)
    found = latest(session, subject_id, PURPOSE)
    assert found is not None
    services.consent_withdrawn(
        session,
        subject_id,
        PURPOSE,
        cause="withdrawal",
        origin_id=found.id,
        actor=subject_actor(subject_id),
    )
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
    stored = update(
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
