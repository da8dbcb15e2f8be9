"""The SMTP mailer (smtplib): one connection per message, plain, STARTTLS or TLS.

One connection per message is deliberate: the outbox delivers one message per
job, a loopback relay accepts a connection in well under a millisecond, and no
connection outlives the job that needs it.  We accept the TLS handshake per
message on a remote server because a long-lived pool would have to survive the
server's idle timeouts and the worker's concurrency.

Errors become :class:`DeliveryError` codes; the server's reply text is dropped
(it can quote the address).  Only a refusal of the recipient (5xx on RCPT) or
of the content (5xx on DATA) is permanent: a refused sender, failed AUTH, TLS
trouble or a server that is down are problems of ours that a retry (after an
operator's fix) can heal, so they are retried with backoff.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from doorstep.notify.exceptions import DeliveryError
from doorstep.notify.messages import Email

#: Passing failures, by exception type (first match wins; the order matters).
_TRANSIENT: tuple[tuple[type[BaseException], str], ...] = (
    (smtplib.SMTPSenderRefused, "sender_refused"),
    (smtplib.SMTPAuthenticationError, "smtp_auth_failed"),
    (smtplib.SMTPNotSupportedError, "smtp_tls_unavailable"),
    (smtplib.SMTPServerDisconnected, "smtp_unavailable"),
    (smtplib.SMTPConnectError, "smtp_unavailable"),
    (smtplib.SMTPException, "smtp_error"),
    (ssl.SSLError, "smtp_tls_failed"),
)


def _classify(exc: BaseException) -> DeliveryError:
    """Map an smtplib/socket error to a code; never keeps the server's text."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [int(code) for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return DeliveryError(
            "recipient_refused" if permanent else "recipient_deferred", permanent=permanent
        )
    if isinstance(exc, smtplib.SMTPDataError):
        permanent = exc.smtp_code >= 500
        return DeliveryError(
            "message_rejected" if permanent else "message_deferred", permanent=permanent
        )
    for kind, code in _TRANSIENT:
        if isinstance(exc, kind):
            return DeliveryError(code)
    return DeliveryError("smtp_unavailable")  # OSError: refused, unreachable, timed out


@cache
def _local_hostname() -> str:
    """This host's name for EHLO; smtplib would look it up on every connection."""
    return socket.getfqdn()


class SmtpMailer:
    """Sends each e-mail over its own SMTP connection.  Thread-safe (no shared state).

    ``security``: ``none`` (a loopback relay), ``starttls`` (upgrade, required)
    or ``tls`` (implicit TLS, port 465).  The server's certificate is verified
    against ``ca_file`` or the system's CAs.  ``username``/``password`` enable
    AUTH after TLS.
    """

    outlet = "sent over SMTP"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: Literal["none", "starttls", "tls"],
        from_address: str,
        username: str | None = None,
        password: SecretStr | None = None,
        timeout: float = 10.0,
        ca_file: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.from_address = from_address
        self.envelope_from = parseaddr(from_address)[1]
        if "@" not in self.envelope_from:
            raise ValueError("the From address of e-mail has no '@'")
        self.domain = self.envelope_from.rpartition("@")[2]
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ca_file = ca_file

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def compose(self, email: Email) -> EmailMessage:
        """The MIME message: text, and HTML as an alternative when there is one.

        ``Message-ID`` is the outbox id, so a receiver can recognise the rare
        duplicate (a crash between the server's "250 OK" and our commit).
        """
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Date"] = format_datetime(email.date)
        message["Message-ID"] = f"<{email.outbox_id}@{self.domain}>"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message.set_content(email.text)
        if email.html is not None:
            message.add_alternative(email.html, subtype="html")
        return message

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=_local_hostname(),
                timeout=self.timeout,
                context=self._context(),
            )
        return smtplib.SMTP(
            self.host, self.port, local_hostname=_local_hostname(), timeout=self.timeout
        )

    def send(self, email: Email) -> None:
        """Deliver ``email`` to the SMTP server, or raise DeliveryError (code only)."""
        message = self.compose(email)
        try:
            with self._connect() as client:
                if self.security == "starttls":
                    client.ehlo()
                    client.starttls(context=self._context())
                    client.ehlo()
                if self.username:
                    secret = self.password.get_secret_value() if self.password else ""
                    client.login(self.username, secret)
                client.send_message(message, from_addr=self.envelope_from, to_addrs=[email.to])
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from None
