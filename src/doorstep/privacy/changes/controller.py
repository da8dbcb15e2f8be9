"""A change of controller (merger, acquisition, liquidation): CPE-III.2.b, CORP-3.4.

The procedure (``doorstep policy change-controller``, docs/policy-versions.md):

1. :func:`record_change` records the successor — kind, organisation, its
   privacy contact, the day it takes over — and binds it to the policy version
   that is newest when it is recorded (``controller_changes.policy_version``).
   Nothing about a subscriber changes: each keeps governing by the version they
   accepted, so the successor continues under the current terms.  It enqueues
   the notice run (change id only) in the same transaction.
2. :func:`notify_batch` tells subscribers, in batches of one transaction each,
   by e-mail (``controller.changed``) in their language; the address is read
   through the purpose gate (``privacy.rights``).  A batch holds a transaction
   lock on the change, and a subscriber counts as told when the outbox holds a
   ``controller.changed`` message for them queued since the change was
   recorded: a run killed half-way (or two at once) resumes without telling
   anyone twice.  We accept that this reads the outbox, whose rows the outbox's
   own period purges after 30 days, because the run finishes in minutes and a
   table of its own would only repeat what the outbox holds until then.
3. New terms of the successor are a new version published with ``doorstep
   policy publish``: :func:`successor_terms` adds to the first version published
   over the bound one a change that needs each subscriber's acceptance, so it
   is major and governs a subscriber only once they accept it (the purpose gate
   refuses, with ``policy_not_accepted``, a purpose only the new terms allow).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.audit.entries import AuditEntry, system_actor
from doorstep.core.errors import InvalidInputError, NotFoundError
from doorstep.jobs.enqueue import enqueue
from doorstep.notify.models import OutboxMessage
from doorstep.notify.services import queue_email
from doorstep.privacy.policies import versions
from doorstep.privacy.policies.classify import Change, Trigger
from doorstep.privacy.sharing.models import ControllerChange
from doorstep.services import Services

#: Telling subscribers who holds their data now is part of keeping their rights (Art. 13-14).
PURPOSE = "privacy.rights"
TEMPLATE = "controller.changed"
NOTIFY_TASK = "changes.controller_notify"
ACTOR = system_actor("changes.controller_notify")
KINDS = ("merger", "acquisition", "liquidation")
#: Longest successor name or contact accepted (names and addresses, not documents).
MAX_TEXT = 300


@dataclass(frozen=True, slots=True)
class Successor:
    """What the operator records: the kind of change, the successor and when it takes over."""

    kind: str
    successor: str
    contact: str
    effective_on: date


def _text(value: str, field: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInputError.of(field, "required", f"a change of controller needs its {field}")
    if len(cleaned) > MAX_TEXT or any(ord(char) < 32 for char in cleaned):
        raise InvalidInputError.of(
            field, "one_line", f"the {field} is one line of at most {MAX_TEXT}"
        )
    return cleaned


def record_change(
    session: Session, services: Services, successor: Successor, *, actor: str
) -> ControllerChange:
    """Record the change, bind it to the newest policy version, enqueue the notices.

    InvalidInputError (naming the field) for an unknown kind, an empty or
    multi-line successor or contact, a contact that is not an e-mail address,
    or a day in the past; nothing is stored then.
    """
    clock = services.runtime.clock
    if successor.kind not in KINDS:
        raise InvalidInputError.of(
            "kind", "controller_change_kind", "merger, acquisition or liquidation"
        )
    name = _text(successor.successor, "successor")
    contact = _text(successor.contact, "contact")
    local, at, domain = contact.partition("@")
    if not (local and at and "." in domain) or " " in contact:
        raise InvalidInputError.of("contact", "email_address", "the contact is an e-mail address")
    if successor.effective_on < clock.now().date():
        raise InvalidInputError.of(
            "effective_on", "not_in_past", "the day of the takeover is in the past"
        )
    versions.ensure_initial(session, services.pack, services.terms, clock)
    bound = versions.latest(session)
    assert bound is not None  # ensure_initial stored the first one
    change = ControllerChange(
        id=uuid.uuid4(),
        kind=successor.kind,
        successor=name,
        successor_contact=contact,
        effective_on=successor.effective_on,
        policy_version=bound.id,
        recorded_by=actor,
        recorded_at=clock.now(),
    )
    session.add(change)
    session.flush()
    AuditEntry(
        action="policy.controller_changed",
        actor=actor,
        purpose=PURPOSE,
        details={"change": str(change.id), "kind": change.kind, "policy_version": bound.id},
    ).write(session)
    enqueue(
        session, NOTIFY_TASK, queueing_lock=f"{NOTIFY_TASK}:{change.id}", change_id=str(change.id)
    )
    return change


def changes(session: Session) -> Sequence[ControllerChange]:
    """Every recorded change, oldest first."""
    return session.scalars(
        sa.select(ControllerChange).order_by(ControllerChange.recorded_at, ControllerChange.id)
    ).all()


def get_change(session: Session, change_id: uuid.UUID) -> ControllerChange:
    """One change, or NotFoundError."""
    found = session.get(ControllerChange, change_id)
    if found is None:
        raise NotFoundError("no such change of controller")
    return found


def told(session: Session, change: ControllerChange) -> int:
    """How many subscribers the notice run has told of ``change`` so far."""
    return (
        session.scalar(
            sa.select(sa.func.count(sa.distinct(OutboxMessage.subject_id))).where(
                OutboxMessage.template == TEMPLATE, OutboxMessage.created_at >= change.recorded_at
            )
        )
        or 0
    )


def notify_batch(
    session: Session,
    services: Services,
    change_id: uuid.UUID,
    *,
    after: uuid.UUID | None,
    size: int,
) -> uuid.UUID | None:
    """Tell the next ``size`` subscribers (by id, after ``after``); return the last id seen.

    None when no subscriber is left.  Subscribers already told are skipped, so a
    second run tells nobody twice; the transaction lock on the change keeps two
    runs from claiming the same subscribers at once.
    """
    change = get_change(session, change_id)
    session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(str(change.id), 0)))
    )
    already = sa.exists().where(
        OutboxMessage.subject_id == Account.id,
        OutboxMessage.template == TEMPLATE,
        OutboxMessage.created_at >= change.recorded_at,
    )
    query = sa.select(Account.id, Account.email, Account.language).where(
        Account.status != AccountStatus.DEREGISTERED, Account.email.is_not(None), ~already
    )
    if after is not None:
        query = query.where(Account.id > after)
    batch = session.execute(query.order_by(Account.id).limit(size)).all()
    if not batch:
        return None
    clock = services.runtime.clock
    params = {
        "successor": change.successor,
        "contact": change.successor_contact,
        "effective": change.effective_on.isoformat(),
        "version": change.policy_version or "",
    }
    for subject, email, language in batch:
        access = services.gate.for_subject(session, subject, actor=ACTOR)
        if email is None or not access.allows("accounts.email", PURPOSE):
            continue
        access.check("accounts.email", PURPOSE, audit=True)
        queue_email(
            session,
            subject_id=subject,
            to=email,
            template=TEMPLATE,
            params=params,
            clock=clock,
            locale=language,
        )
        AuditEntry(
            action="policy.controller_notified",
            actor=ACTOR,
            subject_id=subject,
            purpose=PURPOSE,
            details={"change": str(change.id)},
        ).write(session)
    last: uuid.UUID = batch[-1][0]
    return last


def notify_all(services: Services, change_id: uuid.UUID) -> int:
    """Run batches, each in its own transaction, until every subscriber was seen."""
    runtime = services.runtime
    size = runtime.settings.policy_notice_batch
    after: uuid.UUID | None = None
    batches = 0
    while True:
        with runtime.sessions.begin() as session:
            after = notify_batch(session, services, change_id, after=after, size=size)
        if after is None:
            return batches
        batches += 1


def successor_terms(session: Session, base_id: str) -> Change | None:
    """The change a version published over ``base_id`` carries when a successor binds to it.

    The first version over the version a change of controller is bound to is the
    successor's terms: it needs each subscriber's acceptance (CPE-III.2.b).
    """
    change = session.scalars(
        sa.select(ControllerChange)
        .where(ControllerChange.policy_version == base_id)
        .order_by(ControllerChange.recorded_at.desc())
        .limit(1)
    ).first()
    if change is None:
        return None
    return Change(
        area="controller",
        key=change.successor,
        kind=f"takes over ({change.kind}) with new terms",
        before="",
        after="",
        trigger=Trigger.CONTROLLER.value,
        needs_consent=True,
    )
