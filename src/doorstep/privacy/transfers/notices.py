"""The notice a subject receives before its data leaves its home country (CORP-7.3).

:func:`email_notifier` builds the gate's :data:`~.gate.Notifier` from a way to
find the subject's address (the composition root knows the accounts; this
package sits below them): it queues ``transfer.notice`` by e-mail, or the short
``transfer.notice_sms`` to a subscriber known by mobile number only, through the
outbox in the caller's transaction, so the notice commits with the transfer or
not at all.  The message names the destination country (in the subscriber's language),
the recipient and the purpose as the pack describes them, the data by element
name, and the ground (a message id of :data:`_GROUNDS`, translated when queued).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from babel import Locale
from sqlalchemy.orm import Session

from doorstep.core.clock import Clock
from doorstep.locale import _, gettext_for
from doorstep.notify.services import queue_email, queue_sms
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.transfers.gate import Notifier, TransferNotice

TEMPLATE = "transfer.notice"
SMS_TEMPLATE = "transfer.notice_sms"


@dataclass(frozen=True, slots=True)
class NoticeAddress:
    """Where a subject is told: by e-mail, or by SMS when it gave no e-mail address."""

    channel: Literal["email", "sms"]
    to: str
    locale: str


#: ``(session, subject_id) -> NoticeAddress``, or None when the subject cannot be told.
AddressLookup = Callable[[Session, uuid.UUID], NoticeAddress | None]

#: The ground of a transfer as the notice words it (message ids, translated when queued).
_GROUNDS = {
    "adequacy": _("an adequacy finding for that country"),
    "standard_contract": _("a data transfer contract signed with the recipient"),
    "binding_rules": _("binding corporate rules"),
    "consent": _("your consent"),
}


def country_name(code: str, locale: str = "en") -> str:
    """The country's name in ``locale`` (the code itself when unknown)."""
    try:
        return str(Locale.parse(locale).territories.get(code, code))
    except (ValueError, TypeError):
        return code


def recipient_name(pack: PolicyPack, recipient: str) -> str:
    """How the pack describes a recipient key (or ``region:<key>``)."""
    if recipient.startswith("region:"):
        return pack.regions.get(recipient.removeprefix("region:")) or recipient
    return pack.recipients.get(recipient) or recipient


def email_notifier(pack: PolicyPack, clock: Clock, address_of: AddressLookup) -> Notifier:
    """A notifier that sends the notice to the address ``address_of`` finds.

    By e-mail the notice names purpose, data, recipient, destination and ground; by
    SMS (a subscriber with a mobile number only) the same, shorter.
    """

    def notify(session: Session, notice: TransferNotice) -> uuid.UUID | None:
        found = address_of(session, notice.subject_id)
        if found is None:
            return None
        locale = found.locale
        purpose = pack.purposes.get(notice.purpose)
        params = {
            "purpose": purpose.description.rstrip(".").lower() if purpose else notice.purpose,
            "data": ", ".join(notice.elements),
            "recipient": recipient_name(pack, notice.recipient),
            "destination": country_name(notice.destination, locale),
            "mechanism": gettext_for(locale).gettext(_GROUNDS[notice.mechanism.value]),
        }
        queue = queue_email if found.channel == "email" else queue_sms
        return queue(
            session,
            subject_id=notice.subject_id,
            to=found.to,
            template=TEMPLATE if found.channel == "email" else SMS_TEMPLATE,
            params=params,
            clock=clock,
            locale=locale,
        )

    return notify
