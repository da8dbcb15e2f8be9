"""What the sharing gate decides: refusal reasons, the error, a decision, a release, the ground.

The values :class:`~.gate.SharingGate` returns and raises, and the pure rules it
applies to a recipient's role and share (:func:`ground_of`, :func:`needs_consent`):
kept apart so the gate module holds the flow and the register only.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from doorstep.audit.entries import AuditEntry
from doorstep.core.errors import PermissionDeniedError
from doorstep.privacy.datamap.pack_recipients import RecipientPolicy, Role, Share
from doorstep.privacy.sharing.models import Ground


class Refusal(StrEnum):
    """Why the gate refused a flow: the ``reason`` of the error and the audit record."""

    UNKNOWN_RECIPIENT = "unknown_recipient"
    NO_AGREEMENT = "no_agreement"
    AGREEMENT_NOT_ACTIVE = "agreement_not_active"
    PURPOSE_NOT_SHARED = "purpose_not_shared"
    NO_NECESSITY_REASON = "no_necessity_reason"
    NO_CONSENT = "no_consent"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    NO_LEGAL_DEMAND = "no_legal_demand"
    DEMAND_MISMATCH = "demand_mismatch"
    ELEMENT_NOT_SHARED = "element_not_shared"
    #: The flow crosses a border where the pack asks for de-identification, and a
    #: required element (the address a message goes to) cannot leave de-identified.
    NOT_DEIDENTIFIABLE = "not_deidentifiable"


class SharingRefusedError(PermissionDeniedError):
    """A flow to a recipient was refused; ``fields`` name recipient, purpose and reason."""

    code = "sharing-refused"
    title = "Flow to a recipient refused"

    def __init__(self, entry: AuditEntry, *, recipient: str, purpose: str, reason: str) -> None:
        super().__init__(
            f"flow to recipient {recipient} for purpose {purpose} refused: {reason}",
            recipient=recipient,
            purpose=purpose,
            reason=reason,
        )
        self.audit_entry = entry
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Decision:
    """What :meth:`SharingGate.evaluate` allowed: the ground and the elements that may leave."""

    ground: Ground
    allowed: frozenset[str]


@dataclass(frozen=True, slots=True)
class Release:
    """A flow let through: the cut payload, what was withheld, and the register row's id."""

    recipient: str
    purpose: str
    ground: Ground
    payload: Mapping[str, object]
    withheld: tuple[str, ...]
    disclosure_id: uuid.UUID | None


def column_of(element: str) -> str:
    """The data-map element (``table.column``) an element or JSON key belongs to."""
    table, _, rest = element.partition(".")
    return f"{table}.{rest.partition('.')[0]}"


def passes(element: str, allowed: Collection[str]) -> bool:
    """Whether ``element`` is in ``allowed``, itself or through its whole column."""
    return element in allowed or column_of(element) in allowed


class Refused(Exception):
    """Raised inside the gate's checks with the reason; the gate turns it into the error."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


def ground_of(policy: RecipientPolicy, share: Share, consent: bool | None) -> Ground:
    """The ground of a flow for ``share``: the role's own, else the subject's consent."""
    role = policy.role
    if role is Role.PROCESSOR:
        return Ground.PROCESSOR_CONTRACT
    if role is Role.GROUP_ENTITY and share.reason:
        return Ground.GROUP_NECESSITY
    if role is Role.BUSINESS_PARTNER and share.minimal_necessary:
        return Ground.PARTNER_NECESSITY
    if consent:
        return Ground.CONSENT
    if role is Role.GROUP_ENTITY:
        raise Refused(Refusal.NO_NECESSITY_REASON)
    raise Refused(Refusal.NO_CONSENT if consent is None else Refusal.CONSENT_WITHDRAWN)


def needs_consent(policy: RecipientPolicy, purpose: str) -> bool:
    """Whether a flow to ``policy`` for ``purpose`` rests on the subject's consent."""
    share = policy.shares.get(purpose)
    if share is None or policy.role in (Role.PROCESSOR, Role.AUTHORITY):
        return False
    if policy.role is Role.GROUP_ENTITY and share.reason:
        return False
    return not (policy.role is Role.BUSINESS_PARTNER and share.minimal_necessary)
