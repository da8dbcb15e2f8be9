"""Home countries and transfer mechanisms: record, revoke, look up.

A mechanism covers transfers to one country, to one recipient of the pack or to
any (``recipient`` None).  Adequacy, standard contracts and binding rules are
the operator's (recorded by the privacy desk with the document's reference and
dates); a consent is one subject's and names it.  A mechanism is *in force* on
a day when it is not revoked, was signed on or before that day (when a date is
given) and has not expired (``expires_on`` is the first day it no longer
covers).  Every change is audited with ids only.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.transfers.models import MechanismKind, SubjectRegion, TransferMechanism

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_REFERENCE = re.compile(r"^[\x20-\x7e]{1,200}$")


@dataclass(frozen=True, slots=True)
class Mechanism:
    """A mechanism as services hand it out."""

    id: uuid.UUID
    kind: MechanismKind
    country: str
    recipient: str | None
    subject_id: uuid.UUID | None
    reference: str
    signed_on: date | None
    expires_on: date | None
    revoked: bool


def _invalid(field: str, rule: str) -> InvalidInputError:
    return InvalidInputError(f"{field} breaks rule {rule}", errors=[{"field": field, "rule": rule}])


def country_code(value: object, field: str = "country") -> str:
    """``value`` as an upper-case ISO 3166-1 alpha-2 code; InvalidInputError otherwise."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if not _COUNTRY.fullmatch(code):
        raise _invalid(field, "iso_3166_alpha_2")
    return code


def _mechanism(row: TransferMechanism) -> Mechanism:
    return Mechanism(
        row.id,
        row.kind,
        row.country,
        row.recipient,
        row.subject_id,
        row.reference,
        row.signed_on,
        row.expires_on,
        row.revoked_at is not None,
    )


def set_home(
    session: Session, subject_id: uuid.UUID, country: str, *, clock: Clock, actor: str
) -> None:
    """Record ``country`` as the subject's home country (where its data is collected)."""
    code = country_code(country)
    if (
        session.get(SubjectRegion, subject_id) is None
        and not session.execute(
            sa.text("SELECT 1 FROM subjects WHERE id = :id"), {"id": subject_id}
        ).first()
    ):
        raise NotFoundError("no such subject", subject_id=str(subject_id))
    values = {"country": code, "recorded_at": clock.now()}
    session.execute(
        insert(SubjectRegion)
        .values(subject_id=subject_id, **values)
        .on_conflict_do_update(index_elements=["subject_id"], set_=values)
    )
    record(session, action="transfers.home_set", actor=actor, subject_id=subject_id)


def home_of(session: Session, subject_id: uuid.UUID | None, default: str) -> str:
    """The subject's home country, or ``default`` (the pack's) when none is recorded."""
    if subject_id is None:
        return default
    found = session.scalar(
        sa.select(SubjectRegion.country).where(SubjectRegion.subject_id == subject_id)
    )
    return found or default


def add_mechanism(
    session: Session,
    *,
    kind: MechanismKind,
    country: str,
    reference: str,
    clock: Clock,
    actor: str,
    recipient: str | None = None,
    subject_id: uuid.UUID | None = None,
    signed_on: date | None = None,
    expires_on: date | None = None,
) -> Mechanism:
    """Record a mechanism; a consent needs ``subject_id``, the others must not have one."""
    code = country_code(country)
    if not isinstance(reference, str) or not _REFERENCE.fullmatch(reference.strip()):
        raise _invalid("reference", "printable_1_to_200")
    if (kind is MechanismKind.CONSENT) != (subject_id is not None):
        raise _invalid("subject_id", "required_for_consent_only")
    if kind is MechanismKind.STANDARD_CONTRACT and signed_on is None:
        raise _invalid("signed_on", "required_for_contract")
    if signed_on is not None and expires_on is not None and expires_on <= signed_on:
        raise _invalid("expires_on", "after_signed_on")
    row = TransferMechanism(
        id=uuid.uuid4(),
        kind=kind,
        country=code,
        recipient=recipient,
        subject_id=subject_id,
        reference=reference.strip(),
        signed_on=signed_on,
        expires_on=expires_on,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="transfers.mechanism_added",
        actor=actor,
        subject_id=subject_id,
        details={"mechanism": str(row.id), "kind": kind.value, "country": code},
    )
    return _mechanism(row)


def revoke_mechanism(
    session: Session, mechanism_id: uuid.UUID, *, clock: Clock, actor: str
) -> Mechanism:
    """Revoke (or, for a consent, withdraw) a mechanism; transfers stop from now on."""
    row = session.get(TransferMechanism, mechanism_id, with_for_update=True)
    if row is None:
        raise NotFoundError("no such transfer mechanism", mechanism=str(mechanism_id))
    if row.revoked_at is not None:
        raise ConflictError("the mechanism is already revoked", mechanism=str(mechanism_id))
    row.revoked_at = clock.now()
    record(
        session,
        action="transfers.mechanism_revoked",
        actor=actor,
        subject_id=row.subject_id,
        details={"mechanism": str(row.id), "kind": row.kind.value},
    )
    return _mechanism(row)


def mechanisms(session: Session, *, include_revoked: bool = False) -> list[Mechanism]:
    """The operator's mechanisms (consents are the subjects': not listed here), by country."""
    query = sa.select(TransferMechanism).where(TransferMechanism.subject_id.is_(None))
    if not include_revoked:
        query = query.where(TransferMechanism.revoked_at.is_(None))
    rows = session.scalars(query.order_by(TransferMechanism.country, TransferMechanism.recorded_at))
    return [_mechanism(row) for row in rows]


def in_force(
    session: Session,
    *,
    country: str,
    recipient: str,
    subject_id: uuid.UUID | None,
    today: date,
) -> list[Mechanism]:
    """Mechanisms covering a flow to ``recipient`` in ``country`` today, consents first."""
    mechanism = TransferMechanism
    query = (
        sa.select(mechanism)
        .where(
            mechanism.country == country,
            mechanism.revoked_at.is_(None),
            sa.or_(mechanism.recipient.is_(None), mechanism.recipient == recipient),
            sa.or_(mechanism.signed_on.is_(None), mechanism.signed_on <= today),
            sa.or_(mechanism.expires_on.is_(None), mechanism.expires_on > today),
            sa.or_(
                mechanism.subject_id.is_(None)
                if subject_id is None
                else sa.or_(mechanism.subject_id.is_(None), mechanism.subject_id == subject_id),
            ),
        )
        .order_by((mechanism.kind == MechanismKind.CONSENT).desc(), mechanism.recorded_at)
    )
    return [_mechanism(row) for row in session.scalars(query)]
