"""Privacy questions in the privacy center, where a browser adds nothing: TestClient pages.

A signed-in subscriber and a visitor ask; the page shows the reference and the date
the answer is due (30 days after receipt); bad input and forged forms store nothing;
every string of the new pages goes through translation.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.runtime import Runtime
from doorstep.privacy.requests.inquiries.intake import MAX_BODY, MAX_TITLE
from doorstep.privacy.requests.inquiries.models import Inquiry, InquiryChannel
from tests.web.checks import untranslated
from tests.web.clients import page_client, sign_in_as, token_in, token_of
from tests.web.people import make_subscriber

QUESTION = "canary-question: which router logs do you keep?"
REFERENCE = re.compile(r"reference=([0-9a-f-]{36})")


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction (no job worker); redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def inquiries(db: Session) -> list[Inquiry]:
    """Every stored inquiry, oldest first."""
    db.expire_all()
    return list(db.scalars(sa.select(Inquiry).order_by(Inquiry.received_at, Inquiry.id)))


@pytest.mark.clause("CPE-IX.2")
def test_a_subscriber_asks_and_sees_the_reference_and_the_30_day_due_date(
    client: TestClient, runtime: Runtime, db: Session
) -> None:
    person = make_subscriber(runtime)
    sign_in_as(client, person, then="/privacy")
    overview = client.get("/privacy").text
    assert 'href="/privacy/questions"' in overview
    page = client.get("/privacy/questions").text
    assert "You have not asked any question yet." in page
    sent = client.post(
        "/privacy/questions",
        data={"title": "Logs", "body": QUESTION, "csrf_token": token_in(page)},
    )
    assert sent.status_code == 303, sent.text
    found = REFERENCE.search(sent.headers["location"])
    assert found is not None and QUESTION not in sent.headers["location"]
    (row,) = inquiries(db)
    assert str(row.id) == found.group(1)
    assert row.subject_id == person.subject_id and row.channel is InquiryChannel.APP
    assert row.due_at - row.received_at == timedelta(days=30)
    assert row.answered_at is None and row.queue == "dpo"

    shown = client.get(sent.headers["location"]).text
    sent_box = shown[shown.index('id="sent"') : shown.index('id="ask"')]
    assert str(row.id) in sent_box
    assert row.due_at.strftime("%Y-%m-%d %H:%M") in sent_box
    assert "We have your question." in shown
    assert QUESTION in shown and "Logs" in shown  # the subscriber's own words, decrypted

    other = make_subscriber(runtime)
    with page_client(runtime, follow_redirects=False) as stranger:
        sign_in_as(stranger, other, then="/privacy")
        theirs = stranger.get("/privacy/questions").text
    assert str(row.id) not in theirs and QUESTION not in theirs


def test_the_questions_page_needs_sign_in(client: TestClient) -> None:
    answer = client.get("/privacy/questions")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


@pytest.mark.parametrize(
    ("title", "body", "field", "words"),
    [
        ("", "   ", "body", "Write your question."),
        ("", "x" * (MAX_BODY + 1), "body", "Your question is too long: shorten it."),
        ("y" * (MAX_TITLE + 1), "A question", "title", "The subject is too long: shorten it."),
    ],
)
def test_bad_input_from_a_subscriber_is_refused_and_nothing_is_stored(
    client: TestClient, runtime: Runtime, db: Session, title: str, body: str, field: str, words: str
) -> None:
    sign_in_as(client, make_subscriber(runtime), then="/privacy")
    token = token_of(client, "/privacy/questions")
    answer = client.post(
        "/privacy/questions", data={"title": title, "body": body, "csrf_token": token}
    )
    assert answer.status_code == 422
    assert f'id="f-{field}-error">{words}</p>' in answer.text
    assert "nothing was sent" in answer.text
    assert inquiries(db) == []


def test_a_visitor_asks_on_the_public_form_and_sees_the_reference_and_due_date(
    client: TestClient, runtime: Runtime, db: Session
) -> None:
    home = client.get("/").text
    assert 'href="/questions/new"' in home
    form = client.get("/questions/new")
    assert form.status_code == 200
    sent = client.post(
        "/questions/new",
        data={
            "email": "Visitor.Canary@Example.org",
            "title": "",
            "body": QUESTION,
            "csrf_token": token_in(form.text),
        },
    )
    assert sent.status_code == 303, sent.text
    (row,) = inquiries(db)
    assert sent.headers["location"] == f"/questions/{row.id}?done=question_sent"
    assert row.channel is InquiryChannel.WEB_FORM
    assert row.due_at - row.received_at == timedelta(days=30)
    status = client.get(sent.headers["location"])
    assert status.status_code == 200
    assert str(row.id) in status.text
    assert row.due_at.strftime("%Y-%m-%d %H:%M") in status.text
    assert "Waiting for our answer" in status.text
    assert QUESTION not in status.text and "canary" not in status.text.lower()

    # A known address gets the same page as an unknown one (apart from reference and dates).
    person = make_subscriber(runtime)
    again = client.post(
        "/questions/new",
        data={"email": person.email, "body": "Another", "csrf_token": token_of(client, "/")},
    )
    assert again.status_code == 303
    second = client.get(again.headers["location"]).text
    (mine,) = [item for item in inquiries(db) if str(item.id) in again.headers["location"]]
    assert mine.subject_id == person.subject_id

    def bare(html: str, item: Inquiry) -> str:
        html = html.replace(str(item.id), "REF")
        html = re.sub(r'name="csrf_token" value="[^"]+"', "TOKEN", html)
        return re.sub(r"<time[^>]*>[^<]*</time>", "T", html)

    assert bare(second, mine) == bare(status.text, row)
    assert client.get(f"/questions/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize(
    ("email", "body", "field"),
    [
        ("not-an-address", "A question", "email"),
        ("someone@example.org", "", "body"),
        ("someone@example.org", "x" * (MAX_BODY + 1), "body"),
    ],
)
def test_bad_input_on_the_public_form_is_refused_and_nothing_is_stored(
    client: TestClient, db: Session, email: str, body: str, field: str
) -> None:
    token = token_of(client, "/questions/new")
    answer = client.post("/questions/new", data={"email": email, "body": body, "csrf_token": token})
    assert answer.status_code == 422
    assert f'id="f-{field}"' in answer.text and 'aria-invalid="true"' in answer.text
    assert "nothing was sent" in answer.text
    assert inquiries(db) == []


def test_a_form_without_its_token_or_from_another_site_changes_nothing(
    client: TestClient, runtime: Runtime, db: Session
) -> None:
    token = token_of(client, "/questions/new")
    data = {"email": "someone@example.org", "body": "A question"}
    assert client.post("/questions/new", data=data).status_code == 403
    forged = client.post(
        "/questions/new",
        data={**data, "csrf_token": token},
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    )
    assert forged.status_code == 403
    sign_in_as(client, make_subscriber(runtime), then="/privacy")
    assert client.post("/privacy/questions", data={"body": "A question"}).status_code == 403
    assert inquiries(db) == []


@pytest.fixture
def pseudo(runtime: Runtime) -> Iterator[TestClient]:
    """The app in the pseudo-locale that marks every translated string."""
    with page_client(runtime, follow_redirects=False) as test_client:
        test_client.app.state.web_language = "x-pseudo"  # type: ignore[attr-defined]
        yield test_client


def test_every_string_of_the_question_pages_goes_through_translation(
    pseudo: TestClient, runtime: Runtime, db: Session
) -> None:
    person = make_subscriber(runtime)
    pseudo.post(
        "/signin",
        data={
            "identifier": person.email,
            "password": person.password,
            "next": "/privacy",
            "csrf_token": token_of(pseudo, "/signin"),
        },
    )
    token = token_of(pseudo, "/privacy/questions")
    sent = pseudo.post(
        "/privacy/questions", data={"title": "Logs", "body": QUESTION, "csrf_token": token}
    )
    assert sent.status_code == 303
    refused = pseudo.post("/privacy/questions", data={"body": "", "csrf_token": token})
    assert refused.status_code == 422
    (row,) = inquiries(db)
    for html in (
        pseudo.get(sent.headers["location"]).text,
        refused.text,
        pseudo.get("/questions/new").text,
        pseudo.get(f"/questions/{row.id}?done=question_sent").text,
    ):
        assert "⟦" in html
        assert untranslated(html) == []
