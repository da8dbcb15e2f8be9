"""Delivery through the in-memory adapters: SMS, push, locking, last attempts, purging."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.notify.adapters import Adapters, RecordingMailer
from doorstep.notify.delivery import DeliveryDeferred, Outcome, deliver
from doorstep.notify.exceptions import DeliveryError
from doorstep.notify.messages import Email
from doorstep.notify.services import cancel, queue_email, queue_push, queue_sms, retry
from doorstep.notify.tasks import purge
from tests.notify.conftest import (
    audit_rows,
    canary_email,
    new_code,
    outbox_row,
    recording,
    with_settings,
)


def _email(runtime: Runtime, code: str | None = None) -> uuid.UUID:
    with runtime.sessions.begin() as session:
        return queue_email(
            session,
            subject_id=uuid.uuid4(),
            to=canary_email(),
            template="account.verify_email",
            params={"code": code or new_code()},
            clock=runtime.clock,
        )


def test_sms_and_push_go_through_their_adapters(runtime: Runtime) -> None:
    adapters = recording()
    with runtime.sessions.begin() as session:
        sms_id = queue_sms(
            session,
            subject_id=uuid.uuid4(),
            to="+4915112345678",
            template="account.verify_phone",
            params={"code": "C0DE4711"},
            clock=runtime.clock,
        )
        push_id = queue_push(
            session,
            subject_id=uuid.uuid4(),
            device_token="apns:" + "f" * 64,
            template="device.bound",
            params={"device": "Router AX3000"},
            clock=runtime.clock,
        )
    assert deliver(runtime, sms_id, adapters) is Outcome.SENT
    assert deliver(runtime, push_id, adapters) is Outcome.SENT
    (sms,) = adapters.sms.sent  # type: ignore[attr-defined]
    assert (sms.outbox_id, sms.to, sms.template) == (
        sms_id,
        "+4915112345678",
        "account.verify_phone",
    )
    assert "C0DE4711" in sms.text
    (push,) = adapters.push.sent  # type: ignore[attr-defined]
    assert (push.outbox_id, push.device_token) == (push_id, "apns:" + "f" * 64)
    assert push.title == "A device was added to your account"
    assert push.body.startswith("Router AX3000 was added")
    assert adapters.mailer.sent == []  # type: ignore[attr-defined]
    assert outbox_row(runtime, sms_id).status == outbox_row(runtime, push_id).status == "sent"
    assert [row.element for row in audit_rows(runtime, "notify.sent")] == [
        "outbox.phone",
        "outbox.device_token",
    ]


def test_messages_hide_personal_fields_from_repr() -> None:
    email = Email(
        outbox_id=uuid.uuid4(),
        template="account.verify_email",
        date=FakeClock().now(),
        to="someone@example.org",
        subject="s",
        text="code C0DE1",
    )
    assert "someone" not in repr(email) and "C0DE1" not in repr(email)


class SlowMailer(RecordingMailer):
    """Takes a while to hand a message over, so a second worker can try meanwhile."""

    def send(self, message: Email) -> None:
        time.sleep(0.5)
        super().send(message)


def test_two_workers_at_once_send_once(committed: Runtime) -> None:
    outbox_id = _email(committed)
    mailer = SlowMailer()
    adapters = Adapters(mailer=mailer, sms=recording().sms, push=recording().push)
    outcomes: list[Outcome] = []
    first = threading.Thread(
        target=lambda: outcomes.append(deliver(committed, outbox_id, adapters))
    )
    first.start()
    time.sleep(0.15)  # the first holds the row lock while it sends
    outcomes.append(deliver(committed, outbox_id, adapters))
    first.join(10)
    assert sorted(outcomes) == [Outcome.SENT, Outcome.SKIPPED]
    assert len(mailer.sent) == 1


def test_a_passing_failure_is_deferred_and_final_on_the_last_attempt(runtime: Runtime) -> None:
    adapters = recording()
    outbox_id = _email(runtime)
    adapters.mailer.fail_next(DeliveryError("smtp_unavailable"), DeliveryError("smtp_unavailable"))  # type: ignore[attr-defined]
    with pytest.raises(DeliveryDeferred, match=r"^smtp_unavailable$"):
        deliver(runtime, outbox_id, adapters)
    row = outbox_row(runtime, outbox_id)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "smtp_unavailable")
    assert deliver(runtime, outbox_id, adapters, final_attempt=True) is Outcome.FAILED
    row = outbox_row(runtime, outbox_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 2, "smtp_unavailable")
    assert audit_rows(runtime, "notify.failed")[0].details["error"] == "smtp_unavailable"


def test_a_failed_message_can_be_retried_until_its_content_is_purged(runtime: Runtime) -> None:
    adapters = recording()
    outbox_id = _email(runtime)
    adapters.mailer.fail_next(DeliveryError("recipient_refused", permanent=True))  # type: ignore[attr-defined]
    assert deliver(runtime, outbox_id, adapters) is Outcome.FAILED
    with runtime.sessions.begin() as session:
        retry(session, outbox_id, actor="system:tests")
    assert outbox_row(runtime, outbox_id).status == "queued"
    assert deliver(runtime, outbox_id, adapters) is Outcome.SENT
    assert [row.actor for row in audit_rows(runtime, "notify.retried")] == ["system:tests"]


def test_cancel_blanks_a_queued_message(runtime: Runtime) -> None:
    adapters = recording()
    outbox_id = _email(runtime)
    with runtime.sessions.begin() as session:
        assert cancel(session, outbox_id, actor="system:tests", clock=runtime.clock)
        assert not cancel(session, outbox_id, actor="system:tests", clock=runtime.clock)
    row = outbox_row(runtime, outbox_id)
    assert (row.status, row.params) == ("cancelled", None)
    assert deliver(runtime, outbox_id, adapters) is Outcome.SKIPPED
    assert adapters.mailer.sent == []  # type: ignore[attr-defined]


def test_content_is_purged_after_the_configured_delay(runtime: Runtime, clock: FakeClock) -> None:
    """Delay two hours: kept one hour before the cutoff, blanked one hour after."""
    delayed = with_settings(runtime, notify_purge_after_seconds=7200)
    outbox_id = _email(delayed)
    assert deliver(delayed, outbox_id, recording()) is Outcome.SENT
    assert outbox_row(delayed, outbox_id).params is not None
    clock.advance(timedelta(hours=1))
    assert purge(delayed) == 0
    assert outbox_row(delayed, outbox_id).params is not None
    clock.advance(timedelta(hours=2))
    assert purge(delayed) == 1
    assert outbox_row(delayed, outbox_id).params is None
    assert purge(delayed) == 0, "purging is idempotent"


def test_failed_content_is_kept_for_retry_then_purged(runtime: Runtime, clock: FakeClock) -> None:
    adapters = recording()
    outbox_id = _email(runtime)
    adapters.mailer.fail_next(DeliveryError("recipient_refused", permanent=True))  # type: ignore[attr-defined]
    assert deliver(runtime, outbox_id, adapters) is Outcome.FAILED
    keep = timedelta(hours=runtime.settings.notify_failed_keep_hours)
    clock.advance(keep - timedelta(hours=1))
    assert purge(runtime) == 0
    clock.advance(timedelta(hours=2))
    assert purge(runtime) == 1
    assert outbox_row(runtime, outbox_id).params is None
    from doorstep.notify.exceptions import MessageStateError

    with runtime.sessions.begin() as session, pytest.raises(MessageStateError) as caught:
        retry(session, outbox_id, actor="system:tests")
    assert caught.value.fields["status"] == "content_purged"
