"""Carry out the deletions completion events schedule, when they are due.

:func:`carry_out_due` takes the due events (``scheduled`` with ``due_at`` and
any back-off passed, and ``held`` ones, to see whether their hold still
stands) one by one, each in three steps so that no database transaction is
held while a slow system works (as a request's per-system job does,
:mod:`doorstep.privacy.requests.systems.run`):

1. lock the event (``SKIP LOCKED``: two workers never take the same one) and
   decide: a standing legal hold of its subject on everything or on
   ``completion_events`` -> ``held`` (audited ``completion.held``, reported by
   the API and CLI; back to ``scheduled`` once released); a manual system ->
   ``manual`` (a task for the desk, ``completion.manual``); otherwise count the
   attempt and build the connector;
2. erase the record through the connector outside any transaction: the SQL
   connector deletes or anonymises the rows keyed by the record's identifier
   (an order number, an account id) in one transaction of the system; an HTTP
   system gets a signed erasure under the event's id as idempotency key;
3. lock the event again and record ``done`` (rows changed; finding nothing is
   done too: an earlier attempt may have erased it before its worker died), or
   the failure: retried at the next run after a back-off of 2^attempts minutes,
   ``failed`` with the reason after ``requests_systems_attempts`` attempts.

A worker killed anywhere leaves the event ``scheduled``; the next run erases
again, which changes nothing more.  Audit events carry ids and codes only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from doorstep.audit.entries import system_actor
from doorstep.audit.services import record as audit
from doorstep.privacy.connectors.base import ConnectorError, Identifiers, Outcome
from doorstep.privacy.connectors.build import Built, connector_for
from doorstep.privacy.connectors.completions.models import CompletionEvent, CompletionState
from doorstep.privacy.connectors.completions.record import PURPOSE
from doorstep.privacy.datamap.systems import SystemKind
from doorstep.privacy.holds import services as holds
from doorstep.services import Services

ACTOR = system_actor("connectors.completions")
TABLE = CompletionEvent.__tablename__


@dataclass
class Carried:
    """What one run did, by the state each event it touched ended in."""

    states: dict[str, int] = field(default_factory=dict)

    def count(self, state: str) -> None:
        """One more event ended in ``state``."""
        self.states[state] = self.states.get(state, 0) + 1

    @property
    def total(self) -> int:
        """Events touched."""
        return sum(self.states.values())


def _audit(session: Session, row: CompletionEvent, action: str, **details: str | int) -> None:
    audit(
        session,
        action=action,
        actor=ACTOR,
        subject_id=row.subject_id,
        purpose=PURPOSE,
        details={"event": str(row.id), "system": row.system, "kind": row.kind, **details},
    )


def _due(session: Session, services: Services, after: set[uuid.UUID]) -> uuid.UUID | None:
    now = services.runtime.clock.now()
    return session.scalar(
        sa.select(CompletionEvent.id)
        .where(
            CompletionEvent.done_at.is_(None),
            CompletionEvent.due_at <= now,
            sa.or_(
                sa.and_(
                    CompletionEvent.state == CompletionState.SCHEDULED.value,
                    sa.or_(
                        CompletionEvent.next_attempt_at.is_(None),
                        CompletionEvent.next_attempt_at <= now,
                    ),
                ),
                sa.and_(
                    CompletionEvent.state == CompletionState.HELD.value,
                    CompletionEvent.reason == "legal_hold",
                ),
            ),
            CompletionEvent.id.not_in(after) if after else sa.true(),
        )
        .order_by(CompletionEvent.due_at, CompletionEvent.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def _held(session: Session, row: CompletionEvent) -> bool:
    if row.subject_id is None:
        return False
    return holds.held(session, row.subject_id).table(TABLE)


def _begin(
    session: Session, services: Services, event_id: uuid.UUID
) -> tuple[CompletionEvent, Built, Identifiers] | str:
    """Step 1 on the locked event: the connector to call, or the state it ended in."""
    row = session.get(CompletionEvent, event_id, with_for_update=True)
    assert row is not None
    now = services.runtime.clock.now()
    if _held(session, row):
        if row.state != CompletionState.HELD.value:
            row.state, row.reason = CompletionState.HELD.value, "legal_hold"
            bases = sorted({hold.basis for hold in holds.standing(session, row.subject_id)})  # type: ignore[arg-type]
            _audit(session, row, "completion.held", bases=":".join(bases))
        return row.state
    if row.state == CompletionState.HELD.value:
        row.state, row.reason = CompletionState.SCHEDULED.value, None
        _audit(session, row, "completion.resumed")
    elif row.state != CompletionState.SCHEDULED.value or (
        row.next_attempt_at is not None and row.next_attempt_at > now
    ):
        return row.state  # another worker took it meanwhile
    system = services.pack.systems.systems.get(row.system)
    completion = system.completions.get(row.kind) if system is not None else None
    if system is None or completion is None:
        row.state, row.reason, row.attempts = CompletionState.FAILED.value, "undeclared", 1
        _audit(session, row, "completion.failed", reason="undeclared")
        return row.state
    if system.kind is SystemKind.MANUAL or completion.identifier is None:
        row.state = CompletionState.MANUAL.value
        _audit(session, row, "completion.manual")
        return row.state
    row.attempts += 1
    row.next_attempt_at = now + timedelta(minutes=2**row.attempts)
    keyring = services.keys.keyring
    connector = connector_for(
        session,
        keyring,
        system,
        task_key=str(row.id),
        now=lambda: int(services.runtime.clock.now().timestamp()),
    )
    return row, connector, Identifiers.of(**{completion.identifier.value: row.record_id})


def attempt(services: Services, sessions: sessionmaker[Session], event_id: uuid.UUID) -> str:
    """Carry out one due event (see the module docstring); the state it ends in."""
    failure: str | None = None
    outcome = None
    with sessions.begin() as session:
        try:
            begun = _begin(session, services, event_id)
        except ConnectorError as exc:
            begun, failure = "", exc.reason
    if isinstance(begun, tuple):
        _, connector, identifiers = begun
        try:
            outcome = connector.erase(identifiers)
        except ConnectorError as exc:
            failure = exc.reason
        finally:
            connector.close()
    elif failure is None:
        return begun
    with sessions.begin() as session:
        row = session.get(CompletionEvent, event_id, with_for_update=True)
        assert row is not None
        if row.state != CompletionState.SCHEDULED.value:
            return row.state
        now = services.runtime.clock.now()
        if outcome is not None and outcome.outcome in (Outcome.ERASED, Outcome.NOT_FOUND):
            row.state, row.reason, row.rows = CompletionState.DONE.value, None, outcome.rows
            row.evidence, row.done_at, row.next_attempt_at = outcome.evidence or None, now, None
            _audit(session, row, "completion.done", rows=outcome.rows)
            return row.state
        if outcome is not None and outcome.outcome is Outcome.RETAINED:
            row.state, row.reason = CompletionState.HELD.value, "legal_retention"
            _audit(session, row, "completion.held", reason="legal_retention")
            return row.state
        reason = failure or "pending"  # an HTTP system that answers later: asked again
        row.reason = reason
        if row.attempts >= services.runtime.settings.requests_systems_attempts:
            row.state, row.next_attempt_at = CompletionState.FAILED.value, None
            _audit(session, row, "completion.failed", reason=reason)
        return row.state


def carry_out_due(
    services: Services, sessions: sessionmaker[Session], *, limit: int = 1000
) -> Carried:
    """Carry out every due event, up to ``limit`` of them; what happened, by state."""
    result = Carried()
    seen: set[uuid.UUID] = set()
    while len(seen) < limit:
        with sessions.begin() as session:
            event_id = _due(session, services, seen)
        if event_id is None:
            break
        seen.add(event_id)
        result.count(attempt(services, sessions, event_id))
    return result
