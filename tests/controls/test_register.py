"""The controls register: due dates, overdue alerts and the notice's claims, on a fake clock."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.controls import services as svc
from doorstep.privacy.controls.alerts import alert_lapsed
from doorstep.privacy.controls.models import ControlKind
from doorstep.privacy.controls.status import (
    ControlState,
    add_months,
    claim_status,
    flags,
    register_status,
)
from tests.controls.conftest import (
    STAFF,
    area_events,
    control,
    count,
    events,
    messages,
    policy,
    today,
)


def _flags(db: Session, clock: FakeClock) -> list[str]:
    return flags(claim_status(register_status(db, policy(), today(clock)), policy()))


def _state(db: Session, clock: FakeClock, name: str) -> ControlState:
    (item,) = [x for x in register_status(db, policy(), today(clock)) if x.name == name]
    return item.state


def test_months_are_calendar_months() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 3, 15), 12) == date(2026, 3, 15)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)


@pytest.mark.clause("CPE-IV.2.b")
def test_a_continuity_plan_tested_13_months_ago_raises_an_overdue_alert(
    db: Session, clock: FakeClock
) -> None:
    plan = control(db, clock, ControlKind.CONTINUITY_PLAN, "Business continuity plan")
    svc.record_evidence(
        db,
        plan.id,
        performed_on=add_months(today(clock), -13),
        evidence="BCP-TEST-2024",
        clock=clock,
        actor=STAFF,
    )
    (item,) = register_status(db, policy(), today(clock))
    assert policy().interval(ControlKind.CONTINUITY_PLAN) == 12
    assert item.state is ControlState.OVERDUE
    assert item.due == add_months(today(clock), -1)

    done = alert_lapsed(db, policy(), clock)
    assert done.controls == (plan.id,)
    (alert,) = events(db, "controls.overdue")
    assert alert["control"] == str(plan.id) and alert["state"] == "overdue"
    assert alert["kind"] == "continuity_plan" and alert["due"] == item.due.isoformat()
    (mail,) = messages(db, "controls.overdue")
    assert mail.email == "privacy@zte.com.cn", "the desk address of the pack"
    assert mail.params["control"] == "Business continuity plan"
    assert "continuity_claim_unsupported" in mail.params["claims"]

    assert alert_lapsed(db, policy(), clock).controls == (), "a lapse is alerted once"
    assert len(events(db, "controls.overdue")) == 1


@pytest.mark.clause("CPE-IV.2.b")
def test_a_tested_plan_goes_overdue_when_the_clock_passes_its_due_date_and_the_claim_is_flagged(
    db: Session, clock: FakeClock
) -> None:
    plan = control(db, clock, ControlKind.CONTINUITY_PLAN, "Business continuity plan")
    assert "continuity_claim_unsupported" in _flags(db, clock), "no evidence yet"
    svc.record_evidence(
        db, plan.id, performed_on=today(clock), evidence="BCP-TEST-1", clock=clock, actor=STAFF
    )
    assert _state(db, clock, "Business continuity plan") is ControlState.CURRENT
    assert "continuity_claim_unsupported" not in _flags(db, clock)

    clock.set(clock.now().replace(year=clock.now().year + 1))  # the due day itself
    assert _state(db, clock, "Business continuity plan") is ControlState.CURRENT
    assert alert_lapsed(db, policy(), clock).controls == ()

    clock.advance(timedelta(days=1))
    assert _state(db, clock, "Business continuity plan") is ControlState.OVERDUE
    assert "continuity_claim_unsupported" in _flags(db, clock)
    assert alert_lapsed(db, policy(), clock).controls == (plan.id,)

    svc.record_evidence(
        db, plan.id, performed_on=today(clock), evidence="BCP-TEST-2", clock=clock, actor=STAFF
    )
    assert "continuity_claim_unsupported" not in _flags(db, clock)
    alert_lapsed(db, policy(), clock)
    clock.set(clock.now().replace(year=clock.now().year + 1) + timedelta(days=1))
    assert alert_lapsed(db, policy(), clock).controls == (plan.id,), "a new lapse, a new alert"


@pytest.mark.clause("CPE-IV.2.c")
def test_policy_reviews_and_audits_are_recorded_and_alert_when_overdue(
    db: Session, clock: FakeClock
) -> None:
    review = control(db, clock, ControlKind.SECURITY_POLICY_REVIEW, "Information security policy")
    audit = control(db, clock, ControlKind.THIRD_PARTY_AUDIT, "Annual security audit")
    fourteen_months_ago = add_months(today(clock), -14)
    svc.record_evidence(
        db,
        review.id,
        performed_on=fourteen_months_ago,
        evidence="POL-REVIEW-7",
        clock=clock,
        actor=STAFF,
    )
    svc.record_evidence(
        db,
        audit.id,
        performed_on=fourteen_months_ago,
        issued_by="Example Audit GmbH",
        evidence="https://docs.example.com/audits/2024.pdf",
        clock=clock,
        actor=STAFF,
    )
    assert set(alert_lapsed(db, policy(), clock).controls) == {audit.id, review.id}
    assert {alert["kind"] for alert in events(db, "controls.overdue")} == {
        "security_policy_review",
        "third_party_audit",
    }
    assert {"policy_review_claim_unsupported", "audit_claim_unsupported"} <= set(_flags(db, clock))

    evidence = svc.record_evidence(
        db,
        audit.id,
        performed_on=today(clock) - timedelta(days=3),
        valid_until=add_months(today(clock), 6),
        issued_by="Example Audit GmbH",
        evidence="https://docs.example.com/audits/2025.pdf",
        clock=clock,
        actor=STAFF,
    )
    (item,) = [x for x in register_status(db, policy(), today(clock)) if x.id == audit.id]
    assert item.state is ControlState.CURRENT
    assert item.due == add_months(today(clock), 6), "the next due date the audit set"
    assert (item.issued_by, item.evidence) == (
        "Example Audit GmbH",
        "https://docs.example.com/audits/2025.pdf",
    ), "the audit evidence is attached"
    assert events(db, "controls.evidence_recorded")[-1]["evidence"] == str(evidence.id)
    assert "audit_claim_unsupported" not in _flags(db, clock)
    assert "policy_review_claim_unsupported" in _flags(db, clock)


@pytest.mark.clause("CPE-IV.2.d")
def test_a_lapsed_certificate_leaves_the_certification_claim_unsupported(
    db: Session, clock: FakeClock
) -> None:
    certificate = control(
        db, clock, ControlKind.CERTIFICATE, "ISO/IEC 27001", scope="Cloud services, Shenzhen"
    )
    svc.record_evidence(
        db,
        certificate.id,
        performed_on=add_months(today(clock), -36),
        valid_until=today(clock) - timedelta(days=1),
        issued_by="Example Certification Body",
        evidence="CERT-27001-0042",
        clock=clock,
        actor=STAFF,
    )
    (item,) = register_status(db, policy(), today(clock))
    assert item.state is ControlState.EXPIRED
    assert (item.scope, item.valid_until) == ("Cloud services, Shenzhen", item.due)
    (claim,) = [x for x in claim_status([item], policy()) if x.claim.key == "certification"]
    assert not claim.supported and claim.code == "certification_claim_unsupported"
    assert claim.claim.clauses == ("CPE-IV.2.d",)

    svc.record_evidence(
        db,
        certificate.id,
        performed_on=today(clock),
        valid_until=add_months(today(clock), 36),
        issued_by="Example Certification Body",
        evidence="CERT-27001-0043",
        clock=clock,
        actor=STAFF,
    )
    assert "certification_claim_unsupported" not in _flags(db, clock)


def test_a_claim_without_any_registered_control_is_flagged(db: Session, clock: FakeClock) -> None:
    assert set(_flags(db, clock)) == {f"{key}_claim_unsupported" for key in policy().claims}, (
        "nothing registered: no claim of the notice has evidence"
    )


@pytest.mark.clause("CPE-IV.5")
def test_assessments_are_versioned_and_published(db: Session, clock: FakeClock) -> None:
    sia = control(db, clock, ControlKind.SECURITY_IMPACT_ASSESSMENT, "Doorstep cloud PIA")
    first = svc.add_assessment(
        db,
        sia.id,
        assessed_on=today(clock),
        risk_level="medium",
        summary="Device telemetry pseudonymised; residual risk medium.",
        evidence="SIA-2026-1",
        clock=clock,
        actor=STAFF,
    )
    assert (first.version, first.state.value) == (1, "draft")
    assert svc.published_assessments(db) == []
    assert _state(db, clock, "Doorstep cloud PIA") is ControlState.NO_EVIDENCE, "a draft is none"
    svc.publish_assessment(db, sia.id, 1, clock=clock, actor=STAFF)
    second = svc.add_assessment(
        db,
        sia.id,
        assessed_on=today(clock),
        risk_level="low",
        summary="Residual risk low after key rotation.",
        evidence="SIA-2026-2",
        clock=clock,
        actor=STAFF,
    )
    assert second.version == 2
    listed = [(c.name, a.version, a.state.value) for c, a in svc.published_assessments(db)]
    assert listed == [("Doorstep cloud PIA", 1, "published")], "the draft is not listed"
    assert _state(db, clock, "Doorstep cloud PIA") is ControlState.CURRENT
    with pytest.raises(ConflictError):
        svc.publish_assessment(db, sia.id, 1, clock=clock, actor=STAFF)
    with pytest.raises(NotFoundError):
        svc.publish_assessment(db, sia.id, 3, clock=clock, actor=STAFF)
    assert [e["version"] for e in events(db, "controls.assessment_published")] == [1]


def test_bad_input_is_refused_naming_the_field_and_nothing_changes(
    db: Session, clock: FakeClock
) -> None:
    plan = control(db, clock, ControlKind.CONTINUITY_PLAN, "BCP")
    certificate = control(db, clock, ControlKind.CERTIFICATE, "ISO 27001")
    before = (count(db, "controls"), count(db, "control_evidence"), area_events(db))
    tomorrow = today(clock) + timedelta(days=1)
    refused = [
        (lambda: control(db, clock, ControlKind.CONTINUITY_PLAN, "  "), "name", "required"),
        (
            lambda: svc.add_control(
                db, kind="bogus", name="x", owner_role="ciso", clock=clock, actor=STAFF
            ),
            "kind",
            "control_kind",
        ),
        (
            lambda: svc.add_control(
                db,
                kind="continuity_plan",
                name="x",
                owner_role="Jane Doe",
                clock=clock,
                actor=STAFF,
            ),
            "owner_role",
            "role_name",
        ),
        (
            lambda: svc.add_control(
                db, kind="certificate", name="y", owner_role="ciso", clock=clock, actor=STAFF
            ),
            "scope",
            "required",
        ),
        (
            lambda: control(db, clock, ControlKind.CONTINUITY_PLAN, "z", interval_months=0),
            "interval_months",
            "interval",
        ),
        (
            lambda: svc.record_evidence(
                db, plan.id, performed_on=tomorrow, evidence="X-1", clock=clock, actor=STAFF
            ),
            "performed_on",
            "not_in_future",
        ),
        (
            lambda: svc.record_evidence(
                db,
                plan.id,
                performed_on=today(clock),
                evidence="not a reference",
                clock=clock,
                actor=STAFF,
            ),
            "evidence",
            "evidence_reference",
        ),
        (
            lambda: svc.record_evidence(
                db,
                certificate.id,
                performed_on=today(clock),
                issued_by="Body",
                evidence="C-1",
                clock=clock,
                actor=STAFF,
            ),
            "valid_until",
            "required",
        ),
        (
            lambda: svc.record_evidence(
                db,
                certificate.id,
                performed_on=today(clock),
                valid_until=today(clock),
                issued_by="Body",
                evidence="C-1",
                clock=clock,
                actor=STAFF,
            ),
            "valid_until",
            "after_performed",
        ),
        (
            lambda: svc.add_assessment(
                db,
                plan.id,
                assessed_on=today(clock),
                risk_level="low",
                summary="s",
                evidence="S-1",
                clock=clock,
                actor=STAFF,
            ),
            "control",
            "assessment_kind",
        ),
    ]
    for attempt, field, rule in refused:
        with pytest.raises(InvalidInputError) as caught:
            attempt()
        assert caught.value.fields["errors"] == [{"field": field, "rule": rule}]
    with pytest.raises(ConflictError):
        control(db, clock, ControlKind.CONTINUITY_PLAN, "BCP")
    after = (count(db, "controls"), count(db, "control_evidence"), area_events(db))
    assert after == before
