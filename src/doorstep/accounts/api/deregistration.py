"""The self-service deregistration route (CPE-V.5.a)."""

from __future__ import annotations

from fastapi import APIRouter

from doorstep.accounts.account.lookup import require_open
from doorstep.accounts.account.models import DeregistrationReason
from doorstep.accounts.api.schemas import DeregisteredOut, DeregisterRequest
from doorstep.accounts.attempts import AttemptSession
from doorstep.accounts.auth import CurrentSubscriber
from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration import closing
from doorstep.accounts.signin import flows
from doorstep.audit.entries import subject_actor
from doorstep.services import ServicesDep

router = APIRouter()


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
    flows.check_password(session, ctx, account, body.password)
    at = closing.deregister(
        session,
        ctx,
        subscriber.subject_id,
        reason=DeregistrationReason.SELF_SERVICE,
        actor=subject_actor(subscriber.subject_id),
    )
    return DeregisteredOut(deregistered_at=at)
