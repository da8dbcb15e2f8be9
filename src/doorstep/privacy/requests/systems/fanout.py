"""Which connected systems a request reaches, and their tasks and jobs (in approve's transaction).

A request that exports or erases (access, portability, deletion) reaches every
system of the pack named in the setting ``requests_systems`` that may hold the
subject: one whose declared identifiers meet the subject's (the account's
e-mail and phone, its id).  Each gets a ``request_systems`` row carrying the
identifiers it knows (and, for an erasure, the requester's address, so the
completion notice still reaches them after Doorstep's own erasure), sealed
(:mod:`.sealing`); an automated system gets one job (:data:`RUN_TASK`,
queueing-locked by the task id), a manual one a task on the desk due within the
system's ``due_days`` and never after the request's deadline.  A system the
subject has no identifier for is settled at once as ``not_found``.  Fanning
out twice adds nothing: a row per request and system.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.accounts.account.models import Account
from doorstep.jobs.enqueue import enqueue
from doorstep.privacy.connectors.base import Identifiers
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.systems import ConnectedSystem, SystemKind
from doorstep.privacy.requests import notices
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import RequestKind, SubjectRequest
from doorstep.privacy.requests.systems.models import Operation, RequestSystem, SystemState
from doorstep.privacy.requests.systems.sealing import Carried, seal_json

RUN_TASK = "requests.systems_run"
POLL_TASK = "requests.systems_poll"
OPERATIONS = {
    RequestKind.ACCESS: Operation.ACCESS,
    RequestKind.PORTABILITY: Operation.ACCESS,
    RequestKind.DELETION: Operation.ERASURE,
}
ALL = "*"


def reached(pack: PolicyPack, names: tuple[str, ...]) -> list[ConnectedSystem]:
    """The pack's systems that requests reach under the setting ``requests_systems``."""
    declared = pack.systems.systems
    if ALL in names:
        return list(declared.values())
    return [declared[name] for name in names if name in declared]


def identifiers_of(session: Session, subject_id: uuid.UUID) -> Identifiers:
    """What Doorstep knows to find the subject elsewhere: e-mail, phone, account id."""
    found = session.execute(
        sa.select(Account.email, Account.phone).where(Account.id == subject_id)
    ).one_or_none()
    email, phone = (found.email, found.phone) if found is not None else (None, None)
    return Identifiers.of(email=email, phone=phone, account_id=str(subject_id))


def queue_run(session: Session, task_id: uuid.UUID, *, at: datetime | None = None) -> None:
    """Enqueue the task's job (to run ``at``, else at once) unless one already waits (in the
    caller's transaction)."""
    try:
        with session.begin_nested():
            enqueue(
                session,
                RUN_TASK,
                task_id=task_id,
                queueing_lock=f"{RUN_TASK}:{task_id}",
                scheduled_at=at,
            )
    except IntegrityError:
        pass


def fan_out(session: Session, ctx: RequestContext, row: SubjectRequest) -> list[RequestSystem]:
    """Create the request's tasks in every reached system and queue their jobs; the new ones."""
    operation = OPERATIONS.get(row.kind)
    systems = reached(ctx.policy, ctx.settings.requests_systems)
    if operation is None or not systems:
        return []
    have = set(
        session.scalars(sa.select(RequestSystem.system).where(RequestSystem.request_id == row.id))
    )
    todo = [system for system in systems if system.key not in have]
    if not todo:
        return []
    keyring = ctx.require_services().keys.keyring
    now = ctx.clock.now()
    subject = identifiers_of(session, row.subject_id)
    to = (
        notices.reach(session, ctx.gate, row.subject_id, row.id)
        if operation is Operation.ERASURE
        else None
    )
    made = []
    for system in todo:
        mine = subject.for_system(system)
        task = RequestSystem(
            id=uuid.uuid4(),
            request_id=row.id,
            subject_id=row.subject_id,
            system=system.key,
            operation=operation.value,
            state=SystemState.PENDING.value,
            attempts=0,
            created_at=now,
        )
        if not mine:
            task.state, task.finished_at = SystemState.NOT_FOUND.value, now
        else:
            task.sealed = seal_json(keyring, task, "sealed", Carried(mine, to).as_json())
            if system.kind is SystemKind.MANUAL:
                task.state = SystemState.WAITING.value
                task.due_at = min(now + timedelta(days=system.due_days), row.due_at)
        session.add(task)
        made.append((system, task))
    session.flush()
    for _, task in made:
        if task.state == SystemState.PENDING.value:
            queue_run(session, task.id)
    return [task for _, task in made]


def requeue(
    session: Session,
    request_ids: Sequence[uuid.UUID],
    *,
    states: tuple[SystemState, ...],
    exception: str | None = None,
) -> list[RequestSystem]:
    """Put the requests' tasks in ``states`` (with ``exception``, when given) back to work:
    pending with a fresh count of attempts and a job each, or waiting on the desk (manual)."""
    if not request_ids:
        return []
    query = sa.select(RequestSystem).where(
        RequestSystem.request_id.in_(list(request_ids)),
        RequestSystem.state.in_([state.value for state in states]),
    )
    if exception is not None:
        query = query.where(RequestSystem.exception == exception)
    again = list(session.scalars(query.with_for_update()))
    for task in again:
        task.attempts, task.reason, task.exception, task.finished_at = 0, None, None, None
        task.state = SystemState.PENDING.value
    session.flush()
    for task in again:
        queue_run(session, task.id)
    return again
