"""Which systems a withdrawn consent (or an objection) reaches; their rows and jobs.

:func:`tell_systems` runs in the caller's transaction — the withdrawal's or the
objection's — so the systems are told exactly when the decision commits, and
never for one that rolled back.  A system is told when it is live (the
``requests_systems`` setting, as for requests) and one of its elements rests on
**consent** for the purpose (:func:`relying_on`).  Each gets a
``system_withdrawals`` row:

* ``http`` — ``pending`` and one job :data:`RUN_TASK` (task id only in the
  payload, queueing-locked by it): a signed ``withdraw`` call (:mod:`.run`);
* ``manual`` — ``waiting`` on the desk, due in the system's ``due_days``;
* ``sql`` — ``skipped`` with reason ``sql_no_withdraw``: an SQL system has no
  call that means "stop"; what it holds under the purpose stays until the
  subject's erasure or its retention rule, and the row records that it was
  considered (decision 0037).

Audited ``withdrawal.systems_told`` (purpose, cause, system keys joined by ``:``).  Telling the
systems twice for the same origin adds nothing: one row per origin and system.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.audit.services import record as audit
from doorstep.core.clock import Clock
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings
from doorstep.jobs.enqueue import enqueue
from doorstep.privacy.connectors.live import live_systems
from doorstep.privacy.connectors.withdrawals.models import (
    Cause,
    SystemWithdrawal,
    WithdrawalState,
)
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.systems import ConnectedSystem, SystemKind
from doorstep.services import ConsentWithdrawnHook
from doorstep.vocabulary import LegalBasis

RUN_TASK = "connectors.withdraw_run"
PURPOSE = "consent.management"
SQL_REASON = "sql_no_withdraw"


def relying_on(pack: PolicyPack, names: tuple[str, ...], purpose: str) -> list[ConnectedSystem]:
    """The live systems with an element resting on consent for ``purpose``."""
    return [
        system
        for system in live_systems(pack, names)
        if any(
            purpose in element.purposes and element.legal_basis is LegalBasis.CONSENT
            for element in system.elements.values()
        )
    ]


def queue_run(session: Session, task_id: uuid.UUID) -> None:
    """Enqueue the task's job unless one already waits (in the caller's transaction)."""
    try:
        with session.begin_nested():
            enqueue(session, RUN_TASK, task_id=task_id, queueing_lock=f"{RUN_TASK}:{task_id}")
    except IntegrityError:
        pass


def tell_systems(
    session: Session,
    *,
    pack: PolicyPack,
    settings: Settings,
    clock: Clock,
    subject_id: uuid.UUID,
    purpose: str,
    cause: Cause | str,
    origin_id: uuid.UUID,
    actor: str,
) -> list[SystemWithdrawal]:
    """Create a row (and a job) per system relying on ``purpose``; the new rows."""
    systems = relying_on(pack, settings.requests_systems, purpose)
    if not systems:
        return []
    why = Cause(cause)
    have = set(
        session.scalars(
            sa.select(SystemWithdrawal.system).where(SystemWithdrawal.origin_id == origin_id)
        )
    )
    now = clock.now()
    made = []
    for system in systems:
        if system.key in have:
            continue
        row = SystemWithdrawal(
            id=uuid.uuid4(),
            subject_id=subject_id,
            system=system.key,
            purpose=purpose,
            cause=why.value,
            origin_id=origin_id,
            state=WithdrawalState.PENDING.value,
            attempts=0,
            created_at=now,
        )
        if system.kind is SystemKind.SQL:
            row.state, row.reason, row.finished_at = WithdrawalState.SKIPPED.value, SQL_REASON, now
        elif system.kind is SystemKind.MANUAL:
            row.state, row.due_at = (
                WithdrawalState.WAITING.value,
                now + timedelta(days=system.due_days),
            )
        session.add(row)
        made.append(row)
    if not made:
        return []
    session.flush()
    for row in made:
        if row.state == WithdrawalState.PENDING.value:
            queue_run(session, row.id)
    audit(
        session,
        action="withdrawal.systems_told",
        actor=actor,
        subject_id=subject_id,
        purpose=PURPOSE,
        details={
            "consent_purpose": purpose,
            "cause": why.value,
            "origin": str(origin_id),
            "systems": ":".join(row.system for row in made),
        },
    )
    return made


def hook_for(runtime: Runtime, pack: PolicyPack) -> ConsentWithdrawnHook:
    """The hook the composition root installs as ``Services.consent_withdrawn``: tells the
    systems under ``runtime``'s settings as they are when it is called."""

    def told(
        session: Session,
        subject_id: uuid.UUID,
        purpose: str,
        *,
        cause: str,
        origin_id: uuid.UUID,
        actor: str,
    ) -> Sequence[uuid.UUID]:
        rows = tell_systems(
            session,
            pack=pack,
            settings=runtime.settings,
            clock=runtime.clock,
            subject_id=subject_id,
            purpose=purpose,
            cause=cause,
            origin_id=origin_id,
            actor=actor,
        )
        return [row.id for row in rows]

    return told
