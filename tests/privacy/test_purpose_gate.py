"""The purpose gate: declared purposes only, a live consent where the basis is consent,
no restriction in force; refusals raise and are audited."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from doorstep.audit.entries import audited_transaction, system_actor
from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConfigurationError, PurposeRefusedError
from doorstep.core.runtime import Runtime
from doorstep.privacy.consent import grant, refuse, withdraw
from doorstep.privacy.consent.terms import load_terms
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.purposes import PurposeGate, RefusalReason
from doorstep.privacy.restrictions import RestrictionReason, lift, restrict, restrictions_of
from doorstep.privacy.subjects.models import Subject
from doorstep.vocabulary import LegalBasis, not_personal, personal
from tests.packs import reference_gate, reference_pack, reference_terms
from tests.privacy.conftest import (
    LOCATION,
    NOTICE,
    SERIAL,
    audit_rows,
    create_scratch_tables,
    new_subject,
)

ACTOR = system_actor("tests")
WIFI = "wifi.location_scan"


def _refusal(access: Any, element: str, purpose: str) -> PurposeRefusedError:
    with pytest.raises(PurposeRefusedError) as caught:
        access.check(element, purpose)
    return caught.value


@pytest.mark.clause("CPE-I.0.1")
def test_a_purpose_not_in_the_registry_is_refused_and_audited(
    db: Session, gate: PurposeGate
) -> None:
    subject = new_subject(db)
    access = gate.for_subject(db, subject, actor=ACTOR)
    error = _refusal(access, "subjects.id", "marketing")
    assert error.fields == {
        "element": "subjects.id",
        "purpose": "marketing",
        "reason": "unknown_purpose",
    }
    access.check("subjects.id", "account.management")  # a declared purpose passes
    [row] = audit_rows(db, subject_id=subject)
    assert (row.action, row.actor, row.element, row.purpose, row.outcome) == (
        "personal_data.used",
        ACTOR,
        "subjects.id",
        "marketing",
        "refused",
    )
    assert row.details == {"reason": "unknown_purpose"}


@pytest.mark.clause("CPE-I.ii.1.b")
def test_registration_data_is_used_only_for_its_declared_purposes(
    db: Session, gate: PurposeGate
) -> None:
    subject = new_subject(db)
    access = gate.for_subject(db, subject, actor=ACTOR)
    access.check(SERIAL, "device.registration")
    access.check(SERIAL, "customer.support")  # after-sales service
    assert _refusal(access, SERIAL, "analytics").fields["reason"] == "unknown_purpose"
    # a purpose the pack knows, but not one declared for this element
    assert _refusal(access, SERIAL, "staff.administration").fields["reason"] == (
        "purpose_not_declared"
    )
    reasons = [row.details["reason"] for row in audit_rows(db, subject_id=subject)]
    assert reasons == ["unknown_purpose", "purpose_not_declared"]


def test_elements_outside_the_data_map_and_unknown_subjects_are_refused(
    db: Session, gate: PurposeGate
) -> None:
    subject = new_subject(db)
    access = gate.for_subject(db, subject, actor=ACTOR)
    assert _refusal(access, "subjects.kind", "account.management").fields["reason"] == (
        "unknown_element"
    )
    stranger = gate.for_subject(db, uuid.uuid4(), actor=ACTOR)
    assert _refusal(stranger, "subjects.id", "account.management").fields["reason"] == (
        "unknown_subject"
    )


@pytest.mark.clause("CPE-I.iii.N")
def test_a_consent_purpose_is_refused_without_consent_and_allowed_after(
    db: Session, gate: PurposeGate, clock: FakeClock
) -> None:
    accepts, denies = new_subject(db), new_subject(db)
    for subject in (accepts, denies):
        access = gate.for_subject(db, subject, actor=ACTOR)
        assert _refusal(access, LOCATION, WIFI).fields["reason"] == "no_consent"
    grant(
        db,
        subject_id=accepts,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=reference_terms(),
    )
    refuse(
        db,
        subject_id=denies,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=reference_terms(),
    )

    gate.for_subject(db, accepts, actor=ACTOR).check(LOCATION, WIFI)
    refused = gate.for_subject(db, denies, actor=ACTOR)
    assert _refusal(refused, LOCATION, WIFI).fields["reason"] == "consent_refused"


@pytest.mark.clause("CORP-1.3")
def test_both_answers_to_a_prompt_are_stored_and_only_yes_unblocks(
    db: Session, gate: PurposeGate, clock: FakeClock
) -> None:
    yes, no = new_subject(db), new_subject(db)
    grant(
        db,
        subject_id=yes,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=reference_terms(),
    )
    refuse(
        db,
        subject_id=no,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=reference_terms(),
    )
    stored = db.execute(
        sa.text("SELECT subject_id, action::text FROM consent_events WHERE purpose = :p"),
        {"p": WIFI},
    ).all()
    assert sorted((str(s), a) for s, a in stored) == sorted(
        [(str(yes), "grant"), (str(no), "refuse")]
    )
    assert gate.for_subject(db, yes, actor=ACTOR).allows(LOCATION, WIFI)
    assert not gate.for_subject(db, no, actor=ACTOR).allows(LOCATION, WIFI)


@pytest.mark.clause("CORP-1.11")
def test_location_is_processed_only_after_consent(
    db: Session, gate: PurposeGate, clock: FakeClock
) -> None:
    subject = new_subject(db)
    assert gate.basis(LOCATION, WIFI) is LegalBasis.CONSENT
    assert not gate.for_subject(db, subject, actor=ACTOR).allows(LOCATION, WIFI)
    grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=reference_terms(),
    )
    assert gate.for_subject(db, subject, actor=ACTOR).allows(LOCATION, WIFI)


@pytest.mark.clause("CPE-V.4.e")
def test_withdrawal_stops_later_processing_and_leaves_earlier_records(
    db: Session, gate: PurposeGate, clock: FakeClock, scratch_schema: sa.MetaData
) -> None:
    create_scratch_tables(db, scratch_schema)
    subject = new_subject(db)
    given = grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=reference_terms(),
    )
    # processing before the withdrawal: allowed, audited with the consent it relied on
    access = gate.for_subject(db, subject, actor=ACTOR)
    access.check(LOCATION, WIFI, audit=True)
    scans = scratch_schema.tables["test_wifi_scans"]
    db.execute(sa.insert(scans).values(id=1, owner_id=subject, location="cell-42"))
    [before] = audit_rows(db, action="personal_data.used", subject_id=subject)
    assert before.outcome == "ok"
    assert before.details == {"basis": "consent", "consent_event": str(given.id)}

    withdraw(
        db, subject_id=subject, purpose=WIFI, channel="app", clock=clock, terms=reference_terms()
    )
    later = gate.for_subject(db, subject, actor=ACTOR)
    assert _refusal(later, LOCATION, WIFI).fields["reason"] == "consent_withdrawn"

    # nothing earlier changed: the audit record, the grant, and what was processed
    uses = audit_rows(db, action="personal_data.used", subject_id=subject)
    assert uses[0] == before
    assert uses[1].outcome == "refused"
    assert (
        db.execute(
            sa.text("SELECT count(*) FROM consent_events WHERE id = :id"), {"id": given.id}
        ).scalar_one()
        == 1
    )
    assert db.execute(sa.select(scans.c.location)).scalar_one() == "cell-42"


@pytest.mark.clause("CORP-4.3")
def test_a_restricted_purpose_is_refused_while_storage_continues(
    db: Session, gate: PurposeGate, clock: FakeClock
) -> None:
    subject = new_subject(db)
    created = db.get(Subject, subject).created_at  # type: ignore[union-attr]
    access = gate.for_subject(db, subject, actor=ACTOR)
    access.check("subjects.created_at", "account.management")

    restrict(
        db,
        subject_id=subject,
        purpose="account.management",
        reason=RestrictionReason.ACCURACY_CONTESTED,
        clock=clock,
        actor=ACTOR,
        pack=reference_pack(),
    )
    restricted = gate.for_subject(db, subject, actor=ACTOR)
    error = _refusal(restricted, "subjects.created_at", "account.management")
    assert error.fields["reason"] == "restricted"
    # storage continues: the data is still there, and answering requests still works
    db.expire_all()
    assert db.get(Subject, subject).created_at == created  # type: ignore[union-attr]
    restricted.check("subjects.created_at", "privacy.rights")

    lift(db, subject_id=subject, purpose="account.management", clock=clock, actor=ACTOR)
    gate.for_subject(db, subject, actor=ACTOR).check("subjects.created_at", "account.management")
    [history] = restrictions_of(db, subject, include_lifted=True)
    assert not history.in_force
    actions = [row.action for row in audit_rows(db, subject_id=subject, purpose="privacy.rights")]
    assert actions == ["restriction.added", "restriction.lifted"]


def test_a_restriction_can_only_be_lifted_never_edited(db: Session, clock: FakeClock) -> None:
    subject = new_subject(db)
    restrict(
        db,
        subject_id=subject,
        purpose="customer.support",
        reason="objection",
        clock=clock,
        actor=ACTOR,
        pack=reference_pack(),
    )
    for statement in (
        "UPDATE restrictions SET reason = 'legal_claims'",
        "UPDATE restrictions SET since = since - interval '1 day', lifted_at = now()",
    ):
        savepoint = db.begin_nested()
        with pytest.raises(sa.exc.DBAPIError, match="only change allowed is lifting"):
            db.execute(sa.text(statement))
        savepoint.rollback()


def test_refusals_stay_on_record_when_they_roll_the_transaction_back(
    committed: Runtime, gate: PurposeGate
) -> None:
    with committed.sessions.begin() as session:
        subject = new_subject(session)
    with pytest.raises(PurposeRefusedError), audited_transaction(committed.sessions) as session:
        session.execute(sa.update(Subject).where(Subject.id == subject).values(kind="guardian"))
        gate.for_subject(session, subject, actor=ACTOR).check(LOCATION, WIFI)
    with committed.engine.connect() as connection:
        kind = connection.execute(
            sa.text("SELECT kind::text FROM subjects WHERE id = :s"), {"s": subject}
        ).scalar_one()
        [row] = audit_rows(connection, subject_id=subject)
    assert kind == "subscriber"  # the work was rolled back …
    assert (row.outcome, row.details) == ("refused", {"reason": "no_consent"})  # … not the record


def test_allowed_uses_are_audited_when_asked(db: Session, gate: PurposeGate) -> None:
    subject = new_subject(db)
    access = gate.for_subject(db, subject, actor=ACTOR)
    access.check("subjects.id", "account.management")
    assert audit_rows(db, subject_id=subject) == []
    access.check("subjects.id", "account.management", audit=True, details={"request": "r-1"})
    gate.require(db, subject, "subjects.created_at", "privacy.rights", actor=ACTOR)
    rows = audit_rows(db, subject_id=subject)
    assert [(row.element, row.outcome, row.details) for row in rows] == [
        ("subjects.id", "ok", {"basis": "contract", "request": "r-1"}),
        ("subjects.created_at", "ok", {"basis": "contract"}),
    ]


def test_a_snapshot_is_one_query_and_checks_read_nothing(
    db: Session, gate: PurposeGate, engine: Engine, clock: FakeClock
) -> None:
    subject = new_subject(db)
    grant(
        db,
        subject_id=subject,
        purpose=WIFI,
        channel="app",
        notice_text=NOTICE,
        clock=clock,
        terms=reference_terms(),
    )
    restrict(
        db,
        subject_id=subject,
        purpose="customer.support",
        reason="objection",
        clock=clock,
        actor=ACTOR,
        pack=reference_pack(),
    )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        access = gate.for_subject(db, subject, actor=ACTOR)
        for _ in range(100):
            access.check(LOCATION, WIFI)
            access.check(SERIAL, "device.registration")
        assert not access.allows(SERIAL, "customer.support")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1


@pytest.mark.clause("CORP-0.1")
def test_a_use_without_a_valid_legal_basis_cannot_be_enabled() -> None:
    scratch = sa.MetaData()
    sa.Table(
        "scratch",
        scratch,
        sa.Column("id", sa.Integer, primary_key=True, info=not_personal("key")),
        sa.Column(
            "location",
            sa.Text,
            info=personal(
                "user.location.precise",
                purposes=["account.management"],
                legal_basis=LegalBasis.CONSENT,
                retention="until_erasure",
            ),
        ),
    )
    with pytest.raises(
        ConfigurationError,
        match=r"scratch\.location: legal basis consent, but "
        r"purpose 'account\.management' is not consent-based",
    ):
        PurposeGate.from_datamap(scratch, default_pack())


def test_consent_terms_naming_unknown_keys_stop_start_up(tmp_path: Any) -> None:
    pack = replace(default_pack(), path=tmp_path)
    (tmp_path / "consent.yaml").write_text("purposes:\n  mind.reading: {}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"unknown purpose 'mind\.reading'"):
        load_terms(pack)
    (tmp_path / "consent.yaml").write_text(
        "purposes:\n  wifi.location_scan:\n    optional: true\n    manual_path: by hand\n"
        "    categories: [user.aura]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"unknown data category 'user\.aura'"):
        load_terms(pack)
    (tmp_path / "consent.yaml").write_text(
        "purposes:\n  wifi.location_scan:\n    optional: true\n", encoding="utf-8"
    )
    with pytest.raises(ConfigurationError, match="manual_path is required"):
        load_terms(pack)


def test_the_shipped_gate_builds_and_knows_the_ledger() -> None:
    gate = reference_gate()
    assert gate.basis("consent_events.action", "consent.management") is LegalBasis.LEGAL_OBLIGATION
    assert gate.consent_purposes == {
        "device.qr_camera",
        "wifi.location_scan",
        "newsletter",
        "device.diagnostics_by_staff",
        "account.profile",
        "account.guardian_consent",
    }
    assert RefusalReason("restricted") is RefusalReason.RESTRICTED
