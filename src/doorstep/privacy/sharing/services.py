"""Record disclosures; notify every recipient when a subject's data is erased or corrected.

CPE-V.3.c: an approved erasure is sent to every recipient in the disclosure
register, except recipients holding the data on a ground of their own (a legal
exception, or the subject's independent authorisation), which are skipped with
the reason recorded; confirmations are tracked.  CPE-V.2.b asks the same of
corrections.  A notice goes by e-mail to the recipient's ``contact`` in the
pack, through the outbox, in the caller's transaction; it names the subject by
its pseudonymous id and the request by its reference, nothing else.  A
recipient with no contact gets a ``manual`` notice the desk sends by hand.

:func:`disclosed_recipients` is read *before* an erasure (the register goes
with the subject); :func:`notify_recipients` writes the notices after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.notify.services import queue_email
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.registry import personal_elements
from doorstep.privacy.sharing.models import (
    Disclosure,
    DisclosureBasis,
    NoticeKind,
    NoticeStatus,
    RecipientNotice,
)

PURPOSE = "privacy.rights"
TEMPLATES = {NoticeKind.ERASURE: "recipient.erasure", NoticeKind.CORRECTION: "recipient.correction"}


@dataclass(frozen=True, slots=True)
class Recipient:
    """A recipient that received a subject's data, and the strongest ground it holds it on."""

    key: str
    basis: DisclosureBasis


def record_disclosure(
    session: Session,
    *,
    subject_id: uuid.UUID,
    recipient: str,
    purpose: str,
    elements: Sequence[str],
    pack: PolicyPack,
    clock: Clock,
    actor: str,
    basis: DisclosureBasis | str = DisclosureBasis.OPERATOR,
) -> Disclosure:
    """Write one disclosure to the register (checked against the pack and the data map)."""
    from doorstep.core.models import schema_metadata

    metadata = schema_metadata()

    if recipient not in pack.recipients:
        raise InvalidInputError.of(
            "recipient", "known_recipient", "the recipient is not in the policy pack"
        )
    if purpose not in pack.purposes:
        raise InvalidInputError.of(
            "purpose", "known_purpose", "the purpose is not in the policy pack"
        )
    known = {element for element, _ in personal_elements(metadata)}
    if not elements or any(element not in known for element in elements):
        raise InvalidInputError.of(
            "elements", "personal_element", "name personal elements of the data map"
        )
    try:
        ground = DisclosureBasis(basis)
    except ValueError:
        raise InvalidInputError.of("basis", "known_basis", "unknown disclosure basis") from None
    row = Disclosure(
        id=uuid.uuid4(),
        subject_id=subject_id,
        recipient=recipient,
        purpose=purpose,
        elements=list(elements),
        basis=ground,
        disclosed_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="sharing.disclosed",
        actor=actor,
        subject_id=subject_id,
        purpose=purpose,
        details={"recipient": recipient, "basis": ground.value, "elements": len(elements)},
    )
    return row


def disclosed_recipients(
    session: Session, subject_id: uuid.UUID, *, element: str | None = None
) -> list[Recipient]:
    """The recipients of the subject's data (of ``element`` only, if given), by key.

    A recipient that holds the data on an operator basis for any disclosure is
    asked to act, even if another disclosure gave it a ground of its own.
    """
    return recipients_of(session, [subject_id], element=element)[subject_id]


def recipients_of(
    session: Session, subject_ids: Sequence[uuid.UUID], *, element: str | None = None
) -> dict[uuid.UUID, list[Recipient]]:
    """:func:`disclosed_recipients` of each of ``subject_ids``, in one query."""
    query = sa.select(Disclosure.subject_id, Disclosure.recipient, Disclosure.basis).where(
        Disclosure.subject_id.in_(list(subject_ids))
    )
    if element is not None:
        query = query.where(Disclosure.elements.any_() == element)
    grounds: dict[uuid.UUID, dict[str, DisclosureBasis]] = {s: {} for s in subject_ids}
    for subject_id, key, basis in session.execute(query):
        found = grounds[subject_id]
        if found.get(key) is not DisclosureBasis.OPERATOR:
            found[key] = basis
    return {
        subject_id: [Recipient(key, found[key]) for key in sorted(found)]
        for subject_id, found in grounds.items()
    }


def notify_recipients(
    session: Session,
    *,
    subject_id: uuid.UUID,
    request_id: uuid.UUID | None,
    kind: NoticeKind,
    recipients: Iterable[Recipient],
    pack: PolicyPack,
    clock: Clock,
    actor: str,
) -> list[RecipientNotice]:
    """Write and send one notice per recipient (skipped ones recorded with their reason)."""
    notices = []
    now = clock.now()
    for recipient in recipients:
        details = pack.recipient_details.get(recipient.key)
        contact = details.contact if details is not None else ""
        if recipient.basis is not DisclosureBasis.OPERATOR:
            status, reason = NoticeStatus.SKIPPED, recipient.basis.value
        elif contact:
            status, reason = NoticeStatus.SENT, None
            queue_email(
                session,
                subject_id=subject_id,
                to=contact,
                template=TEMPLATES[kind],
                params={"subject": str(subject_id), "reference": str(request_id or subject_id)},
                clock=clock,
            )
        else:
            status, reason = NoticeStatus.MANUAL, None
        notice = RecipientNotice(
            id=uuid.uuid4(),
            subject_id=subject_id,
            request_id=request_id,
            recipient=recipient.key,
            kind=kind,
            status=status,
            skip_reason=reason,
            created_at=now,
        )
        session.add(notice)
        notices.append(notice)
        record(
            session,
            action=f"sharing.recipient_{status.value}",
            actor=actor,
            subject_id=subject_id,
            purpose=PURPOSE,
            details={
                "recipient": recipient.key,
                "kind": kind.value,
                "request": str(request_id) if request_id else None,
                "reason": reason,
            },
        )
    session.flush()
    return notices


def confirm_notice(
    session: Session, notice_id: uuid.UUID, *, clock: Clock, actor: str
) -> RecipientNotice:
    """Record the recipient's confirmation that it erased or corrected the data."""
    notice = session.get(RecipientNotice, notice_id, with_for_update=True)
    if notice is None:
        raise NotFoundError("no such recipient notice")
    if notice.status not in (NoticeStatus.SENT, NoticeStatus.MANUAL):
        raise ConflictError(
            f"a {notice.status.value} notice cannot be confirmed", reason="not_open"
        )
    notice.status = NoticeStatus.CONFIRMED
    notice.confirmed_at = clock.now()
    record(
        session,
        action="sharing.recipient_confirmed",
        actor=actor,
        subject_id=notice.subject_id,
        purpose=PURPOSE,
        details={"recipient": notice.recipient, "notice": str(notice.id)},
    )
    return notice


def open_notices(session: Session) -> list[RecipientNotice]:
    """Notices still waiting for the recipient's confirmation, oldest first."""
    return list(
        session.scalars(
            sa.select(RecipientNotice)
            .where(RecipientNotice.status.in_([NoticeStatus.SENT, NoticeStatus.MANUAL]))
            .order_by(RecipientNotice.created_at, RecipientNotice.id)
        )
    )
