"""The desk's ways to reach a subject the fan-out could not: letter and phone-call tasks,
and the public notice that replaces individual contact (CPE-IV.7.b, CPE-IV.7.c).

:func:`open_desk_tasks` opens a task per unreachable subject (or one named),
:func:`close_desk_task` closes it as done (the subject was told) or failed, and
:func:`publish_public_notice` records the public notice and the decision, with
the counts it was taken on, in the incident log.  Each settles the subjects'
obligations it may have met (:func:`.outcomes.settle`).  Bad input raises
InvalidInputError, a step the state does not allow ConflictError; nothing
changes then.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.privacy.incidents.models import (
    TASK_CHANNELS,
    Channel,
    Delivery,
    DeliveryStatus,
    NoticeStatus,
    PublicNotice,
)
from doorstep.privacy.incidents.outcomes import count_subjects, settle
from doorstep.privacy.incidents.services import audit, get, require_open


def open_desk_tasks(
    session: Session,
    ctx: IncidentContext,
    incident_id: uuid.UUID,
    channel: str,
    *,
    actor: str,
    subject_id: uuid.UUID | None = None,
) -> int:
    """Open a letter or phone-call task for ``subject_id`` or every unreachable subject; return
    how many were opened (a subject has at most one task per channel)."""
    try:
        kind = Channel(channel)
    except ValueError:
        kind = None
    if kind not in TASK_CHANNELS:
        raise InvalidInputError(
            "a desk task is a letter or a phone call",
            errors=[{"field": "channel", "rule": "one_of_letter_phone_call"}],
        )
    assert kind is not None
    incident = get(session, incident_id, lock=True)
    require_open(incident)
    params: dict[str, object] = {"i": incident.id, "c": kind.value, "now": ctx.clock.now()}
    if subject_id is not None:
        known = session.execute(
            sa.text("SELECT 1 FROM incident_subjects WHERE incident_id = :i AND subject_id = :s"),
            {"i": incident.id, "s": subject_id},
        ).first()
        if known is None:
            raise NotFoundError("the subject is not affected by this incident")
        which = "subject_id = :s"
        params["s"] = subject_id
    else:
        which = "status = 'unreachable'"
    result = session.execute(
        sa.text(
            "INSERT INTO incident_deliveries (id, incident_id, subject_id, channel, status, "  # noqa: S608 - a constant condition
            "created_at) SELECT gen_random_uuid(), incident_id, subject_id, :c, 'task_open', :now "
            f"FROM incident_subjects WHERE incident_id = :i AND {which} "
            "ON CONFLICT DO NOTHING"
        ),
        params,
    )
    opened = int(getattr(result, "rowcount", 0))
    audit(session, incident.id, "desk_tasks_opened", actor, channel=kind.value, opened=opened)
    return opened


def close_desk_task(
    session: Session, ctx: IncidentContext, delivery_id: uuid.UUID, outcome: str, *, actor: str
) -> Delivery:
    """Close a letter or phone-call task as ``done`` (the subject was told) or ``failed``."""
    if outcome not in (DeliveryStatus.DONE.value, DeliveryStatus.FAILED.value):
        raise InvalidInputError(
            "a task ends done or failed",
            errors=[{"field": "outcome", "rule": "one_of_done_failed"}],
        )
    task = session.execute(
        sa.select(Delivery).where(Delivery.id == delivery_id).with_for_update()
    ).scalar_one_or_none()
    if task is None or task.status != DeliveryStatus.TASK_OPEN.value:
        raise NotFoundError("there is no such open task", delivery=str(delivery_id))
    now = ctx.clock.now()
    task.status = outcome
    task.finished_at = now
    if outcome == DeliveryStatus.DONE.value:
        session.execute(
            sa.text(
                "UPDATE incident_subjects SET status = 'notified', notified_at = :now "
                "WHERE incident_id = :i AND subject_id = :s"
            ),
            {"now": now, "i": task.incident_id, "s": task.subject_id},
        )
    session.flush()
    audit(
        session,
        task.incident_id,
        "desk_task_closed",
        actor,
        subject_id=task.subject_id,
        delivery=str(task.id),
        channel=task.channel,
        result=outcome,
    )
    settle(session, ctx, task.incident_id)
    return task


REASONS = ("contact_failed", "impracticable")


def publish_public_notice(
    session: Session,
    ctx: IncidentContext,
    incident_id: uuid.UUID,
    *,
    url: str,
    reason: str,
    actor: str,
) -> PublicNotice:
    """Record the public notice that replaces individual contact (CPE-IV.7.c), and the decision.

    ``reason`` is ``contact_failed`` (some subjects are unreachable) or
    ``impracticable`` (contacting them one by one is not possible);
    ``url`` is where it is published (https).  The decision is in the incident
    log with the counts it was taken on.
    """
    if reason not in REASONS:
        raise InvalidInputError(
            "the reason is contact_failed or impracticable",
            errors=[{"field": "reason", "rule": "one_of_contact_failed_impracticable"}],
        )
    if not url.startswith("https://") or len(url) > 2000 or any(c.isspace() for c in url):
        raise InvalidInputError(
            "the notice's address must be an https URL",
            errors=[{"field": "url", "rule": "https_url"}],
        )
    incident = get(session, incident_id, lock=True)
    require_open(incident)
    unreached = count_subjects(session, incident.id, NoticeStatus.UNREACHABLE)
    if reason == "contact_failed" and unreached == 0:
        raise ConflictError(
            "no subject is unreachable: individual contact has not failed", rule="unreached"
        )
    if incident.affected_count == 0:
        raise ConflictError("the incident affects no subject", rule="affected")
    notice = PublicNotice(
        id=uuid.uuid4(),
        incident_id=incident.id,
        url=url,
        reason=reason,
        published_at=ctx.clock.now(),
        unreached=unreached,
        affected=incident.affected_count,
    )
    session.add(notice)
    session.flush()
    audit(
        session,
        incident.id,
        "public_notice_decided",
        actor,
        public_notice=str(notice.id),
        reason=reason,
        unreached=unreached,
        affected=incident.affected_count,
    )
    settle(session, ctx, incident.id)
    return notice
