"""Processing without consent, under one exemption code and its evidence (CORP-1.5).

The corporate policy lists the cases in which personal data may be collected and
used "without your prior authorization or consent": national security and
defence, public security and health, criminal investigation and legal process,
the subject's or another person's vital interests, lawful news reporting, and
compliance with the law.  Doorstep reads this as a closed list: a use the purpose
gate would refuse only for want of consent is allowed when, and only when, it
names one :class:`ExemptionCode` and a reference to the evidence (a case,
warrant or ticket id, never free text), and the use is written to the audit trail
with both.  Without them it is refused as any use without consent is (audited
with the gate's reason).  An exemption lifts nothing else: an undeclared purpose,
a restriction of processing or a policy version not accepted still refuse.

    exemption = Exemption.of("LEGAL_COMPLIANCE", "case-2025-0042")
    use_without_consent(access, "accounts.nickname", "account.profile", exemption)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from doorstep.audit.entries import DetailValue
from doorstep.core.errors import InvalidInputError
from doorstep.core.logging import scrub
from doorstep.privacy.purposes.gate import RefusalReason, SubjectAccess

#: An evidence reference: a case, warrant or ticket id, never free text.
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
#: The refusals an exemption lifts: the subject's consent is missing, refused or withdrawn.
CONSENT_REASONS = frozenset(
    {RefusalReason.NO_CONSENT, RefusalReason.CONSENT_REFUSED, RefusalReason.CONSENT_WITHDRAWN}
)


class ExemptionCode(StrEnum):
    """The cases the policy names in which consent is not needed (CORP-1.5), one each."""

    NATIONAL_SECURITY_DEFENCE = "NATIONAL_SECURITY_DEFENCE"
    PUBLIC_SECURITY_HEALTH_INTEREST = "PUBLIC_SECURITY_HEALTH_INTEREST"
    CRIMINAL_OR_LEGAL_PROCESS = "CRIMINAL_OR_LEGAL_PROCESS"
    VITAL_INTERESTS = "VITAL_INTERESTS"
    LAWFUL_NEWS_REPORTING = "LAWFUL_NEWS_REPORTING"
    LEGAL_COMPLIANCE = "LEGAL_COMPLIANCE"


@dataclass(frozen=True, slots=True)
class Exemption:
    """One exemption code and the reference of its evidence."""

    code: ExemptionCode
    evidence: str

    @classmethod
    def of(cls, code: str | None, evidence: str | None) -> Exemption:
        """Check a caller's code and evidence reference; InvalidInputError naming the field."""
        try:
            known = ExemptionCode(code or "")
        except ValueError:
            raise InvalidInputError(
                "processing without consent needs one exemption code of the policy's list",
                errors=[{"field": "exemption", "rule": "exemption_code"}],
            ) from None
        reference = (evidence or "").strip()
        if not reference:
            raise InvalidInputError(
                "processing without consent needs a reference to its evidence",
                errors=[{"field": "evidence", "rule": "required"}],
            )
        if not _REFERENCE.fullmatch(reference) or scrub(reference) != reference:
            # The reference goes into the audit trail, which holds ids and names only.
            raise InvalidInputError(
                "the evidence reference must be an id (a case, warrant or ticket number)",
                errors=[{"field": "evidence", "rule": "evidence_reference"}],
            )
        return cls(known, reference)

    def details(self) -> dict[str, DetailValue]:
        """What the audit record of the use carries: the code and the evidence reference."""
        return {"exemption": self.code.value, "evidence": self.evidence}


def use_without_consent(
    access: SubjectAccess,
    element: str,
    purpose: str,
    exemption: Exemption | None,
    *,
    details: Mapping[str, DetailValue] | None = None,
) -> None:
    """Allow and audit one use of ``element`` for ``purpose``.

    Allowed as the gate allows it (consent given, or a basis other than consent)
    and audited as usual, with the exemption when one was named; allowed under
    ``exemption`` when the gate's only objection is the missing consent, audited
    with the code and the evidence reference; refused otherwise, the refusal
    audited by the gate (:class:`~doorstep.core.errors.PurposeRefusedError`).
    """
    reason = access.reason(element, purpose)
    if reason in CONSENT_REASONS and exemption is not None:
        recorded = {**(details or {}), "consent": reason.value, **exemption.details()}
        access.record_use(element, purpose, details={**recorded, "basis": "exemption"})
        return
    named = exemption.details() if exemption is not None else {}
    access.check(element, purpose, audit=True, details={**(details or {}), **named})
