"""The desk's side of withdrawals told to connected systems: list, confirm by hand, re-run.

* :func:`listing` — the rows, newest first (of one state or system when asked),
  each as a :class:`WithdrawalView`: ids, codes and instants; a manual system's
  waiting task also carries the identifiers to look for, **only** for a role that
  may read the account's e-mail and phone for the privacy desk
  (:func:`~doorstep.privacy.connectors.shown.may_see`), and the view is audited
  ``withdrawal.listed`` with how many were shown;
* :func:`confirm` — the desk stopped the purpose in a manual system by hand
  (``done``) or found no one (``not_found``), with an evidence reference (letters,
  digits, ``._:-``); anything but a waiting manual task is a ConflictError;
* :func:`rerun` — a failed task back to work, with a fresh count of attempts.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record as audit
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.connectors.base import Outcome
from doorstep.privacy.connectors.shown import may_see
from doorstep.privacy.connectors.withdrawals.fanout import PURPOSE, queue_run
from doorstep.privacy.connectors.withdrawals.models import SystemWithdrawal, WithdrawalState
from doorstep.privacy.connectors.withdrawals.run import audit_row, identifiers_of, settle
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.systems import SystemKind
from doorstep.privacy.purposes import PurposeGate
from doorstep.staff.models import StaffRole

_EVIDENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
#: What the desk may record of a manual system.
MANUAL_OUTCOMES = {"done": Outcome.WITHDRAWN, "not_found": Outcome.NOT_FOUND}
#: The account elements a manual task's identifiers come from.
_LOOK_FOR_ELEMENTS = ("accounts.email", "accounts.phone")


@dataclass(frozen=True, slots=True)
class WithdrawalView:
    """One system's withdrawal task as the desk sees it."""

    id: uuid.UUID
    subject_id: uuid.UUID
    system: str
    name: str
    kind: str
    purpose: str
    cause: str
    state: str
    attempts: int
    reason: str | None
    evidence: str | None
    due_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    look_for: dict[str, list[str]] | None
    #: True when identifiers exist but the role may not see them.
    withheld: bool = False


def _check_state(state: str | None) -> None:
    if state is not None and state not in {item.value for item in WithdrawalState}:
        raise InvalidInputError.of("state", "withdrawal_state", "no such state")


def listing(
    session: Session,
    pack: PolicyPack,
    gate: PurposeGate,
    role: StaffRole,
    *,
    actor: str,
    state: str | None = None,
    system: str | None = None,
    limit: int = 500,
) -> list[WithdrawalView]:
    """The rows (see the module docstring), newest first; audited when any is shown."""
    _check_state(state)
    query = sa.select(SystemWithdrawal)
    if state is not None:
        query = query.where(SystemWithdrawal.state == state)
    if system:
        query = query.where(SystemWithdrawal.system == system)
    rows = session.scalars(
        query.order_by(SystemWithdrawal.created_at.desc(), SystemWithdrawal.id).limit(limit)
    )
    shows = all(may_see(gate, role, element) for element in _LOOK_FOR_ELEMENTS)
    views = []
    for row in rows:
        declared = pack.systems.systems.get(row.system)
        kind = declared.kind.value if declared is not None else "undeclared"
        manual = kind == SystemKind.MANUAL.value and row.state == WithdrawalState.WAITING.value
        look_for = None
        if manual and shows and declared is not None:
            look_for = identifiers_of(session, row.subject_id).for_system(declared).as_json()
        views.append(
            WithdrawalView(
                id=row.id,
                subject_id=row.subject_id,
                system=row.system,
                name=declared.name if declared is not None else row.system,
                kind=kind,
                purpose=row.purpose,
                cause=row.cause,
                state=row.state,
                attempts=row.attempts,
                reason=row.reason,
                evidence=row.evidence,
                due_at=row.due_at,
                created_at=row.created_at,
                finished_at=row.finished_at,
                look_for=look_for,
                withheld=manual and not shows,
            )
        )
    if views:
        audit(
            session,
            action="withdrawal.listed",
            actor=actor,
            purpose=PURPOSE,
            details={
                "count": len(views),
                "identifiers": sum(1 for view in views if view.look_for),
            },
        )
    return views


def _locked(session: Session, task_id: uuid.UUID) -> SystemWithdrawal:
    row = session.get(SystemWithdrawal, task_id, with_for_update=True)
    if row is None:
        raise NotFoundError("no such withdrawal task")
    return row


def confirm(
    session: Session,
    clock: Clock,
    pack: PolicyPack,
    task_id: uuid.UUID,
    *,
    outcome: str,
    evidence: str,
    actor: str,
) -> SystemWithdrawal:
    """The desk's outcome of a waiting manual task (see the module docstring)."""
    if outcome not in MANUAL_OUTCOMES:
        raise InvalidInputError.of("outcome", "one_of", "the outcome is done or not_found")
    if not _EVIDENCE.fullmatch(evidence or ""):
        raise InvalidInputError.of(
            "evidence", "reference", "the evidence is a reference (letters, digits, . _ : -)"
        )
    row = _locked(session, task_id)
    declared = pack.systems.systems.get(row.system)
    if declared is None or declared.kind is not SystemKind.MANUAL:
        raise ConflictError("only a manual system's task is confirmed by the desk", reason="kind")
    if row.state != WithdrawalState.WAITING.value:
        raise ConflictError("the task is not waiting for the desk", reason=row.state)
    row.actor = actor
    settle(session, row, MANUAL_OUTCOMES[outcome], evidence, actor=actor, now=clock.now())
    return row


def rerun(session: Session, task_id: uuid.UUID, *, actor: str) -> SystemWithdrawal:
    """A failed task back to work with a fresh count; ConflictError unless it failed."""
    row = _locked(session, task_id)
    if row.state != WithdrawalState.FAILED.value:
        raise ConflictError("only a failed task is run again", reason="not_failed")
    row.state, row.attempts, row.reason, row.finished_at = (
        WithdrawalState.PENDING.value,
        0,
        None,
        None,
    )
    session.flush()
    queue_run(session, row.id)
    audit_row(session, row, "rerun", actor)
    return row
