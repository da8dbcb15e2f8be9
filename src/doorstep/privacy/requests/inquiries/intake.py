"""Where questions come in: the app, the public form, the privacy mailbox and the desk.

:func:`open_inquiry` is the one way in.  It finds the subject the question
belongs to (the signed-in account; an account holding the sender's address;
otherwise a new ``correspondent`` subject), seals what the person wrote with that
subject's key, assigns the inquiry to the department's queue (CPE-IX.1), sets
the deadline ``inquiries_reply_days`` after receipt (CPE-IX.2, CORP-9.1) and queues
the auto-reply (``inquiry.received``: the reference, the due date and the advice
to use the app or the privacy center rather than send personal data by e-mail,
CPE-IV.4.b), all in the caller's transaction.  It never asks for identity
documents: a question needs none, and a rights request is proven by signing in
or by a code sent to the account's address.

Every inquiry names its collection point (``source``, CORP-1.1, decision 0036):
the one its channel implies (``privacy_question_app``, ``privacy_question_form``,
``privacy_inbox``), or, for a question staff took down — a call to the hotline, a
question at a brand activity (:func:`submit_recorded`) — the point the desk names,
which must be registered for inquiries and of a kind staff record.  A missing or
unregistered point is refused before anything is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.identifiers import normalise_email
from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.audit.entries import subject_actor, system_actor
from doorstep.audit.services import record
from doorstep.core.clock import require_aware
from doorstep.core.errors import InvalidInputError, PurposeRefusedError
from doorstep.locale import SOURCE
from doorstep.notify.services import queue_email
from doorstep.privacy.datamap.pack_collection import STAFF_KINDS
from doorstep.privacy.datamap.record_sources import checked_source
from doorstep.privacy.requests import notices
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.department import department_of
from doorstep.privacy.requests.inquiries.models import (
    BRAND_ACTIVITY,
    CHANNEL_SOURCES,
    HOTLINE,
    PURPOSE,
    QUESTION_APP,
    Inquiry,
    InquiryChannel,
)
from doorstep.privacy.subjects.models import Subject, SubjectKind

RECEIVED = "inquiry.received"
ANSWERED = "inquiry.answered"
#: The answer carrying a published security impact assessment report (CPE-IV.5).
ANSWERED_REPORT = "inquiry.answered_report"
FORM_ACTOR = system_actor("inquiries.form")
MAILBOX_ACTOR = system_actor("inquiries.mailbox")
#: The longest question and subject line kept (characters); longer text is refused
#: from the app and the form, and cut from e-mail (the mailbox cannot ask again).
MAX_BODY = 10_000
MAX_TITLE = 200
#: Encryption contexts of the sealed columns (``table.column``).
REPLY_TO = "inquiries.reply_to"
TITLE = "inquiries.title"
BODY = "inquiries.body"


@dataclass(frozen=True, slots=True)
class Asker:
    """Whose question it is and how to answer: the subject, an address to seal (None: the
    account's own), and the language replies are written in."""

    subject_id: uuid.UUID
    address: str | None
    language: str = SOURCE


def check_text(title: str | None, body: str, *, cut: bool = False) -> tuple[str | None, str]:
    """The subject line and question, stripped; refused when empty or too long (``cut``:
    shortened instead, for e-mail).  Errors name the field and rule, never the text."""
    text = body.strip()
    if not text:
        raise InvalidInputError.of("body", "required", "the question is empty")
    line = " ".join((title or "").split()) or None
    if cut:
        return (line[:MAX_TITLE] if line else None), text[:MAX_BODY]
    if len(text) > MAX_BODY:
        raise InvalidInputError.of(
            "body", "max_length", f"the question is longer than {MAX_BODY} characters"
        )
    if line is not None and len(line) > MAX_TITLE:
        raise InvalidInputError.of(
            "title", "max_length", f"the subject is longer than {MAX_TITLE} characters"
        )
    return line, text


def asker_for_address(session: Session, address: str) -> Asker:
    """The account holding ``address`` (a normalised e-mail address), or a new correspondent."""
    found = session.execute(
        sa.select(Account.id, Account.language).where(
            Account.email == address, Account.status != AccountStatus.DEREGISTERED
        )
    ).one_or_none()
    if found is not None:
        return Asker(found.id, address, found.language)
    subject = Subject(id=uuid.uuid4(), kind=SubjectKind.CORRESPONDENT)
    session.add(subject)
    session.flush()
    return Asker(subject.id, address)


def open_inquiry(
    session: Session,
    ctx: RequestContext,
    *,
    asker: Asker,
    channel: InquiryChannel,
    title: str | None,
    body: str,
    actor: str,
    received_at: datetime | None = None,
    source: str | None = None,
) -> Inquiry:
    """Record the question (sealed), assign it to the department's queue, start its
    clock and queue the auto-reply; the caller commits.  ``title``/``body`` are checked
    (:func:`check_text`) by the caller.  ``source`` is the collection point (default:
    the channel's); none, or one not registered for inquiries, raises InvalidInputError."""
    source = checked_source(Inquiry.__table__, source or CHANNEL_SOURCES.get(channel), ctx.policy)
    keys = ctx.require_services().keys
    now = ctx.clock.now()
    received = require_aware(received_at) if received_at is not None else now
    row = Inquiry(
        id=uuid.uuid4(),
        subject_id=asker.subject_id,
        channel=channel,
        queue=department_of(ctx.policy).queue,
        received_at=received,
        due_at=received + timedelta(days=ctx.settings.inquiries_reply_days),
        source=source,
    )
    row.reply_to = (
        keys.encrypt(session, asker.subject_id, asker.address, context=REPLY_TO)
        if asker.address is not None
        else None
    )
    row.title = (
        keys.encrypt(session, asker.subject_id, title, context=TITLE) if title is not None else None
    )
    row.body = keys.encrypt(session, asker.subject_id, body, context=BODY)
    session.add(row)
    session.flush()
    record(
        session,
        action="inquiry.received",
        actor=actor,
        subject_id=asker.subject_id,
        purpose=PURPOSE,
        details={
            "inquiry": str(row.id),
            "channel": channel.value,
            "queue": row.queue,
            "source": source,
        },
    )
    reply(
        session,
        ctx,
        row,
        asker.address,
        RECEIVED,
        language=asker.language,
        due=row.due_at.date().isoformat(),
    )
    return row


def reply(
    session: Session,
    ctx: RequestContext,
    row: Inquiry,
    address: str | None,
    template: str,
    *,
    language: str = SOURCE,
    **params: str,
) -> bool:
    """Queue ``template`` to the asker: to ``address`` when one is sealed on the inquiry,
    else to the account's own address (read through the gate).  The use of the
    address is checked and audited by the purpose gate; False when there is no one to
    write to (the gate refused, or an account without address)."""
    if address is None:
        to = notices.reach(session, ctx.gate, row.subject_id, row.id)
        return notices.send(session, ctx.clock, to, template, row.id, **params)
    try:
        ctx.gate.require(
            session,
            row.subject_id,
            REPLY_TO,
            PURPOSE,
            actor=system_actor("inquiries.reply"),
            details={"inquiry": str(row.id)},
        )
    except PurposeRefusedError:
        return False  # audited by the gate
    queue_email(
        session,
        subject_id=row.subject_id,
        to=address,
        template=template,
        params={"reference": str(row.id), **params},
        clock=ctx.clock,
        locale=language,
    )
    return True


def submit_signed_in(
    session: Session,
    ctx: RequestContext,
    *,
    subject_id: uuid.UUID,
    title: str | None,
    body: str,
    source: str = QUESTION_APP,
) -> Inquiry:
    """A question from the signed-in subscriber; answered at the account's own address.

    ``source``: the app's question form, or the privacy center's (``privacy_question_form``)."""
    line, text = check_text(title, body)
    language = session.scalar(sa.select(Account.language).where(Account.id == subject_id))
    return open_inquiry(
        session,
        ctx,
        asker=Asker(subject_id, None, language or SOURCE),
        channel=InquiryChannel.APP,
        title=line,
        body=text,
        actor=subject_actor(subject_id),
        source=source,
    )


def submit_public(
    session: Session, ctx: RequestContext, *, email: str, title: str | None, body: str
) -> Inquiry:
    """A question from the privacy center's public form, answered at ``email``."""
    line, text = check_text(title, body)
    address = normalise_email(email).value
    if address is None:
        raise InvalidInputError.of("email", "email_format", "the e-mail address is not valid")
    return open_inquiry(
        session,
        ctx,
        asker=asker_for_address(session, address),
        channel=InquiryChannel.WEB_FORM,
        title=line,
        body=text,
        actor=FORM_ACTOR,
    )


def staff_source(ctx: RequestContext, source: str | None) -> str:
    """``source`` when staff may record an inquiry collected there, else InvalidInputError.

    A point registered for inquiries (:func:`checked_source`) whose kind staff
    record (a hotline, a brand activity); without the pack's registry, ``hotline``
    or ``brand_activity``.
    """
    checked = checked_source(Inquiry.__table__, source, ctx.policy)
    point = ctx.policy.collection_points.get(checked)
    staff = point.kind in STAFF_KINDS if point is not None else checked in (HOTLINE, BRAND_ACTIVITY)
    if not staff:
        raise InvalidInputError.of(
            "source",
            "staff_collection_point",
            f"{checked!r} is not a collection point staff record (a hotline, a brand activity)",
        )
    return checked


def submit_recorded(
    session: Session,
    ctx: RequestContext,
    *,
    source: str | None,
    email: str,
    title: str | None,
    body: str,
    actor: str,
) -> Inquiry:
    """A question staff took down at ``source`` (the hotline …), answered at ``email``.

    Checked before anything is written: the point (:func:`staff_source`), the text
    and the address; the inquiry's channel is ``staff`` and its clock starts now.
    """
    checked = staff_source(ctx, source)
    line, text = check_text(title, body)
    address = normalise_email(email).value
    if address is None:
        raise InvalidInputError.of("email", "email_format", "the e-mail address is not valid")
    return open_inquiry(
        session,
        ctx,
        asker=asker_for_address(session, address),
        channel=InquiryChannel.STAFF,
        title=line,
        body=text,
        actor=actor,
        source=checked,
    )
