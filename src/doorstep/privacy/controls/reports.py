"""Send a published security impact assessment to whoever asks for it by e-mail (CPE-IV.5).

The policy promises to publicise its impact assessment reports: published
versions are listed on the public ``/security`` page and at
``/api/v1/security-assessments``, and the privacy desk answers a request by
e-mail with :func:`send_assessment`, which queues the ``controls.assessment``
message (the report's name, version, date, risk, summary and where the full
report is) to the requester through the outbox.  A draft is never sent.

A request that reached the privacy mailbox is an inquiry of the requests area,
which this package may not import: the composition root hands
:func:`published_report` to it as ``Services.published_report``, and the desk's
answer to the inquiry carries the report (``doorstep requests inquiries answer
--assessment``), closing the inquiry with it.

The requester may have no account: the message's ``subject_id`` is a random id
of its own, and the audit event names the outbox message, never the address.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError
from doorstep.notify.services import queue_email
from doorstep.privacy.controls.models import AssessmentState, SecurityAssessment
from doorstep.privacy.controls.services import get_assessment, get_control
from doorstep.services import PublishedReport

TEMPLATE = "controls.assessment"


def newest_published(session: Session, control_id: uuid.UUID) -> SecurityAssessment | None:
    """The newest published version of an assessment, if any."""
    return session.scalar(
        sa.select(SecurityAssessment)
        .where(
            SecurityAssessment.control_id == control_id,
            SecurityAssessment.state == AssessmentState.PUBLISHED,
        )
        .order_by(SecurityAssessment.version.desc())
        .limit(1)
    )


def published_report(
    session: Session, control_id: uuid.UUID, version: int | None = None
) -> PublishedReport:
    """The published version (the newest without ``version``) as a report to send.

    An unknown control or version is a :class:`NotFoundError`; a draft, or an
    assessment with no published version, a :class:`ConflictError`
    (``not_published``).  Reads only: nothing changes.
    """
    control = get_control(session, control_id)
    row = (
        newest_published(session, control_id)
        if version is None
        else get_assessment(session, control_id, version)
    )
    if row is None:
        raise ConflictError(
            "the assessment has no published version: only a published version is sent",
            reason="not_published",
        )
    if row.state is not AssessmentState.PUBLISHED:
        raise ConflictError(
            f"version {row.version} is a draft: only a published version is sent",
            reason="not_published",
        )
    return PublishedReport(
        control_id=control.id,
        name=control.name,
        version=row.version,
        assessed_on=row.assessed_on,
        risk=row.risk_level.value,
        summary=row.summary,
        evidence=row.evidence,
    )


def send_assessment(
    session: Session,
    control_id: uuid.UUID,
    *,
    to: str,
    version: int | None = None,
    clock: Clock,
    actor: str,
) -> uuid.UUID:
    """Queue the published version (the newest without ``version``) to ``to``; the outbox id.

    Refused as :func:`published_report` refuses; a bad address is an
    :class:`~doorstep.notify.exceptions.InvalidRecipientError` (nothing queued).
    """
    report = published_report(session, control_id, version)
    outbox_id = queue_email(
        session,
        subject_id=uuid.uuid4(),
        to=to,
        template=TEMPLATE,
        params=report.params(),
        clock=clock,
    )
    record(
        session,
        action="controls.assessment_sent",
        actor=actor,
        details={"control": str(control_id), "version": report.version, "outbox": str(outbox_id)},
    )
    return outbox_id
