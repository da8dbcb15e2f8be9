"""One attempt at telling an HTTP system of a withdrawal: the body of its job.

:func:`attempt` works in three steps, so that no transaction of Doorstep's is
held while the system answers (as a request's per-system job does):

1. lock the row; skip it unless ``pending`` or ``running``; mark it ``running``,
   count the attempt, read the subject's identifiers from the account (e-mail,
   phone, account id: never stored in the row or the job);
2. call the connector's signed ``withdraw`` outside any transaction, under the
   row's id as idempotency key (the same on every retry, so the system acts once);
3. lock the row again and record ``done`` (or ``not_found``: the system holds no
   one by those identifiers) with its evidence, or the failure: retried
   (:class:`Retry`, the job registry's exponential back-off) until
   ``requests_systems_attempts`` attempts, then ``failed`` with the reason and
   audited ``withdrawal.failed`` — the console shows it and may re-run it.

An ``accepted`` answer ("later") is asked again on the next attempt under the
same key.  A worker killed anywhere leaves the row ``pending`` or ``running``;
the retried job calls again with the same key, which the system answers as
before.  Logs and audit entries carry ids and codes only.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from doorstep.accounts.account.models import Account
from doorstep.audit.entries import system_actor
from doorstep.audit.services import record as audit
from doorstep.privacy.connectors.base import Confirmation, ConnectorError, Identifiers, Outcome
from doorstep.privacy.connectors.build import connector_for
from doorstep.privacy.connectors.http import HttpConnector
from doorstep.privacy.connectors.manual import ManualConnector
from doorstep.privacy.connectors.withdrawals.fanout import PURPOSE
from doorstep.privacy.connectors.withdrawals.models import SystemWithdrawal, WithdrawalState
from doorstep.services import Services

ACTOR = system_actor("connectors.withdrawals")
_GO = (WithdrawalState.PENDING.value, WithdrawalState.RUNNING.value)
_SETTLED = {Outcome.WITHDRAWN: WithdrawalState.DONE, Outcome.NOT_FOUND: WithdrawalState.NOT_FOUND}


class Retry(Exception):
    """The attempt failed and will be retried (the job raises it; the reason is stored)."""


def identifiers_of(session: Session, subject_id: uuid.UUID) -> Identifiers:
    """What Doorstep knows to find the subject elsewhere: e-mail, phone, account id."""
    found = session.execute(
        sa.select(Account.email, Account.phone).where(Account.id == subject_id)
    ).one_or_none()
    email, phone = (found.email, found.phone) if found is not None else (None, None)
    return Identifiers.of(email=email, phone=phone, account_id=str(subject_id))


def audit_row(
    session: Session, row: SystemWithdrawal, action: str, actor: str, **more: str
) -> None:
    """Record ``withdrawal.<action>`` for ``row`` (ids and codes only)."""
    audit(
        session,
        action=f"withdrawal.{action}",
        actor=actor,
        subject_id=row.subject_id,
        purpose=PURPOSE,
        details={
            "task": str(row.id),
            "system": row.system,
            "consent_purpose": row.purpose,
            "cause": row.cause,
            **more,
        },
    )


def settle(
    session: Session,
    row: SystemWithdrawal,
    outcome: Outcome,
    evidence: str,
    *,
    actor: str,
    now: datetime,
) -> str:
    """Record a settling answer on the locked ``row``; its state."""
    state = _SETTLED[outcome]
    row.state, row.reason = state.value, None
    row.evidence = evidence or row.evidence
    row.finished_at = now
    details = {"state": state.value, **({"evidence": row.evidence} if row.evidence else {})}
    audit_row(session, row, "settled", actor, **details)
    return row.state


def _begin(
    session: Session, services: Services, task_id: uuid.UUID
) -> tuple[SystemWithdrawal, HttpConnector, Identifiers] | None:
    row = session.get(SystemWithdrawal, task_id, with_for_update=True)
    if row is None or row.state not in _GO:
        return None
    row.attempts += 1
    row.started_at = services.runtime.clock.now()
    row.state = WithdrawalState.RUNNING.value
    system = services.pack.systems.systems.get(row.system)
    if system is None:
        raise ConnectorError(f"system {row.system} is not declared", reason="undeclared")
    connector = connector_for(
        session,
        services.keys.keyring,
        system,
        task_key=str(row.id),
        now=lambda: int(services.runtime.clock.now().timestamp()),
    )
    if not isinstance(connector, HttpConnector):
        if not isinstance(connector, ManualConnector):
            connector.close()
        raise ConnectorError(f"system {row.system}: no withdraw call", reason="kind")
    return row, connector, identifiers_of(session, row.subject_id)


def attempt(services: Services, sessions: sessionmaker[Session], task_id: uuid.UUID) -> str:
    """Carry out one attempt; the row's state after it.  Raises :class:`Retry`."""
    failure: str | None = None
    answer: Confirmation | None = None
    purpose = ""
    try:
        with sessions.begin() as session:
            begun = _begin(session, services, task_id)
            if begun is not None:
                purpose = begun[0].purpose
    except ConnectorError as exc:
        begun, failure = None, exc.reason
    if begun is not None:
        _, connector, identifiers = begun
        try:
            answer = connector.withdraw(identifiers, (purpose,))
        except ConnectorError as exc:
            failure = exc.reason
        finally:
            connector.close()
    with sessions.begin() as session:
        row = session.get(SystemWithdrawal, task_id, with_for_update=True)
        if row is None:
            return "gone"  # the subject was erased meanwhile: their erasure reaches the system
        if (failure is None and answer is None) or row.state not in _GO:
            return row.state
        now = services.runtime.clock.now()
        if answer is not None and answer.outcome in _SETTLED:
            return settle(session, row, answer.outcome, answer.evidence, actor=ACTOR, now=now)
        reason = failure or ("pending" if answer is not None else "failed")
        if answer is not None and answer.outcome is not Outcome.PENDING:
            reason = "garbage"  # an answer that is no answer to a withdrawal
        if begun is None:
            row.attempts += 1  # failed before the system was reached (that count rolled back)
        row.reason = reason
        if row.attempts >= services.runtime.settings.requests_systems_attempts:
            row.state, row.finished_at = WithdrawalState.FAILED.value, now
            audit_row(session, row, "failed", ACTOR, reason=reason)
            return row.state
        row.state = WithdrawalState.PENDING.value
    raise Retry(f"system withdrawal {task_id}: {reason}; retried")
