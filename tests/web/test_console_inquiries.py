"""The console's privacy questions where a browser adds nothing: queue, reading, answering.

Questions are opened with the inquiry services on the test's transaction; the fake
clock moves one past its deadline.  Staff sign in through the console's own form.
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

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.inquiries import intake
from doorstep.privacy.requests.inquiries.desk import MAX_ANSWER
from doorstep.privacy.requests.inquiries.models import Inquiry
from tests.web.checks import untranslated
from tests.web.clients import page_client
from tests.web.test_console_access import console_sign_in, csrf_of

DEPARTMENT = "ZTE Data Protection Compliance Department"
SECRET = "canary-inquiry-text"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction (no job worker); redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def ask(client: TestClient, db: Session, email: str, body: str = SECRET) -> uuid.UUID:
    """A question from the public form, stored with the app's own services."""
    ctx = RequestContext.of(client.app.state.services)  # type: ignore[attr-defined]
    row = intake.submit_public(db, ctx, email=email, title="Cookies", body=body)
    db.flush()
    return row.id


def stored(db: Session, inquiry_id: uuid.UUID) -> Inquiry:
    """The inquiry as the database holds it now."""
    db.expire_all()
    row = db.get(Inquiry, inquiry_id)
    assert row is not None
    return row


def answers_queued(db: Session, email: str) -> int:
    """How many answers are queued to ``email``."""
    return int(
        db.scalar(
            sa.text(
                "SELECT count(*) FROM outbox WHERE template = 'inquiry.answered' AND email = :e"
            ),
            {"e": email},
        )
        or 0
    )


def test_the_queue_lists_overdue_questions_first_with_due_dates_and_owner(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    late = ask(client, db, "late@example.org")
    clock.advance(timedelta(days=31))
    fresh = ask(client, db, "fresh@example.org")
    console_sign_in(client, db, clock, "support")
    page = client.get("/console/inquiries")
    assert page.status_code == 200
    order = re.findall(r'href="/console/inquiries/([0-9a-f-]{36})"', page.text)
    assert order == [str(late), str(fresh)]
    rows = re.findall(r"<tr( class=\"overdue\")?>(.*?)</tr>", page.text, re.S)[1:]
    assert rows[0][0] and "Overdue" in rows[0][1] and not rows[1][0]
    assert DEPARTMENT in page.text and "<code>dpo</code>" in page.text
    assert stored(db, late).due_at.strftime("%Y-%m-%d %H:%M") in page.text
    assert SECRET not in page.text and "@example.org" not in page.text
    only_late = client.get("/console/inquiries", params={"overdue": "1"}).text
    assert str(late) in only_late and str(fresh) not in only_late
    assert 'href="/console/inquiries"' in page.text  # the nav link

    one = client.get(f"/console/inquiries/{late}")
    assert one.status_code == 200
    assert SECRET not in one.text and "Send the answer" not in one.text
    assert "Only a privacy officer reads and answers questions." in one.text
    refused = client.post(
        f"/console/inquiries/{late}/answer", data={"answer": "x", "csrf_token": csrf_of(one.text)}
    )
    assert refused.status_code == 403
    assert stored(db, late).answered_at is None


def test_a_privacy_officer_reads_and_answers_once(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    inquiry_id = ask(client, db, "asker@example.org")
    console_sign_in(client, db, clock, "privacy_officer")
    page = client.get(f"/console/inquiries/{inquiry_id}")
    assert page.status_code == 200
    assert SECRET in page.text and "Cookies" in page.text
    sent = client.post(
        f"/console/inquiries/{inquiry_id}/answer",
        data={"answer": "We keep none.", "csrf_token": csrf_of(page.text)},
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/console/inquiries/{inquiry_id}?done=inquiry_answered"
    row = stored(db, inquiry_id)
    assert row.answered_at is not None and (row.answered_by or "").startswith("staff:")
    assert answers_queued(db, "asker@example.org") == 1
    after = client.get(sent.headers["location"]).text
    assert "The answer is on its way to the asker by e-mail." in after
    assert "Send the answer" not in after
    again = client.post(
        f"/console/inquiries/{inquiry_id}/answer",
        data={"answer": "Twice?", "csrf_token": csrf_of(after)},
    )
    assert again.status_code == 409
    assert "This question was answered already." in again.text
    assert answers_queued(db, "asker@example.org") == 1
    missing = client.get(f"/console/inquiries/{uuid.uuid4()}")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("answer", "words"),
    [("   ", "Write the answer."), ("x" * (MAX_ANSWER + 1), "The answer is too long: shorten it.")],
)
def test_a_bad_answer_is_refused_and_nothing_is_sent(
    client: TestClient, db: Session, clock: FakeClock, answer: str, words: str
) -> None:
    inquiry_id = ask(client, db, "asker@example.org")
    console_sign_in(client, db, clock, "privacy_officer")
    token = csrf_of(client.get(f"/console/inquiries/{inquiry_id}").text)
    refused = client.post(
        f"/console/inquiries/{inquiry_id}/answer", data={"answer": answer, "csrf_token": token}
    )
    assert refused.status_code == 422
    assert f'id="f-answer-error">{words}</p>' in refused.text
    assert stored(db, inquiry_id).answered_at is None
    assert answers_queued(db, "asker@example.org") == 0


def test_an_answer_without_the_form_token_changes_nothing(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    inquiry_id = ask(client, db, "asker@example.org")
    console_sign_in(client, db, clock, "privacy_officer")
    forged = client.post(f"/console/inquiries/{inquiry_id}/answer", data={"answer": "Hello"})
    assert forged.status_code == 403
    assert stored(db, inquiry_id).answered_at is None
    assert answers_queued(db, "asker@example.org") == 0


def test_every_string_of_the_console_question_pages_goes_through_translation(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    inquiry_id = ask(client, db, "asker@example.org")
    console_sign_in(client, db, clock, "privacy_officer")
    client.app.state.web_language = "x-pseudo"  # type: ignore[attr-defined]
    for path in ("/console/inquiries", f"/console/inquiries/{inquiry_id}"):
        html = client.get(path).text
        assert "⟦" in html
        assert untranslated(html) == [], path
