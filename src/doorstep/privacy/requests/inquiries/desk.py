"""The privacy desk's side of inquiries: the queue, reading a question, answering, reminders.

The queue lists open inquiries, overdue first, then by deadline; an inquiry is
overdue while unanswered past ``due_at``.  Reading the question decrypts it
after the purpose gate allowed (and audited) the use for ``privacy.rights``.
The answer goes to the asker by e-mail through the outbox
(``inquiry.answered``), in the transaction that marks the inquiry answered; it
is not stored anywhere else (the outbox blanks it once sent).  The hourly sweep
reminds ``requests_reminder_days`` before the deadline and flags overdue
inquiries, once each, and forgets correspondents whose inquiries are gone.

An answer may carry a published security impact assessment (CPE-IV.5: a report
asked for through the privacy mailbox): the desk names the assessment (and a
version, else the newest published one), the report comes from the controls
register through ``Services.published_report`` (this package may not import
its sibling), and the e-mail is ``inquiry.answered_report`` with the report's
name, version, date, risk, summary and link.  The ``inquiry.answered`` audit
event records which assessment version was sent; a draft is refused before
anything changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import system_actor
from doorstep.audit.services import record
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.keys.services import KeyService
from doorstep.locale import SOURCE
from doorstep.notify.templates import MAX_PARAM_LENGTH
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.inquiries.intake import (
    ANSWERED,
    ANSWERED_REPORT,
    BODY,
    REPLY_TO,
    TITLE,
    reply,
)
from doorstep.privacy.requests.inquiries.models import PURPOSE, Inquiry
from doorstep.privacy.subjects.models import Subject, SubjectKind
from doorstep.services import PublishedReport

REMIND_ACTOR = system_actor("inquiries.remind")
#: The longest answer (characters): what one message parameter may hold.
MAX_ANSWER = MAX_PARAM_LENGTH


@dataclass(frozen=True, slots=True)
class Question:
    """What the asker wrote, decrypted for the desk."""

    inquiry_id: uuid.UUID
    title: str | None
    body: str


def get(session: Session, inquiry_id: uuid.UUID, *, lock: bool = False) -> Inquiry:
    """The inquiry, or :class:`NotFoundError`; ``lock`` takes a row lock."""
    query = sa.select(Inquiry).where(Inquiry.id == inquiry_id)
    row = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise NotFoundError("no such inquiry", inquiry=str(inquiry_id))
    return row


def is_overdue(row: Inquiry, now: datetime) -> bool:
    """Whether the inquiry is unanswered past its deadline."""
    return row.answered_at is None and row.due_at <= now


def queue(
    session: Session, now: datetime, *, overdue_only: bool = False, answered: bool = False
) -> list[Inquiry]:
    """Open inquiries (``answered``: answered ones, newest first), overdue first, then by
    deadline; ``overdue_only`` keeps those past it."""
    if answered:
        query = sa.select(Inquiry).where(Inquiry.answered_at.is_not(None))
        return list(session.scalars(query.order_by(Inquiry.answered_at.desc()).limit(500)))
    late = Inquiry.due_at <= now
    query = sa.select(Inquiry).where(Inquiry.answered_at.is_(None))
    if overdue_only:
        query = query.where(late)
    query = query.order_by(sa.case((late, 0), else_=1), Inquiry.due_at, Inquiry.id)
    return list(session.scalars(query.limit(500)))


def read(session: Session, ctx: RequestContext, inquiry_id: uuid.UUID, *, actor: str) -> Question:
    """The question of ``inquiry_id``, decrypted once the gate allowed ``actor``'s use."""
    row = get(session, inquiry_id)
    access = ctx.gate.for_subject(session, row.subject_id, actor=actor)
    details = {"inquiry": str(row.id)}
    access.check(BODY, PURPOSE, audit=True, details=details)
    keys = ctx.require_services().keys
    title = None
    if row.title is not None:
        access.check(TITLE, PURPOSE, audit=True, details=details)
        title = keys.decrypt(session, row.subject_id, row.title, context=TITLE).decode()
    body = keys.decrypt(session, row.subject_id, row.body, context=BODY).decode()
    return Question(row.id, title, body)


def answer(
    session: Session,
    ctx: RequestContext,
    inquiry_id: uuid.UUID,
    text: str,
    *,
    actor: str,
    assessment: uuid.UUID | None = None,
    version: int | None = None,
) -> Inquiry:
    """Send ``text`` to the asker and mark the inquiry answered (once).

    With ``assessment`` (a security impact assessment's control id) the e-mail
    carries that assessment's published report: ``version``, else the newest
    published one.  Refused (nothing changes) when the text is empty or longer than
    :data:`MAX_ANSWER`, when ``version`` is given without ``assessment``, when the
    assessment is unknown (NotFoundError) or the version a draft (ConflictError
    ``not_published``), when the inquiry was answered already, or when there is no
    address to answer (the gate refused it, or the account has none).
    """
    words = text.strip()
    if not words:
        raise InvalidInputError(
            "the answer is empty", errors=[{"field": "answer", "rule": "required"}]
        )
    if len(words) > MAX_ANSWER:
        raise InvalidInputError(
            f"the answer is longer than {MAX_ANSWER} characters",
            errors=[{"field": "answer", "rule": "max_length"}],
        )
    if version is not None and assessment is None:
        raise InvalidInputError(
            "a version needs the assessment it belongs to",
            errors=[{"field": "version", "rule": "needs_assessment"}],
        )
    row = get(session, inquiry_id, lock=True)
    if row.answered_at is not None:
        raise ConflictError("the inquiry was answered already", reason="answered")
    report = (
        None
        if assessment is None
        else ctx.require_services().published_report(session, assessment, version)
    )
    keys = ctx.require_services().keys
    address = (
        keys.decrypt(session, row.subject_id, row.reply_to, context=REPLY_TO).decode()
        if row.reply_to is not None
        else None
    )
    language = _language(session, row.subject_id)
    template, params = _message(words, report)
    if not reply(session, ctx, row, address, template, language=language, **params):
        raise ConflictError("there is no address to send the answer to", reason="unreachable")
    row.answered_at = ctx.clock.now()
    row.answered_by = actor
    session.flush()
    record(
        session,
        action="inquiry.answered",
        actor=actor,
        subject_id=row.subject_id,
        purpose=PURPOSE,
        details={
            "inquiry": str(row.id),
            "late": row.answered_at > row.due_at,
            **_sent(report),
        },
    )
    return row


def _message(words: str, report: PublishedReport | None) -> tuple[str, dict[str, str]]:
    """The answer's template and parameters: the text, and the report when one is attached."""
    if report is None:
        return ANSWERED, {"answer": words}
    return ANSWERED_REPORT, {"answer": words, **report.params()}


def _sent(report: PublishedReport | None) -> dict[str, str | int]:
    """What the audit event records of the attached report: which assessment, which version."""
    if report is None:
        return {}
    return {"assessment": str(report.control_id), "assessment_version": report.version}


def _language(session: Session, subject_id: uuid.UUID) -> str:
    from doorstep.accounts.account.models import Account

    found = session.scalar(sa.select(Account.language).where(Account.id == subject_id))
    return found or SOURCE


def remind(session: Session, ctx: RequestContext) -> tuple[int, int]:
    """Remind the desk of inquiries due soon and flag overdue ones, once each.

    Returns (reminded, flagged).  Rows another worker holds are skipped.
    """
    now = ctx.clock.now()
    soon = now + timedelta(days=ctx.settings.requests_reminder_days)
    rows = session.scalars(
        sa.select(Inquiry)
        .where(
            Inquiry.answered_at.is_(None),
            Inquiry.due_at <= soon,
            sa.or_(Inquiry.reminded_at.is_(None), Inquiry.escalated_at.is_(None)),
        )
        .order_by(Inquiry.due_at)
        .with_for_update(skip_locked=True)
    )
    reminded = flagged = 0
    for row in rows:
        if row.reminded_at is None:
            row.reminded_at = now
            _audit(session, row, "inquiry.reminder")
            reminded += 1
        if row.due_at <= now and row.escalated_at is None:
            row.escalated_at = now
            _audit(session, row, "inquiry.overdue")
            flagged += 1
    session.flush()
    return reminded, flagged


def _audit(session: Session, row: Inquiry, action: str) -> None:
    record(
        session,
        action=action,
        actor=REMIND_ACTOR,
        subject_id=row.subject_id,
        purpose=PURPOSE,
        details={"inquiry": str(row.id)},
    )


def forget_correspondents(session: Session, keys: KeyService) -> int:
    """Erase correspondents none of whose inquiries is left (retention deleted them).

    Their key is destroyed first (crypto-shredding any copy), then the subject
    row goes; returns how many.  Rows another worker holds are skipped.
    """
    orphans = list(
        session.scalars(
            sa.select(Subject.id)
            .where(
                Subject.kind == SubjectKind.CORRESPONDENT,
                ~sa.exists().where(Inquiry.subject_id == Subject.id),
            )
            .with_for_update(skip_locked=True)
            .limit(1000)
        )
    )
    for subject_id in orphans:
        keys.destroy(session, subject_id)
        record(
            session,
            action="inquiry.correspondent_forgotten",
            actor=REMIND_ACTOR,
            subject_id=subject_id,
            purpose=PURPOSE,
        )
    if orphans:
        session.execute(sa.delete(Subject).where(Subject.id.in_(orphans)))
    return len(orphans)
