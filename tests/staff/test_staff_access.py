"""Staff access control: least-privilege roles; every staff read goes through the
purpose gate with a purpose and is audited with the staff id as actor."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import system_actor
from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConfigurationError, ConflictError, PurposeRefusedError
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.purposes import PurposeGate
from doorstep.privacy.restrictions import restrict
from doorstep.staff import (
    READS,
    Staff,
    StaffAction,
    StaffPermissionDeniedError,
    StaffRole,
    add_staff,
    deactivate_staff,
    list_staff,
    may,
    staff_read,
    validate_matrix,
)
from tests.packs import reference_pack
from tests.privacy.conftest import (
    EMAIL,
    PASSWORD,
    SERIAL,
    STATUS,
    audit_rows,
    create_scratch_tables,
    new_subject,
)


@pytest.fixture
def subscriber(db: Session, scratch_schema: sa.MetaData) -> uuid.UUID:
    """A subscriber with an account e-mail, a password hash and a device."""
    create_scratch_tables(db, scratch_schema)
    subject = new_subject(db)
    tables = scratch_schema.tables
    db.execute(
        sa.insert(tables["test_accounts"]).values(
            id=1, owner_id=subject, email="ann@example.org", password_hash="$argon2id$x"
        )
    )
    db.execute(
        sa.insert(tables["test_devices"]).values(
            id=1, owner_id=subject, serial_number="ZTE123", network_status="online"
        )
    )
    return subject


@pytest.fixture
def team(db: Session, clock: FakeClock) -> dict[StaffRole, Staff]:
    """One active staff member per role (the admin added first, by the CLI), a second apart."""
    admin = add_staff(db, role=StaffRole.ADMIN, clock=clock)
    clock.advance(timedelta(seconds=1))
    support = add_staff(db, role="support", clock=clock, by=admin.id)
    clock.advance(timedelta(seconds=1))
    officer = add_staff(db, role="privacy_officer", clock=clock, by=admin.id)
    return {
        StaffRole.ADMIN: admin,
        StaffRole.SUPPORT: support,
        StaffRole.PRIVACY_OFFICER: officer,
    }


def _read(
    db: Session,
    staff: Staff,
    subject: uuid.UUID,
    element: str,
    purpose: str,
    gate: PurposeGate,
    scratch: sa.MetaData,
) -> tuple[object, ...]:
    return staff_read(db, staff.id, subject, element, purpose, gate=gate, metadata=scratch).values


def _denied(
    db: Session,
    staff: Staff,
    subject: uuid.UUID,
    element: str,
    purpose: str,
    gate: PurposeGate,
    scratch: sa.MetaData,
) -> str:
    with pytest.raises(StaffPermissionDeniedError) as caught:
        _read(db, staff, subject, element, purpose, gate, scratch)
    return str(caught.value.fields["reason"])


@pytest.mark.clause("CPE-IV.1.a")
def test_support_reads_device_status_and_contact_for_support_and_is_audited(
    db: Session,
    gate: PurposeGate,
    scratch_schema: sa.MetaData,
    subscriber: uuid.UUID,
    team: dict[StaffRole, Staff],
) -> None:
    support = team[StaffRole.SUPPORT]
    assert _read(db, support, subscriber, STATUS, "customer.support", gate, scratch_schema) == (
        "online",
    )
    assert _read(db, support, subscriber, EMAIL, "customer.support", gate, scratch_schema) == (
        "ann@example.org",
    )
    rows = audit_rows(db, actor=f"staff:{support.id}", subject_id=subscriber)
    assert [(row.element, row.purpose, row.outcome) for row in rows] == [
        (STATUS, "customer.support", "ok"),
        (EMAIL, "customer.support", "ok"),
    ]
    assert rows[0].details == {"basis": "contract", "role": "support"}
    assert all("ann@example.org" not in str(row) for row in rows)


@pytest.mark.clause("CPE-IV.1.a")
def test_support_may_not_read_consent_receipts_nor_read_for_other_purposes(
    db: Session,
    gate: PurposeGate,
    scratch_schema: sa.MetaData,
    subscriber: uuid.UUID,
    team: dict[StaffRole, Staff],
) -> None:
    support = team[StaffRole.SUPPORT]
    for element, purpose in (
        ("consent_events.purpose", "consent.management"),
        ("consent_events.id", "privacy.rights"),
        (EMAIL, "account.management"),
        (SERIAL, "privacy.rights"),
    ):
        assert _denied(db, support, subscriber, element, purpose, gate, scratch_schema) == (
            "role_not_permitted"
        )
    rows = audit_rows(db, actor=f"staff:{support.id}", outcome="refused")
    assert len(rows) == 4
    assert rows[0].details == {"reason": "role_not_permitted", "role": "support"}


@pytest.mark.clause("CPE-IV.1.a")
def test_an_admin_manages_staff_but_reads_no_subscriber_data(
    db: Session,
    gate: PurposeGate,
    scratch_schema: sa.MetaData,
    clock: FakeClock,
    subscriber: uuid.UUID,
    team: dict[StaffRole, Staff],
) -> None:
    admin = team[StaffRole.ADMIN]
    for element, purpose in (
        (EMAIL, "customer.support"),
        (EMAIL, "privacy.rights"),
        ("subjects.created_at", "privacy.rights"),
    ):
        assert _denied(db, admin, subscriber, element, purpose, gate, scratch_schema) == (
            "role_not_permitted"
        )
    # … but reads staff records (employees) for staff administration
    other = team[StaffRole.SUPPORT]
    assert _read(
        db,
        admin,
        other.subject_id,
        "staff_members.role",
        "staff.administration",
        gate,
        scratch_schema,
    ) == (StaffRole.SUPPORT,)
    added = add_staff(db, role="support", clock=clock, by=admin.id)
    assert added.id in {s.id for s in list_staff(db, by=admin.id)}


@pytest.mark.clause("CPE-IV.1.a")
def test_only_an_admin_manages_staff(
    db: Session, clock: FakeClock, team: dict[StaffRole, Staff]
) -> None:
    for role in (StaffRole.SUPPORT, StaffRole.PRIVACY_OFFICER):
        actor = team[role]
        with pytest.raises(StaffPermissionDeniedError) as caught:
            add_staff(db, role="admin", clock=clock, by=actor.id)
        assert caught.value.fields == {"action": "manage_staff", "reason": "role_not_permitted"}
        with pytest.raises(StaffPermissionDeniedError):
            deactivate_staff(db, team[StaffRole.ADMIN].id, clock=clock, by=actor.id)
    refused = audit_rows(db, action="staff.manage_staff", outcome="refused")
    assert len(refused) == 4
    assert may(StaffRole.ADMIN, StaffAction.MANAGE_STAFF)
    assert not may(StaffRole.ADMIN, StaffAction.MANAGE_RESTRICTIONS)


def test_a_privacy_officer_reads_for_requests_but_never_credentials(
    db: Session,
    gate: PurposeGate,
    scratch_schema: sa.MetaData,
    clock: FakeClock,
    subscriber: uuid.UUID,
    team: dict[StaffRole, Staff],
) -> None:
    officer = team[StaffRole.PRIVACY_OFFICER]
    assert _read(db, officer, subscriber, SERIAL, "privacy.rights", gate, scratch_schema) == (
        "ZTE123",
    )
    assert (
        _read(
            db,
            officer,
            subscriber,
            "consent_events.purpose",
            "consent.management",
            gate,
            scratch_schema,
        )
        == ()
    )
    assert (
        _denied(db, officer, subscriber, PASSWORD, "privacy.rights", gate, scratch_schema)
        == "role_not_permitted"
    )
    assert (
        _denied(db, officer, subscriber, STATUS, "customer.support", gate, scratch_schema)
        == "role_not_permitted"
    )


def test_a_deactivated_staff_member_reads_nothing(
    db: Session,
    gate: PurposeGate,
    scratch_schema: sa.MetaData,
    clock: FakeClock,
    subscriber: uuid.UUID,
    team: dict[StaffRole, Staff],
) -> None:
    support = team[StaffRole.SUPPORT]
    deactivate_staff(db, support.id, clock=clock, by=team[StaffRole.ADMIN].id)
    assert (
        _denied(db, support, subscriber, STATUS, "customer.support", gate, scratch_schema)
        == "staff_inactive"
    )
    assert [s.id for s in list_staff(db)] == [
        team[StaffRole.ADMIN].id,
        team[StaffRole.PRIVACY_OFFICER].id,
    ]
    assert support.id in {s.id for s in list_staff(db, include_inactive=True)}


def test_the_gate_still_decides_for_staff(
    db: Session,
    gate: PurposeGate,
    scratch_schema: sa.MetaData,
    clock: FakeClock,
    subscriber: uuid.UUID,
    team: dict[StaffRole, Staff],
) -> None:
    support = team[StaffRole.SUPPORT]
    restrict(
        db,
        subject_id=subscriber,
        purpose="customer.support",
        reason="objection",
        clock=clock,
        actor=system_actor("tests"),
        pack=reference_pack(),
    )
    with pytest.raises(PurposeRefusedError) as caught:
        _read(db, support, subscriber, STATUS, "customer.support", gate, scratch_schema)
    assert caught.value.fields["reason"] == "restricted"
    [row] = audit_rows(db, actor=f"staff:{support.id}", element=STATUS)
    assert (row.outcome, row.details) == ("refused", {"reason": "restricted"})


def test_the_last_admin_cannot_be_deactivated(
    db: Session, clock: FakeClock, team: dict[StaffRole, Staff]
) -> None:
    with pytest.raises(ConflictError) as caught:
        deactivate_staff(db, team[StaffRole.ADMIN].id, clock=clock)
    assert caught.value.fields["reason"] == "last_admin"


def test_the_matrix_fits_the_pack_and_bad_entries_are_named() -> None:
    validate_matrix(default_pack())
    assert set(READS) == set(StaffRole)
    pack = default_pack()
    smaller = replace(
        pack, purposes={k: v for k, v in pack.purposes.items() if k != "customer.support"}
    )
    with pytest.raises(
        ConfigurationError, match=r"staff role 'support': unknown purpose 'customer\.support'"
    ):
        validate_matrix(smaller)
