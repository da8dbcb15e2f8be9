"""The privacy center in German: chosen by the browser's ``Accept-Language``.

No language is stored for a subscriber yet, so the browser's header decides
(after a consented language cookie); a language without a catalogue gets English.
The browser journey signs in, files a deletion, has it refused and reads why
and where to complain — all in German — and writes the German screenshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext, Page, expect

from doorstep.core.runtime import Runtime
from doorstep.privacy.requests.codes import RefusalCode
from tests.web.clients import page_client, sign_in_as, token_of
from tests.web.conftest import LiveServer
from tests.web.people import Person, make_subscriber
from tests.web.test_center_privacy_pages import checked_screenshot, refuse_request, requests_of

NO_LONGER_USED = (
    "Sie nutzen unsere Produkte oder Dienste nicht mehr, oder Sie haben Ihr Konto geschlossen."
)


@pytest.fixture
def german(runtime: Runtime) -> Iterator[TestClient]:
    """The app behind a client whose browser asks for German first."""
    headers = {"accept-language": "de-DE,de;q=0.9,en;q=0.5"}
    with page_client(runtime, raise_server_exceptions=False) as client:
        client.headers.update(headers)
        yield client


def test_a_page_speaks_german_to_a_browser_that_asks_for_it(german: TestClient) -> None:
    html = german.get("/signin").text
    assert '<html lang="de"' in html
    assert "Anmelden" in html and "E-Mail-Adresse oder Mobilnummer" in html
    assert "Sign in" not in html and "Skip to content" not in html
    german.headers["accept-language"] = "fr-FR,fr;q=0.9"
    english = german.get("/signin").text
    assert '<html lang="en"' in english and "Skip to content" in english


def test_a_refusal_and_where_to_complain_read_in_german(
    german: TestClient, runtime: Runtime
) -> None:
    person = make_subscriber(runtime)
    sign_in_as(german, person, then="/privacy")
    token = token_of(german, "/privacy/requests")
    german.post(
        "/privacy/requests",
        data={"form": "deletion", "ground": "SERVICE_DISCONTINUED", "csrf_token": token},
    )
    (row,) = requests_of(runtime, person.subject_id)
    refuse_request(runtime, row.id, RefusalCode.IDENTITY_NOT_PROVEN)
    for path in ("/privacy/requests", f"/privacy/requests/{row.id}", f"/requests/status/{row.id}"):
        html = german.get(path).text
        assert (
            "Wir haben diese Anfrage abgelehnt, weil wir Ihre Identität nicht überprüfen konnten."
        ) in html, path
        assert "Wenn Sie nicht einverstanden sind, können Sie sich bei der" in html, path
        assert "we could not verify your identity" not in html


def _sign_in_in_german(page: Page, person: Person, then: str) -> None:
    page.goto(f"/signin?next={then}")
    page.get_by_label("E-Mail-Adresse oder Mobilnummer").fill(person.email)
    page.get_by_label("Passwort").fill(person.password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"**{then}")
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()


def test_the_privacy_center_in_german_in_the_browser(
    new_context: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    page = new_context(locale="de-DE").new_page()
    person = make_subscriber(live_server.runtime)
    _sign_in_in_german(page, person, "/privacy")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mein Datenschutz")
    checked_screenshot(page, "center-privacy-de")

    page.get_by_role("link", name="Einwilligungen und optionale Funktionen").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Einwilligungen und optionale Funktionen"
    )
    checked_screenshot(page, "center-consents-de")

    page.goto("/privacy/requests")
    deletion = page.get_by_role("region", name="Ihre Daten löschen")
    expect(deletion).to_contain_text("Achtung:")
    deletion.get_by_label(NO_LONGER_USED).check()
    deletion.get_by_role("button", name="Löschung anfordern").click()
    expect(page.get_by_role("status")).to_contain_text("Wir haben Ihre Anfrage auf Löschung")
    (row,) = requests_of(live_server.runtime, person.subject_id)
    refuse_request(live_server.runtime, row.id, RefusalCode.EXCESSIVE_TECHNICAL_MEANS)
    page.goto("/privacy/requests")
    expect(page.get_by_role("table")).to_contain_text(
        "weil sie einen unverhältnismäßigen technischen Aufwand erfordern würde"
    )
    checked_screenshot(page, "center-requests-de")
