"""The "My privacy" pages where a browser adds nothing: TestClient on the rolled-back database.

Sign-in is required; someone else's receipt, request and download are 404; a
download not ready yet says so; restriction and objection are filed with their
purpose; bad input is marked and files nothing; forms without the CSRF token
change nothing; a refusal says why and where to complain; the public status
page exists only for a request whose requester proved their identity; every
string goes through translation.  The browser journeys are in the other
``test_center_privacy_*`` modules; their shared helpers are here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from playwright.sync_api import Page

from doorstep.core.runtime import Runtime
from doorstep.privacy.consent.models import ConsentEvent
from doorstep.privacy.requests.codes import COMPLAINT_ROUTES, REFUSAL_TEXT, RefusalCode
from doorstep.privacy.requests.models import RequestKind, RequestStatus, SubjectRequest
from doorstep.privacy.requests.services import refuse
from doorstep.wiring import build_services
from tests.web.checks import CHECK_PAGE, untranslated
from tests.web.clients import page_client, sign_in_as, token_of
from tests.web.conftest import screenshot
from tests.web.people import Person, make_subscriber

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
STAFF = "staff:" + str(uuid.UUID(int=7))


# -- helpers shared with the browser tests ---------------------------------------------


def requests_of(runtime: Runtime, subject_id: uuid.UUID) -> list[SubjectRequest]:
    """The subject's requests as committed (oldest first)."""
    with runtime.sessions() as session:
        rows = session.scalars(
            sa.select(SubjectRequest)
            .where(SubjectRequest.subject_id == subject_id)
            .order_by(SubjectRequest.received_at, SubjectRequest.id)
        )
        return list(rows)


def ledger(runtime: Runtime, subject_id: uuid.UUID) -> list[ConsentEvent]:
    """The subject's consent events, oldest first."""
    with runtime.sessions() as session:
        query = sa.select(ConsentEvent).where(ConsentEvent.subject_id == subject_id)
        return list(session.scalars(query.order_by(ConsentEvent.seq)))


def refuse_request(runtime: Runtime, request_id: uuid.UUID, code: RefusalCode) -> None:
    """The privacy desk refuses the request (committed)."""
    from doorstep.privacy.requests.context import RequestContext

    ctx = RequestContext.of(build_services(runtime))
    with runtime.sessions.begin() as session:
        refuse(session, ctx, request_id, code=code, reviewer=STAFF)


def checked_screenshot(page: Page, name: str) -> None:
    """The page passes the quality checks (labels, one h1, heading order); then its screenshot."""
    assert page.evaluate(CHECK_PAGE) == [], page.url
    screenshot(page, name)


# -- TestClient --------------------------------------------------------------------------


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's rolled-back transaction (no job worker)."""
    with page_client(runtime, raise_server_exceptions=False) as test_client:
        yield test_client


def signed_in(client: TestClient, person: Person) -> str:
    """Sign ``client`` in as ``person``; the CSRF token of their pages."""
    sign_in_as(client, person, then="/privacy")
    return token_of(client, "/privacy/requests")


def file(client: TestClient, token: str, **form: str) -> str:
    """POST a form of /privacy/requests; the redirect's location (or fail with the page)."""
    answer = client.post(
        "/privacy/requests", data={**form, "csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


@pytest.mark.parametrize(
    "path", ["/privacy", "/privacy/consents", "/privacy/data", "/privacy/requests"]
)
def test_the_privacy_pages_need_a_signed_in_subscriber(client: TestClient, path: str) -> None:
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=" + path.replace("/", "%2F")


def test_someone_elses_receipt_request_and_download_are_not_found(
    client: TestClient, runtime: Runtime
) -> None:
    owner, other = make_subscriber(runtime), make_subscriber(runtime)
    token = signed_in(client, owner)
    client.post("/privacy/consents/device.qr_camera", data={"action": "grant", "csrf_token": token})
    client.post("/privacy/data", data={"kind": "access", "csrf_token": token})
    (event,) = ledger(runtime, owner.subject_id)
    (row,) = requests_of(runtime, owner.subject_id)
    mine = [
        f"/privacy/consents/receipts/{event.id}",
        f"/privacy/consents/receipts/{event.id}/receipt.jws",
        f"/privacy/requests/{row.id}",
    ]
    assert all(client.get(path).status_code == 200 for path in mine)
    client.cookies.clear()
    signed_in(client, other)
    for path in [*mine, f"/privacy/data/{row.id}/download"]:
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "There is no such page." in answer.text
    assert client.get(f"/privacy/requests/{uuid.uuid4()}").status_code == 404


def test_a_download_that_is_not_ready_says_so(client: TestClient, runtime: Runtime) -> None:
    person = make_subscriber(runtime)
    token = signed_in(client, person)
    answer = client.post(
        "/privacy/data", data={"kind": "portability", "csrf_token": token}, follow_redirects=False
    )
    assert answer.headers["location"] == "/privacy/data?done=export_requested"
    (row,) = requests_of(runtime, person.subject_id)
    assert row.kind is RequestKind.PORTABILITY and row.status is RequestStatus.IN_PROGRESS
    page = client.get("/privacy/data").text
    assert "Being prepared" in page and 'hx-trigger="every 3s"' in page
    assert 'href="/privacy/data">Check again' in page
    waiting = client.get(f"/privacy/data/{row.id}/download")
    assert waiting.status_code == 409
    assert "still being prepared" in waiting.text
    assert waiting.headers["content-type"].startswith("text/html")
    bad = client.post("/privacy/data", data={"kind": "deletion", "csrf_token": token})
    assert bad.status_code == 422
    assert len(requests_of(runtime, person.subject_id)) == 1


@pytest.mark.clause("CORP-4.3")
def test_restriction_and_objection_name_a_purpose_in_words(
    client: TestClient, runtime: Runtime
) -> None:
    person = make_subscriber(runtime)
    token = signed_in(client, person)
    page = client.get("/privacy/requests").text
    assert "Set up the Internet access" in page  # purposes in words, not keys
    assert 'value="privacy.rights"' not in page  # a legal obligation cannot be restricted
    assert 'value="device.qr_camera"' not in page  # consents are withdrawn elsewhere
    missing = client.post(
        "/privacy/requests",
        data={"form": "restriction", "purpose": "device.internet_access", "csrf_token": token},
    )
    assert missing.status_code == 422
    assert "Choose whether you ask for a restriction or object." in missing.text
    unlisted = client.post(
        "/privacy/requests",
        data={
            "form": "restriction",
            "kind": "objection",
            "purpose": "privacy.rights",
            "csrf_token": token,
        },
    )
    assert unlisted.status_code == 422 and 'id="f-purpose-error"' in unlisted.text
    assert requests_of(runtime, person.subject_id) == []
    for kind in ("restriction", "objection"):
        location = file(
            client,
            token,
            form="restriction",
            kind=kind,
            purpose="device.internet_access",
        )
        assert location == "/privacy/requests?done=filed#main"
    rows = requests_of(runtime, person.subject_id)
    assert {(row.kind.value, row.purpose, row.status) for row in rows} == {
        ("restriction", "device.internet_access", RequestStatus.IN_PROGRESS),
        ("objection", "device.internet_access", RequestStatus.IN_PROGRESS),
    }
    one = client.get(f"/privacy/requests/{rows[0].id}").text
    assert "Set up the Internet access" in one


def test_a_bad_correction_is_marked_and_files_nothing(client: TestClient, runtime: Runtime) -> None:
    person = make_subscriber(runtime)
    token = signed_in(client, person)
    for form, field, message in (
        ({"element": "", "value": "+447911123456"}, "element", "cannot be corrected"),
        ({"element": "accounts.phone", "value": "not a number"}, "value", "country code"),
        ({"element": "accounts.email", "value": "nobody at all"}, "value", "name@example.org"),
    ):
        answer = client.post(
            "/privacy/requests", data={"form": "correction", **form, "csrf_token": token}
        )
        assert answer.status_code == 422
        assert f'id="f-{field}-error"' in answer.text and message in answer.text
    assert requests_of(runtime, person.subject_id) == []


def test_only_a_given_consent_to_an_optional_function_can_be_withdrawn(
    client: TestClient, runtime: Runtime
) -> None:
    person = make_subscriber(runtime)
    token = signed_in(client, person)
    early = client.post(
        "/privacy/consents/wifi.location_scan", data={"action": "withdraw", "csrf_token": token}
    )
    assert early.status_code == 409
    assert "Give my consent" in early.text and "out of date" in early.text
    for purpose, action in (
        ("account.guardian_consent", "grant"),  # consent-based, but not optional
        ("privacy.rights", "grant"),
        ("wifi.location_scan", "refuse"),
    ):
        answer = client.post(
            f"/privacy/consents/{purpose}", data={"action": action, "csrf_token": token}
        )
        assert answer.status_code == 404, purpose
    assert ledger(runtime, person.subject_id) == []


def test_forms_without_the_csrf_token_change_nothing(client: TestClient, runtime: Runtime) -> None:
    person = make_subscriber(runtime)
    signed_in(client, person)
    for path, form in (
        ("/privacy/requests", {"form": "deletion", "ground": "NO_PERMISSION"}),
        ("/privacy/data", {"kind": "access"}),
        ("/privacy/consents/device.qr_camera", {"action": "grant"}),
    ):
        assert client.post(path, data=form).status_code == 403
        assert client.post(path, data={**form, "csrf_token": "s.forged"}).status_code == 403
    assert requests_of(runtime, person.subject_id) == []
    assert ledger(runtime, person.subject_id) == []


@pytest.mark.clause("CPE-IX.4")
def test_a_refused_request_says_why_and_where_to_complain(
    client: TestClient, runtime: Runtime
) -> None:
    person = make_subscriber(runtime)
    token = signed_in(client, person)
    file(client, token, form="deletion", ground="NO_LONGER_USED_OR_ACCOUNT_CANCELLED")
    (row,) = requests_of(runtime, person.subject_id)
    refuse_request(runtime, row.id, RefusalCode.EXCESSIVE_TECHNICAL_MEANS)
    reason = REFUSAL_TEXT[RefusalCode.EXCESSIVE_TECHNICAL_MEANS]
    route = COMPLAINT_ROUTES["default"]
    for path in ("/privacy/requests", f"/privacy/requests/{row.id}", f"/requests/status/{row.id}"):
        page = client.get(path).text
        assert f"We refused this request because {reason}." in page, path
        assert f"If you disagree, you can complain to {route}." in page, path
        assert "EXCESSIVE_TECHNICAL_MEANS" not in page


def test_the_public_status_page_exists_only_for_proven_requests(
    client: TestClient, runtime: Runtime
) -> None:
    person = make_subscriber(runtime)
    form = {
        "email": person.email,
        "kind": "access",
        "csrf_token": token_of(client, "/requests/new"),
    }
    answer = client.post("/requests/new", data=form, follow_redirects=False)
    ticket = answer.headers["location"].removeprefix("/requests/").split("?")[0]
    (row,) = requests_of(runtime, person.subject_id)
    assert str(row.id) == ticket and row.status is RequestStatus.VERIFYING
    stranger = str(uuid.uuid4())
    unproven = client.get(f"/requests/status/{ticket}")
    unknown = client.get(f"/requests/status/{stranger}")
    assert unproven.status_code == unknown.status_code == 404
    assert unproven.text.replace(ticket, "ID") == unknown.text.replace(stranger, "ID")
    assert client.get("/requests/status/not-a-uuid").status_code == 422


def test_every_string_of_the_privacy_pages_goes_through_translation(
    client: TestClient, runtime: Runtime
) -> None:
    person = make_subscriber(runtime)
    token = signed_in(client, person)
    client.post(
        "/privacy/consents/wifi.location_scan", data={"action": "grant", "csrf_token": token}
    )
    client.post("/privacy/data", data={"kind": "access", "csrf_token": token})
    file(client, token, form="deletion", ground="SERVICE_DISCONTINUED")
    file(client, token, form="correction", element="accounts.phone", value="+447911123456")
    rows = requests_of(runtime, person.subject_id)
    refuse_request(runtime, rows[-1].id, RefusalCode.IMPRACTICAL)
    (event,) = ledger(runtime, person.subject_id)
    ticket = client.post(
        "/requests/new",
        data={"email": "nobody@example.org", "kind": "access", "csrf_token": token},
        follow_redirects=False,
    ).headers["location"]
    client.app.state.web_language = "x-pseudo"  # type: ignore[attr-defined]
    pages = [
        client.get("/privacy"),
        client.get("/privacy/consents?done=consent_given"),
        client.get(f"/privacy/consents/receipts/{event.id}"),
        client.get("/privacy/data?done=export_requested"),
        client.get(f"/privacy/data/{rows[0].id}/download"),
        client.get("/privacy/requests?done=filed"),
        client.post(
            "/privacy/requests", data={"form": "deletion", "csrf_token": token}
        ),  # the error page
        *(client.get(f"/privacy/requests/{row.id}") for row in rows),
        client.get("/requests/new"),
        client.post("/requests/new", data={"email": "x", "csrf_token": token}),
        client.get(ticket),
        client.post(ticket.split("?")[0] + "/confirm", data={"code": "1", "csrf_token": token}),
        client.get(f"/requests/status/{rows[-1].id}"),
    ]
    for answer in pages:
        assert "⟦" in answer.text, answer.url
        assert untranslated(answer.text) == [], answer.url
