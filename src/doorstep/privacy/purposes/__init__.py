"""The purpose gate every use of personal data goes through, and restrictions of processing.

Public surface::

    gate = PurposeGate.from_datamap(metadata, pack)        # once per process
    access = gate.for_subject(session, subject_id, actor=staff_actor(staff_id))
    access.check("accounts.email", "customer.support", audit=True)
    gate.require(session, subject_id, element, purpose, actor=...)   # one-off

Refusals raise :class:`doorstep.core.errors.PurposeRefusedError` and are audited;
:func:`audited_transaction` keeps their audit record when the refusal rolls the
caller's transaction back.
"""

from doorstep.privacy.purposes.audit import (
    USE_ACTION,
    AuditEntry,
    audited_transaction,
    staff_actor,
    subject_actor,
    system_actor,
)
from doorstep.privacy.purposes.gate import (
    GateRefusedError,
    PurposeGate,
    RefusalReason,
    SubjectAccess,
    default_gate,
)
from doorstep.privacy.purposes.models import Restriction, RestrictionReason
from doorstep.privacy.purposes.services import RestrictionRecord, lift, restrict, restrictions_of

__all__ = [
    "USE_ACTION",
    "AuditEntry",
    "GateRefusedError",
    "PurposeGate",
    "RefusalReason",
    "Restriction",
    "RestrictionReason",
    "RestrictionRecord",
    "SubjectAccess",
    "audited_transaction",
    "default_gate",
    "lift",
    "restrict",
    "restrictions_of",
    "staff_actor",
    "subject_actor",
    "system_actor",
]
