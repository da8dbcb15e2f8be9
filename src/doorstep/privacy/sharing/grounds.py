"""The grounds the sharing gate reads: a subject's consent per recipient, and legal demands.

* :func:`decide_consent` appends a subject's grant or withdrawal of sharing with
  one recipient for one purpose (CPE-III.1.a, III.2.a); :func:`consent_of` reads
  the latest (one query).  Withdrawal takes effect on the next flow.
* :func:`record_legal_demand` records a legal demand: the authority, the law or
  legal process with its reference, the scope (data-map elements) and the staff
  member who approved it (CPE-III.1.b, CORP-3.5).  A demand without a legal
  reference, authority, approver or scope is refused and nothing is stored;
  :func:`demand_scope` is what the gate checks a flow against.

Services take the caller's session and never commit; each change is audited
with ids and keys only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import InvalidInputError
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.pack_recipients import UNSIGNED_ROLES
from doorstep.privacy.sharing.models import ConsentDecision, LegalDemand, RecipientConsent

_STAFF_ACTOR = re.compile(r"^staff:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: Longest authority name or legal reference accepted (they are names, not documents).
MAX_TEXT = 500


@dataclass(frozen=True, slots=True)
class DemandScope:
    """What a recorded legal demand allows: to whom, for what, and which elements."""

    id: uuid.UUID
    recipient: str
    purpose: str
    scope: frozenset[str]


def decide_consent(
    session: Session,
    *,
    subject_id: uuid.UUID,
    recipient: str,
    purpose: str,
    decision: ConsentDecision,
    pack: PolicyPack,
    clock: Clock,
    actor: str,
) -> RecipientConsent:
    """Record the subject's explicit decision on sharing with ``recipient`` for ``purpose``."""
    policy = pack.sharing.get(recipient)
    if policy is None:
        raise InvalidInputError.of(
            "recipient", "registered_recipient", "the recipient is not registered"
        )
    if purpose not in policy.shares:
        raise InvalidInputError.of(
            "purpose", "shared_purpose", "the recipient receives nothing for it"
        )
    row = RecipientConsent(
        id=uuid.uuid4(),
        subject_id=subject_id,
        recipient=recipient,
        purpose=purpose,
        decision=decision,
        decided_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        action=f"sharing.consent_{decision.value}",
        actor=actor,
        subject_id=subject_id,
        purpose=purpose,
        details={"recipient": recipient, "decision": str(row.id)},
    )
    return row


def consent_of(
    session: Session, subject_id: uuid.UUID, recipient: str, purpose: str
) -> tuple[bool | None, uuid.UUID | None]:
    """The latest decision: (True, id) granted, (False, id) withdrawn, (None, None) none."""
    latest = session.execute(
        sa.select(RecipientConsent.decision, RecipientConsent.id)
        .where(
            RecipientConsent.subject_id == subject_id,
            RecipientConsent.recipient == recipient,
            RecipientConsent.purpose == purpose,
        )
        .order_by(RecipientConsent.decided_at.desc(), RecipientConsent.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None, None
    return latest.decision is ConsentDecision.GRANT, latest.id


def _text(value: str, field: str) -> str:
    cleaned = value.strip() if isinstance(value, str) else ""
    if not cleaned:
        raise InvalidInputError.of(
            field, "required", f"a legal demand needs its {field.replace('_', ' ')}"
        )
    if len(cleaned) > MAX_TEXT:
        raise InvalidInputError.of(
            field, f"at_most_{MAX_TEXT}_characters", f"the {field} is too long"
        )
    return cleaned


def record_legal_demand(
    session: Session,
    *,
    subject_id: uuid.UUID,
    recipient: str,
    purpose: str,
    authority: str,
    legal_reference: str,
    scope: Sequence[str],
    approved_by: str,
    known_elements: frozenset[str],
    pack: PolicyPack,
    clock: Clock,
) -> LegalDemand:
    """Record a legal demand for ``subject_id``'s data, or raise naming the missing part.

    ``recipient`` is a registered authority (or the public, for a mandated
    publication); ``scope`` lists data-map elements of ``known_elements``;
    ``approved_by`` is the approving staff actor (``staff:<uuid>``).
    """
    policy = pack.sharing.get(recipient)
    if policy is None or policy.role not in UNSIGNED_ROLES:
        raise InvalidInputError.of(
            "recipient", "authority_or_public", "the recipient is no authority"
        )
    if purpose not in pack.purposes:
        raise InvalidInputError.of(
            "purpose", "known_purpose", "the purpose is not in the policy pack"
        )
    legal = _text(legal_reference, "legal_reference")
    who = _text(authority, "authority")
    if not isinstance(approved_by, str) or not _STAFF_ACTOR.fullmatch(approved_by):
        raise InvalidInputError.of(
            "approved_by", "staff_actor", "a legal demand needs its approver"
        )
    elements = sorted(set(scope))
    if not elements or any(element not in known_elements for element in elements):
        raise InvalidInputError.of(
            "scope", "personal_element", "name personal elements of the data map"
        )
    demand = LegalDemand(
        id=uuid.uuid4(),
        subject_id=subject_id,
        recipient=recipient,
        purpose=purpose,
        authority=who,
        legal_reference=legal,
        scope=elements,
        approved_by=approved_by,
        recorded_at=clock.now(),
    )
    session.add(demand)
    session.flush()
    record(
        session,
        action="sharing.demand_recorded",
        actor=approved_by,
        subject_id=subject_id,
        purpose=purpose,
        details={"recipient": recipient, "demand": str(demand.id), "elements": len(elements)},
    )
    return demand


def demand_scope(
    session: Session, demand_id: uuid.UUID, subject_id: uuid.UUID
) -> DemandScope | None:
    """The scope of demand ``demand_id`` if it is about ``subject_id``; None otherwise."""
    demand = session.get(LegalDemand, demand_id)
    if demand is None or demand.subject_id != subject_id:
        return None
    return DemandScope(demand.id, demand.recipient, demand.purpose, frozenset(demand.scope))
