"""The console's incident pages without a browser: list, open, the incident, refusals, reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from tests.incidents.conftest import FIVE_PARTS, device, subscriber
from tests.web.clients import page_client
from tests.web.test_console_access import console_sign_in, csrf_of


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction, asking for pages; redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def _incidents(db: Session) -> int:
    flush_events(db)
    return int(db.execute(sa.text("SELECT count(*) FROM incidents")).scalar_one())


def _open(client: TestClient, **fields: str) -> object:
    page = client.get("/console/incidents")
    assert page.status_code == 200, page.text
    return client.post(
        "/console/incidents", data={"csrf_token": csrf_of(page.text), "kind": "loss", **fields}
    )


def test_an_officer_opens_an_incident_for_a_model_and_sees_counts_and_overdue_clocks(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    console_sign_in(client, db, clock, "privacy_officer")
    start = clock.now() - timedelta(days=2)
    for n, phone in enumerate(("+4915112345101", "+4915112345102", "+8613812345101")):
        device(db, "DR-1000", subscriber(db, email=f"page{n}@example.org", phone=phone), start)
    assert "No incidents." in client.get("/console/incidents").text

    opened = _open(client, device_models="DR-1000", window_start="2020-01-01 00:00")
    assert opened.status_code == 303, opened.text  # type: ignore[attr-defined]
    location = opened.headers["location"]  # type: ignore[attr-defined]
    assert location.endswith("?done=incident_opened")
    clock.advance(timedelta(minutes=1))
    page = client.get(location).text
    assert '<strong id="affected-count">3</strong>' in page
    assert "page0@example.org" not in page and "+4915112345101" not in page
    # CN's authority is owed "immediately": its row is marked overdue; EU's is not.
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr")
    cn = [row for row in rows if "Cyberspace Administration" in row]
    eu = [row for row in rows if "<code>EU</code>" in row and "subscribers" not in row]
    assert cn and 'class="overdue"' in cn[0] and "Overdue" in cn[0]
    assert eu and 'class="overdue"' not in eu[0]
    listed = client.get("/console/incidents").text
    assert 'class="overdue"' in listed and "Incident " in listed


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": ""}, "This field is required."),
        ({"systems": "no_such_table"}, "Name tables of the data map"),
        ({"elements": "accounts.nothing"}, "Name personal elements of the data map"),
        ({"window_end": "2999-01-01 00:00"}, "The window cannot end in the future."),
        ({"aware_at": "yesterday"}, "Enter a date and time"),
        ({"device_ids": "not-a-uuid"}, "Enter device ids (UUIDs)"),
    ],
)
def test_a_refused_open_form_says_why_and_nothing_changes(
    client: TestClient, db: Session, clock: FakeClock, fields: dict[str, str], message: str
) -> None:
    console_sign_in(client, db, clock, "privacy_officer")
    answer = _open(client, **fields)
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert message in answer.text  # type: ignore[attr-defined]
    assert "Please correct what is marked below." in answer.text  # type: ignore[attr-defined]
    assert _incidents(db) == 0


def test_support_gets_the_refusal_page(client: TestClient, db: Session, clock: FakeClock) -> None:
    console_sign_in(client, db, clock, "support")
    assert client.get("/console/incidents").status_code == 403


def test_the_forms_rate_write_notify_and_the_report_downloads(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    console_sign_in(client, db, clock, "privacy_officer")
    person = subscriber(db, email="forms@example.org", phone="+4915112345103")
    opened = _open(client, subject_ids=str(person))
    at = opened.headers["location"].split("?")[0]  # type: ignore[attr-defined]

    def post(path: str, **data: str) -> object:
        token = csrf_of(client.get(at).text)
        return client.post(f"{at}/{path}", data={"csrf_token": token, **data})

    unrated = post("notify")
    assert unrated.status_code == 409  # type: ignore[attr-defined]
    assert "Rate the incident's risk before the notices go out." in unrated.text  # type: ignore[attr-defined]
    assert post("rate", risk="significant").status_code == 303  # type: ignore[attr-defined]
    short = post("notice", locale="en", **{**FIVE_PARTS, "remedies": ""})
    assert short.status_code == 303  # type: ignore[attr-defined]  # a draft may lack parts
    refused = post("notify")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "This part must be written before notices go out." in refused.text  # type: ignore[attr-defined]
    assert db.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one() == 0
    assert post("notice", locale="en", **FIVE_PARTS).status_code == 303  # type: ignore[attr-defined]
    started = post("notify")
    assert started.headers["location"].endswith("?done=incident_notified")  # type: ignore[attr-defined]
    page = client.get(at).text
    assert "Resume the notices" in page and "Write the notice" not in page

    report = page.split('href="')[1:]
    links = [item.split('"')[0] for item in report if "/report?format=" in item.split('"')[0]]
    json_link = next(link for link in links if link.endswith("format=json"))
    download = client.get(json_link)
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    data = json.loads(download.content)
    assert data["subjects"]["affected"] == 1 and "forms@example.org" not in download.text
    markdown = client.get(json_link.replace("format=json", "format=md"))
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert client.get(json_link.replace("format=json", "format=pdf")).status_code == 422

    filed = post(
        json_link.split(at + "/")[1].replace("/report?format=json", "/file"), reference="bad ref"
    )
    assert filed.status_code == 422  # type: ignore[attr-defined]
    assert "Enter the authority's reference" in filed.text  # type: ignore[attr-defined]
