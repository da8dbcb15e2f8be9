"""Adapters chosen by settings; SMTP with STARTTLS and AUTH; nothing personal in any log."""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from doorstep.core.errors import ConfigurationError
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings
from doorstep.notify._smtp import SmtpMailer
from doorstep.notify.adapters import (
    ConsoleMailer,
    ConsolePush,
    ConsoleSms,
    from_settings,
    mail_from,
)
from doorstep.notify.delivery import DeliveryDeferred, Outcome, deliver
from doorstep.notify.services import queue_email, queue_push, queue_sms
from doorstep.privacy.datamap.pack import default_pack
from doorstep.wiring import build_services, pack_sender
from tests.certificates import self_signed
from tests.notify.conftest import (
    RawLogs,
    SmtpServer,
    canary_email,
    drain,
    new_code,
    outbox_row,
    smtp_settings,
    with_settings,
)

#: The From address the composition root derives from the default pack.
SENDER = pack_sender(default_pack())


def test_the_default_backends_are_console(settings: Settings) -> None:
    adapters = from_settings(settings, SENDER)
    assert isinstance(adapters.mailer, ConsoleMailer)
    assert isinstance(adapters.sms, ConsoleSms)
    assert isinstance(adapters.push, ConsolePush)


def test_services_expose_the_adapters(runtime: Runtime) -> None:
    services = build_services(with_settings(runtime, mail_backend="smtp"))
    assert isinstance(services.mailer, SmtpMailer)
    assert isinstance(services.sms, ConsoleSms) and isinstance(services.push, ConsolePush)


def test_the_from_address_is_the_controller_unless_set() -> None:
    assert mail_from(load_settings(), SENDER) == "ZTE Corporation <privacy@zte.com.cn>"
    assert mail_from(load_settings(mail_from="Doorstep <no-reply@isp.example>"), SENDER) == (
        "Doorstep <no-reply@isp.example>"
    )
    with pytest.raises(ConfigurationError, match="DOORSTEP_MAIL_FROM must be set"):
        mail_from(load_settings(), None)


@pytest.mark.clause("CPE-IV.1.a")
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"env": "production", "smtp_host": "mail.isp.example"}, "loopback"),
        ({"smtp_host": "mail.isp.example", "smtp_username": "doorstep"}, "AUTH needs"),
    ],
)
def test_smtp_without_tls_is_refused_off_loopback(overrides: dict[str, str], message: str) -> None:
    production = {"secret_key": "x" * 40, "database_url": "postgresql://db.isp.example/doorstep"}
    settings = load_settings(
        mail_backend="smtp", **overrides, **(production if "env" in overrides else {})
    )
    with pytest.raises(ConfigurationError, match=message):
        from_settings(settings, SENDER)
    assert isinstance(
        from_settings(settings.model_copy(update={"smtp_security": "starttls"}), SENDER).mailer,
        SmtpMailer,
    )


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate file, key file)."""
    return self_signed(directory, "relay")


@pytest.mark.clause("CPE-IV.1.a")
def test_starttls_and_auth(runtime: Runtime, tmp_path: Path) -> None:
    cert_file, key_file = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server = SmtpServer(tls_context=context, credentials=("doorstep", "relay-pass")).start()
    try:
        secure = {
            **smtp_settings(server),
            "smtp_security": "starttls",
            "smtp_ca_file": cert_file,
            "smtp_username": "doorstep",
            "smtp_password": SecretStr("relay-pass"),
        }
        good = with_settings(runtime, **secure)
        code = new_code()
        with good.sessions.begin() as session:
            outbox_id = queue_email(
                session,
                subject_id=uuid.uuid4(),
                to=canary_email(),
                template="account.password_reset",
                params={"code": code},
                clock=good.clock,
            )
        assert deliver(good, outbox_id, from_settings(good.settings, SENDER)) is Outcome.SENT
        assert server.logins == [("doorstep", "relay-pass")]
        assert code in server.received[0].text

        wrong = with_settings(runtime, **{**secure, "smtp_password": SecretStr("wrong")})
        untrusted = with_settings(runtime, **{**secure, "smtp_ca_file": None})
        for broken, error in ((wrong, "smtp_auth_failed"), (untrusted, "smtp_tls_failed")):
            with broken.sessions.begin() as session:
                other = queue_email(
                    session,
                    subject_id=uuid.uuid4(),
                    to=canary_email(),
                    template="account.password_reset",
                    params={"code": code},
                    clock=broken.clock,
                )
            with pytest.raises(DeliveryDeferred, match=f"^{error}$"):
                deliver(broken, other, from_settings(broken.settings, SENDER))
            assert outbox_row(broken, other).last_error == error
        assert len(server.received) == 1
    finally:
        server.stop()


def test_no_address_number_token_or_content_reaches_logs_jobs_or_audit(
    committed: Runtime, smtp: SmtpServer, raw_logs: RawLogs
) -> None:
    """Every path — sent, deferred, refused, console SMS and push — logs ids only."""
    runtime = with_settings(committed, **smtp_settings(smtp))
    sent_to, refused_to = canary_email(), canary_email()
    phone, token, code = "+4915112349876", f"tok-{uuid.uuid4().hex}", new_code()
    smtp.refuse.add(refused_to)
    with runtime.sessions.begin() as session:
        common: dict[str, Any] = {"subject_id": uuid.uuid4(), "clock": runtime.clock}
        for address in (sent_to, refused_to):
            queue_email(
                session,
                to=address,
                template="account.verify_email",
                params={"code": code},
                **common,
            )
        sms_id = queue_sms(
            session, to=phone, template="account.verify_phone", params={"code": code}, **common
        )
        queue_push(
            session, device_token=token, template="device.bound", params={"device": code}, **common
        )
    drain(runtime)
    down = with_settings(runtime, smtp_port=SmtpServer().port)  # a relay that is down
    with down.sessions.begin() as session:
        queue_email(
            session, to=sent_to, template="account.verify_email", params={"code": code}, **common
        )
    drain(down)

    assert len(smtp.received) == 1 and code in smtp.received[0].text
    assert outbox_row(runtime, sms_id).status == "sent"
    assert "sms not sent: console backend" in raw_logs.text
    assert str(sms_id) in raw_logs.text and "account.verify_phone" in raw_logs.text
    assert "notification deferred" in raw_logs.text and "recipient_refused" in raw_logs.text
    with runtime.engine.connect() as connection:
        jobs = connection.execute(sa.text("SELECT args::text FROM procrastinate_jobs")).scalars()
        audit = connection.execute(sa.text("SELECT details::text FROM audit_events")).scalars()
        stored = "\n".join([*jobs, *audit])
    for secret in (sent_to, refused_to, phone, phone[1:], token, code):
        assert secret not in raw_logs.text, "a log line holds personal data"
        assert secret not in stored, "a job or audit record holds personal data"
