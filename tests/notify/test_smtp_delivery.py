"""E-mail through a real SMTP server on loopback, delivered by real workers."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.jobs import enqueue
from doorstep.notify.adapters import from_settings
from doorstep.notify.delivery import Outcome, deliver
from doorstep.notify.services import DELIVER_TASK, queue_email
from doorstep.privacy.datamap.pack import default_pack
from doorstep.wiring import pack_sender
from tests.notify.conftest import (
    SmtpServer,
    audit_rows,
    canary_email,
    deliver_jobs,
    drain,
    new_code,
    outbox_row,
    smtp_settings,
    with_settings,
)

#: The From address the composition root derives from the default pack.
SENDER = pack_sender(default_pack())


def _queue(runtime: Runtime, address: str, code: str, *, duplicate_jobs: int = 0) -> uuid.UUID:
    with runtime.sessions.begin() as session:
        outbox_id = queue_email(
            session,
            subject_id=uuid.uuid4(),
            to=address,
            template="account.verify_email",
            params={"code": code},
            clock=runtime.clock,
        )
        for _ in range(duplicate_jobs):
            enqueue(session, DELIVER_TASK, outbox_id=outbox_id)
    return outbox_id


def _bring_retries_forward(runtime: Runtime) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE procrastinate_jobs SET scheduled_at = now() "
                "WHERE task_name = :task AND status = 'todo'"
            ),
            {"task": DELIVER_TASK},
        )


def test_a_committed_message_is_delivered_by_a_worker(committed: Runtime, smtp: SmtpServer) -> None:
    runtime = with_settings(committed, **smtp_settings(smtp))
    address, code = canary_email(), new_code()
    outbox_id = _queue(runtime, address, code)
    drain(runtime)

    (mail,) = smtp.received
    assert mail.rcpt_tos == [address]
    assert mail.mail_from == "privacy@zte.com.cn"
    assert mail.message["To"] == address
    assert mail.message["From"] == "ZTE Corporation <privacy@zte.com.cn>"
    assert mail.message["Subject"] == "Your verification code"
    assert mail.message["Message-ID"] == f"<{outbox_id}@zte.com.cn>"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert f"is {code}." in mail.text
    assert mail.html is not None and f"<strong>{code}</strong>" in mail.html

    row = outbox_row(runtime, outbox_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at == row.finished_at == runtime.clock.now()
    assert row.params is None, "the content is blanked once sent"
    assert row.email == address, "the recipient stays until the retention rule"
    assert [job.status for job in deliver_jobs(runtime)] == ["succeeded"]
    (event,) = audit_rows(runtime, "notify.sent")
    assert (event.actor, event.purpose, event.element, event.outcome) == (
        "system:doorstep.notify.deliver",
        "notification.delivery",
        "outbox.email",
        "ok",
    )
    assert event.details == {
        "outbox_id": str(outbox_id),
        "channel": "email",
        "template": "account.verify_email",
    }


def test_duplicate_jobs_deliver_once(committed: Runtime, smtp: SmtpServer) -> None:
    runtime = with_settings(committed, **smtp_settings(smtp))
    outbox_id = _queue(runtime, canary_email(), new_code(), duplicate_jobs=2)
    drain(runtime)
    assert len(smtp.received) == 1
    assert [job.status for job in deliver_jobs(runtime)] == ["succeeded"] * 3
    assert outbox_row(runtime, outbox_id).attempts == 1
    # and a job that runs again later finds nothing to do
    assert deliver(runtime, outbox_id, from_settings(runtime.settings, SENDER)) is Outcome.SKIPPED
    assert len(smtp.received) == 1
    assert len(audit_rows(runtime, "notify.sent")) == 1


def test_smtp_down_is_retried_with_backoff_then_delivered(committed: Runtime) -> None:
    server = SmtpServer()  # not started: nothing listens on its port yet
    runtime = with_settings(committed, **smtp_settings(server))
    code = new_code()
    outbox_id = _queue(runtime, canary_email(), code)
    waits = []
    try:
        for attempt in (1, 2):
            drain(runtime)
            (job,) = deliver_jobs(runtime)
            assert job.status == "todo", "a passing failure must be retried, not dropped"
            row = outbox_row(runtime, outbox_id)
            assert (row.status, row.attempts, row.last_error) == (
                "queued",
                attempt,
                "smtp_unavailable",
            )
            assert row.params == {"code": code}
            with runtime.engine.connect() as connection:
                now = connection.execute(sa.text("SELECT now()")).scalar_one()
            waits.append(job.scheduled_at - now)
            _bring_retries_forward(runtime)
        assert timedelta(0) < waits[0] < waits[1], f"backoff must grow: {waits}"

        server.start()  # the relay is back
        drain(runtime)
        (mail,) = server.received
        assert code in mail.text
        row = outbox_row(runtime, outbox_id)
        assert (row.status, row.attempts, row.params) == ("sent", 3, None)
        assert [job.status for job in deliver_jobs(runtime)] == ["succeeded"]
    finally:
        server.stop()


def test_a_refused_recipient_fails_permanently_and_is_audited(
    committed: Runtime, smtp: SmtpServer
) -> None:
    runtime = with_settings(committed, **smtp_settings(smtp))
    address = canary_email()
    smtp.refuse.add(address)
    outbox_id = _queue(runtime, address, new_code())
    drain(runtime)
    assert smtp.received == []
    row = outbox_row(runtime, outbox_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "recipient_refused")
    assert row.finished_at == runtime.clock.now() and row.sent_at is None
    assert row.params is not None, "a failed message keeps its content for a while (retry)"
    assert [job.status for job in deliver_jobs(runtime)] == ["succeeded"], "no retry"
    (event,) = audit_rows(runtime, "notify.failed")
    assert (event.outcome, event.element) == ("failed", "outbox.email")
    assert event.details["error"] == "recipient_refused"
    assert event.details["outbox_id"] == str(outbox_id)
