"""The controls register's API: the console's (by role) and the public list of assessments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from tests.accounts.conftest import bearer
from tests.controls.conftest import area_events, count, events, messages

CONSOLE = "/api/v1/console/controls"
PUBLIC = "/api/v1/security-assessments"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app as served."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _token(client: TestClient, db: Session, clock: FakeClock, role: str) -> dict[str, str]:
    staff = add_staff(db, role=role, clock=clock)
    made = client.post(
        "/api/v1/console/sessions", json={"token": issue_link(db, staff.id, clock=clock)}
    )
    assert made.status_code == 201, made.text
    return bearer(str(made.json()["access_token"]))


def test_support_staff_neither_see_nor_change_the_register(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    headers = _token(client, db, clock, "support")
    assert client.get(CONSOLE, headers=headers).status_code == 403
    body = {"kind": "continuity_plan", "name": "BCP", "owner_role": "ciso"}
    assert client.post(CONSOLE, json=body, headers=headers).status_code == 403
    assert client.get(CONSOLE).status_code == 401
    assert count(db, "controls") == 0


@pytest.mark.clause("CPE-IV.2.d")
def test_the_console_registers_a_certificate_and_flags_the_claim_once_it_expires(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    headers = _token(client, db, clock, "privacy_officer")
    made = client.post(
        CONSOLE,
        json={
            "kind": "certificate",
            "name": "ISO/IEC 27001",
            "owner_role": "ciso",
            "scope": "Cloud services",
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    control_id = made.json()["id"]
    assert made.json()["state"] == "no_evidence"
    today = clock.now().date()
    recorded = client.post(
        f"{CONSOLE}/{control_id}/evidence",
        json={
            "performed_on": (today - timedelta(days=30)).isoformat(),
            "valid_until": (today + timedelta(days=10)).isoformat(),
            "issued_by": "Example Certification Body",
            "evidence": "CERT-27001-0042",
        },
        headers=headers,
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["state"] == "current"
    register = client.get(CONSOLE, headers=headers).json()
    assert "certification_claim_unsupported" not in register["flags"]

    clock.advance(timedelta(days=11))
    headers = _token(client, db, clock, "privacy_officer")  # a console session is short
    register = client.get(CONSOLE, headers=headers).json()
    (item,) = register["controls"]
    assert (item["state"], item["scope"], item["valid_until"]) == (
        "expired",
        "Cloud services",
        (today + timedelta(days=10)).isoformat(),
    )
    assert "certification_claim_unsupported" in register["flags"]
    (claim,) = [c for c in register["claims"] if c["key"] == "certification"]
    assert claim["supported"] is False and claim["clauses"] == ["CPE-IV.2.d"]
    assert claim["lapses"] == [
        {"kind": "certificate", "reason": "expired", "control_id": control_id}
    ]
    detail = client.get(f"{CONSOLE}/{control_id}", headers=headers).json()
    assert [e["evidence"] for e in detail["evidence"]] == ["CERT-27001-0042"]


def test_bad_input_is_a_problem_and_changes_nothing(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    headers = _token(client, db, clock, "admin")
    made = client.post(
        CONSOLE,
        json={"kind": "continuity_plan", "name": "BCP", "owner_role": "ciso"},
        headers=headers,
    )
    control_id = made.json()["id"]
    before = (count(db, "controls"), count(db, "control_evidence"), area_events(db))
    bad = client.post(
        CONSOLE, json={"kind": "certificate", "name": "X", "owner_role": "ciso"}, headers=headers
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"] == [{"field": "scope", "rule": "required"}]
    future = (clock.now().date() + timedelta(days=2)).isoformat()
    late = client.post(
        f"{CONSOLE}/{control_id}/evidence",
        json={"performed_on": future, "evidence": "BCP-1"},
        headers=headers,
    )
    assert late.status_code == 422
    assert late.json()["errors"] == [{"field": "performed_on", "rule": "not_in_future"}]
    assert client.post(CONSOLE, json={"kind": "nope"}, headers=headers).status_code == 422
    again = client.post(
        CONSOLE,
        json={"kind": "continuity_plan", "name": "BCP", "owner_role": "ciso"},
        headers=headers,
    )
    assert again.status_code == 409
    missing = client.post(
        f"{CONSOLE}/{control_id}/assessments/99999999999/publish", headers=headers
    )
    assert missing.status_code == 422
    assert (count(db, "controls"), count(db, "control_evidence"), area_events(db)) == before


@pytest.mark.clause("CPE-IV.5")
def test_a_published_assessment_is_listed_publicly_and_sent_to_whoever_asks(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    headers = _token(client, db, clock, "privacy_officer")
    control_id = client.post(
        CONSOLE,
        json={
            "kind": "security_impact_assessment",
            "name": "Doorstep cloud PI impact assessment",
            "owner_role": "privacy_officer",
        },
        headers=headers,
    ).json()["id"]
    draft = client.post(
        f"{CONSOLE}/{control_id}/assessments",
        json={
            "assessed_on": clock.now().date().isoformat(),
            "risk_level": "medium",
            "summary": "Telemetry is pseudonymised; the residual risk is medium.",
            "evidence": "https://example.com/reports/pia-2026.pdf",
        },
        headers=headers,
    )
    assert draft.status_code == 201 and draft.json()["state"] == "draft"
    assert client.get(PUBLIC).json() == [], "a draft is not published"
    refused = client.post(
        f"{CONSOLE}/{control_id}/assessments/send",
        json={"to": "asker@example.org"},
        headers=headers,
    )
    assert refused.status_code == 409, "only a published report is sent"

    published = client.post(f"{CONSOLE}/{control_id}/assessments/1/publish", headers=headers)
    assert published.status_code == 200 and published.json()["state"] == "published"
    (listed,) = client.get(PUBLIC).json()
    assert (listed["name"], listed["version"], listed["risk_level"]) == (
        "Doorstep cloud PI impact assessment",
        1,
        "medium",
    )
    sent = client.post(
        f"{CONSOLE}/{control_id}/assessments/send",
        json={"to": "asker@example.org"},
        headers=headers,
    )
    assert sent.status_code == 202, sent.text
    (mail,) = messages(db, "controls.assessment")
    assert str(mail.id) == sent.json()["outbox_id"] and mail.email == "asker@example.org"
    assert mail.params["summary"].startswith("Telemetry is pseudonymised")
    (event,) = events(db, "controls.assessment_sent")
    assert event["outbox"] == str(mail.id)
    assert "asker@example.org" not in str(event), "the audit trail names no address"
