"""One attempt at one system's part of a request: the body of the per-system jobs.

:func:`attempt` works in three steps so that no database transaction is held
while a slow system works:

1. lock the task; skip it when it is settled, waiting or failed; an erasure of a
   subject under a standing legal hold is settled as ``excepted: legal_hold``
   (Doorstep's own erasure is deferred until the release, which re-runs it);
   otherwise mark it ``running``, count the attempt and open what it carries;
2. call the connector outside any transaction (timeouts are the connector's);
3. lock the request and the task again and record the outcome
   (:func:`.settle.record`), or the failure: retried (:class:`Retry`, the job's
   back-off) until ``requests_systems_attempts`` attempts, then ``failed`` with
   the reason.

A worker killed anywhere leaves the task ``pending`` or ``running``; the
retried job does it again, and every connector's operation is idempotent (SQL
erasure finds nothing left; an HTTP system sees the same idempotency key), so
each system's part is done exactly once in effect.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from doorstep.audit.entries import system_actor
from doorstep.jobs.enqueue import enqueue
from doorstep.privacy.connectors.base import Confirmation, ConnectorError, Outcome
from doorstep.privacy.connectors.build import Built, connector_for
from doorstep.privacy.connectors.http import HttpConnector
from doorstep.privacy.datamap.systems import SystemKind
from doorstep.privacy.holds import services as holds
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.services import get
from doorstep.privacy.requests.systems.fanout import POLL_TASK
from doorstep.privacy.requests.systems.models import (
    Excepted,
    Operation,
    RequestSystem,
    SystemState,
)
from doorstep.privacy.requests.systems.sealing import Carried, SealError, carried
from doorstep.privacy.requests.systems.settle import fail, record

ACTOR = system_actor("requests.systems")
_GO = (SystemState.PENDING.value, SystemState.RUNNING.value)


class Retry(Exception):
    """The attempt failed and will be retried (the job raises it; the reason is stored)."""


def _seconds(ctx: RequestContext) -> int:
    return int(ctx.clock.now().timestamp())


def _begin(
    session: Session, ctx: RequestContext, task_id: uuid.UUID
) -> tuple[RequestSystem, Built, Carried] | None:
    task = session.get(RequestSystem, task_id, with_for_update=True)
    if task is None or task.state not in _GO:
        return None
    request = get(session, task.request_id)
    if request.closed_at is not None:
        return None
    if task.operation == Operation.ERASURE.value and holds.standing(session, task.subject_id):
        record(
            session,
            ctx,
            task,
            Confirmation(task.system, Outcome.NOT_FOUND),
            actor=ACTOR,
            exception=Excepted.LEGAL_HOLD,
        )
        return None
    system = ctx.policy.systems.systems.get(task.system)
    services = ctx.require_services()
    task.attempts += 1
    task.started_at = ctx.clock.now()
    task.state = SystemState.RUNNING.value
    if system is None:
        raise ConnectorError(f"system {task.system} is not declared", reason="undeclared")
    what = carried(services.keys.keyring, task)
    connector = connector_for(
        session, services.keys.keyring, system, task_key=str(task.id), now=lambda: _seconds(ctx)
    )
    return task, connector, what


def _call(connector: Built, operation: str, what: Carried) -> Confirmation:
    try:
        if operation == Operation.ERASURE.value:
            return connector.erase(what.identifiers)
        return connector.export(what.identifiers)
    finally:
        connector.close()


def attempt(ctx: RequestContext, sessions: sessionmaker[Session], task_id: uuid.UUID) -> str:
    """Carry out one attempt at the task; its state after it.  Raises :class:`Retry`."""
    failure: str | None = None
    try:
        with sessions.begin() as session:
            begun = _begin(session, ctx, task_id)
    except (ConnectorError, SealError) as exc:
        begun = None
        failure = exc.reason if isinstance(exc, ConnectorError) else "sealed"
    confirmation: Confirmation | None = None
    via_http = False
    if begun is not None:
        started, connector, what = begun
        via_http = isinstance(connector, HttpConnector)
        try:
            confirmation = _call(connector, started.operation, what)
        except ConnectorError as exc:
            failure = exc.reason
    with sessions.begin() as session:
        found = session.get(RequestSystem, task_id)
        if found is None:
            return "gone"
        task = found
        get(session, task.request_id, lock=True)
        session.refresh(task, with_for_update=True)
        if failure is None and confirmation is None:
            return task.state
        if task.state not in _GO:
            return task.state  # settled meanwhile (a callback, the desk)
        if confirmation is not None:
            if (
                task.operation == Operation.ERASURE.value
                and confirmation.outcome is Outcome.NOT_FOUND
                and task.attempts > 1
            ):
                # an earlier attempt may have erased it before its worker died: what
                # counts is that nothing of the subject is left there
                confirmation = replace(confirmation, outcome=Outcome.ERASED)
            state = record(session, ctx, task, confirmation, actor=ACTOR)
            if state is SystemState.WAITING and via_http:
                schedule_poll(session, ctx, task.id)
            return state.value
        assert failure is not None
        if begun is None:
            task.attempts += 1  # the attempt failed before the system was reached
        if task.attempts >= ctx.settings.requests_systems_attempts:
            fail(session, ctx, task, failure, actor=ACTOR)
            return task.state
        task.state = SystemState.PENDING.value
        task.reason = failure
    raise Retry(f"system {task.system}: {failure}; retried")


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
