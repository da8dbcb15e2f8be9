"""The asker's side of inquiries: the signed-in subscriber's own questions, and a public status.

* :func:`own_inquiries` — every question of one subject, newest first, with its
  subject line and text decrypted for that subject (each read allowed and
  audited by the purpose gate, with the subject as actor) and its clock: when it
  was received, when the answer is due, when it was answered.  The answer itself
  is not here: it went by e-mail and is not stored (decision 0026).
* :func:`status_of` — the reference, the dates and whether it was answered, for
  the page the public form leads to; nothing the asker wrote.  The reference is a
  random UUID, so the page reveals nothing to anyone who does not hold it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import subject_actor
from doorstep.core.errors import PurposeRefusedError
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.inquiries.desk import get
from doorstep.privacy.requests.inquiries.intake import BODY, TITLE
from doorstep.privacy.requests.inquiries.models import PURPOSE, Inquiry


@dataclass(frozen=True, slots=True)
class InquiryStatus:
    """Where a question stands: ids and instants only."""

    reference: uuid.UUID
    received_at: datetime
    due_at: datetime
    answered_at: datetime | None

    @property
    def answered(self) -> bool:
        """Whether the answer was sent."""
        return self.answered_at is not None


@dataclass(frozen=True, slots=True)
class OwnInquiry:
    """One of the subscriber's questions as they wrote it, and where it stands."""

    status: InquiryStatus
    title: str | None
    body: str


def _status(row: Inquiry) -> InquiryStatus:
    return InquiryStatus(row.id, row.received_at, row.due_at, row.answered_at)


def status_of(session: Session, reference: uuid.UUID) -> InquiryStatus:
    """Where the inquiry ``reference`` stands, or :class:`NotFoundError`."""
    return _status(get(session, reference))


def own_inquiries(
    session: Session, ctx: RequestContext, subject_id: uuid.UUID, *, limit: int = 100
) -> list[OwnInquiry]:
    """The subject's questions, newest first, decrypted for the subject (audited reads).

    A question whose read the gate refuses (the subject restricted the purpose)
    is listed with its dates only and an empty text; the refusal is audited by the gate.
    """
    rows = list(
        session.scalars(
            sa.select(Inquiry)
            .where(Inquiry.subject_id == subject_id)
            .order_by(Inquiry.received_at.desc(), Inquiry.id)
            .limit(limit)
        )
    )
    if not rows:
        return []
    access = ctx.gate.for_subject(session, subject_id, actor=subject_actor(subject_id))
    keys = ctx.require_services().keys
    found: list[OwnInquiry] = []
    for row in rows:
        details = {"inquiry": str(row.id)}
        try:
            access.check(BODY, PURPOSE, audit=True, details=details)
            if row.title is not None:
                access.check(TITLE, PURPOSE, audit=True, details=details)
        except PurposeRefusedError:  # audited by the gate
            found.append(OwnInquiry(_status(row), None, ""))
            continue
        title = None
        if row.title is not None:
            title = keys.decrypt(session, subject_id, row.title, context=TITLE).decode()
        body = keys.decrypt(session, subject_id, row.body, context=BODY).decode()
        found.append(OwnInquiry(_status(row), title, body))
    return found
