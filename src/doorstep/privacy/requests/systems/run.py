"""One attempt at one system's part of a request, and of the parts it takes along.

:func:`attempt` is the body of the per-system jobs.  It works in three steps so
that no database transaction is held while a slow system works:

1. :func:`.claim.claim` locks the task the job names and takes fresh tasks of
   the same system along (up to ``requests_systems_batch`` in all; 1 turns this
   off), marks them ``running`` under a lease to this attempt and counts their
   attempts; a task held by another live attempt, settled, waiting or failed is
   left alone;
2. the connector is called outside any transaction, once per task, or, for an
   SQL system, once for all of them in one transaction of the system with a
   savepoint per subject (timeouts are the connector's);
3. the requests and tasks are locked again (requests first, in id order) and each
   outcome recorded (:func:`.settle.record`), or each failure: the job's own task
   is retried (:class:`Retry`, the job's back-off), a companion gets a job of its
   own scheduled after the same back-off, until ``requests_systems_attempts``
   attempts, then ``failed`` with the reason.  Each request is then settled once
   for the batch (:func:`.settle.settle_all`), and the waiting jobs of the
   companions no longer to be attempted are marked done in the same transaction
   (:func:`doorstep.jobs.claim.end_waiting`, decision 0051): no worker runs them
   only to find their task settled.

A worker killed anywhere leaves the tasks ``pending`` or ``running`` under the
lease of its job; the retried job takes them all again (``leased_by`` is the job
id), a companion's own job takes its task once the lease lapses, and every
connector's operation is idempotent (SQL erasure finds nothing left; an HTTP
system sees the task's own idempotency key), so each system's part is done
exactly once in effect.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from doorstep.jobs.claim import end_waiting
from doorstep.jobs.enqueue import enqueue
from doorstep.privacy.connectors.base import Confirmation, ConnectorError, Outcome
from doorstep.privacy.connectors.build import connector_for
from doorstep.privacy.connectors.http import HttpConnector
from doorstep.privacy.connectors.sql import SqlConnector
from doorstep.privacy.datamap.systems import SystemKind
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import SubjectRequest
from doorstep.privacy.requests.services import get
from doorstep.privacy.requests.systems.claim import ACTOR, GO, Claim, claim
from doorstep.privacy.requests.systems.fanout import POLL_TASK, RUN_TASK, queue_run
from doorstep.privacy.requests.systems.models import SETTLED, Operation, RequestSystem, SystemState
from doorstep.privacy.requests.systems.settle import fail, record, settle_all

Answer = Confirmation | ConnectorError


class Retry(Exception):
    """The attempt failed and will be retried (the job raises it; the reason is stored)."""


def _seconds(ctx: RequestContext) -> int:
    return int(ctx.clock.now().timestamp())


def _call(found: Claim) -> dict[uuid.UUID, Answer]:
    """Every taken task's answer (outside any transaction); the connector closed after."""
    connector = found.connector
    if connector is None or not found.taken:
        return {}
    erase = found.operation == Operation.ERASURE.value
    answers: dict[uuid.UUID, Answer] = {}
    try:
        if isinstance(connector, SqlConnector) and len(found.taken) > 1:
            many = connector.many(found.operation, [what.identifiers for _, what in found.taken])
            return {task_id: answer for (task_id, _), answer in zip(found.taken, many, strict=True)}
        for task_id, what in found.taken:
            one = (
                connector.for_task(str(task_id))
                if isinstance(connector, HttpConnector)
                else connector
            )
            try:
                answers[task_id] = (
                    one.erase(what.identifiers) if erase else one.export(what.identifiers)
                )
            except ConnectorError as exc:
                answers[task_id] = exc
    finally:
        connector.close()
    return answers


def _backoff(ctx: RequestContext, session: Session, task: RequestSystem) -> None:
    """Give a companion that failed a job of its own, after the job registry's back-off
    (its own job, if it still waits, retries it sooner)."""
    queue_run(session, task.id, at=ctx.clock.now() + timedelta(seconds=2**task.attempts))


def _settle_one(
    session: Session,
    ctx: RequestContext,
    task: RequestSystem,
    answer: Answer,
    *,
    lead: bool,
) -> str | None:
    """Record one task's answer; the failure reason when it is to be retried by the lead's
    job (companions are rescheduled here)."""
    task.leased_by, task.lease_until = None, None
    if isinstance(answer, Confirmation):
        if (
            task.operation == Operation.ERASURE.value
            and answer.outcome is Outcome.NOT_FOUND
            and task.attempts > 1
        ):
            # an earlier attempt may have erased it before its worker died: what counts
            # is that nothing of the subject is left there
            answer = replace(answer, outcome=Outcome.ERASED)
        state = record(session, ctx, task, answer, actor=ACTOR, settle_now=False)
        system = ctx.policy.systems.systems.get(task.system)
        if state is SystemState.WAITING and system is not None and system.kind is SystemKind.HTTP:
            schedule_poll(session, ctx, task.id)
        return None
    reason = answer.reason
    if task.attempts >= ctx.settings.requests_systems_attempts:
        fail(session, ctx, task, reason, actor=ACTOR)
        return None
    task.state = SystemState.PENDING.value
    task.reason = reason
    if lead:
        return reason
    _backoff(ctx, session, task)
    return None


def _record_all(
    session: Session,
    ctx: RequestContext,
    found: Claim,
    answers: dict[uuid.UUID, Answer],
    lead_id: uuid.UUID,
) -> tuple[str, str | None]:
    """Lock the requests (in id order) and tasks, record every answer; the lead task's
    state and, when it is to be retried, the reason."""
    ids = found.task_ids
    requests = sa.select(RequestSystem.request_id).where(RequestSystem.id.in_(ids))
    # Held for the whole function: the session's identity map keeps only what is referenced,
    # and recording each answer reads its request from there.
    locked = session.scalars(
        sa.select(SubjectRequest)
        .where(SubjectRequest.id.in_(requests))
        .order_by(SubjectRequest.id)
        .with_for_update()
    ).all()
    tasks = session.scalars(
        sa.select(RequestSystem)
        .where(RequestSystem.id.in_(ids))
        .order_by(RequestSystem.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    retry: str | None = None
    lead_state = "gone"
    for task in tasks:
        if task.state in GO and task.leased_by == found.owner:
            answer = answers.get(task.id)
            if answer is None:
                answer = ConnectorError("not reached", reason=found.failures.get(task.id, "failed"))
            reason = _settle_one(session, ctx, task, answer, lead=task.id == lead_id)
            if task.id == lead_id:
                retry = reason
        if task.id == lead_id:
            lead_state = task.state
    settle_all(
        session, ctx, {task.request_id for task in tasks if task.state in SETTLED}, actor=ACTOR
    )
    # Companions no longer to be attempted: their own jobs have nothing left to do.
    ended = [task.id for task in tasks if task.id != lead_id and task.state not in GO]
    end_waiting(session, RUN_TASK, [f"{RUN_TASK}:{task_id}" for task_id in ended])
    del locked
    return lead_state, retry


def attempt(
    ctx: RequestContext,
    sessions: sessionmaker[Session],
    task_id: uuid.UUID,
    *,
    owner: str | None = None,
) -> str:
    """Carry out one attempt at the task (and the companions it takes); the task's state
    after it.  ``owner`` names the attempt (the job's id, the same on its retries).
    Raises :class:`Retry` when the task's own attempt failed and is to be retried."""
    owner = owner or f"attempt:{uuid.uuid4()}"
    with sessions.begin() as session:
        found = claim(session, ctx, task_id, owner)
        if found is None:
            task = session.get(RequestSystem, task_id)
            return task.state if task is not None else "gone"
    answers = _call(found)
    with sessions.begin() as session:
        state, retry = _record_all(session, ctx, found, answers, task_id)
    if retry is not None:
        raise Retry(f"system {found.system.key if found.system else '?'}: {retry}; retried")
    return state


def schedule_poll(session: Session, ctx: RequestContext, task_id: uuid.UUID) -> None:
    """Ask again later how an accepted HTTP task stands (unless a callback comes first)."""
    later = ctx.clock.now() + timedelta(seconds=ctx.settings.requests_systems_poll_seconds)
    enqueue(session, POLL_TASK, task_id=task_id, scheduled_at=later)


def poll(ctx: RequestContext, sessions: sessionmaker[Session], task_id: uuid.UUID) -> str:
    """Ask an HTTP system how its accepted task stands; record the answer, or poll again
    until ``requests_systems_answer_hours`` after the attempt began (then failed: timeout)."""
    services = ctx.require_services()
    with sessions.begin() as session:
        task = session.get(RequestSystem, task_id)
        system = ctx.policy.systems.systems.get(task.system) if task is not None else None
        if task is None or task.state != SystemState.WAITING.value or system is None:
            return task.state if task is not None else "gone"
        if system.kind is not SystemKind.HTTP:
            return task.state
        operation = task.operation
        try:
            connector = connector_for(
                session,
                services.keys.keyring,
                system,
                task_key=str(task.id),
                now=lambda: _seconds(ctx),
            )
        except ConnectorError:
            connector = None
    answer: Confirmation | None = None
    if isinstance(connector, HttpConnector):
        try:
            answer = connector.status(operation)
        except ConnectorError:
            answer = None
        finally:
            connector.close()
    with sessions.begin() as session:
        task = session.get(RequestSystem, task_id)
        assert task is not None
        get(session, task.request_id, lock=True)
        session.refresh(task, with_for_update=True)
        if task.state != SystemState.WAITING.value:
            return task.state
        if answer is not None and answer.outcome is not Outcome.PENDING:
            return record(session, ctx, task, answer, actor=ACTOR).value
        began = task.started_at or task.created_at
        if ctx.clock.now() >= began + timedelta(hours=ctx.settings.requests_systems_answer_hours):
            fail(session, ctx, task, "timeout", actor=ACTOR)
            return task.state
        schedule_poll(session, ctx, task.id)
        return task.state
