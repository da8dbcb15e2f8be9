"""Claim a connected system's tasks for one attempt: the task the job names and fresh others.

An attempt (:mod:`.run`) begins with :func:`claim`, in one short transaction:

* it locks the **lead** task (the one its job names).  It leaves it alone when it
  is settled, waiting or failed, when its request is closed, or when another
  attempt holds it under a live lease (a batch took it along; that attempt
  records it).  An erasure of a subject under a standing legal hold is settled
  as ``excepted: legal_hold`` instead (Doorstep's own erasure is deferred until
  the release, which re-runs it);
* it takes up to ``requests_systems_batch - 1`` **companions**: tasks of the same
  system and operation that no attempt has tried yet (``pending``, no attempts),
  of open requests, of subjects under no standing hold, oldest first, skipping
  rows another transaction has locked; on a retry of an attempt that died, also
  the tasks that attempt still holds (``leased_by`` the same job);
* each task taken is marked ``running``, its attempt counted, and leased to the
  attempt (``leased_by``, ``lease_until``: long enough for every call of the
  batch to time out once, plus a minute); its sealed identifiers are opened;
* the system's connector is got once for all of them.

A task whose identifiers do not open, or whose system is not declared or has no
usable credentials, is taken with that failure instead of identifiers: the
attempt records it without calling anything.  Companions' own jobs later find
their tasks settled or held and end at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import system_actor
from doorstep.privacy.connectors.base import Confirmation, ConnectorError, Outcome
from doorstep.privacy.connectors.build import Built, connector_for
from doorstep.privacy.datamap.systems import ConnectedSystem
from doorstep.privacy.holds import services as holds
from doorstep.privacy.holds.models import LegalHold
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import SubjectRequest
from doorstep.privacy.requests.services import get
from doorstep.privacy.requests.systems.models import (
    Excepted,
    Operation,
    RequestSystem,
    SystemState,
)
from doorstep.privacy.requests.systems.sealing import Carried, SealError, carried
from doorstep.privacy.requests.systems.settle import record

ACTOR = system_actor("requests.systems")
GO = (SystemState.PENDING.value, SystemState.RUNNING.value)
#: Added to a batch's summed timeouts: the lease outlives every call the batch makes.
LEASE_MARGIN = timedelta(seconds=60)


@dataclass
class Claim:
    """What one attempt took: tasks with their identifiers, and failures found early."""

    owner: str
    operation: str
    system: ConnectedSystem | None
    taken: list[tuple[uuid.UUID, Carried]] = field(default_factory=list)
    #: Tasks taken that fail without a call: task id -> reason code.
    failures: dict[uuid.UUID, str] = field(default_factory=dict)
    connector: Built | None = None

    @property
    def task_ids(self) -> list[uuid.UUID]:
        """Every task this attempt took, called or not."""
        return [task_id for task_id, _ in self.taken] + list(self.failures)


def held_elsewhere(task: RequestSystem, owner: str, now: datetime) -> bool:
    """Whether another attempt holds ``task`` under a lease that has not lapsed."""
    return (
        task.state == SystemState.RUNNING.value
        and task.leased_by is not None
        and task.leased_by != owner
        and task.lease_until is not None
        and task.lease_until > now
    )


def _companions(
    session: Session, lead: RequestSystem, owner: str, limit: int
) -> list[RequestSystem]:
    if limit <= 0:
        return []
    standing = sa.exists().where(
        LegalHold.subject_id == RequestSystem.subject_id, LegalHold.released_at.is_(None)
    )
    fresh = sa.and_(RequestSystem.state == SystemState.PENDING.value, RequestSystem.attempts == 0)
    if lead.leased_by == owner:  # a retry of an attempt that died: what it still holds too
        fresh = sa.or_(
            fresh,
            sa.and_(
                RequestSystem.state == SystemState.RUNNING.value,
                RequestSystem.leased_by == owner,
            ),
        )
    query = (
        sa.select(RequestSystem)
        .join(SubjectRequest, SubjectRequest.id == RequestSystem.request_id)
        .where(
            RequestSystem.system == lead.system,
            RequestSystem.operation == lead.operation,
            RequestSystem.id != lead.id,
            SubjectRequest.closed_at.is_(None),
            fresh,
        )
        .order_by(RequestSystem.created_at, RequestSystem.id)
        .limit(limit)
        .with_for_update(of=RequestSystem, skip_locked=True)
    )
    if lead.operation == Operation.ERASURE.value:
        query = query.where(~standing)
    return list(session.scalars(query))


def _lead(
    session: Session, ctx: RequestContext, task_id: uuid.UUID, owner: str
) -> RequestSystem | None:
    task = session.get(RequestSystem, task_id, with_for_update=True)
    if task is None or task.state not in GO or held_elsewhere(task, owner, ctx.clock.now()):
        return None
    if get(session, task.request_id).closed_at is not None:
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
    return task


def claim(session: Session, ctx: RequestContext, task_id: uuid.UUID, owner: str) -> Claim | None:
    """Take the task ``task_id`` and its companions for the attempt ``owner`` (see the
    module docstring); None when the task is not this attempt's to carry out."""
    lead = _lead(session, ctx, task_id, owner)
    if lead is None:
        return None
    batch = [lead, *_companions(session, lead, owner, ctx.settings.requests_systems_batch - 1)]
    system = ctx.policy.systems.systems.get(lead.system)
    keyring = ctx.require_services().keys.keyring
    now = ctx.clock.now()
    timeout = system.timeout_seconds if system is not None else 0
    until = now + timedelta(seconds=timeout * len(batch)) + LEASE_MARGIN
    found = Claim(owner, lead.operation, system)
    for task in batch:
        task.attempts += 1
        task.started_at = now
        task.state = SystemState.RUNNING.value
        task.leased_by, task.lease_until = owner, until
        if system is None:
            found.failures[task.id] = "undeclared"
            continue
        try:
            found.taken.append((task.id, carried(keyring, task)))
        except SealError:
            found.failures[task.id] = "sealed"
    if system is not None and found.taken:
        try:
            found.connector = connector_for(
                session,
                keyring,
                system,
                task_key=str(found.taken[0][0]),
                now=lambda: int(ctx.clock.now().timestamp()),
            )
        except ConnectorError as exc:
            found.failures.update({task_id: exc.reason for task_id, _ in found.taken})
            found.taken = []
    session.flush()
    return found
