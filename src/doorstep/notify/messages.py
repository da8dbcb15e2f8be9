"""The messages the delivery adapters send: an e-mail, an SMS, a push notification.

Plain values built by delivery from an outbox row; the adapters
(:mod:`doorstep.notify.adapters`, :mod:`doorstep.notify._smtp`) take them.  Their
personal fields (recipient, text) are left out of ``repr`` so a logged message
shows ids only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Email:
    """An e-mail ready to send.  ``date`` dates the message (from the injected clock)."""

    outbox_id: uuid.UUID
    template: str
    date: datetime
    to: str = field(repr=False)
    subject: str = field(repr=False)
    text: str = field(repr=False)
    html: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Sms:
    """An SMS ready to send; ``to`` is E.164."""

    outbox_id: uuid.UUID
    template: str
    to: str = field(repr=False)
    text: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Push:
    """A push notification ready to send to one device token."""

    outbox_id: uuid.UUID
    template: str
    device_token: str = field(repr=False)
    title: str = field(repr=False)
    body: str = field(repr=False)


#: Any message an adapter sends.
Message = Email | Sms | Push
