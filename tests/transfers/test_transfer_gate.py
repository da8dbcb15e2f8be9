"""The transfer gate: mechanism, de-identification, notice and register (CPE-VIII, CORP-7)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.notify.models import OutboxMessage
from doorstep.privacy.transfers.gate import Flow, TransferRefusedError
from doorstep.privacy.transfers.mechanisms import add_mechanism, revoke_mechanism, set_home
from doorstep.privacy.transfers.models import MechanismKind, Transfer
from doorstep.privacy.transfers.register import register_csv, register_rows
from tests.transfers.conftest import (
    ACTOR,
    ADDRESS,
    add_subject,
    contract,
    gate_of,
    scanner_deidentifier,
)

ELEMENTS = ("device_registrations.mac_address", "accounts.email")
RAW = {"mac": "00:11:22:33:44:55", "email": "canary.person@example.org", "note": "boot ok"}


def _flow(subject: uuid.UUID | None, destination: str = "DE") -> Flow:
    return Flow("device.registration", "research_lab", destination, ELEMENTS, subject)


def _transfers(db: Session) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(Transfer)) or 0


def _refused(db: Session, reason: str) -> int:
    flush_events(db)
    return (
        db.scalar(
            sa.text(
                "SELECT count(*) FROM audit_events WHERE action = 'transfers.transfer' "
                "AND outcome = 'refused' AND details->>'reason' = :reason"
            ),
            {"reason": reason},
        )
        or 0
    )


def test_a_flow_within_the_home_country_is_not_a_transfer(
    db: Session, clock: FakeClock, subject: uuid.UUID
) -> None:
    passed = gate_of(clock).transfer(db, _flow(subject, "CN"), clock=clock, actor=ACTOR)
    assert passed.transfer_id is None
    assert _transfers(db) == 0


@pytest.mark.clause("CPE-VIII.1")
@pytest.mark.clause("CORP-7.1")
def test_data_collected_in_france_is_stored_in_china_only_with_a_transfer_record(
    db: Session, clock: FakeClock, subject: uuid.UUID
) -> None:
    set_home(db, subject, "FR", clock=clock, actor=ACTOR)
    gate = gate_of(clock, deidentifier=scanner_deidentifier())
    store = {"subject_id": subject, "region": "primary", "purpose": "account.management"}
    with pytest.raises(TransferRefusedError) as refused:
        gate.store(db, elements=("accounts.email",), clock=clock, actor=ACTOR, **store)
    assert refused.value.fields == {"destination": "CN", "missing": "no_mechanism"}
    assert _transfers(db) == 0

    add_mechanism(
        db,
        kind=MechanismKind.CONSENT,
        country="CN",
        reference="in-app consent",
        subject_id=subject,
        clock=clock,
        actor=ACTOR,
    )
    passed = gate.store(db, elements=("accounts.email",), clock=clock, actor=ACTOR, **store)
    row = db.get(Transfer, passed.transfer_id)
    assert row is not None and (row.origin, row.destination) == ("FR", "CN")
    assert row.recipient == "region:primary"


@pytest.mark.clause("CPE-VIII.2")
def test_a_cross_border_flow_needs_the_subjects_authorisation_and_is_registered(
    db: Session, clock: FakeClock, subject: uuid.UUID
) -> None:
    gate = gate_of(clock)
    with pytest.raises(TransferRefusedError):
        gate.transfer(db, _flow(subject, "US"), clock=clock, actor=ACTOR, payload=RAW)
    assert _refused(db, "no_mechanism") == 1
    assert _transfers(db) == 0

    consent = add_mechanism(
        db,
        kind=MechanismKind.CONSENT,
        country="US",
        reference="in-app consent",
        subject_id=subject,
        clock=clock,
        actor=ACTOR,
    )
    passed = gate.transfer(db, _flow(subject, "US"), clock=clock, actor=ACTOR, payload=RAW)
    assert passed.mechanism is MechanismKind.CONSENT and not passed.deidentified
    assert passed.payload == RAW  # consented: the pack's without_consent rule does not apply
    [row] = register_rows(db)
    assert (row.subject_id, row.destination, row.mechanism) == (subject, "US", "consent")
    assert row.mechanism_id == consent.id
    assert "US" in register_csv([row]) and RAW["email"] not in register_csv([row])

    revoke_mechanism(db, consent.id, clock=clock, actor=ACTOR)
    with pytest.raises(TransferRefusedError):
        gate.transfer(db, _flow(subject, "US"), clock=clock, actor=ACTOR, payload=RAW)


@pytest.mark.clause("CPE-VIII.3")
def test_without_consent_only_a_de_identified_payload_goes_abroad(
    db: Session, clock: FakeClock, subject: uuid.UUID
) -> None:
    contract(db, clock, "DE")
    with pytest.raises(TransferRefusedError) as refused:
        gate_of(clock).transfer(db, _flow(subject), clock=clock, actor=ACTOR, payload=RAW)
    assert refused.value.fields["missing"] == "not_deidentified"
    assert _transfers(db) == 0

    de_identified = scanner_deidentifier()(RAW)
    passed = gate_of(clock).transfer(
        db, _flow(subject), clock=clock, actor=ACTOR, payload=de_identified
    )
    assert passed.deidentified and passed.payload == de_identified
    assert _transfers(db) == 1


@pytest.mark.clause("CPE-VIII.3")
@pytest.mark.clause("CORP-7.2")
def test_a_failure_log_sent_abroad_is_pseudonymised_and_registered(
    db: Session, clock: FakeClock, subject: uuid.UUID
) -> None:
    contract(db, clock, "DE", recipient="research_lab")
    log = {
        "line": "serial_number=ZTEG1A2B3C4D mac=00:11:22:33:44:55 user=canary.person@example.org",
        "serial_number": "ZTEG1A2B3C4D",
    }
    gate = gate_of(clock, deidentifier=scanner_deidentifier())
    passed = gate.transfer(db, _flow(subject), clock=clock, actor=ACTOR, payload=log)
    assert passed.payload is not None
    sent = " ".join(passed.payload.values())
    for canary in ("ZTEG1A2B3C4D", "00:11:22:33:44:55", "canary.person@example.org"):
        assert canary not in sent
    assert "mac-p1-" in sent
    row = db.get(Transfer, passed.transfer_id)
    assert row is not None and row.deidentified and row.mechanism is MechanismKind.STANDARD_CONTRACT


@pytest.mark.clause("CORP-7.4")
def test_a_transfer_proceeds_only_with_consent_or_a_contract_in_force(
    db: Session, clock: FakeClock, subject: uuid.UUID
) -> None:
    gate = gate_of(clock, deidentifier=scanner_deidentifier())
    expired = contract(db, clock, "DE", expires_on=clock.now().date())
    with pytest.raises(TransferRefusedError):
        gate.transfer(db, _flow(subject), clock=clock, actor=ACTOR, payload=RAW)
    other = contract(db, clock, "DE", recipient="another_recipient")
    with pytest.raises(TransferRefusedError):
        gate.transfer(db, _flow(subject), clock=clock, actor=ACTOR, payload=RAW)
    assert _refused(db, "no_mechanism") == 2 and _transfers(db) == 0

    signed = contract(db, clock, "DE", expires_on=date(clock.now().year + 1, 1, 1))
    passed = gate.transfer(db, _flow(subject), clock=clock, actor=ACTOR, payload=RAW)
    row = db.get(Transfer, passed.transfer_id)
    assert row is not None and row.mechanism_id == signed not in (expired, other)


@pytest.mark.clause("CORP-7.3")
def test_the_subject_is_told_destination_recipient_purpose_and_data_at_the_transfer(
    db: Session, clock: FakeClock, subject: uuid.UUID
) -> None:
    contract(db, clock, "DE")
    gate = gate_of(clock, deidentifier=scanner_deidentifier())
    passed = gate.transfer(db, _flow(subject), clock=clock, actor=ACTOR, payload=RAW)
    row = db.get(Transfer, passed.transfer_id)
    assert row is not None and row.notice_id is not None
    message = db.get(OutboxMessage, row.notice_id)
    assert message is not None
    assert (message.subject_id, message.template, message.email) == (
        subject,
        "transfer.notice",
        ADDRESS,
    )
    assert message.params["destination"] == "Germany"
    assert message.params["recipient"] == "research_lab"
    assert message.params["data"] == ", ".join(ELEMENTS)
    assert message.params["purpose"].startswith("register a router")
    assert "contract" in message.params["mechanism"]


@pytest.mark.clause("CORP-7.3")
def test_a_subject_who_cannot_be_told_is_not_transferred(
    db: Session, clock: FakeClock, subject: uuid.UUID
) -> None:
    contract(db, clock, "DE")
    gate = gate_of(clock, deidentifier=scanner_deidentifier(), reachable=False)
    with pytest.raises(TransferRefusedError) as refused:
        gate.transfer(db, _flow(subject), clock=clock, actor=ACTOR, payload=RAW)
    assert refused.value.status == 403 and refused.value.code == "transfer-refused"
    assert refused.value.fields["missing"] == "notice_undeliverable"
    assert _transfers(db) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_a_refusal_is_audited_with_ids_only_and_names_the_missing_ground(
    db: Session, clock: FakeClock
) -> None:
    subject = add_subject(db, clock)
    with pytest.raises(TransferRefusedError) as refused:
        gate_of(clock).transfer(db, _flow(subject, "US"), clock=clock, actor=ACTOR, payload=RAW)
    assert refused.value.audit_entry.outcome == "refused"
    assert refused.value.audit_entry.details["reason"] == "no_mechanism"
    flush_events(db)
    details = db.scalar(
        sa.text("SELECT details::text FROM audit_events WHERE action = 'transfers.transfer'")
    )
    assert details is not None and RAW["email"] not in details and RAW["mac"] not in details
