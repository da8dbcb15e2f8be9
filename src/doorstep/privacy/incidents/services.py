"""Open, rate, work and close incidents; their obligations per jurisdiction.

Every function takes the caller's session (the caller commits), checks its
input before it writes anything (bad input raises :class:`InvalidInputError`
naming the field and rule; a state that does not allow the step raises
:class:`ConflictError`), and records one audit event (``incident.*``) whose
details are ids, names and counts.  The incident log is those events.

Opening an incident (:func:`open_incident`) opens the emergency plan's tasks
(contain, assess; CPE-IV.2.e), computes the affected subjects
(:mod:`.affected`) and creates the obligations of decision 0018: for every
affected (or named) jurisdiction one to its supervisory authority (a report,
``draft`` → ``filed`` → ``acknowledged``, CPE-IV.7.d) and one to its subjects
(``open`` → ``met``), each due at awareness plus the jurisdiction's hours.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.incidents.affected import Scope, check_scope, compute
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.models import (
    PURPOSE,
    Incident,
    IncidentKind,
    IncidentTask,
    Obligation,
    Party,
    ReportStatus,
    Risk,
    TaskKind,
)

#: The most names (systems, elements, models) or ids an incident's scope lists per field.
MAX_SCOPE = 1000


def audit(
    session: Session,
    incident_id: uuid.UUID,
    action: str,
    actor: str,
    *,
    subject_id: uuid.UUID | None = None,
    outcome: str = "ok",
    **details: str | int | bool | None,
) -> None:
    """Record ``incident.<action>`` for the incident: its id and ``details`` (ids, counts)."""
    record(
        session,
        action=f"incident.{action}",
        actor=actor,
        subject_id=subject_id,
        purpose=PURPOSE,
        outcome=outcome,
        details={"incident": str(incident_id), **details},
    )


def get(session: Session, incident_id: uuid.UUID, *, lock: bool = False) -> Incident:
    """The incident ``incident_id``; NotFoundError when there is none."""
    query = sa.select(Incident).where(Incident.id == incident_id)
    found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if found is None:
        raise NotFoundError("there is no such incident", incident=str(incident_id))
    return found


def require_open(incident: Incident) -> None:
    """Raise ConflictError when the incident is closed (no step but reading is left)."""
    if incident.status != "open":
        raise ConflictError("the incident is closed", incident=str(incident.id), state="closed")


def list_incidents(session: Session, *, open_only: bool = False) -> list[Incident]:
    """Incidents, newest awareness first."""
    query = sa.select(Incident).order_by(Incident.aware_at.desc(), Incident.id)
    if open_only:
        query = query.where(Incident.status == "open")
    return list(session.execute(query).scalars())


def _names(values: Iterable[str], field: str) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(value.strip() for value in values if value.strip()))
    if len(found) > MAX_SCOPE or any(len(value) > 200 for value in found):
        raise InvalidInputError.of(field, "max_length", "the list is too long")
    return found


def scope_of(incident: Incident) -> Scope:
    """The incident's scope, its window closed at its recording when the end is unknown."""
    return Scope(
        window_start=incident.window_start,
        window_end=incident.window_end or incident.opened_at,
        systems=tuple(incident.systems),
        elements=tuple(incident.elements),
        device_models=tuple(incident.device_models),
        device_ids=tuple(incident.device_ids),
    )


def open_incident(
    session: Session,
    ctx: IncidentContext,
    *,
    kind: str,
    actor: str,
    aware_at: datetime | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    systems: Sequence[str] = (),
    elements: Sequence[str] = (),
    device_models: Sequence[str] = (),
    device_ids: Sequence[uuid.UUID] = (),
    subject_ids: Sequence[uuid.UUID] = (),
    jurisdictions: Sequence[str] = (),
) -> Incident:
    """Record an incident, open its tasks, compute whom it affects and create its obligations.

    ``aware_at`` (default now) starts every clock; it may not lie in the future,
    nor before the window starts.  ``jurisdictions`` names jurisdictions of the
    pack known to be affected before any subject is (their obligations are
    created at once).  Nothing is written when any input is refused.
    """
    now = ctx.clock.now()
    try:
        incident_kind = IncidentKind(kind)
    except ValueError:
        raise InvalidInputError.of(
            "kind", "one_of_" + "_".join(k.value for k in IncidentKind), "unknown incident type"
        ) from None
    aware = aware_at or now
    if aware.tzinfo is None or aware > now:
        raise InvalidInputError.of(
            "aware_at", "not_in_future", "awareness cannot lie in the future"
        )
    if window_start is not None and window_start.tzinfo is None:
        raise InvalidInputError.of("window_start", "timezone", "give the window with its time zone")
    if window_end is not None and (window_end.tzinfo is None or window_end > now):
        raise InvalidInputError.of(
            "window_end", "not_in_future", "the window cannot end in the future"
        )
    if window_start is not None and window_start > (window_end or now):
        raise InvalidInputError.of(
            "window_start", "before_window_end", "the window starts after it ends"
        )
    system_names = _names(systems, "systems")
    element_names = _names(elements, "elements")
    check_scope(system_names, element_names)
    models = _names(device_models, "device_models")
    named = tuple(dict.fromkeys(jurisdictions))
    for jurisdiction in named:
        if jurisdiction not in ctx.rules.jurisdictions:
            raise InvalidInputError.of(
                "jurisdictions", "pack_jurisdiction", "not a jurisdiction of the pack"
            )
    if len(device_ids) > MAX_SCOPE or len(subject_ids) > MAX_SCOPE:
        raise InvalidInputError.of("device_ids", "max_length", "the list is too long")
    incident = Incident(
        id=uuid.uuid4(),
        kind=incident_kind.value,
        status="open",
        aware_at=aware,
        opened_at=now,
        window_start=window_start,
        window_end=window_end,
        systems=list(system_names),
        elements=list(element_names),
        device_models=list(models),
        device_ids=list(dict.fromkeys(device_ids)),
        affected_count=0,
    )
    session.add(incident)
    session.add_all(
        IncidentTask(incident_id=incident.id, kind=task.value, opened_at=now) for task in TaskKind
    )
    session.flush()
    audit(
        session,
        incident.id,
        "opened",
        actor,
        kind=incident_kind.value,
        systems=len(system_names),
        elements=len(element_names),
        device_models=len(models),
        devices=len(incident.device_ids),
        named_subjects=len(subject_ids),
    )
    recompute(session, ctx, incident, actor, subject_ids=tuple(subject_ids), jurisdictions=named)
    return incident


def recompute(
    session: Session,
    ctx: IncidentContext,
    incident: Incident,
    actor: str,
    *,
    subject_ids: tuple[uuid.UUID, ...] = (),
    jurisdictions: Sequence[str] = (),
) -> int:
    """Add newly affected subjects (and named ones) and the obligations of new jurisdictions;
    return how many subjects were added."""
    if incident.status != "open":
        raise ConflictError("the incident is closed", incident=str(incident.id), state="closed")
    now = ctx.clock.now()
    scope = scope_of(incident)
    added = compute(session, incident.id, scope, ctx.rules, now)
    if subject_ids:
        named = Scope(window_start=None, window_end=scope.window_end, subject_ids=subject_ids)
        added += compute(session, incident.id, named, ctx.rules, now)
    affected = session.execute(
        sa.text("SELECT DISTINCT jurisdiction FROM incident_subjects WHERE incident_id = :i"),
        {"i": incident.id},
    ).scalars()
    for jurisdiction in sorted({*affected, *jurisdictions}):
        create_obligations(session, ctx, incident, jurisdiction)
    incident.affected_count = int(
        session.execute(
            sa.text("SELECT count(*) FROM incident_subjects WHERE incident_id = :i"),
            {"i": incident.id},
        ).scalar_one()
    )
    incident.computed_at = now
    session.flush()
    audit(
        session,
        incident.id,
        "affected_computed",
        actor,
        added=added,
        affected=incident.affected_count,
    )
    return added


def create_obligations(
    session: Session, ctx: IncidentContext, incident: Incident, jurisdiction: str
) -> None:
    """The obligations to ``jurisdiction``'s authority and subjects, unless they exist."""
    rule = ctx.rule(jurisdiction)
    for party, status in (
        (Party.AUTHORITY, ReportStatus.DRAFT),
        (Party.SUBJECTS, ReportStatus.OPEN),
    ):
        exists = session.execute(
            sa.select(Obligation.id).where(
                Obligation.incident_id == incident.id,
                Obligation.party == party.value,
                Obligation.jurisdiction == jurisdiction,
            )
        ).scalar_one_or_none()
        if exists is not None:
            continue
        obligation = Obligation(
            id=uuid.uuid4(),
            incident_id=incident.id,
            party=party.value,
            jurisdiction=jurisdiction,
            authority=rule.authority,
            due_at=ctx.due(incident.aware_at, jurisdiction, party),
            status=status.value,
        )
        session.add(obligation)
        session.flush()
        audit(
            session,
            incident.id,
            "obligation_created",
            "system:incidents",
            obligation=str(obligation.id),
            party=party.value,
            jurisdiction=jurisdiction,
            hours=ctx.hours(jurisdiction, party),
        )


def rate(
    session: Session, ctx: IncidentContext, incident_id: uuid.UUID, risk: str, *, actor: str
) -> Incident:
    """Rate the incident's risk (CPE-IV.1.e); a new rating replaces the old, audited."""
    try:
        rating = Risk(risk)
    except ValueError:
        raise InvalidInputError.of(
            "risk", "one_of_low_significant", "the risk is low or significant"
        ) from None
    incident = get(session, incident_id, lock=True)
    if incident.status != "open":
        raise ConflictError("the incident is closed", incident=str(incident.id), state="closed")
    previous = incident.risk
    incident.risk = rating.value
    incident.rated_at = ctx.clock.now()
    session.flush()
    audit(session, incident.id, "rated", actor, risk=rating.value, previous=previous)
    return incident


def complete_task(
    session: Session, ctx: IncidentContext, incident_id: uuid.UUID, task: str, *, actor: str
) -> IncidentTask:
    """Mark an emergency-plan task done (contain, assess)."""
    try:
        kind = TaskKind(task)
    except ValueError:
        raise InvalidInputError.of(
            "task", "one_of_contain_assess", "the task is contain or assess"
        ) from None
    incident = get(session, incident_id, lock=True)
    row = session.get(IncidentTask, (incident.id, kind.value))
    assert row is not None  # opened with the incident
    if row.done_at is not None:
        raise ConflictError("the task is already done", incident=str(incident.id), task=kind.value)
    row.done_at = ctx.clock.now()
    session.flush()
    audit(session, incident.id, "task_done", actor, task=kind.value)
    return row


def close(
    session: Session, ctx: IncidentContext, incident_id: uuid.UUID, *, actor: str
) -> Incident:
    """Close the incident once its tasks are done and every obligation is met or filed.

    ConflictError names what is still open.
    """
    incident = get(session, incident_id, lock=True)
    if incident.status != "open":
        raise ConflictError("the incident is closed", incident=str(incident.id), state="closed")
    open_tasks = (
        session.execute(
            sa.select(IncidentTask.kind).where(
                IncidentTask.incident_id == incident.id, IncidentTask.done_at.is_(None)
            )
        )
        .scalars()
        .all()
    )
    if open_tasks:
        raise ConflictError("a task of the emergency plan is open", task=sorted(open_tasks)[0])
    pending = session.execute(
        sa.select(Obligation.party, Obligation.jurisdiction).where(
            Obligation.incident_id == incident.id,
            Obligation.status.in_([ReportStatus.DRAFT.value, ReportStatus.OPEN.value]),
        )
    ).first()
    if pending is not None:
        raise ConflictError(
            "an obligation is not met yet", party=pending.party, jurisdiction=pending.jurisdiction
        )
    incident.status = "closed"
    incident.closed_at = ctx.clock.now()
    session.flush()
    audit(session, incident.id, "closed", actor)
    return incident
