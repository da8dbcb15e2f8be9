"""Routes of a guardian's consent to a child's account: the notice and the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from doorstep.accounts.account.models import Account, DeregistrationReason
from doorstep.accounts.api.schemas import (
    GuardianDecisionOut,
    GuardianDecisionRequest,
    GuardianNoticeOut,
)
from doorstep.accounts.children import guardians
from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration.closing import deregister
from doorstep.accounts.signup import registration
from doorstep.audit.entries import subject_actor
from doorstep.core.errors import NotFoundError
from doorstep.services import ServicesDep, SessionDep

router = APIRouter()


@router.get("/guardian-consent", summary="What a guardian is asked")
def guardian_notice(
    token: Annotated[str, Query(max_length=2048)], services: ServicesDep, session: SessionDep
) -> GuardianNoticeOut:
    """The notice behind the link in the guardian's e-mail (the link is not used up)."""
    row = guardians.guardian_of_token(session, AccountContext.of(services), token)
    return GuardianNoticeOut(notice=guardians.GUARDIAN_NOTICE, expires_at=row.token_expires_at)


@router.post("/guardian-consent", summary="A guardian's answer")
def guardian_decision(
    body: GuardianDecisionRequest, services: ServicesDep, session: SessionDep
) -> GuardianDecisionOut:
    """Record the guardian's consent or refusal; a refusal closes the child's account."""
    ctx = AccountContext.of(services)
    row = guardians.guardian_of_token(session, ctx, body.token)
    event_id = guardians.record_decision(session, ctx, row, grant=body.decision == "grant")
    child = session.get(Account, row.child_id)
    if child is None:
        raise NotFoundError("no such account")
    if body.decision == "grant":
        registration.refresh_status(session, child)
    else:
        deregister(
            session,
            ctx,
            child.id,
            reason=DeregistrationReason.GUARDIAN_REFUSED,
            actor=subject_actor(row.id),
        )
    return GuardianDecisionOut(decision=body.decision, consent_event=event_id)
