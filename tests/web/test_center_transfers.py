"""The consents page's section on messages carried abroad (decision 0035): TestClient.

A subscriber whose home is DE sees the reference pack's relays in CN, each with
what it carries and where (in the reader's language), agrees to one and
withdraws again; the page says that withdrawing stops that channel's messages,
sign-in codes included.  A subscriber at home sees none.  Everything goes
through translation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from doorstep.core.runtime import Runtime
from doorstep.privacy.transfers.mechanisms import set_home
from tests.web.checks import untranslated
from tests.web.clients import page_client, sign_in_as, token_of
from tests.web.people import Person, make_subscriber

PAGE = "/privacy/consents"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's rolled-back transaction, asking for pages."""
    with page_client(runtime, raise_server_exceptions=False) as test_client:
        yield test_client


def _abroad(runtime: Runtime) -> Person:
    person = make_subscriber(runtime)
    with runtime.sessions.begin() as session:
        set_home(session, person.subject_id, "DE", clock=runtime.clock, actor="system:tests")
    return person


def _consents(runtime: Runtime, subject: uuid.UUID) -> list[tuple[str, str, bool]]:
    with runtime.sessions() as session:
        rows = session.execute(
            sa.text(
                "SELECT recipient, reference, revoked_at IS NOT NULL FROM transfer_mechanisms "
                "WHERE subject_id = :s ORDER BY recorded_at, recipient"
            ),
            {"s": subject},
        ).all()
    return [tuple(row) for row in rows]


def _words(html: str) -> str:
    return " ".join(html.split())


def test_a_subscriber_abroad_agrees_to_a_relay_and_withdraws_again(
    client: TestClient, runtime: Runtime
) -> None:
    person = _abroad(runtime)
    sign_in_as(client, person, then=PAGE)
    page = _words(client.get(PAGE).text)
    assert "Messages carried abroad" in page
    assert (
        "Carried by the SMTP relay that carries our e-mail to your mailbox provider in China."
    ) in page
    for channel in ("E-mail", "Text messages", "Notifications to the app"):
        assert f">{channel}</h3>" in page
    assert page.count("You have not agreed to this transfer") == 3

    token = token_of(client, PAGE)
    given = client.post(
        "/privacy/transfers/smtp_relay",
        data={"action": "grant", "csrf_token": token},
        follow_redirects=False,
    )
    assert given.status_code == 303, given.text
    assert given.headers["location"] == f"{PAGE}?done=transfer_given#transfers"
    assert _consents(runtime, person.subject_id) == [("smtp_relay", "web", False)]
    page = _words(client.get(f"{PAGE}?done=transfer_given").text)
    assert "You agreed to this transfer." in page
    assert "these messages stop from the next one on, sign-in codes included" in page

    withdrawn = client.post(
        "/privacy/transfers/smtp_relay",
        data={"action": "withdraw", "csrf_token": token},
        follow_redirects=False,
    )
    assert withdrawn.headers["location"] == f"{PAGE}?done=transfer_withdrawn#transfers"
    assert _consents(runtime, person.subject_id) == [("smtp_relay", "web", True)]
    page = _words(client.get(f"{PAGE}?done=transfer_withdrawn").text)
    assert "messages by that channel stop from the next one on, sign-in codes included" in page


def test_bad_posts_change_nothing(client: TestClient, runtime: Runtime) -> None:
    person = _abroad(runtime)
    sign_in_as(client, person, then=PAGE)
    token = token_of(client, PAGE)
    for recipient, data in (
        ("authorities", {"action": "grant", "csrf_token": token}),
        ("nobody", {"action": "grant", "csrf_token": token}),
        ("smtp_relay", {"action": "maybe", "csrf_token": token}),
        ("smtp_relay", {"action": "grant"}),  # no CSRF token
    ):
        answer = client.post(f"/privacy/transfers/{recipient}", data=data, follow_redirects=False)
        assert answer.status_code in (403, 404), (recipient, data)
    assert _consents(runtime, person.subject_id) == []


def test_a_subscriber_at_home_sees_no_processor_abroad_and_every_word_is_translated(
    client: TestClient, runtime: Runtime
) -> None:
    home = make_subscriber(runtime)
    sign_in_as(client, home, then=PAGE)
    assert "None of the providers that carry our messages to you is in another country" in (
        _words(client.get(PAGE).text)
    )
    client.cookies.clear()
    sign_in_as(client, _abroad(runtime), then=PAGE)
    token = token_of(client, PAGE)
    client.post("/privacy/transfers/sms_provider", data={"action": "grant", "csrf_token": token})
    client.app.state.web_language = "x-pseudo"  # type: ignore[attr-defined]
    for path in (PAGE, f"{PAGE}?done=transfer_given", f"{PAGE}?done=transfer_withdrawn"):
        answer = client.get(path)
        assert "⟦" in answer.text
        assert untranslated(answer.text) == [], path
