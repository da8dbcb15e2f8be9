"""A privacy question from a visitor to the desk's answer, in Chromium, with real e-mail.

A visitor without an account finds the question form in the footer, asks, and is
shown the reference and the date the answer is due (30 days later); the auto-reply
arrives over SMTP on loopback.  A privacy officer signs in to the console, finds the
question in the queue with its due date and owner, reads it and answers; the live
server's own worker delivers the answer by e-mail, and the visitor's status page
says it was answered.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from doorstep.core.runtime import Runtime
from doorstep.privacy.requests.inquiries.models import Inquiry
from tests.notify.conftest import SmtpServer, smtp_settings, with_settings
from tests.web.checks import CHECK_PAGE
from tests.web.conftest import LiveServer, running, screenshot
from tests.web.people import staff_sign_in

QUESTION = "Do you keep the names of the devices on my home network, and for how long?"
ANSWER = "Only while the device is connected; nothing is kept after it leaves."
STATUS = re.compile(r"/questions/([0-9a-f-]{36})\?done=question_sent$")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback that records what it accepts."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def live_server(committed: Runtime, smtp: SmtpServer) -> Iterator[LiveServer]:
    """The app with its job worker, sending e-mail to the loopback server."""
    with running(with_settings(committed, **smtp_settings(smtp))) as server:
        yield server


def _until(found: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        time.sleep(0.1)


def _mail(smtp: SmtpServer, to: str, subject: str) -> str:
    for message in list(smtp.received):
        if to in message.rcpt_tos and message.message["subject"] == subject:
            return message.text
    return ""


def _checked(page: Page) -> None:
    assert page.evaluate(CHECK_PAGE) == [], page.url


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.clause("CPE-IX.2")
def test_a_visitor_asks_and_the_desk_answers_by_e_mail(
    live_server: LiveServer, smtp: SmtpServer, new_context: Callable[..., BrowserContext]
) -> None:
    runtime = live_server.runtime
    email = f"visitor-{uuid.uuid4().hex[:8]}@example.org"
    visitor = new_context().new_page()
    visitor.goto("/")
    visitor.get_by_role("link", name="Ask a privacy question").click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Ask a privacy question")
    _checked(visitor)
    screenshot(visitor, "question-form")
    visitor.get_by_role("button", name="Send the question").click()  # nothing filled in
    expect(visitor.get_by_label("Your question")).to_have_attribute("aria-invalid", "true")
    expect(visitor.get_by_role("alert")).to_contain_text("nothing was sent")

    visitor.get_by_label("Your e-mail address").fill(email)
    visitor.get_by_label("Subject (optional)").fill("Device names")
    visitor.get_by_label("Your question").fill(QUESTION)
    visitor.get_by_role("button", name="Send the question").click()
    visitor.wait_for_url(STATUS)
    found = STATUS.search(visitor.url)
    assert found is not None
    reference = found.group(1)
    with runtime.sessions() as session:
        row = session.get(Inquiry, uuid.UUID(reference))
        assert row is not None
        received, due = row.received_at, row.due_at
    assert due - received == timedelta(days=30)
    expect(visitor.get_by_role("status")).to_contain_text("We have your question.")
    facts = visitor.locator("dl.facts")
    expect(facts).to_contain_text(reference)
    expect(facts).to_contain_text(due.strftime("%Y-%m-%d %H:%M"))
    expect(facts).to_contain_text("Waiting for our answer")
    _checked(visitor)
    screenshot(visitor, "question-status")
    receipt = _until(lambda: _mail(smtp, email, "We have received your question"), "the receipt")
    assert reference in receipt and due.date().isoformat() in receipt

    desk = new_context().new_page()
    staff_sign_in(desk, runtime, "privacy_officer")
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="Questions").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Privacy questions")
    _checked(desk)
    row_of_queue = desk.get_by_role("row").filter(has_text=f"Question {reference[:8]}")
    expect(row_of_queue).to_contain_text(due.strftime("%Y-%m-%d %H:%M"))
    expect(row_of_queue).to_contain_text("ZTE Data Protection Compliance Department")
    expect(desk.get_by_role("main")).not_to_contain_text(QUESTION)
    screenshot(desk, "console-inquiries")
    row_of_queue.get_by_role("link").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(f"Question {reference[:8]}")
    expect(desk.get_by_role("region", name="What the asker wrote")).to_contain_text(QUESTION)
    _checked(desk)
    desk.get_by_label("Your answer").fill(ANSWER)
    screenshot(desk, "console-inquiry")
    desk.get_by_role("button", name="Send the answer").click()
    expect(desk.get_by_role("status")).to_contain_text("on its way to the asker")
    expect(desk.get_by_role("button", name="Send the answer")).to_have_count(0)

    answer = _until(lambda: _mail(smtp, email, "Our answer to your question"), "the answer")
    assert ANSWER in answer and reference in answer
    visitor.goto(f"/questions/{reference}")
    expect(visitor.locator("dl.facts")).to_contain_text("Answered")
    expect(visitor.get_by_role("main")).not_to_contain_text(QUESTION)
