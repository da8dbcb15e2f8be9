"""Fixtures of the notify tests: a real SMTP server on loopback, raw log capture, a drain.

The SMTP server is aiosmtpd on a free loopback port; it stands for the
operator's mail relay, the one thing that truly lies outside Doorstep.  Its own
logger (``mail.log``) is left out of the captured logs: it is the relay's log,
not ours.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
import ssl
import threading
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from doorstep.core.runtime import Runtime
from doorstep.jobs.worker import run_worker
from doorstep.notify.adapters import Adapters, RecordingMailer, RecordingPush, RecordingSms

CODE_PREFIX = "C0DE"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        """The plain-text part."""
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str | None:
        """The HTML part, if any."""
        part = self.message.get_body(preferencelist=("html",))
        return None if part is None else str(part.get_content())


@dataclass
class SmtpServer:
    """An aiosmtpd server on loopback that records what it accepts.

    ``refuse`` holds recipients answered with 550 at RCPT; ``logins`` the
    (user, password) pairs that authenticated.
    """

    port: int = field(default_factory=free_port)
    refuse: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    credentials: tuple[str, str] | None = None
    tls_context: ssl.SSLContext | None = None
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and self.credentials is not None:
            pair = (data.login.decode(), data.password.decode())
            if pair == self.credentials:
                self.logins.append(pair)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpServer:
        """Listen on ``port``."""
        options: dict[str, Any] = {}
        if self.tls_context is not None:
            options.update(tls_context=self.tls_context, require_starttls=True)
        if self.credentials is not None:
            options.update(authenticator=self._authenticate, auth_require_tls=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (idempotent)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback, running."""
    server = SmtpServer().start()
    yield server
    server.stop()


def with_settings(runtime: Runtime, **changes: Any) -> Runtime:
    """The same runtime with some settings changed (as the worker's environment would)."""
    return replace(runtime, settings=runtime.settings.model_copy(update=changes))


def smtp_settings(server: SmtpServer) -> dict[str, Any]:
    """Settings that send e-mail to ``server``."""
    return {"mail_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": server.port}


def drain(runtime: Runtime) -> None:
    """Run a real worker until no job is due."""
    asyncio.run(run_worker(runtime, wait=False, install_signal_handlers=False, concurrency=2))


def recording() -> Adapters:
    """Fresh in-memory adapters."""
    return Adapters(mailer=RecordingMailer(), sms=RecordingSms(), push=RecordingPush())


def new_code() -> str:
    """A one-time code unique to the test, easy to search for."""
    return f"{CODE_PREFIX}{uuid.uuid4().hex[:8]}"


def canary_email() -> str:
    """An address unique to the test."""
    return f"canary.{uuid.uuid4().hex[:10]}@example.org"


def outbox_row(runtime: Runtime, outbox_id: uuid.UUID) -> sa.Row[Any]:
    """The outbox row, read in a fresh session."""
    with runtime.sessions() as session:
        return session.execute(
            sa.text("SELECT * FROM outbox WHERE id = :id"), {"id": outbox_id}
        ).one()


def deliver_jobs(runtime: Runtime) -> list[sa.Row[Any]]:
    """Every delivery job, oldest first."""
    with runtime.sessions() as session:
        return list(
            session.execute(
                sa.text(
                    "SELECT id, status, attempts, args, scheduled_at FROM procrastinate_jobs "
                    "WHERE task_name = 'doorstep.notify.deliver' ORDER BY id"
                )
            )
        )


def audit_rows(runtime: Runtime, action: str) -> list[sa.Row[Any]]:
    """Audit events with ``action``, oldest first."""
    with runtime.sessions() as session:
        return list(
            session.execute(
                sa.text(
                    "SELECT actor, subject_id, purpose, element, outcome, details "
                    "FROM audit_events WHERE action = :action ORDER BY id"
                ),
                {"action": action},
            )
        )


class RawLogs(logging.Handler):
    """Keeps every record unformatted: message, extra fields and traceback.

    Raw on purpose: the production formatter scrubs e-mail addresses, and the
    tests must prove that nothing needed scrubbing.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("mail.log"):
            return  # the test SMTP server's own log
        parts = [record.name, record.getMessage(), repr(vars(record))]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append("".join(traceback.format_exception(record.exc_info[1])))
        self.lines.append(" ".join(parts))

    @property
    def text(self) -> str:
        """Everything captured, as one string."""
        return "\n".join(self.lines)


@pytest.fixture
def raw_logs() -> Iterator[RawLogs]:
    """Capture every log record at DEBUG, unscrubbed."""
    handler = RawLogs()
    root = logging.getLogger()
    loggers = [root, logging.getLogger("procrastinate"), logging.getLogger("doorstep")]
    levels = [logger.level for logger in loggers]
    root.addHandler(handler)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)
