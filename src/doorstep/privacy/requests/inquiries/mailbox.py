"""The privacy mailbox: an SMTP receiver on loopback that turns each message into an inquiry.

The operator's mail server forwards the privacy address (the pack's
``controller.email``) to ``doorstep inbox serve``, which listens on a loopback
address only.  Each message accepted becomes an inquiry (channel ``email``) in
one transaction with its auto-reply (``inquiry.received``): the reference, the
due date and the advice to use the app or the privacy center instead of sending
personal data by e-mail (CPE-IV.4.b); the reply never asks for identity
documents.

What is kept of a message (decision 0026): the sender's address (``Reply-To``,
else ``From``), the subject line and the plain-text part, each sealed with the
subject's key.  Nothing else: no other headers, no HTML, no attachments.  The
SMTP answer is ``250`` once the transaction committed, so the forwarding server
retries anything not stored; a message whose sender cannot be answered is
refused with ``550`` (the forwarding server bounces it).  Automatic mail
(``Auto-Submitted``, ``Precedence: bulk|list|junk``, bounces with an empty
return path) is accepted and dropped, never answered (RFC 3834), so two
auto-responders never loop.  Logs carry the inquiry id only.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ipaddress
import logging
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from doorstep.accounts.account.identifiers import normalise_email
from doorstep.audit.entries import audited_transaction
from doorstep.core.errors import ConfigurationError
from doorstep.core.runtime import Runtime
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.inquiries.intake import (
    MAILBOX_ACTOR,
    asker_for_address,
    check_text,
    open_inquiry,
)
from doorstep.privacy.requests.inquiries.models import InquiryChannel

log = logging.getLogger("doorstep.inquiries.mailbox")

#: The largest message accepted (bytes), as for HTTP bodies.
MAX_MESSAGE = 1024 * 1024
_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "list", "junk"})


@dataclass(frozen=True, slots=True)
class Letter:
    """What is kept of one message: the address to answer, the subject line, the text."""

    sender: str
    title: str | None
    body: str


def is_automatic(message: EmailMessage, mail_from: str | None) -> bool:
    """Whether the message was sent by a machine and must not be answered (RFC 3834)."""
    if not mail_from or mail_from == "<>":
        return True
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return auto != "no" or precedence in _AUTOMATIC_PRECEDENCE


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        return ""


def letter_of(message: EmailMessage) -> Letter | None:
    """The letter in ``message``, or None when it has no usable sender address."""
    headers = [
        str(value) for value in message.get_all("Reply-To", []) or message.get_all("From", [])
    ]
    addresses = [address for _, address in getaddresses(headers) if address]
    sender = normalise_email(addresses[0]).value if len(addresses) == 1 else None
    if sender is None:
        return None
    subject = message.get("Subject")
    text = _text_of(message) or "(The message had no plain-text part.)"
    return Letter(sender, str(subject) if subject is not None else None, text)


class MailboxHandler:
    """The aiosmtpd handler: each message's DATA becomes an inquiry, or is refused or dropped."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "replace")
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        if is_automatic(parsed, envelope.mail_from):
            log.info("automatic message dropped without reply")
            return "250 OK: automatic message, not answered"
        letter = letter_of(parsed)
        if letter is None:
            return "550 5.1.7 The sender address cannot be answered"
        try:
            inquiry_id = await asyncio.to_thread(self.take, letter)
        except Exception:
            log.exception("the message could not be stored")
            return "451 4.3.0 Could not store the message, try again later"
        return f"250 OK: inquiry {inquiry_id}"

    def take(self, letter: Letter) -> uuid.UUID:
        """Store ``letter`` as an inquiry and queue its auto-reply, in one transaction."""
        from doorstep.services import services_for

        ctx = RequestContext.of(services_for(self.runtime))
        title, body = check_text(letter.title, letter.body, cut=True)
        with audited_transaction(self.runtime.sessions) as session:
            row = open_inquiry(
                session,
                ctx,
                asker=asker_for_address(session, letter.sender),
                channel=InquiryChannel.EMAIL,
                title=title,
                body=body,
                actor=MAILBOX_ACTOR,
            )
            inquiry_id = row.id
        log.info("inquiry received by e-mail", extra={"inquiry": str(inquiry_id)})
        return inquiry_id


def require_loopback(host: str) -> None:
    """Refuse to listen anywhere but on a loopback address (ConfigurationError)."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ConfigurationError(
            "the privacy mailbox listens on a loopback address only (127.0.0.1 or ::1); "
            "let the mail server on this machine forward to it"
        )


def start_mailbox(runtime: Runtime, *, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    """Start the receiver on ``host``:``port`` (loopback only) in a thread; ``stop()`` it."""
    require_loopback(host)
    options: dict[str, Any] = {"data_size_limit": MAX_MESSAGE, "enable_SMTPUTF8": True}
    controller = Controller(
        MailboxHandler(runtime),
        hostname=host,
        port=port,
        ident="Doorstep privacy mailbox",
        server_hostname="localhost",
        **options,
    )
    controller.start()
    return controller
