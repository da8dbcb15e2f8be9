"""Processing without consent names one exemption code and its evidence, or is refused
(CORP-1.5); the use is audited with both."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.errors import InvalidInputError, PurposeRefusedError
from doorstep.core.runtime import Runtime
from doorstep.privacy.purposes.exemptions import Exemption, ExemptionCode, use_without_consent
from doorstep.privacy.restrictions import restrict
from doorstep.staff import StaffPermissionDeniedError, StaffRole, add_staff, staff_read
from doorstep.wiring import Services, build_services
from tests.packs import reference_pack
from tests.requests.conftest import new_subject

NICKNAME = "account_profiles.nickname"
PROFILE = "account.profile"  # consent-based in the reference pack (consent.yaml)


@pytest.fixture
def services(runtime: Runtime) -> Services:
    return build_services(runtime)


@pytest.fixture
def subscriber(db: Session, services: Services, clock: FakeClock) -> uuid.UUID:
    """An account with a profile nickname and no consent to ``account.profile``."""
    subject = new_subject(db)
    db.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, password_hash, created_at, source) "
            "VALUES (:id, 'active', :email, 'x', :now, 'app_signup')"
        ),
        {"id": subject, "email": f"{subject.hex[:12]}@example.org", "now": clock.now()},
    )
    db.execute(
        sa.text(
            "INSERT INTO account_profiles (account_id, nickname, updated_at) "
            "VALUES (:id, 'canary-nick', :now)"
        ),
        {"id": subject, "now": clock.now()},
    )
    return subject


def _nickname(
    session: Session, metadata: sa.MetaData, element: str, subject: uuid.UUID
) -> tuple[object, ...]:
    column = metadata.tables["account_profiles"].c
    return tuple(session.scalars(sa.select(column.nickname).where(column.account_id == subject)))


def _uses(db: Session, subject: uuid.UUID) -> list[sa.Row[tuple[str, str, dict[str, object]]]]:
    flush_events(db)
    return list(
        db.execute(
            sa.text(
                "SELECT actor, outcome, details FROM audit_events WHERE subject_id = :s "
                "AND element = :e ORDER BY id"
            ),
            {"s": subject, "e": NICKNAME},
        )
    )


@pytest.mark.clause("CORP-1.5")
def test_a_use_without_consent_is_refused_without_an_exemption_and_logged_with_one(
    db: Session, services: Services, subscriber: uuid.UUID
) -> None:
    access = services.gate.for_subject(db, subscriber, actor="system:legal-demand")
    with pytest.raises(PurposeRefusedError) as refused:
        use_without_consent(access, NICKNAME, PROFILE, None)
    assert refused.value.fields["reason"] == "no_consent"

    exemption = Exemption.of("LEGAL_COMPLIANCE", "case-2025-0042")
    use_without_consent(access, NICKNAME, PROFILE, exemption)

    first, second = _uses(db, subscriber)
    assert (first.outcome, first.details["reason"]) == ("refused", "no_consent")
    assert second.outcome == "ok"
    assert second.details["exemption"] == "LEGAL_COMPLIANCE"
    assert second.details["evidence"] == "case-2025-0042"
    assert second.details["basis"] == "exemption"


@pytest.mark.clause("CORP-1.5")
@pytest.mark.parametrize(
    ("code", "evidence", "field"),
    [
        (None, "case-1", "exemption"),
        ("BECAUSE_WE_CAN", "case-1", "exemption"),
        ("legal_compliance", "case-1", "exemption"),
        ("LEGAL_COMPLIANCE", None, "evidence"),
        ("LEGAL_COMPLIANCE", "  ", "evidence"),
        ("LEGAL_COMPLIANCE", "ann@example.org", "evidence"),
        ("LEGAL_COMPLIANCE", "the police asked nicely", "evidence"),
    ],
)
def test_only_one_code_of_the_closed_list_and_an_evidence_id_are_accepted(
    code: str | None, evidence: str | None, field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        Exemption.of(code, evidence)
    assert refused.value.fields["errors"][0]["field"] == field


def test_the_list_is_the_policys() -> None:
    assert {code.value for code in ExemptionCode} == {
        "NATIONAL_SECURITY_DEFENCE",
        "PUBLIC_SECURITY_HEALTH_INTEREST",
        "CRIMINAL_OR_LEGAL_PROCESS",
        "VITAL_INTERESTS",
        "LAWFUL_NEWS_REPORTING",
        "LEGAL_COMPLIANCE",
    }


@pytest.mark.clause("CORP-1.5")
def test_a_privacy_officer_reads_for_a_legal_demand_only_under_an_exemption(
    db: Session, services: Services, subscriber: uuid.UUID, clock: FakeClock
) -> None:
    officer = add_staff(db, role=StaffRole.PRIVACY_OFFICER, clock=clock)
    with pytest.raises(StaffPermissionDeniedError):  # no consent, no exemption: refused
        staff_read(db, officer.id, subscriber, NICKNAME, PROFILE, gate=services.gate)
    exemption = Exemption.of("CRIMINAL_OR_LEGAL_PROCESS", "warrant-77-2025")
    read = staff_read(
        db,
        officer.id,
        subscriber,
        NICKNAME,
        PROFILE,
        gate=services.gate,
        exemption=exemption,
        reader=_nickname,
    )
    assert read.values == ("canary-nick",)
    *_, used = _uses(db, subscriber)
    assert used.actor == officer.actor and used.outcome == "ok"
    assert (used.details["exemption"], used.details["evidence"]) == (
        "CRIMINAL_OR_LEGAL_PROCESS",
        "warrant-77-2025",
    )
    support = add_staff(db, role=StaffRole.SUPPORT, clock=clock)
    with pytest.raises(StaffPermissionDeniedError):  # not the privacy desk
        staff_read(
            db, support.id, subscriber, NICKNAME, PROFILE, gate=services.gate, exemption=exemption
        )


def test_an_exemption_does_not_lift_a_restriction(
    db: Session, services: Services, subscriber: uuid.UUID, clock: FakeClock
) -> None:
    restrict(
        db,
        subject_id=subscriber,
        purpose=PROFILE,
        reason="objection",
        clock=clock,
        actor="system:test",
        pack=reference_pack(),
    )
    access = services.gate.for_subject(db, subscriber, actor="system:legal-demand")
    with pytest.raises(PurposeRefusedError) as refused:
        use_without_consent(access, NICKNAME, PROFILE, Exemption.of("VITAL_INTERESTS", "inc-9"))
    assert refused.value.fields["reason"] == "restricted"
