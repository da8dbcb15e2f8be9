"""Consent decisions: grant, refuse, withdraw; the current state; optional functions.

Every decision appends one row to the ledger (never an update) and one audit
record.  Rules:

* only consent-based purposes (the ``terms`` of the pack in force, which the
  caller passes: ``Services.terms``) take decisions;
* grants and refusals name the notice the subject was shown (its SHA-256 is
  stored) and the policy version (default: the pack's current one);
* a withdrawal needs a live grant and is accepted on every channel, the grant's
  own channel included (it is never harder to withdraw than to give, Art. 7(3));
  the channel it came through is recorded;
* withdrawal stops processing from then on: the gate reads the latest event, and
  nothing earlier (ledger rows, audit records) is touched.

Decisions of one subject x purpose are serialised with a transaction-scoped
advisory lock, so a withdrawal always follows the grant it withdraws.  Writing
the ledger is not itself gated: a restriction must never block a withdrawal.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import AuditEntry, subject_actor
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.consent.models import Channel, ConsentAction, ConsentEvent, consent_state
from doorstep.privacy.consent.terms import ConsentTerms

#: The purpose under which the ledger itself is kept (datamap.yaml).
LEDGER_PURPOSE = "consent.management"
#: Namespace of the advisory locks that serialise decisions ("CNST").
_LOCK_NAMESPACE = 0x434E5354

_AUDIT_ACTIONS = {
    ConsentAction.GRANT: "consent.granted",
    ConsentAction.REFUSE: "consent.refused",
    ConsentAction.WITHDRAW: "consent.withdrawn",
}
_LOCK = sa.text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:key))")
_CHECK = sa.text(
    """
    SELECT EXISTS (SELECT 1 FROM subjects WHERE id = :subject),
           (SELECT action FROM consent_state WHERE subject_id = :subject AND purpose = :purpose)
    """
)
_ENABLED = sa.text(
    """
    SELECT EXISTS (SELECT 1 FROM consent_state
                    WHERE subject_id = :subject AND purpose = :purpose AND action = 'grant')
       AND NOT EXISTS (SELECT 1 FROM restrictions
                        WHERE subject_id = :subject AND purpose = :purpose
                          AND lifted_at IS NULL)
    """
)


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One ledger event as services hand it out (``id`` is the receipt id)."""

    id: uuid.UUID
    subject_id: uuid.UUID
    purpose: str
    action: ConsentAction
    channel: Channel
    policy_version: str
    notice_hash: str | None
    occurred_at: datetime

    @property
    def granted(self) -> bool:
        """Whether this event leaves a live consent."""
        return self.action is ConsentAction.GRANT


@dataclass(frozen=True, slots=True)
class OptionalFunction:
    """An optional function of the app, whether it is on, and the way without it."""

    purpose: str
    function: str
    enabled: bool
    manual_path: str


def notice_hash(text: str) -> str:
    """SHA-256 (hex) of the notice text exactly as shown (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _channel(value: Channel | str) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        raise InvalidInputError(
            "unknown consent channel", errors=[{"field": "channel", "rule": "channel"}]
        ) from None


def _consent_purpose(terms: ConsentTerms, purpose: str) -> None:
    if purpose not in terms.purposes:
        raise InvalidInputError(
            f"purpose {purpose!r} does not rest on consent",
            errors=[{"field": "purpose", "rule": "consent_based_purpose"}],
        )


def _record_of(row: sa.Row[tuple[object, ...]] | ConsentEvent) -> ConsentRecord:
    mapping = row._mapping if isinstance(row, sa.Row) else None
    if mapping is not None:
        return ConsentRecord(
            id=mapping["event_id"],
            subject_id=mapping["subject_id"],
            purpose=mapping["purpose"],
            action=ConsentAction(mapping["action"]),
            channel=Channel(mapping["channel"]),
            policy_version=mapping["policy_version"],
            notice_hash=mapping["notice_hash"],
            occurred_at=mapping["occurred_at"],
        )
    assert isinstance(row, ConsentEvent)
    return ConsentRecord(
        row.id,
        row.subject_id,
        row.purpose,
        ConsentAction(row.action),
        Channel(row.channel),
        row.policy_version,
        row.notice_hash,
        row.occurred_at,
    )


def latest(session: Session, subject_id: uuid.UUID, purpose: str) -> ConsentRecord | None:
    """The subject's latest decision for ``purpose`` (None when never asked)."""
    row = session.execute(
        sa.select(consent_state).where(
            consent_state.c.subject_id == subject_id, consent_state.c.purpose == purpose
        )
    ).first()
    return None if row is None else _record_of(row)


def _decide(
    session: Session,
    *,
    subject_id: uuid.UUID,
    purpose: str,
    action: ConsentAction,
    channel: Channel | str,
    clock: Clock,
    notice_text: str | None,
    policy_version: str | None,
    actor: str | None,
    terms: ConsentTerms,
) -> ConsentRecord:
    _consent_purpose(terms, purpose)
    via = _channel(channel)
    if action is not ConsentAction.WITHDRAW and notice_text is None:
        raise InvalidInputError(
            "a grant or refusal must name the notice shown",
            errors=[{"field": "notice_text", "rule": "required"}],
        )
    version = policy_version or terms.require_policy().version
    # The lock first, in a statement of its own: the check below then reads a
    # snapshot taken after any concurrent decision on the same pair committed.
    session.execute(_LOCK, {"namespace": _LOCK_NAMESPACE, "key": f"{subject_id}/{purpose}"})
    exists, current = session.execute(_CHECK, {"subject": subject_id, "purpose": purpose}).one()
    if not exists:
        raise NotFoundError("no such subject")
    if action is ConsentAction.WITHDRAW and current != ConsentAction.GRANT.value:
        raise ConflictError(
            "there is no consent to withdraw", purpose=purpose, reason="not_granted"
        )
    record = ConsentRecord(
        id=uuid.uuid4(),
        subject_id=subject_id,
        purpose=purpose,
        action=action,
        channel=via,
        policy_version=version,
        notice_hash=None if notice_text is None else notice_hash(notice_text),
        occurred_at=clock.now(),
    )
    session.execute(
        sa.insert(ConsentEvent).values(
            id=record.id,
            subject_id=subject_id,
            purpose=purpose,
            action=action,
            channel=via,
            policy_version=version,
            notice_hash=record.notice_hash,
            occurred_at=record.occurred_at,
        )
    )
    AuditEntry(
        action=_AUDIT_ACTIONS[action],
        actor=actor or subject_actor(subject_id),
        subject_id=subject_id,
        purpose=LEDGER_PURPOSE,
        details={
            "consent_purpose": purpose,
            "consent_event": str(record.id),
            "channel": via.value,
        },
        at=record.occurred_at,
    ).write(session)
    return record


def grant(
    session: Session,
    *,
    subject_id: uuid.UUID,
    purpose: str,
    channel: Channel | str,
    notice_text: str,
    clock: Clock,
    policy_version: str | None = None,
    actor: str | None = None,
    terms: ConsentTerms,
) -> ConsentRecord:
    """Record that the subject agreed to ``purpose`` after being shown ``notice_text``."""
    return _decide(
        session,
        subject_id=subject_id,
        purpose=purpose,
        action=ConsentAction.GRANT,
        channel=channel,
        clock=clock,
        notice_text=notice_text,
        policy_version=policy_version,
        actor=actor,
        terms=terms,
    )


def refuse(
    session: Session,
    *,
    subject_id: uuid.UUID,
    purpose: str,
    channel: Channel | str,
    notice_text: str,
    clock: Clock,
    policy_version: str | None = None,
    actor: str | None = None,
    terms: ConsentTerms,
) -> ConsentRecord:
    """Record that the subject said no when asked; the function stays off."""
    return _decide(
        session,
        subject_id=subject_id,
        purpose=purpose,
        action=ConsentAction.REFUSE,
        channel=channel,
        clock=clock,
        notice_text=notice_text,
        policy_version=policy_version,
        actor=actor,
        terms=terms,
    )


def withdraw(
    session: Session,
    *,
    subject_id: uuid.UUID,
    purpose: str,
    channel: Channel | str,
    clock: Clock,
    notice_text: str | None = None,
    policy_version: str | None = None,
    actor: str | None = None,
    terms: ConsentTerms,
) -> ConsentRecord:
    """Withdraw a live consent, on any channel; :class:`ConflictError` when there is none.

    Processing under the purpose stops for every unit of work that starts after
    the commit; what happened before stays as it was.
    """
    return _decide(
        session,
        subject_id=subject_id,
        purpose=purpose,
        action=ConsentAction.WITHDRAW,
        channel=channel,
        clock=clock,
        notice_text=notice_text,
        policy_version=policy_version,
        actor=actor,
        terms=terms,
    )


def current_state(session: Session, subject_id: uuid.UUID) -> dict[str, ConsentRecord]:
    """The latest decision per purpose (the ``consent_state`` view), keyed by purpose."""
    rows = session.execute(
        sa.select(consent_state)
        .where(consent_state.c.subject_id == subject_id)
        .order_by(consent_state.c.purpose)
    )
    return {record.purpose: record for record in map(_record_of, rows)}


def history(
    session: Session, subject_id: uuid.UUID, purpose: str | None = None
) -> list[ConsentRecord]:
    """Every decision of the subject (for one purpose if given), oldest first."""
    query = sa.select(ConsentEvent).where(ConsentEvent.subject_id == subject_id)
    if purpose is not None:
        query = query.where(ConsentEvent.purpose == purpose)
    return [_record_of(row) for row in session.scalars(query.order_by(ConsentEvent.seq))]


def get_event(session: Session, event_id: uuid.UUID) -> ConsentRecord:
    """One ledger event by its id (the receipt id); :class:`NotFoundError` if unknown."""
    row = session.get(ConsentEvent, event_id)
    if row is None:
        raise NotFoundError("no such consent event")
    return _record_of(row)


def is_enabled(
    session: Session, subject_id: uuid.UUID, purpose: str, *, terms: ConsentTerms
) -> bool:
    """Whether a consent-based function is on: a live grant and no restriction in force.

    Off is the default: a subject never asked, who refused, or who withdrew gets
    False.  ``purpose`` must be consent-based (:class:`InvalidInputError` otherwise).
    """
    _consent_purpose(terms, purpose)
    return bool(session.execute(_ENABLED, {"subject": subject_id, "purpose": purpose}).scalar())


def optional_functions(
    session: Session, subject_id: uuid.UUID, *, terms: ConsentTerms
) -> list[OptionalFunction]:
    """Every optional function of the pack, on or off for the subject, with its manual path.

    This is what the app shows after a withdrawal: which functions are now off
    and how to do the same job without them.
    """
    state = current_state(session, subject_id)
    from doorstep.privacy.restrictions.services import restrictions_of

    restricted = {item.purpose for item in restrictions_of(session, subject_id)}
    return [
        OptionalFunction(
            purpose=item.key,
            function=item.function,
            enabled=(item.key in state and state[item.key].granted and item.key not in restricted),
            manual_path=item.manual_path,
        )
        for item in terms.optional_functions
    ]
