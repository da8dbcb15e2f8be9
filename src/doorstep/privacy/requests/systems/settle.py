"""Record a system's outcome and complete the request once every part is done.

A request with tasks in connected systems completes only when every task is
settled (``done``, ``not_found`` or ``excepted`` with a recorded reason) and
Doorstep's own part is done:

* deletion — Doorstep's own erasure runs at once in its own job and never waits
  on a system (:func:`~doorstep.privacy.requests.erasure_requests.erase_for_request`
  leaves the request open while a task is outstanding); whichever finishes last
  — that job or a system's — completes the request and tells the requester at
  the address sealed in the tasks;
* access and portability — the export job waits (builds nothing) while a task
  is outstanding; the last system to settle queues it again, and it merges every
  system's part into the one ZIP (:func:`parts`).

Every step locks the request row first, so two last finishers complete it once.
Sealed identifiers, addresses and parts are emptied when the request closes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.keys.interfaces import Keyring
from doorstep.privacy.connectors.base import Confirmation, Outcome
from doorstep.privacy.requests import notices
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.fulfil import EXPORT_TASK, _queue_once
from doorstep.privacy.requests.models import ErasureTombstone, RequestKind, SubjectRequest
from doorstep.privacy.requests.services import audit, complete, get
from doorstep.privacy.requests.systems.models import (
    SETTLED,
    Excepted,
    Operation,
    RequestSystem,
    SystemState,
)
from doorstep.privacy.requests.systems.sealing import SealError, carried, open_json, seal_json

_STATE = {
    Outcome.ERASED: SystemState.DONE,
    Outcome.EXPORTED: SystemState.DONE,
    Outcome.FOUND: SystemState.DONE,
    Outcome.NOT_FOUND: SystemState.NOT_FOUND,
    Outcome.RETAINED: SystemState.EXCEPTED,
    Outcome.PENDING: SystemState.WAITING,
}
_UNSETTLED = [state.value for state in SystemState if state not in SETTLED]


def tasks_of(session: Session, request_id: uuid.UUID) -> list[RequestSystem]:
    """The request's tasks, by system key."""
    return list(
        session.scalars(
            sa.select(RequestSystem)
            .where(RequestSystem.request_id == request_id)
            .order_by(RequestSystem.system)
        )
    )


def outstanding(session: Session, request_id: uuid.UUID) -> bool:
    """Whether a task of the request is not settled yet (pending, running, waiting, failed)."""
    return request_id in outstanding_among(session, [request_id])


def outstanding_among(session: Session, request_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The requests of ``request_ids`` with a task not settled yet, in one query."""
    wanted = list(request_ids)
    if not wanted:
        return set()
    query = sa.select(RequestSystem.request_id).where(
        RequestSystem.request_id.in_(wanted), RequestSystem.state.in_(_UNSETTLED)
    )
    return set(session.scalars(query.distinct()))


def record(
    session: Session,
    ctx: RequestContext,
    task: RequestSystem,
    confirmation: Confirmation,
    *,
    actor: str,
    exception: Excepted | None = None,
    settle_now: bool = True,
) -> SystemState:
    """Store what the system confirmed on ``task`` (locked by the caller, with its request);
    audited, then :func:`settle` (unless ``settle_now`` is false: a caller recording many
    tasks settles their requests once each, :func:`settle_all`).  ``exception`` records
    why a settled part was not carried out."""
    state = SystemState.EXCEPTED if exception is not None else _STATE[confirmation.outcome]
    if confirmation.outcome is Outcome.RETAINED:
        exception = Excepted.LEGAL_RETENTION
    now = ctx.clock.now()
    task.state = state.value
    task.reason = None
    task.exception = exception.value if exception is not None else None
    task.rows = confirmation.rows
    task.evidence = confirmation.evidence or task.evidence
    if confirmation.outcome is Outcome.EXPORTED:
        keyring = ctx.require_services().keys.keyring
        task.result = seal_json(keyring, task, "result", dict(confirmation.data))
    if state in SETTLED:
        task.finished_at = now
    session.flush()
    details = {"system": task.system, "state": state.value}
    if task.exception:
        details["exception"] = task.exception
    if task.evidence:
        details["evidence"] = task.evidence
    audit(session, _loaded(session, task.request_id), "system_settled", actor, **details)
    if state in SETTLED and settle_now:
        settle(session, ctx, task.request_id, actor=actor)
    return state


def _loaded(session: Session, request_id: uuid.UUID) -> SubjectRequest:
    """The request as this session holds it (its caller locked it), else read."""
    return session.get(SubjectRequest, request_id) or get(session, request_id)


def fail(
    session: Session, ctx: RequestContext, task: RequestSystem, reason: str, *, actor: str
) -> None:
    """Mark ``task`` failed with ``reason`` (a short code); the desk may re-run it."""
    task.state = SystemState.FAILED.value
    task.reason = reason
    task.finished_at = ctx.clock.now()
    session.flush()
    audit(
        session,
        get(session, task.request_id),
        "system_failed",
        actor,
        system=task.system,
        reason=reason,
    )


def own_parts_done(session: Session, request_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The requests whose own erasure is complete: their tombstones name them (a partial
    erasure under a legal hold never writes one)."""
    wanted = list(request_ids)
    if not wanted:
        return set()
    found = session.scalars(
        sa.select(ErasureTombstone.request_id).where(ErasureTombstone.request_id.in_(wanted))
    )
    return {request_id for request_id in found if request_id is not None}


def reach_of(keyring: Keyring, tasks: list[RequestSystem]) -> notices.Reach | None:
    """The requester's address sealed in the tasks (read before Doorstep's own erasure)."""
    for task in tasks:
        if task.sealed is None:
            continue
        try:
            found = carried(keyring, task).reach
        except SealError:
            continue
        if found is not None:
            return found
    return None


def forget(session: Session, request_id: uuid.UUID | Sequence[uuid.UUID]) -> None:
    """Empty the sealed identifiers, addresses and parts of closed requests' tasks."""
    closed = [request_id] if isinstance(request_id, uuid.UUID) else list(request_id)
    if not closed:
        return
    session.execute(
        sa.update(RequestSystem)
        .where(RequestSystem.request_id.in_(closed))
        .values(sealed=None, result=None, wrapped_key=None, kek_id=None)
    )


def settle(
    session: Session, ctx: RequestContext, request_id: uuid.UUID, *, actor: str
) -> SubjectRequest:
    """Complete the request if every task is settled and Doorstep's own part is done; the
    request as it stands after (:func:`settle_all` for one)."""
    settle_all(session, ctx, [request_id], actor=actor)
    return _loaded(session, request_id)


def settle_all(
    session: Session, ctx: RequestContext, request_ids: Iterable[uuid.UUID], *, actor: str
) -> None:
    """:func:`settle` for each of ``request_ids`` (locked by the caller, in id order), with
    one query each for their open tasks and for their own parts' tombstones."""
    wanted = sorted(set(request_ids))
    if not wanted:
        return
    rows = session.scalars(
        sa.select(SubjectRequest)
        .where(SubjectRequest.id.in_(wanted), SubjectRequest.closed_at.is_(None))
        .order_by(SubjectRequest.id)
        .with_for_update()
    ).all()
    busy = outstanding_among(session, wanted)
    erased = own_parts_done(session, wanted)
    keyring = ctx.require_services().keys.keyring
    closed = []
    for row in rows:
        if row.id in busy:
            continue
        if row.kind is not RequestKind.DELETION:
            _queue_once(session, EXPORT_TASK, row.id)  # the export job merges every part
        elif row.id in erased:
            to = reach_of(keyring, tasks_of(session, row.id))
            complete(session, ctx, row.id, actor=actor, reach=to)
            closed.append(row.id)
    forget(session, closed)


def parts(
    session: Session, keyring: Keyring, request_id: uuid.UUID, names: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Every task's part for the export ZIP, by system: name, state, exception, data."""
    found: dict[str, dict[str, Any]] = {}
    for task in tasks_of(session, request_id):
        if task.operation != Operation.ACCESS.value:
            continue
        data: dict[str, Any] = {}
        if task.result is not None:
            data = dict(open_json(keyring, task, "result"))
        found[task.system] = {
            "name": names.get(task.system, task.system),
            "state": task.state,
            "exception": task.exception,
            "evidence": task.evidence,
            "data": data,
        }
    return found
