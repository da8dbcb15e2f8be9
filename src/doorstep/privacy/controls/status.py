"""Where each control stands on a day, and which claims of the notice have lost their evidence.

A control's **due date** comes from its newest evidence:

* a continuity plan, a security-policy review: the last test or review plus
  the interval (the control's own, else the pack's, in calendar months);
* a third-party audit: the next due date the audit set, else the same sum;
* a certificate: the day it is valid until;
* a security impact assessment: the newest *published* version's date plus
  the interval (a draft evidences nothing).

It is **overdue** (a certificate **expired**) once that day is in the past, and
has **no evidence** until the first piece is recorded: all three are lapses.
A claim of the pack (``controls.claims``) is supported when at least one
control of each kind it names is registered and none of them has lapsed;
otherwise it is flagged with its code, ``<claim>_claim_unsupported``.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from doorstep.privacy.controls.models import (
    AssessmentState,
    Control,
    ControlEvidence,
    ControlKind,
    SecurityAssessment,
)
from doorstep.privacy.datamap.pack_controls import Claim, ControlsPolicy


class ControlState(StrEnum):
    """Where a control stands."""

    CURRENT = "current"
    OVERDUE = "overdue"
    EXPIRED = "expired"
    NO_EVIDENCE = "no_evidence"


#: Why a claim lost its evidence when no control of a kind it names is registered.
NO_CONTROL = "no_control"


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class ControlStatus:
    """A control as of one day: what it is, its newest evidence, its due date and state."""

    id: uuid.UUID
    kind: ControlKind
    name: str
    owner_role: str
    scope: str | None
    #: Months between two pieces of evidence in force (None for a certificate).
    interval_months: int | None
    created_at: datetime
    #: The newest evidence: its date, expiry or next due, who issued it, its reference.
    last_on: date | None
    valid_until: date | None
    issued_by: str | None
    evidence: str | None
    #: The newest published version of an assessment (None for other kinds).
    version: int | None
    due: date | None
    state: ControlState

    @property
    def lapsed(self) -> bool:
        """Whether its evidence has lapsed (overdue, expired or none)."""
        return self.state is not ControlState.CURRENT

    @property
    def alert_key(self) -> str:
        """What identifies this lapse, so each is alerted once: ``state:due``."""
        return f"{self.state.value}:{self.due.isoformat() if self.due else 'none'}"


@dataclass(frozen=True, slots=True)
class Lapse:
    """Why a claim lost its evidence: a kind, and its lapsed control (or none registered)."""

    kind: ControlKind
    reason: str
    control_id: uuid.UUID | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimStatus:
    """A claim of the notice and whether its evidence holds."""

    claim: Claim
    lapses: tuple[Lapse, ...]

    @property
    def supported(self) -> bool:
        """Whether every kind it names has registered, current controls."""
        return not self.lapses

    @property
    def code(self) -> str:
        """The flag raised when it is not supported: ``<claim>_claim_unsupported``."""
        return self.claim.code


def _state(kind: ControlKind, due: date | None, today: date) -> ControlState:
    if due is None:
        return ControlState.NO_EVIDENCE
    if due >= today:
        return ControlState.CURRENT
    return ControlState.EXPIRED if kind is ControlKind.CERTIFICATE else ControlState.OVERDUE


def _newest_evidence(
    session: Session, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ControlEvidence]:
    rows = session.scalars(
        sa.select(ControlEvidence)
        .where(ControlEvidence.control_id.in_(ids))
        .ext(distinct_on(ControlEvidence.control_id))
        .order_by(
            ControlEvidence.control_id,
            ControlEvidence.performed_on.desc(),
            ControlEvidence.recorded_at.desc(),
        )
    )
    return {row.control_id: row for row in rows}


def _newest_published(
    session: Session, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SecurityAssessment]:
    rows = session.scalars(
        sa.select(SecurityAssessment)
        .where(
            SecurityAssessment.control_id.in_(ids),
            SecurityAssessment.state == AssessmentState.PUBLISHED,
        )
        .ext(distinct_on(SecurityAssessment.control_id))
        .order_by(SecurityAssessment.control_id, SecurityAssessment.version.desc())
    )
    return {row.control_id: row for row in rows}


def status_of(
    control: Control,
    evidence: ControlEvidence | None,
    published: SecurityAssessment | None,
    policy: ControlsPolicy,
    today: date,
) -> ControlStatus:
    """The status of ``control`` on ``today`` given its newest evidence or published version."""
    interval = (
        None
        if control.kind is ControlKind.CERTIFICATE
        else control.interval_months or policy.interval(control.kind)
    )
    last_on = valid_until = due = None
    issued_by = reference = None
    version = None
    if control.kind is ControlKind.SECURITY_IMPACT_ASSESSMENT:
        if published is not None:
            last_on, reference = published.assessed_on, published.evidence
            version = published.version
    elif evidence is not None:
        last_on, valid_until = evidence.performed_on, evidence.valid_until
        issued_by, reference = evidence.issued_by, evidence.evidence
    if control.kind is ControlKind.CERTIFICATE or valid_until is not None:
        due = valid_until  # a certificate's expiry, or the next due date an audit set
    elif last_on is not None and interval is not None:
        due = add_months(last_on, interval)
    return ControlStatus(
        id=control.id,
        kind=control.kind,
        name=control.name,
        owner_role=control.owner_role,
        scope=control.scope,
        interval_months=interval,
        created_at=control.created_at,
        last_on=last_on,
        valid_until=valid_until,
        issued_by=issued_by,
        evidence=reference,
        version=version,
        due=due,
        state=_state(control.kind, due, today),
    )


def register_status(
    session: Session, policy: ControlsPolicy, today: date, *, lock: bool = False
) -> list[ControlStatus]:
    """Every control of the register as of ``today``: lapsed ones first, then by kind and name.

    ``lock`` locks the controls' rows, skipping those another transaction holds
    (the daily alert job, so two workers never alert the same lapse).
    """
    query = sa.select(Control).order_by(Control.kind, Control.name, Control.id)
    if lock:
        query = query.with_for_update(skip_locked=True)
    controls = list(session.scalars(query))
    ids = [control.id for control in controls]
    evidence = _newest_evidence(session, ids) if ids else {}
    published = _newest_published(session, ids) if ids else {}
    found = [
        status_of(control, evidence.get(control.id), published.get(control.id), policy, today)
        for control in controls
    ]
    return sorted(found, key=lambda item: not item.lapsed)


def claim_status(statuses: Iterable[ControlStatus], policy: ControlsPolicy) -> list[ClaimStatus]:
    """Each claim of the pack with the lapses that leave it unsupported (none: supported)."""
    by_kind: dict[ControlKind, list[ControlStatus]] = {}
    for item in statuses:
        by_kind.setdefault(item.kind, []).append(item)
    found = []
    for claim in policy.claims.values():
        lapses: list[Lapse] = []
        for kind in claim.kinds:
            registered = by_kind.get(kind, [])
            if not registered:
                lapses.append(Lapse(kind, NO_CONTROL))
            lapses.extend(
                Lapse(kind, item.state.value, item.id, item.name)
                for item in registered
                if item.lapsed
            )
        found.append(ClaimStatus(claim, tuple(lapses)))
    return found


def flags(claims: Iterable[ClaimStatus]) -> list[str]:
    """The codes of the unsupported claims (``certification_claim_unsupported`` …)."""
    return [item.code for item in claims if not item.supported]
