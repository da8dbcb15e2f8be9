"""CPE-0.4: selective consent and minimum availability, as the shipped gate enforces them.

"The principle of selective consent, the principle of minimum availability": every
optional (consent-based) function starts off for a new subject, and each purpose
reaches only the fields the data map declares for it; a use outside that allow-list
is refused and the refusal is on the audit trail (a policy-violation record).
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from doorstep.audit.entries import system_actor
from doorstep.core.errors import PurposeRefusedError
from doorstep.core.runtime import Runtime
from doorstep.privacy.consent import optional_functions
from doorstep.privacy.purposes import RefusalReason
from doorstep.vocabulary import LegalBasis
from doorstep.wiring import build_services
from tests.privacy.conftest import audit_rows, new_subject

ACTOR = system_actor("tests")


@pytest.mark.clause("CPE-0.4")
def test_optional_purposes_start_off_and_each_purpose_reaches_only_its_fields(
    db: Session, runtime: Runtime
) -> None:
    services = build_services(runtime)
    gate = services.gate
    subject = new_subject(db)
    # Selective consent: nothing optional is on until the subject says yes.
    functions = optional_functions(db, subject, terms=services.terms)
    assert functions and not any(item.enabled for item in functions)
    access = gate.for_subject(db, subject, actor=ACTOR)
    consent_based = 0
    for (element, purpose), basis in gate.index.items():
        if basis is LegalBasis.CONSENT:
            consent_based += 1
            assert access.reason(element, purpose) is RefusalReason.NO_CONSENT
        else:
            assert access.reason(element, purpose) is None
    assert consent_based > 0
    # Minimum availability: every other (field, purpose) pair of the pack is refused.
    undeclared = [
        (element, purpose)
        for element, declaration in sorted(gate.declarations.items())
        for purpose in sorted(gate.purposes - set(declaration.purposes))
    ]
    assert undeclared
    for element, purpose in undeclared:
        assert access.reason(element, purpose) is RefusalReason.PURPOSE_NOT_DECLARED
    element, purpose = undeclared[0]
    with pytest.raises(PurposeRefusedError):
        access.check(element, purpose)
    [row] = audit_rows(db, subject_id=subject, outcome="refused")
    assert (row.element, row.purpose, row.details) == (
        element,
        purpose,
        {"reason": "purpose_not_declared"},
    )
