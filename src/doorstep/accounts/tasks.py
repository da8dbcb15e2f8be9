"""Jobs of the accounts area: the erasure after deregistration and the periodic sweep.

* ``accounts.erase(account_id)`` — enqueued in the deregistration's own
  transaction; idempotent and resumable (:mod:`.deregistration.erasure`), retried with backoff.
* ``accounts.sweep`` (every 15 minutes) — deletes expired sign-in state (sessions
  past their refresh expiry, codes a day old, finished flows, rate-limit windows
  over two hours old: the pack's retention rules), deregisters children's
  accounts still without guardian consent after ``guardian_consent_days``
  (CPE-VI.4), and reports manual deregistration requests past their deadline.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from doorstep.accounts.account.models import DeregistrationReason
from doorstep.accounts.children.guardians import overdue_children
from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration.closing import ERASE_TASK, deregister, list_requests
from doorstep.accounts.deregistration.erasure import erase_account
from doorstep.accounts.sessions import tokens
from doorstep.accounts.signin import ratelimit
from doorstep.accounts.signup import codes
from doorstep.accounts.thirdparty.models import OidcFlow
from doorstep.audit.entries import system_actor
from doorstep.audit.services import record
from doorstep.core.runtime import Runtime
from doorstep.jobs.registry import JobContext, job, periodic

log = logging.getLogger("doorstep.accounts.tasks")

SWEEP_TASK = "accounts.sweep"
_SWEEP_ACTOR = system_actor("accounts.sweep")


@job(ERASE_TASK, max_attempts=10, backoff_seconds=5)
def erase(ctx: JobContext, account_id: str) -> bool:
    """Erase a deregistered account's registration data (see :mod:`.deregistration.erasure`)."""
    account_ctx = AccountContext.for_runtime(ctx.runtime)
    return erase_account(ctx.runtime.sessions, account_ctx, uuid.UUID(account_id))


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep did (counts only)."""

    sessions: int
    codes: int
    flows: int
    buckets: int
    children_deregistered: int
    overdue_requests: int


def sweep(runtime: Runtime, ctx: AccountContext | None = None) -> SweepReport:
    """Run every retention rule of the accounts area once; set-based and idempotent."""
    ctx = ctx or AccountContext.for_runtime(runtime)
    now = ctx.clock.now()
    with runtime.sessions.begin() as session:
        pruned_sessions = tokens.prune(session, now=now)
        pruned_codes = codes.prune(session, created_before=now - timedelta(days=1))
        flows = session.execute(sa.delete(OidcFlow).where(OidcFlow.expires_at <= now))
        pruned_flows = int(getattr(flows, "rowcount", 0) or 0)
        buckets = ratelimit.prune(session, before=now - timedelta(hours=2))
    children = 0
    with runtime.sessions.begin() as session:
        for account_id in overdue_children(
            session, now=now, days=ctx.settings.guardian_consent_days
        ):
            deregister(
                session,
                ctx,
                account_id,
                reason=DeregistrationReason.GUARDIAN_CONSENT_MISSING,
                actor=_SWEEP_ACTOR,
            )
            children += 1
        overdue = [item for item in list_requests(session) if item.overdue(now)]
        for item in overdue:
            log.warning("manual deregistration request overdue", extra={"request": str(item.id)})
        record(
            session,
            action="accounts.swept",
            actor=_SWEEP_ACTOR,
            purpose="account.authentication",
            details={
                "sessions": pruned_sessions,
                "codes": pruned_codes,
                "flows": pruned_flows,
                "buckets": buckets,
                "children_deregistered": children,
                "overdue_requests": len(overdue),
            },
            at=now,
        )
    return SweepReport(pruned_sessions, pruned_codes, pruned_flows, buckets, children, len(overdue))


@periodic(SWEEP_TASK, cron="*/15 * * * *")
def _sweep_periodically(ctx: JobContext, timestamp: int) -> None:
    sweep(ctx.runtime)
