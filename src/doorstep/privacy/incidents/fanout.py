"""Notices to every affected subject: started by the desk, fanned out in batches by a job.

:func:`start` checks that the incident is rated (CPE-IV.1.e) and its notice
complete (CPE-IV.7.a), records the start and enqueues :data:`NOTIFY_TASK`
(the incident id only).  The job calls :func:`notify_batch` in one transaction
per batch until none is left: it locks a batch of ``pending`` subjects
(``FOR UPDATE SKIP LOCKED``), queues the notice to every channel each has
(e-mail and SMS through the outbox, in the subscriber's language), writes one
:class:`~.models.Delivery` per subject and channel (unique: a subject is never
told twice by one channel), and marks them ``notified``, all in that
transaction.  A worker killed mid-batch loses the whole batch (nothing of it
was sent, since the outbox delivers only what committed) and the next run
takes it again; what committed is never taken again (CPE-IV.7.b).  The
writing itself is :mod:`.channels`; settling the obligations :mod:`.outcomes`.

A subject with no e-mail address and no mobile number (deregistered, or
filed by post) gets a letter task on the desk and is ``unreachable`` until
the desk closes the task as done.  The desk may open letter or phone-call
tasks for any unreachable subject, and when individual contact fails or is
impracticable it publishes a public notice (CPE-IV.7.c) whose decision is in
the log (:mod:`.desk_tasks`).

App push needs a token the app registered; the accounts area stores none
yet, so the fan-out has no push channel to use (decision 0022) — the delivery
table and the outbox take ``push`` as soon as it does.

Subjects of a jurisdiction whose notice is withheld on a recorded legal
ground (:func:`doorstep.privacy.incidents.reports.withhold`) wait until the
ground lapses.  Reading the contact is the ``privacy.rights`` purpose, declared
on ``accounts.email`` and ``accounts.phone``; a notice owed by law is not
refused by a consent or a restriction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError
from doorstep.jobs.enqueue import enqueue
from doorstep.locale import SOURCE
from doorstep.privacy.incidents.channels import write_notices
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.models import Incident, NoticeStatus, Obligation, Party
from doorstep.privacy.incidents.notices import params_of, require_complete, template_of
from doorstep.privacy.incidents.outcomes import NOTIFY_TASK, count_subjects, settle
from doorstep.privacy.incidents.services import audit, get, require_open


def held_jurisdictions(session: Session, incident_id: uuid.UUID, ctx: IncidentContext) -> list[str]:
    """Jurisdictions whose subjects' notice is withheld on a legal ground that has not lapsed."""
    return list(
        session.execute(
            sa.select(Obligation.jurisdiction).where(
                Obligation.incident_id == incident_id,
                Obligation.party == Party.SUBJECTS.value,
                Obligation.hold_until > ctx.clock.now(),
            )
        ).scalars()
    )


def start(
    session: Session, ctx: IncidentContext, incident_id: uuid.UUID, *, actor: str
) -> Incident:
    """Start (or resume) the notices to the affected subjects; see the module docstring.

    ConflictError when the incident is closed or not rated yet; InvalidInputError
    naming the missing part when a notice is incomplete.  Nothing changes then.
    """
    incident = get(session, incident_id, lock=True)
    require_open(incident)
    if incident.risk is None:
        raise ConflictError(
            "rate the incident's risk before notifying (CPE-IV.1.e)",
            incident=str(incident.id),
            rule="rated",
        )
    require_complete(session, incident)
    now = ctx.clock.now()
    first = incident.notify_started_at is None
    if first:
        incident.notify_started_at = now
    session.flush()
    enqueue(session, NOTIFY_TASK, lock=f"incident:{incident.id}", incident_id=incident.id)
    pending = count_subjects(session, incident.id, NoticeStatus.PENDING)
    audit(
        session,
        incident.id,
        "notify_started" if first else "notify_resumed",
        actor,
        pending=pending,
    )
    return incident


@dataclass(frozen=True, slots=True)
class Batch:
    """What one batch did: subjects notified, subjects only a desk task can reach, messages."""

    notified: int
    unreachable: int
    messages: int

    @property
    def empty(self) -> bool:
        """Whether there was nothing left to do."""
        return self.notified + self.unreachable == 0


def notify_batch(
    session: Session, ctx: IncidentContext, incident_id: uuid.UUID, *, limit: int | None = None
) -> Batch:
    """Notify the next batch of pending subjects (see the module docstring)."""
    incident = get(session, incident_id)
    if incident.status != "open" or incident.notify_started_at is None:
        return Batch(0, 0, 0)
    found = require_complete(session, incident)
    rows = session.execute(
        sa.text(
            "SELECT s.subject_id, a.email, a.phone, coalesce(a.language, :source) AS language "
            "FROM incident_subjects s LEFT JOIN accounts a ON a.id = s.subject_id "
            "WHERE s.incident_id = :i AND s.status = 'pending' "
            "AND NOT (s.jurisdiction = ANY(:held)) "
            "ORDER BY s.subject_id LIMIT :n FOR UPDATE OF s SKIP LOCKED"
        ),
        {
            "i": incident.id,
            "held": held_jurisdictions(session, incident.id, ctx),
            "n": limit or ctx.settings.incident_fanout_batch,
            "source": SOURCE,
        },
    ).all()
    by_language: dict[str, dict[str, str]] = {}

    def params_for(language: str) -> dict[str, str]:
        if language not in by_language:
            by_language[language] = params_of(found, incident, language)
        return by_language[language]

    written = write_notices(
        session, ctx, incident.id, rows, params_for, template_of(incident), ctx.clock.now()
    )
    if not rows:
        settle(session, ctx, incident.id)
    return Batch(len(written.notified), len(written.unreachable), written.messages)
