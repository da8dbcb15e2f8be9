"""The purpose gate every use of personal data goes through.

Public surface::

    gate = PurposeGate.from_datamap(metadata, pack)        # once per process (the root's)
    gate.terms                                             # the pack's consent terms
    access = gate.for_subject(session, subject_id, actor=staff_actor(staff_id))
    access.check("accounts.email", "customer.support", audit=True)
    gate.require(session, subject_id, element, purpose, actor=...)   # one-off

Refusals raise :class:`doorstep.core.errors.PurposeRefusedError` and are audited;
:func:`doorstep.audit.entries.audited_transaction` keeps their audit record when the
refusal rolls the caller's transaction back.  The gate reads the consent ledger
(:mod:`doorstep.privacy.consent`) and the restrictions in force
(:mod:`doorstep.privacy.restrictions`), both below it.
"""

from doorstep.privacy.purposes.gate import (
    GateRefusedError,
    PurposeGate,
    RefusalReason,
    SubjectAccess,
)

__all__ = [
    "GateRefusedError",
    "PurposeGate",
    "RefusalReason",
    "SubjectAccess",
]
