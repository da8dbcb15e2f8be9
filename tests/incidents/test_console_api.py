"""The incident desk's API: open, work, notify and report, as a privacy officer does over HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from tests.accounts.conftest import bearer
from tests.incidents.conftest import FIVE_PARTS, device, subscriber

DESK = "/api/v1/console/incidents"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app as served."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _signed_in(client: TestClient, db: Session, clock: FakeClock, role: str) -> dict[str, str]:
    staff = add_staff(db, role=role, clock=clock)
    made = client.post(
        "/api/v1/console/sessions", json={"token": issue_link(db, staff.id, clock=clock)}
    )
    assert made.status_code == 201, made.text
    return bearer(made.json()["access_token"])


@pytest.fixture
def officer(client: TestClient, db: Session, clock: FakeClock) -> dict[str, str]:
    """The headers of a signed-in privacy officer."""
    return _signed_in(client, db, clock, "privacy_officer")


def _counts(db: Session) -> tuple[int, int, int]:
    flush_events(db)
    return (
        db.execute(sa.text("SELECT count(*) FROM incidents")).scalar_one(),
        db.execute(sa.text("SELECT count(*) FROM incident_obligations")).scalar_one(),
        db.execute(
            sa.text("SELECT count(*) FROM audit_events WHERE action LIKE 'incident.%'")
        ).scalar_one(),
    )


def _fields(answer: object) -> list[str]:
    body = answer.json()  # type: ignore[attr-defined]
    return [item["field"] for item in body["errors"]]


@pytest.mark.clause("CPE-IV.2.e")
def test_a_disclosure_opened_over_the_api_has_its_plan_counts_and_clocks(
    client: TestClient, officer: dict[str, str], db: Session, clock: FakeClock
) -> None:
    start = clock.now() - timedelta(days=3)
    eu = subscriber(db, email="api-eu@example.org", phone="+4915112345001")
    cn = subscriber(db, email="api-cn@example.org", phone="+8613812345001")
    device(db, "DR-1000", eu, start)
    device(db, "DR-1000", cn, start)
    device(db, "DG-2000", subscriber(db, email="api-other@example.org"), start)
    aware = clock.now() - timedelta(hours=2)

    opened = client.post(
        DESK,
        headers=officer,
        json={
            "type": "disclosure",
            "aware_at": aware.isoformat(),
            "window_start": start.isoformat(),
            "device_models": ["DR-1000"],
        },
    )

    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["type"] == "disclosure" and body["affected"] == 2
    assert body["tasks"] == {"assess": None, "contain": None}
    assert body["by_jurisdiction"] == {"CN": {"pending": 1}, "EU": {"pending": 1}}
    clocks = {(row["party"], row["jurisdiction"]): row for row in body["obligations"]}
    assert set(clocks) == {
        ("authority", "CN"),
        ("subjects", "CN"),
        ("authority", "EU"),
        ("subjects", "EU"),
    }
    eu_due = clocks[("authority", "EU")]["due_at"].replace("Z", "+00:00")
    assert eu_due == (aware + timedelta(hours=72)).isoformat()
    assert clocks[("authority", "CN")]["overdue"] is True  # PIPL: immediately
    assert clocks[("authority", "EU")]["overdue"] is False
    assert str(eu) not in opened.text and "api-eu@example.org" not in opened.text

    listed = client.get(DESK, headers=officer).json()
    assert [(row["id"], row["affected"], row["overdue"]) for row in listed] == [
        (body["id"], 2, True)
    ]
    shown = client.get(f"{DESK}/{body['id']}", headers=officer)
    assert shown.status_code == 200 and shown.json()["obligations"] == body["obligations"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "theft"}, "type"),
        ({"systems": ["no_such_table"]}, "systems"),
        ({"elements": ["devices.id"]}, "elements"),  # not a personal element
        ({"window_end": "2999-01-01T00:00:00+00:00"}, "window_end"),
        ({"window_start": "2026-01-01T00:00:00"}, "window_start"),  # no offset
        ({"jurisdictions": ["MARS"]}, "jurisdictions"),
        ({"device_models": ["x" * 201]}, "device_models.0"),
        ({"systems": ["outbox\x00"]}, "systems.0"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_nothing_changes(
    client: TestClient,
    officer: dict[str, str],
    db: Session,
    change: dict[str, object],
    field: str,
) -> None:
    before = _counts(db)
    answer = client.post(DESK, headers=officer, json={"type": "loss", **change})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in _fields(answer)
    assert _counts(db) == before


def test_other_roles_get_403_and_unknown_ids_404(
    client: TestClient, officer: dict[str, str], db: Session, clock: FakeClock
) -> None:
    support = _signed_in(client, db, clock, "support")
    before = _counts(db)
    refused = client.post(DESK, headers=support, json={"type": "loss"})
    assert refused.status_code == 403
    assert client.get(DESK, headers=support).status_code == 403
    assert _counts(db) == before
    flush_events(db)
    denial = db.execute(
        sa.text("SELECT outcome FROM audit_events WHERE action = 'staff.manage_incidents'")
    ).scalars()
    assert set(denial) == {"refused"}

    unknown = uuid.uuid4()
    assert client.get(f"{DESK}/{unknown}", headers=officer).status_code == 404
    rated = client.post(f"{DESK}/{unknown}/rating", headers=officer, json={"risk": "low"})
    assert rated.status_code == 404
    opened = client.post(DESK, headers=officer, json={"type": "loss", "jurisdictions": ["EU"]})
    incident = opened.json()["id"]
    other = client.get(f"{DESK}/{incident}/obligations/{unknown}/report", headers=officer)
    assert other.status_code == 404
    assert client.get(DESK, headers=support).status_code == 403


def test_the_workflow_rate_notice_notify_withhold_report_file_and_close(
    client: TestClient, officer: dict[str, str], db: Session, clock: FakeClock
) -> None:
    eu = subscriber(db, email="flow-eu@example.org", phone="+4915112345002")
    cn = subscriber(db, email="flow-cn@example.org", phone="+8613812345002")
    opened = client.post(
        DESK, headers=officer, json={"type": "loss", "subject_ids": [str(eu), str(cn)]}
    ).json()
    incident = opened["id"]
    at = f"{DESK}/{incident}"

    # Unrated: the notices cannot start, nothing changes.
    client.put(f"{at}/notices/en", headers=officer, json=FIVE_PARTS)
    unrated = client.post(f"{at}/notifications", headers=officer)
    assert unrated.status_code == 409 and unrated.json()["rule"] == "rated"
    assert client.post(f"{at}/rating", headers=officer, json={"risk": "huge"}).status_code == 422
    assert (
        client.post(f"{at}/rating", headers=officer, json={"risk": "significant"}).json()["risk"]
        == "significant"
    )

    # A part blanked: 422 naming it, nothing sent.
    blank = client.put(f"{at}/notices/en", headers=officer, json={"remedies": " "})
    assert blank.json() == {"locale": "en", "missing": ["remedies"]}
    refused = client.post(f"{at}/notifications", headers=officer)
    assert refused.status_code == 422 and _fields(refused) == ["remedies"]
    assert db.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one() == 0
    client.put(f"{at}/notices/en", headers=officer, json={"remedies": FIVE_PARTS["remedies"]})

    # CN's subjects wait on a legal ground; EU's are notified.
    until = clock.now() + timedelta(days=2)
    held = client.post(
        f"{at}/withholdings",
        headers=officer,
        json={
            "jurisdiction": "CN",
            "authority": "Public Security Bureau",
            "legal_reference": "PIPL Art. 57(2)",
            "until": until.isoformat(),
        },
    )
    assert held.status_code == 200, held.text
    assert held.json()["withheld_until"].replace("Z", "+00:00") == until.isoformat()
    started = client.post(f"{at}/notifications", headers=officer)
    assert started.status_code == 202 and started.json()["notify_started_at"] is not None
    assert client.put(f"{at}/notices/en", headers=officer, json=FIVE_PARTS).status_code == 409

    from doorstep.privacy.incidents import fanout
    from doorstep.privacy.incidents.context import IncidentContext
    from doorstep.wiring import build_services

    ctx = IncidentContext.of(build_services(client.app.state.runtime))  # type: ignore[attr-defined]
    while not fanout.notify_batch(db, ctx, uuid.UUID(incident)).empty:
        pass
    statuses = {
        row["subject_id"]: row for row in client.get(f"{at}/deliveries", headers=officer).json()
    }
    assert statuses[str(eu)]["channels"] == {"email": "queued", "sms": "queued"}
    assert statuses[str(cn)] == {
        "subject_id": str(cn),
        "jurisdiction": "CN",
        "status": "pending",
        "channels": {},
    }
    shown = client.get(at, headers=officer).json()
    assert shown["deliveries"] == {"email": {"queued": 1}, "sms": {"queued": 1}}

    # The report to the EU authority, as JSON and as Markdown; then filed and acknowledged.
    eu_report = next(
        row["id"]
        for row in shown["obligations"]
        if row["party"] == "authority" and row["jurisdiction"] == "EU"
    )
    subjects = next(row["id"] for row in shown["obligations"] if row["party"] == "subjects")
    as_json = client.get(f"{at}/obligations/{eu_report}/report", headers=officer)
    assert as_json.status_code == 200
    assert "attachment" in as_json.headers["content-disposition"]
    data = json.loads(as_json.content)
    assert data["jurisdiction"] == "EU" and data["subjects"]["affected"] == 1
    assert "flow-eu@example.org" not in as_json.text and str(eu) not in as_json.text
    as_md = client.get(f"{at}/obligations/{eu_report}/report?format=md", headers=officer)
    assert as_md.headers["content-type"].startswith("text/markdown")
    assert as_md.text.startswith(f"# Personal data breach report {eu_report}")
    assert (
        client.get(f"{at}/obligations/{eu_report}/report?format=pdf", headers=officer).status_code
        == 422
    )
    assert client.get(f"{at}/obligations/{subjects}/report", headers=officer).status_code == 409

    bad = client.post(
        f"{at}/obligations/{eu_report}/filing", headers=officer, json={"reference": "no spaces"}
    )
    assert bad.status_code == 422 and _fields(bad) == ["reference"]
    filed = client.post(
        f"{at}/obligations/{eu_report}/filing", headers=officer, json={"reference": "EDPB-2026/7"}
    )
    assert filed.json()["status"] == "filed" and filed.json()["reference"] == "EDPB-2026/7"
    again = client.post(f"{at}/obligations/{eu_report}/filing", headers=officer, json={})
    assert again.status_code == 409
    acked = client.post(f"{at}/obligations/{eu_report}/acknowledgement", headers=officer)
    assert acked.json()["status"] == "acknowledged"

    # Closing waits for the plan's tasks and the other obligations.
    assert client.post(f"{at}/close", headers=officer).status_code == 409
    assert client.post(f"{at}/tasks/contain/done", headers=officer).status_code == 200
    assert client.post(f"{at}/tasks/contain/done", headers=officer).status_code == 409
    assert client.post(f"{at}/tasks/burn/done", headers=officer).status_code == 422
    done = client.post(f"{at}/tasks/assess/done", headers=officer).json()
    assert all(done["tasks"].values())
    assert client.post(f"{at}/close", headers=officer).status_code == 409  # CN still owed


def test_a_public_notice_is_recorded_when_contact_failed(
    client: TestClient, officer: dict[str, str], db: Session
) -> None:
    by_post = subscriber(db)  # no e-mail, no phone: a letter task
    opened = client.post(
        DESK, headers=officer, json={"type": "alteration", "subject_ids": [str(by_post)]}
    ).json()
    at = f"{DESK}/{opened['id']}"
    client.post(f"{at}/rating", headers=officer, json={"risk": "low"})
    client.put(f"{at}/notices/en", headers=officer, json=FIVE_PARTS)
    client.post(f"{at}/notifications", headers=officer)
    from doorstep.privacy.incidents import fanout
    from doorstep.privacy.incidents.context import IncidentContext
    from doorstep.wiring import build_services

    ctx = IncidentContext.of(build_services(client.app.state.runtime))  # type: ignore[attr-defined]
    while not fanout.notify_batch(db, ctx, uuid.UUID(opened["id"])).empty:
        pass

    plain = client.post(
        f"{at}/public-notices",
        headers=officer,
        json={"url": "http://example.org/notice", "reason": "contact_failed"},
    )
    assert plain.status_code == 422 and _fields(plain) == ["url"]
    made = client.post(
        f"{at}/public-notices",
        headers=officer,
        json={"url": "https://example.org/notice", "reason": "contact_failed"},
    )
    assert made.status_code == 201, made.text
    assert (made.json()["unreached"], made.json()["affected"]) == (1, 1)
    shown = client.get(at, headers=officer).json()
    assert [row["url"] for row in shown["public_notices"]] == ["https://example.org/notice"]
    assert {row["status"] for row in shown["obligations"] if row["party"] == "subjects"} == {"met"}
