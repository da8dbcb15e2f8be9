"""The operator console where a browser adds nothing: sign-in rules, roles, CSRF, translation.

Each test runs the app on the test's rolled-back transaction (``runtime``) with a
TestClient; staff sign in through the console's own sign-in form.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.datamap.ropa import build_ropa
from doorstep.privacy.datamap.ropa_formats import render
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.models import RequestChannel, RequestKind, RequestStatus
from doorstep.schema import metadata
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from doorstep.web.console.wording import CHANNELS, KINDS, STATUSES
from tests.requests.conftest import STAFF, new_subject
from tests.web.checks import untranslated
from tests.web.clients import page_client

CONSOLE_PAGES = (
    "/console/requests",
    "/console/retention",
    "/console/datamap",
    "/console/audit",
    "/console/devices",
    "/console/inquiries",
)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction; redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form"
    return found.group(1)


def console_sign_in(client: TestClient, db: Session, clock: FakeClock, role: str) -> uuid.UUID:
    """A staff member of ``role``, signed in through the sign-in page; returns the staff id."""
    staff = add_staff(db, role=role, clock=clock)
    link = issue_link(db, staff.id, clock=clock)
    page = client.get("/console/sign-in", params={"token": link})
    assert page.status_code == 200 and "Sign in to the console" in page.text
    done = client.post("/console/sign-in", data={"csrf_token": csrf_of(page.text), "token": link})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/console/requests"
    return staff.id


def refusals(db: Session, action: str) -> list[tuple[str, dict[str, object]]]:
    """(actor, details) of the refused audit events of ``action``."""
    flush_events(db)
    rows = db.execute(
        sa.text(
            "SELECT actor, details FROM audit_events WHERE action = :a AND outcome = 'refused'"
        ),
        {"a": action},
    )
    return [(row.actor, row.details) for row in rows]


def open_verified(db: Session, runtime: Runtime, kind: str = "restriction") -> uuid.UUID:
    """A verified gdpr request of a fresh subject."""
    from doorstep.wiring import build_services

    ctx = RequestContext.of(build_services(runtime))
    row = svc.open_request(
        db,
        ctx,
        subject_id=new_subject(db),
        kind=kind,
        channel="email",
        actor=STAFF,
        purpose="notification.delivery",
        jurisdiction="gdpr",
    )
    svc.verify(db, ctx, row.id, method="email_code", actor=STAFF)
    return row.id


def test_a_signed_out_browser_is_sent_to_the_console_sign_in(client: TestClient) -> None:
    for path in (*CONSOLE_PAGES, f"/console/requests/{uuid.uuid4()}"):
        answer = client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/sign-in?next=%2Fconsole%2F"), path
    page = client.get("/console/sign-in")
    assert page.status_code == 200
    assert "doorstep staff sign-in-link STAFF_ID" in page.text
    assert "Sign in to the console" not in page.text


def test_opening_a_link_spends_nothing_and_next_stays_on_this_site(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    staff = add_staff(db, role="support", clock=clock)
    link = issue_link(db, staff.id, clock=clock)
    for _ in range(3):  # link scanners and previews fetch it, maybe more than once
        page = client.get("/console/sign-in", params={"token": link, "next": "//evil.example/"})
        assert page.status_code == 200
    assert 'name="next" value="/console/requests"' in page.text
    answer = client.post(
        "/console/sign-in",
        data={"csrf_token": csrf_of(page.text), "token": link, "next": "https://evil.example/"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/requests"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("doorstep_console=dss_")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower()  # the browser session


def test_a_spent_or_unknown_link_signs_nobody_in(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    staff = add_staff(db, role="support", clock=clock)
    link = issue_link(db, staff.id, clock=clock)
    page = client.get("/console/sign-in", params={"token": link})
    first = client.post("/console/sign-in", data={"csrf_token": csrf_of(page.text), "token": link})
    assert first.status_code == 303
    client.cookies.clear()
    page = client.get("/console/sign-in", params={"token": link})
    again = client.post("/console/sign-in", data={"csrf_token": csrf_of(page.text), "token": link})
    assert again.status_code == 422
    assert "cannot be used" in again.text and "set-cookie" not in again.headers
    assert link not in again.text


def test_every_console_form_needs_its_csrf_token(
    client: TestClient, db: Session, clock: FakeClock, runtime: Runtime
) -> None:
    request_id = open_verified(db, runtime)
    staff = add_staff(db, role="privacy_officer", clock=clock)
    link = issue_link(db, staff.id, clock=clock)
    assert client.post("/console/sign-in", data={"token": link}).status_code == 403
    console_sign_in(client, db, clock, "privacy_officer")
    for path in (
        f"/console/requests/{request_id}/approve",
        f"/console/requests/{request_id}/refuse",
        f"/console/requests/{request_id}/extend",
        "/console/audit/verify",
        "/console/sign-out",
    ):
        answer = client.post(path, data={"code": "IMPRACTICAL", "months": "1"})
        assert answer.status_code == 403, path
        assert "reload" in answer.text, path
    assert svc.get(db, request_id).status is RequestStatus.IN_PROGRESS
    assert client.get("/console/requests").status_code == 200  # still signed in


@pytest.mark.clause("CPE-IV.1.a")
def test_a_role_without_the_action_gets_the_403_page_and_the_refusal_is_audited(
    client: TestClient, db: Session, clock: FakeClock, runtime: Runtime
) -> None:
    request_id = open_verified(db, runtime)
    admin = console_sign_in(client, db, clock, "admin")
    denied = client.get("/console/requests")
    assert denied.status_code == 403 and "<h1>Sorry</h1>" in denied.text
    assert client.get(f"/console/requests/{request_id}").status_code == 403
    assert (f"staff:{admin}", {"reason": "role_not_permitted", "role": "admin"}) in refusals(
        db, "staff.view_requests"
    )
    client.cookies.clear()
    support = console_sign_in(client, db, clock, "support")
    for path in ("/console/retention", "/console/datamap", "/console/audit"):
        assert client.get(path).status_code == 403, path
    assert client.get("/console/datamap/ropa.json").status_code == 403
    page = client.get(f"/console/requests/{request_id}")
    assert page.status_code == 200 and "Approve the request" not in page.text
    token = csrf_of(page.text)
    for decision, form in (
        ("approve", {}),
        ("refuse", {"code": "IMPRACTICAL"}),
        ("extend", {"months": "1", "reason": "complexity"}),
    ):
        answer = client.post(
            f"/console/requests/{request_id}/{decision}", data={"csrf_token": token, **form}
        )
        assert answer.status_code == 403, decision
    verify = client.post("/console/audit/verify", data={"csrf_token": token})
    assert verify.status_code == 403
    assert svc.get(db, request_id).status is RequestStatus.IN_PROGRESS
    assert (
        len([a for a, _ in refusals(db, "staff.decide_requests") if a == f"staff:{support}"]) == 3
    )
    # the audit page and the verification, both refused
    assert [a for a, _ in refusals(db, "staff.verify_audit")] == [f"staff:{support}"] * 2


def test_the_queue_filter_refuses_an_unknown_status(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    console_sign_in(client, db, clock, "support")
    answer = client.get("/console/requests", params={"status": "nope"})
    assert answer.status_code == 422
    assert "Choose a status from the list." in answer.text
    assert 'id="f-status-error"' in answer.text
    assert client.get(f"/console/requests/{uuid.uuid4()}").status_code == 404
    assert client.get("/console/requests/not-a-uuid").status_code == 422


def test_a_refusal_with_a_free_text_reference_changes_nothing(
    client: TestClient, db: Session, clock: FakeClock, runtime: Runtime
) -> None:
    request_id = open_verified(db, runtime)
    console_sign_in(client, db, clock, "privacy_officer")
    page = client.get(f"/console/requests/{request_id}")
    answer = client.post(
        f"/console/requests/{request_id}/refuse",
        data={
            "csrf_token": csrf_of(page.text),
            "code": "MALICE_OR_ABUSE",
            "evidence": "mail from jane@example.org",
        },
    )
    assert answer.status_code == 422
    assert "letters, digits" in answer.text
    assert 'value="mail from jane@example.org"' in answer.text  # kept in the form, not stored
    assert svc.get(db, request_id).status is RequestStatus.IN_PROGRESS
    flush_events(db)
    trail = db.execute(sa.text("SELECT details::text FROM audit_events")).scalars().all()
    assert not any("jane" in details for details in trail)


def test_a_decision_with_bad_input_says_what_is_wrong_per_field_and_changes_nothing(
    client: TestClient, db: Session, clock: FakeClock, runtime: Runtime
) -> None:
    request_id = open_verified(db, runtime)
    console_sign_in(client, db, clock, "privacy_officer")
    token = csrf_of(client.get(f"/console/requests/{request_id}").text)
    for decision, form, field, message in (
        ("refuse", {"code": "NOPE"}, "code", "Choose the reason for the refusal."),
        ("refuse", {"code": "UNREASONABLE_REPETITION"}, "evidence", "needs a reference"),
        ("extend", {"months": "two", "reason": "complexity"}, "months", "Choose a number"),
        ("extend", {"months": "9", "reason": "complexity"}, "months", "this jurisdiction allows"),
        ("extend", {"months": "1", "reason": "bored"}, "reason", "Choose the reason for the ext"),
    ):
        answer = client.post(
            f"/console/requests/{request_id}/{decision}", data={"csrf_token": token, **form}
        )
        assert answer.status_code == 422, (decision, form)
        error = re.search(rf'id="f-{field}-error">([^<]*)<', answer.text)
        assert error is not None and message in error.group(1), (decision, form)
        assert re.search(rf'aria-describedby="[^"]*f-{field}-error"', answer.text)
    assert svc.get(db, request_id).status is RequestStatus.IN_PROGRESS
    flush_events(db)
    changes = db.execute(
        sa.text(
            "SELECT count(*) FROM audit_events WHERE action IN ('request.refused', "
            "'request.extended')"
        )
    ).scalar_one()
    assert changes == 0


def test_a_closed_request_offers_no_decision_and_refuses_one(
    client: TestClient, db: Session, clock: FakeClock, runtime: Runtime
) -> None:
    request_id = open_verified(db, runtime)
    console_sign_in(client, db, clock, "privacy_officer")
    token = csrf_of(client.get(f"/console/requests/{request_id}").text)
    done = client.post(f"/console/requests/{request_id}/approve", data={"csrf_token": token})
    assert done.headers["location"] == f"/console/requests/{request_id}?done=request_completed"
    page = client.get(done.headers["location"])
    assert "carried out and closed" in page.text and "Approve the request" not in page.text
    again = client.post(f"/console/requests/{request_id}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "already closed" in again.text


def test_the_record_of_processing_downloads_are_the_commands_documents(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    console_sign_in(client, db, clock, "admin")
    ropa = build_ropa(metadata, default_pack())
    for suffix, fmt, media in (
        ("json", "json", "application/json"),
        ("csv", "csv", "text/csv; charset=utf-8"),
        ("md", "markdown", "text/markdown; charset=utf-8"),
    ):
        answer = client.get(f"/console/datamap/ropa.{suffix}")
        assert answer.status_code == 200, suffix
        assert answer.headers["content-type"] == media
        assert answer.headers["content-disposition"] == f'attachment; filename="ropa.{suffix}"'
        assert answer.text == render(ropa, fmt)
    assert json.loads(client.get("/console/datamap/ropa.json").text)["format"] == "doorstep.ropa"
    assert client.get("/console/datamap/ropa.xml").status_code == 404
    report = client.get("/console/retention/report.md")
    assert report.status_code == 200 and report.text.startswith("# Retention report")


def test_every_code_of_the_requests_has_a_label() -> None:
    assert set(KINDS) == {kind.value for kind in RequestKind}
    assert set(STATUSES) == {status.value for status in RequestStatus}
    assert set(CHANNELS) == {channel.value for channel in RequestChannel}


@pytest.fixture
def pseudo(client: TestClient) -> TestClient:
    """The client, with the app speaking the pseudo-locale."""
    client.app.state.web_language = "x-pseudo"  # type: ignore[attr-defined]
    return client


def test_every_string_of_the_console_goes_through_translation(
    pseudo: TestClient, db: Session, clock: FakeClock, runtime: Runtime
) -> None:
    request_id = open_verified(db, runtime)
    access = open_verified(db, runtime, kind="access")
    html = pseudo.get("/console/sign-in").text
    assert "⟦" in html and untranslated(html) == []
    link_page = pseudo.get("/console/sign-in", params={"token": "dsl_x"}).text
    assert untranslated(link_page) == []
    for role, pages in (
        (
            "privacy_officer",
            (
                *CONSOLE_PAGES,
                f"/console/requests/{request_id}",
                f"/console/devices/{uuid.uuid4()}",
                "/console/devices?device_id=nope",
            ),
        ),
        ("support", (f"/console/requests/{access}", "/console/requests?status=nope")),
    ):
        pseudo.cookies.clear()
        console_sign_in(pseudo, db, clock, role)
        for path in pages:
            answer = pseudo.get(path)
            assert answer.status_code in (200, 404, 422), path
            assert "⟦" in answer.text, path
            assert untranslated(answer.text) == [], path
    token = csrf_of(pseudo.get("/console/audit").text)
    verified = pseudo.post("/console/audit/verify", data={"csrf_token": token})
    assert untranslated(verified.text) == []
