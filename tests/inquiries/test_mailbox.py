"""The privacy mailbox: real mail over loopback SMTP becomes an inquiry, and the auto-reply
(read from a loopback SMTP sink after a real worker delivered it) gives the reference, the
due date and the advice to use the secure channels, never asking for identity documents."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.core.runtime import Runtime
from doorstep.privacy.requests.inquiries.mailbox import require_loopback, start_mailbox
from doorstep.privacy.requests.inquiries.models import Inquiry, InquiryChannel
from tests.notify.conftest import SmtpServer, drain, free_port, smtp_settings, with_settings

ADVICE = "Please do not send personal information by e-mail"


@pytest.fixture
def mailbox(committed: Runtime, smtp: SmtpServer) -> Iterator[tuple[Runtime, int]]:
    """The receiver on a free loopback port, its runtime sending mail to the sink."""
    runtime = with_settings(committed, **smtp_settings(smtp))
    port = free_port()
    controller = start_mailbox(runtime, host="127.0.0.1", port=port)
    yield runtime, port
    controller.stop()


def _letter(sender: str, subject: str, text: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"A Person <{sender}>"
    message["To"] = "privacy@zte.com.cn"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


def _send(port: int, message: EmailMessage, mail_from: str) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        client.mail(mail_from)
        client.rcpt("privacy@zte.com.cn")
        code, reply = client.data(message.as_bytes())
    return code, reply


def _inquiries(runtime: Runtime) -> list[Inquiry]:
    with runtime.sessions() as session:
        return list(session.scalars(sa.select(Inquiry)))


@pytest.mark.slow
@pytest.mark.clause("CPE-IV.4.b")
@pytest.mark.clause("CPE-IX.2")
def test_mail_to_the_privacy_mailbox_is_answered_with_the_secure_channel_advice(
    mailbox: tuple[Runtime, int], smtp: SmtpServer
) -> None:
    runtime, port = mailbox
    sender = f"writer.{uuid.uuid4().hex[:8]}@example.org"
    code, reply = _send(
        port, _letter(sender, "A question", "Where is my data stored? canary-mail"), sender
    )
    assert code == 250, reply
    (row,) = _inquiries(runtime)
    assert row.channel is InquiryChannel.EMAIL
    assert row.due_at == row.received_at + timedelta(days=30)
    assert row.queue == "dpo"
    assert str(row.id).encode() in reply

    drain(runtime)
    (mail,) = [m for m in smtp.received if m.rcpt_tos == [sender]]
    assert mail.message["Subject"] == "We have received your question"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert str(row.id) in mail.text
    assert row.due_at.date().isoformat() in mail.text
    assert ADVICE in mail.text
    assert "use the app or the privacy center" in mail.text
    assert "We will never ask you to send identity documents by e-mail." in mail.text


@pytest.mark.slow
def test_automatic_mail_is_dropped_unanswered_and_an_unanswerable_sender_refused(
    mailbox: tuple[Runtime, int], smtp: SmtpServer
) -> None:
    runtime, port = mailbox
    sender = f"robot.{uuid.uuid4().hex[:8]}@example.org"
    auto = _letter(sender, "Out of office", "I am away.", Auto_Submitted="auto-replied")
    assert _send(port, auto, sender)[0] == 250
    bulk = _letter(sender, "News", "Our newsletter.", Precedence="bulk")
    assert _send(port, bulk, sender)[0] == 250
    bounce = _letter(sender, "Undeliverable", "Bounce.")
    assert _send(port, bounce, "")[0] == 250
    nobody = _letter("not an address", "Hello", "Who am I?")
    del nobody["From"]
    nobody["From"] = "nobody"
    assert _send(port, nobody, sender)[0] == 550
    assert _inquiries(runtime) == []
    drain(runtime)
    assert smtp.received == []


def test_the_mailbox_listens_on_loopback_only() -> None:
    for host in ("127.0.0.1", "::1", "localhost"):
        require_loopback(host)
    for host in ("0.0.0.0", "192.0.2.7", "mail.example.org"):
        with pytest.raises(ConfigurationError):
            require_loopback(host)
