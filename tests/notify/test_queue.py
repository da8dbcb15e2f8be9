"""Queueing: the outbox row and its job are written in the caller's transaction, or nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.notify.exceptions import (
    InvalidRecipientError,
    TemplateParamsError,
    UnknownTemplateError,
)
from doorstep.notify.services import queue_email, queue_push, queue_sms
from tests.notify.conftest import (
    SmtpServer,
    canary_email,
    deliver_jobs,
    drain,
    new_code,
    smtp_settings,
    with_settings,
)


def _count(session: Session, sql: str) -> int:
    return int(session.execute(sa.text(sql)).scalar_one())


def test_queue_email_writes_the_row_and_a_job_with_the_id_only(
    db: Session, clock: FakeClock
) -> None:
    subject, address, code = uuid.uuid4(), canary_email(), new_code()
    outbox_id = queue_email(
        db,
        subject_id=subject,
        to=address,
        template="account.verify_email",
        params={"code": code},
        clock=clock,
    )
    row = db.execute(sa.text("SELECT * FROM outbox WHERE id = :id"), {"id": outbox_id}).one()
    assert (row.subject_id, row.channel, row.template, row.locale) == (
        subject,
        "email",
        "account.verify_email",
        "en",
    )
    assert (row.email, row.phone, row.device_token) == (address, None, None)
    assert (row.status, row.attempts, row.params) == ("queued", 0, {"code": code})
    assert row.created_at == clock.now()
    (args,) = db.execute(
        sa.text("SELECT args FROM procrastinate_jobs WHERE task_name = 'doorstep.notify.deliver'")
    ).scalars()
    assert args == {"outbox_id": str(outbox_id)}


def test_sms_and_push_use_their_own_recipient_column(db: Session, clock: FakeClock) -> None:
    sms = queue_sms(
        db,
        subject_id=uuid.uuid4(),
        to="+4915112345678",
        template="account.verify_phone",
        params={"code": "1234"},
        clock=clock,
    )
    push = queue_push(
        db,
        subject_id=uuid.uuid4(),
        device_token="fcm:" + "a" * 40,
        template="device.bound",
        params={"device": "Router AX3000"},
        clock=clock,
        locale="de",
    )
    rows = {
        row.id: row
        for row in db.execute(
            sa.text("SELECT id, channel, email, phone, device_token, locale FROM outbox")
        )
    }
    assert (rows[sms].channel, rows[sms].phone, rows[sms].email) == ("sms", "+4915112345678", None)
    assert (rows[push].channel, rows[push].device_token[:4], rows[push].locale) == (
        "push",
        "fcm:",
        "de",
    )


@pytest.mark.parametrize(
    ("queue", "recipient", "field", "rule"),
    [
        (queue_email, "not-an-address", "to", "email_address"),
        (queue_email, "a@b.org\r\nBcc: x@y.org", "to", "email_address"),
        (queue_email, "someone@localhost", "to", "email_address"),
        (queue_sms, "0151 1234567", "to", "e164_phone_number"),
        (queue_sms, "+0151", "to", "e164_phone_number"),
        (queue_push, "short", "device_token", "printable_token_8_to_4096"),
        (queue_push, "has a space in it", "device_token", "printable_token_8_to_4096"),
    ],
)
def test_a_bad_recipient_is_refused_by_rule_without_its_value(
    db: Session, clock: FakeClock, queue: Any, recipient: str, field: str, rule: str
) -> None:
    key = "to" if queue is not queue_push else "device_token"
    with pytest.raises(InvalidRecipientError) as caught:
        queue(
            db,
            subject_id=uuid.uuid4(),
            template="account.verify_email",
            params={"code": "1"},
            clock=clock,
            **{key: recipient},
        )
    assert caught.value.fields == {"errors": [{"field": field, "rule": rule}]}
    assert recipient not in str(caught.value)
    assert _count(db, "SELECT count(*) FROM outbox") == 0


def test_template_errors_raise_at_queue_time_and_write_nothing(
    db: Session, clock: FakeClock
) -> None:
    with pytest.raises(UnknownTemplateError):
        queue_email(
            db,
            subject_id=uuid.uuid4(),
            to=canary_email(),
            template="account.nope",
            params={},
            clock=clock,
        )
    with pytest.raises(TemplateParamsError):
        queue_email(
            db,
            subject_id=uuid.uuid4(),
            to=canary_email(),
            template="account.guardian_consent",
            params={"code": "1"},
            clock=clock,
        )
    assert _count(db, "SELECT count(*) FROM outbox") == 0
    assert _count(db, "SELECT count(*) FROM procrastinate_jobs") == 0


def test_a_rolled_back_change_sends_nothing(committed: Runtime, smtp: SmtpServer) -> None:
    runtime = with_settings(committed, **smtp_settings(smtp))
    with pytest.raises(RuntimeError, match="crash"), runtime.sessions.begin() as session:
        queue_email(
            session,
            subject_id=uuid.uuid4(),
            to=canary_email(),
            template="account.verify_email",
            params={"code": new_code()},
            clock=runtime.clock,
        )
        raise RuntimeError("crash after queueing")
    drain(runtime)
    assert smtp.received == []
    assert deliver_jobs(runtime) == []
    with runtime.sessions() as session:
        assert _count(session, "SELECT count(*) FROM outbox") == 0
