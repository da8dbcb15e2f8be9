"""The demo's mailbox: a sign-up's codes reach the person trying the demo, and the log says so."""

from __future__ import annotations

import logging
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from doorstep.demo import install_mailbox
from doorstep.jobs.registry import JobContext
from doorstep.notify import demo_mailbox
from doorstep.notify.tasks import deliver_message
from tests.accounts.conftest import PASSWORD, sign_up, unique_email, unique_phone


def _queued(runtime: Runtime) -> dict[uuid.UUID, str]:
    """Queued outbox messages: id -> their code."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, params FROM outbox WHERE status = 'queued'")
        ).all()
    return {row.id: row.params["code"] for row in rows}


def _deliver_all(runtime: Runtime, queued: dict[uuid.UUID, str]) -> None:
    for outbox_id in queued:
        assert deliver_message(JobContext(runtime, None, 1), outbox_id=str(outbox_id)) == "sent"


def test_the_sign_up_codes_are_shown_on_the_demo_mailbox_page_on_loopback_only(
    committed: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox = install_mailbox(committed)
    app = create_app(committed)
    app.include_router(demo_mailbox.router(mailbox))
    email, phone = unique_email(), unique_phone()
    with TestClient(app) as remote:
        signed_up = sign_up(remote, email=email, phone=phone, password=PASSWORD, age=30)
        assert signed_up.status_code == 202, signed_up.text
        queued = _queued(committed)
        assert len(queued) == 2  # an e-mail code and an SMS code
        with caplog.at_level(logging.INFO, logger="doorstep.notify"):
            _deliver_all(committed, queued)
        assert remote.get(demo_mailbox.PATH).status_code == 404, "not for other machines"
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        page = local.get(demo_mailbox.PATH)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for code in queued.values():
        assert code in page.text
    assert email in page.text and phone in page.text
    lines = [record.getMessage() for record in caplog.records]
    assert lines.count(f"notification kept in the demo mailbox ({demo_mailbox.PATH})") == 2
    logged = caplog.text
    assert email not in logged and phone not in logged
    assert not any(code in logged for code in queued.values())


def test_the_console_backend_log_says_nothing_was_sent(
    committed: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(committed)) as client:
        signed_up = sign_up(
            client, email=unique_email(), phone=unique_phone(), password=PASSWORD, age=30
        )
        assert signed_up.status_code == 202, signed_up.text
    queued = _queued(committed)
    with caplog.at_level(logging.INFO, logger="doorstep.notify"):
        _deliver_all(committed, queued)
    lines = [record.getMessage() for record in caplog.records]
    assert "e-mail not sent: console backend" in lines
    assert "sms not sent: console backend" in lines
    assert lines.count("notification not sent: console backend") == 2
    assert "notification sent" not in lines, "the log must not contradict itself"


def test_the_mailbox_keeps_the_newest_messages_only() -> None:
    from datetime import UTC, datetime

    from doorstep.notify.messages import Email, Sms

    mailbox = demo_mailbox.DemoMailbox(capacity=2)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    mailbox.send(Email(uuid.uuid4(), "t", now, to="a@example.org", subject="one", text="1"))
    mailbox.send(Sms(uuid.uuid4(), "t", to="+4915100000009", text="2"))
    mailbox.send(Email(uuid.uuid4(), "t", now, to="b@example.org", subject="three", text="3"))
    assert [letter.text for letter in mailbox.letters()] == ["3", "2"]
