"""Optional functions (camera for the QR scan, location for the Wi-Fi scan) are off
until consented, toggle one by one, and a refusal leaves the manual path working."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from doorstep.audit.entries import system_actor
from doorstep.core.clock import FakeClock
from doorstep.core.errors import InvalidInputError
from doorstep.privacy.consent import grant, is_enabled, optional_functions, refuse, withdraw
from doorstep.privacy.purposes import PurposeGate
from doorstep.privacy.restrictions import restrict
from tests.packs import reference_pack, reference_terms
from tests.privacy.conftest import CAMERA_NOTICE, NOTICE, SERIAL, new_subject

QR = "device.qr_camera"
WIFI = "wifi.location_scan"
PROFILE = "account.profile"  # the accounts area's optional profile (CORP-1.7)
STAFF_TESTS = "device.diagnostics_by_staff"  # support's connection tests without a ticket
NEWSLETTER = "newsletter"  # the newsletter service relies on it (CORP-2.5, docs/connectors.md)
ACTOR = system_actor("tests")

#: The reference pack's consent terms, handed down as a caller hands down the pack in force.
TERMS = reference_terms()


def _states(db: Session, subject: object) -> dict[str, bool]:
    return {item.purpose: item.enabled for item in optional_functions(db, subject, terms=TERMS)}  # type: ignore[arg-type]


def test_the_pack_declares_both_functions_as_optional_with_a_manual_path() -> None:
    terms = reference_terms()
    assert {item.key for item in terms.optional_functions} == {
        QR,
        WIFI,
        PROFILE,
        NEWSLETTER,
        STAFF_TESTS,
    }
    assert "claim code" in terms.purposes[QR].manual_path
    assert "password" in terms.purposes[WIFI].manual_path


@pytest.mark.clause("CPE-I.ii.2.c")
def test_the_camera_is_off_until_the_subscriber_agrees(db: Session, clock: FakeClock) -> None:
    subject = new_subject(db)
    assert not is_enabled(db, subject, QR, terms=TERMS)
    grant(
        db,
        subject_id=subject,
        purpose=QR,
        channel="app",
        notice_text=CAMERA_NOTICE,
        clock=clock,
        terms=TERMS,
    )
    assert is_enabled(db, subject, QR, terms=TERMS)


@pytest.mark.clause("CPE-I.iii.R3")
def test_refusing_location_leaves_manual_wireless_setup_usable(
    db: Session, clock: FakeClock, gate: PurposeGate
) -> None:
    subject = new_subject(db)
    refuse(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    assert not is_enabled(db, subject, WIFI, terms=TERMS)
    [wifi] = [item for item in optional_functions(db, subject, terms=TERMS) if item.purpose == WIFI]
    assert wifi.manual_path == "Type the Wi-Fi network name and password by hand."
    # the manual path needs no consent: configuring the device is contract-based
    gate.for_subject(db, subject, actor=ACTOR).check(SERIAL, "device.registration")


@pytest.mark.clause("CPE-V.4.b")
def test_refusing_the_camera_leaves_manual_binding_usable(
    db: Session, clock: FakeClock, gate: PurposeGate
) -> None:
    subject = new_subject(db)
    refuse(
        db,
        subject_id=subject,
        purpose=QR,
        channel="app",
        notice_text=CAMERA_NOTICE,
        clock=clock,
        terms=TERMS,
    )
    assert not is_enabled(db, subject, QR, terms=TERMS)
    [qr] = [item for item in optional_functions(db, subject, terms=TERMS) if item.purpose == QR]
    assert "claim code" in qr.manual_path
    gate.for_subject(db, subject, actor=ACTOR).check(SERIAL, "device.registration")


@pytest.mark.clause("CPE-V.4.c")
def test_without_the_optional_scan_wifi_credentials_are_entered_by_hand(
    db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    assert not is_enabled(db, subject, WIFI, terms=TERMS)  # never asked: off
    [wifi] = [item for item in optional_functions(db, subject, terms=TERMS) if item.purpose == WIFI]
    assert not wifi.enabled
    assert "by hand" in wifi.manual_path


@pytest.mark.clause("CPE-V.4.a")
def test_each_optional_function_is_granted_and_withdrawn_on_its_own(
    db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    assert _states(db, subject) == {
        QR: False,
        WIFI: False,
        PROFILE: False,
        NEWSLETTER: False,
        STAFF_TESTS: False,
    }
    grant(
        db,
        subject_id=subject,
        purpose=QR,
        channel="app",
        notice_text=CAMERA_NOTICE,
        clock=clock,
        terms=TERMS,
    )
    grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    assert _states(db, subject) == {
        QR: True,
        WIFI: True,
        PROFILE: False,
        NEWSLETTER: False,
        STAFF_TESTS: False,
    }
    withdraw(db, subject_id=subject, purpose=QR, channel="app", clock=clock, terms=TERMS)
    assert _states(db, subject) == {
        QR: False,
        WIFI: True,
        PROFILE: False,
        NEWSLETTER: False,
        STAFF_TESTS: False,
    }


@pytest.mark.clause("CPE-I.iii.W")
def test_after_a_withdrawal_the_app_can_tell_what_is_off_and_the_way_around(
    db: Session, clock: FakeClock
) -> None:
    subject = new_subject(db)
    grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="web",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    withdraw(db, subject_id=subject, purpose=WIFI, channel="web", clock=clock, terms=TERMS)
    off = [item for item in optional_functions(db, subject, terms=TERMS) if not item.enabled]
    assert {item.purpose for item in off} == {QR, WIFI, PROFILE, NEWSLETTER, STAFF_TESTS}
    assert all(item.function and item.manual_path for item in off)


def test_a_restriction_turns_an_optional_function_off(db: Session, clock: FakeClock) -> None:
    subject = new_subject(db)
    grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=TERMS,
    )
    restrict(
        db,
        subject_id=subject,
        purpose=WIFI,
        reason="objection",
        clock=clock,
        actor=ACTOR,
        pack=reference_pack(),
    )
    assert not is_enabled(db, subject, WIFI, terms=TERMS)
    assert _states(db, subject)[WIFI] is False


def test_is_enabled_only_answers_for_consent_based_purposes(db: Session) -> None:
    with pytest.raises(InvalidInputError):
        is_enabled(db, new_subject(db), "account.management", terms=TERMS)
