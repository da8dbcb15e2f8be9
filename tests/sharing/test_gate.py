"""The sharing gate: grounds, agreements, minimal sets, legal demands, public disclosure."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import InvalidInputError
from doorstep.privacy.datamap.registry import personal_elements
from doorstep.privacy.sharing.decisions import Release, SharingRefusedError
from doorstep.privacy.sharing.gate import SharingGate
from doorstep.privacy.sharing.grounds import decide_consent, record_legal_demand
from doorstep.privacy.sharing.models import (
    ConsentDecision,
    Disclosure,
    Ground,
    LegalDemand,
    NoticeKind,
    NoticeStatus,
)
from doorstep.privacy.sharing.services import disclosed_recipients, notify_recipients
from doorstep.schema import metadata
from tests.privacy.conftest import audit_rows, new_subject
from tests.sharing.conftest import PACK, SUPPORT

ACTOR = "system:test"
APPROVER = f"staff:{uuid.UUID(int=7)}"
FULL = {
    "accounts.email": "canary@example.org",
    "accounts.phone": "+491701234567",
    "accounts.password_hash": "$argon2id$canary",
    "device_registrations.serial_number": "SN-CANARY-1",
}
KNOWN = frozenset(element for element, _ in personal_elements(metadata))


def _flow(
    gate: SharingGate,
    db: Session,
    clock: FakeClock,
    subject: uuid.UUID,
    recipient: str,
    purpose: str = SUPPORT,
    **extra: object,
) -> Release:
    return gate.release(
        db,
        subject_id=subject,
        recipient=recipient,
        purpose=purpose,
        payload=FULL,
        clock=clock,
        actor=ACTOR,
        **extra,  # type: ignore[arg-type]
    )


def _refusal(
    gate: SharingGate,
    db: Session,
    clock: FakeClock,
    subject: uuid.UUID,
    recipient: str,
    **extra: object,
) -> str:
    with pytest.raises(SharingRefusedError) as caught:
        _flow(gate, db, clock, subject, recipient, **extra)
    return caught.value.reason


def _register(db: Session, subject: uuid.UUID) -> list[Disclosure]:
    return list(db.scalars(sa.select(Disclosure).where(Disclosure.subject_id == subject)))


def _consent(
    db: Session, clock: FakeClock, subject: uuid.UUID, recipient: str, decision: ConsentDecision
) -> uuid.UUID:
    row = decide_consent(
        db,
        subject_id=subject,
        recipient=recipient,
        purpose=SUPPORT,
        decision=decision,
        pack=PACK,
        clock=clock,
        actor=f"subject:{subject}",
    )
    return row.id


@pytest.mark.clause("CPE-III.1.a")
def test_a_recipient_outside_the_group_gets_nothing_without_explicit_consent(
    gate: SharingGate, db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    assert _refusal(gate, db, clock, subject, "vendor_x") == "no_consent"
    assert _register(db, subject) == []
    (refused,) = audit_rows(db, action="sharing.flow", outcome="refused")
    assert refused.details == {"recipient": "vendor_x", "reason": "no_consent"}

    consent = _consent(db, clock, subject, "vendor_x", ConsentDecision.GRANT)
    released = _flow(gate, db, clock, subject, "vendor_x")
    assert released.ground is Ground.CONSENT
    (row,) = _register(db, subject)
    assert (row.recipient, row.ground, row.ground_ref) == ("vendor_x", Ground.CONSENT, consent)


@pytest.mark.clause("CPE-III.2.a")
def test_a_transfer_to_another_controller_needs_consent_per_recipient_and_logs_its_id(
    gate: SharingGate, db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    assert _refusal(gate, db, clock, subject, "vendor_x") == "no_consent"
    consent = _consent(db, clock, subject, "vendor_x", ConsentDecision.GRANT)
    _flow(gate, db, clock, subject, "vendor_x")
    (allowed,) = audit_rows(db, action="sharing.flow", outcome="ok")
    assert allowed.details["ground"] == "consent"
    assert allowed.details["ground_ref"] == str(consent)
    # consent for one controller is no consent for another; a withdrawal stops the next flow
    assert _refusal(gate, db, clock, subject, "public") == "no_consent"
    clock.advance(timedelta(seconds=1))
    _consent(db, clock, subject, "vendor_x", ConsentDecision.WITHDRAW)
    assert _refusal(gate, db, clock, subject, "vendor_x") == "consent_withdrawn"


@pytest.mark.clause("CPE-III.1.c")
def test_a_flow_needs_an_active_agreement(gate: SharingGate, db: Session, clock: FakeClock) -> None:
    subject = new_subject(db)
    assert _refusal(gate, db, clock, subject, "unsigned") == "no_agreement"
    assert _refusal(gate, db, clock, subject, "lapsed") == "agreement_not_active"
    assert _flow(gate, db, clock, subject, "processor").ground is Ground.PROCESSOR_CONTRACT
    assert [row.recipient for row in _register(db, subject)] == ["processor"]


@pytest.mark.clause("CORP-3.1")
def test_elements_outside_the_minimal_set_are_stripped_before_the_payload_leaves(
    gate: SharingGate, db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    released = _flow(gate, db, clock, subject, "partner")
    assert dict(released.payload) == {
        "accounts.phone": FULL["accounts.phone"],
        "device_registrations.serial_number": FULL["device_registrations.serial_number"],
    }
    assert released.withheld == ("accounts.email", "accounts.password_hash")
    (row,) = _register(db, subject)
    assert sorted(row.elements) == ["accounts.phone", "device_registrations.serial_number"]
    with pytest.raises(SharingRefusedError) as caught:
        _flow(gate, db, clock, subject, "partner", required=("accounts.email",))
    assert caught.value.reason == "element_not_shared"


@pytest.mark.clause("CORP-3.2")
def test_intra_group_sharing_needs_a_listed_entity_and_a_recorded_reason(
    gate: SharingGate, db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    assert _refusal(gate, db, clock, subject, "stranger_gmbh") == "unknown_recipient"
    assert _refusal(gate, db, clock, subject, "subsidiary") == "no_necessity_reason"
    assert _flow(gate, db, clock, subject, "sister").ground is Ground.GROUP_NECESSITY


@pytest.mark.clause("CORP-3.3")
def test_a_business_partner_gets_nothing_for_another_purpose(
    gate: SharingGate, db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    assert _refusal(gate, db, clock, subject, "partner", purpose="account.profile") == (
        "purpose_not_shared"
    )
    assert _flow(gate, db, clock, subject, "partner").ground is Ground.PARTNER_NECESSITY


def _demand(
    db: Session,
    clock: FakeClock,
    subject: uuid.UUID,
    recipient: str = "authorities",
    **changes: object,
) -> LegalDemand:
    arguments: dict[str, object] = {
        "subject_id": subject,
        "recipient": recipient,
        "purpose": SUPPORT,
        "authority": "Public prosecutor, Shenzhen",
        "legal_reference": "Criminal Procedure Law Art. 54, case 2026-17",
        "scope": ["accounts.email"],
        "approved_by": APPROVER,
        "known_elements": KNOWN,
        "pack": PACK,
        "clock": clock,
        **changes,
    }
    return record_legal_demand(db, **arguments)  # type: ignore[arg-type]


@pytest.mark.clause("CPE-III.1.b")
def test_a_mandated_disclosure_needs_its_legal_reference_and_shares_only_its_scope(
    gate: SharingGate, db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    with pytest.raises(InvalidInputError) as caught:
        _demand(db, clock, subject, legal_reference="  ")
    assert caught.value.fields["errors"] == [{"field": "legal_reference", "rule": "required"}]
    assert db.scalars(sa.select(LegalDemand)).all() == []
    for missing in ("authority", "approved_by", "scope"):
        with pytest.raises(InvalidInputError):
            _demand(db, clock, subject, **{missing: [] if missing == "scope" else ""})

    demand = _demand(db, clock, subject)
    released = _flow(gate, db, clock, subject, "authorities", demand_id=demand.id)
    assert dict(released.payload) == {"accounts.email": FULL["accounts.email"]}
    (row,) = _register(db, subject)
    assert (row.ground, row.ground_ref, row.elements) == (
        Ground.LEGAL_DEMAND,
        demand.id,
        ["accounts.email"],
    )


@pytest.mark.clause("CORP-3.5")
def test_a_disclosure_to_an_authority_without_a_legal_demand_is_refused(
    gate: SharingGate, db: Session, clock: FakeClock
) -> None:
    subject, other = new_subject(db), new_subject(db)
    assert _refusal(gate, db, clock, subject, "authorities") == "no_legal_demand"
    demand = _demand(db, clock, other)
    assert _refusal(gate, db, clock, subject, "authorities", demand_id=demand.id) == (
        "demand_mismatch"
    ), "a demand about someone else does not cover this subject"
    assert _register(db, subject) == []


@pytest.mark.clause("CPE-III.3.a")
def test_public_disclosure_needs_consent_or_a_legal_mandate(
    gate: SharingGate, db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    assert _refusal(gate, db, clock, subject, "public") == "no_consent"
    _consent(db, clock, subject, "public", ConsentDecision.GRANT)
    assert _flow(gate, db, clock, subject, "public").ground is Ground.CONSENT
    mandated = new_subject(db)
    demand = _demand(db, clock, mandated, recipient="public")
    assert _flow(gate, db, clock, mandated, "public", demand_id=demand.id).ground is (
        Ground.LEGAL_DEMAND
    )
    grounds = [row.details["ground"] for row in audit_rows(db, action="sharing.flow", outcome="ok")]
    assert grounds == ["consent", "legal_demand"]


@pytest.mark.clause("CPE-V.3.c")
def test_the_register_the_gate_writes_drives_the_erasure_notices(
    gate: SharingGate, db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    _flow(gate, db, clock, subject, "processor")
    _flow(gate, db, clock, subject, "authorities", demand_id=_demand(db, clock, subject).id)
    recipients = disclosed_recipients(db, subject)
    notices = notify_recipients(
        db,
        subject_id=subject,
        request_id=None,
        kind=NoticeKind.ERASURE,
        recipients=recipients,
        pack=PACK,
        clock=clock,
        actor=ACTOR,
    )
    assert {(n.recipient, n.status, n.skip_reason) for n in notices} == {
        ("processor", NoticeStatus.SENT, None),
        ("authorities", NoticeStatus.SKIPPED, "legal_exception"),
    }
