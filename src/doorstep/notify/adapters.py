"""Delivery adapters: how a rendered message leaves Doorstep, behind three small Protocols.

* :class:`Mailer` — e-mail.  :class:`~doorstep.notify._smtp.SmtpMailer` speaks SMTP
  (smtplib; plain on loopback, STARTTLS or TLS otherwise); :class:`ConsoleMailer`
  logs that a message would go out (development, the demo).
* :class:`SmsSender` and :class:`PushSender` — SMS and push.  Only console
  implementations exist: a real provider is a later adapter behind the same
  Protocol.
* ``Recording*`` — in-memory adapters for tests: they keep what they were given
  and can be told to fail.

An adapter's ``send`` returns when the message was handed over, or raises
:class:`~doorstep.notify.exceptions.DeliveryError` with a code and whether a
retry can help.  Console adapters log the outbox id and the template key only:
never an address, a number, a token or text.  The message objects hide their
personal fields from ``repr`` so that a careless log call shows ids only.  An
adapter's ``outlet`` says what handing a message over means ("not sent: console
backend", "sent over SMTP"); the delivery's log line uses it, so the log says
what happened.  The demo keeps its messages in a mailbox of its own
(:mod:`doorstep.notify.demo_mailbox`).

:func:`from_settings` picks the adapters the settings name
(``DOORSTEP_MAIL_BACKEND=smtp|console``, ``DOORSTEP_SMS_BACKEND=console``,
``DOORSTEP_PUSH_BACKEND=console``); it is cheap (no connection is opened), so a
job may call it for each message.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from doorstep.core.clock import Clock
from doorstep.core.errors import ConfigurationError
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Environment, Settings
from doorstep.notify.exceptions import DeliveryError
from doorstep.notify.messages import Email, Message, Push, Sms
from doorstep.notify.models import OutboxMessage

log = logging.getLogger("doorstep.notify")


class Mailer(Protocol):
    """Sends e-mail."""

    def send(self, email: Email) -> None:
        """Hand ``email`` over, or raise DeliveryError."""
        ...


class SmsSender(Protocol):
    """Sends SMS."""

    def send(self, sms: Sms) -> None:
        """Hand ``sms`` over, or raise DeliveryError."""
        ...


class PushSender(Protocol):
    """Sends push notifications."""

    def send(self, push: Push) -> None:
        """Hand ``push`` over, or raise DeliveryError."""
        ...


M = TypeVar("M", Email, Sms, Push)


def _log_unsent(kind: str, message: Message) -> None:
    log.info(
        "%s not sent: console backend",
        kind,
        extra={"outbox_id": str(message.outbox_id), "template": message.template},
    )


class ConsoleMailer:
    """Development mailer: logs ``outbox_id`` and ``template`` only."""

    outlet = "not sent: console backend"

    def send(self, email: Email) -> None:
        """Log that ``email`` would be sent."""
        _log_unsent("e-mail", email)


class ConsoleSms:
    """Development SMS sender: logs ``outbox_id`` and ``template`` only."""

    outlet = "not sent: console backend"

    def send(self, sms: Sms) -> None:
        """Log that ``sms`` would be sent."""
        _log_unsent("sms", sms)


class ConsolePush:
    """Development push sender: logs ``outbox_id`` and ``template`` only."""

    outlet = "not sent: console backend"

    def send(self, push: Push) -> None:
        """Log that ``push`` would be sent."""
        _log_unsent("push", push)


class _Recording(Generic[M]):
    """Keeps every message it is given; raises the queued failures first.  Thread-safe."""

    def __init__(self) -> None:
        self.sent: list[M] = []
        self.failures: list[DeliveryError] = []
        self._lock = threading.Lock()

    def fail_next(self, *errors: DeliveryError) -> None:
        """Make the next ``len(errors)`` sends raise these errors, in order."""
        with self._lock:
            self.failures.extend(errors)

    def send(self, message: M) -> None:
        """Record ``message``, or raise the next queued failure."""
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            self.sent.append(message)


class RecordingMailer(_Recording[Email]):
    """Test mailer: ``sent`` lists the e-mails handed over."""


class RecordingSms(_Recording[Sms]):
    """Test SMS sender: ``sent`` lists the SMS handed over."""


class RecordingPush(_Recording[Push]):
    """Test push sender: ``sent`` lists the notifications handed over."""


#: ``(session, message, clock) -> the parameters that may leave``: the sharing gate's
#: check of a delivery (the composition root installs it); raises DeliveryError to refuse.
ReleaseCheck = Callable[[Session, OutboxMessage, Clock], Mapping[str, str]]


@dataclass(frozen=True)
class Adapters:
    """The adapter for each channel, and the check every delivery passes before it leaves.

    ``release`` is the sharing gate's (decision 0030); None only where no composition
    root is installed (a bare test of delivery).
    """

    mailer: Mailer
    sms: SmsSender
    push: PushSender
    release: ReleaseCheck | None = None


AdaptersProvider = Callable[[Runtime], Adapters]
_providers: list[AdaptersProvider] = []


def install_adapters_provider(provider: AdaptersProvider) -> None:
    """Let :func:`adapters_of` answer with ``provider`` (the composition root's services)."""
    _providers[:] = [provider]


def adapters_of(runtime: Runtime) -> Adapters:
    """The adapters of ``runtime``'s process: the installed provider's, else the settings'.

    The composition root installs the process's shared services (where the demo puts its
    mailbox); without it, the adapters ``runtime.settings`` name, with no pack sender.
    """
    if _providers:
        return _providers[0](runtime)
    return from_settings(runtime.settings)


def outlet_of(adapter: object) -> str:
    """What handing a message to ``adapter`` means, for the log ("sent" unless it says)."""
    outlet = getattr(adapter, "outlet", "sent")
    return outlet if isinstance(outlet, str) else "sent"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost``, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mail_from(settings: Settings, pack_sender: str | None) -> str:
    """The From address: ``mail_from``, else ``pack_sender`` (the policy pack's controller).

    ``pack_sender`` is the controller's name and e-mail as an address
    (:func:`email.utils.formataddr`), given by the composition root, which knows the pack.
    """
    if settings.mail_from:
        return settings.mail_from
    if pack_sender is None:
        raise ConfigurationError(
            "DOORSTEP_MAIL_FROM must be set: the policy pack names no controller"
        )
    return pack_sender


def _check_smtp(settings: Settings) -> None:
    loopback = is_loopback(settings.smtp_host)
    if settings.smtp_security == "none" and not loopback:
        if settings.env is Environment.PRODUCTION:
            raise ConfigurationError(
                "DOORSTEP_SMTP_SECURITY=none is allowed only for a loopback SMTP host in "
                "production; use starttls or tls"
            )
        if settings.smtp_username:
            raise ConfigurationError(
                "SMTP AUTH needs DOORSTEP_SMTP_SECURITY=starttls or tls for a remote host"
            )


def mailer_from_settings(settings: Settings, pack_sender: str | None = None) -> Mailer:
    """The mailer ``settings.mail_backend`` names; ConfigurationError if it cannot work.

    ``pack_sender``: the From address when ``mail_from`` is not set (see :func:`mail_from`).
    """
    if settings.mail_backend == "console":
        return ConsoleMailer()
    from doorstep.notify._smtp import SmtpMailer

    _check_smtp(settings)
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
        from_address=mail_from(settings, pack_sender),
        timeout=settings.smtp_timeout_seconds,
        ca_file=settings.smtp_ca_file,
    )


def from_settings(settings: Settings, pack_sender: str | None = None) -> Adapters:
    """The adapters the settings choose (no connection is opened); see :func:`mail_from`."""
    sms: SmsSender = ConsoleSms()  # settings.sms_backend has only "console" so far
    push: PushSender = ConsolePush()  # likewise settings.push_backend
    return Adapters(mailer=mailer_from_settings(settings, pack_sender), sms=sms, push=push)
