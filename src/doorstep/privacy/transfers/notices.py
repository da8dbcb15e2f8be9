"""The notice a subject receives before its data leaves its home country (CORP-7.3).

:func:`email_notifier` builds the gate's :data:`~.gate.Notifier` from a way to
find the subject's e-mail address (the composition root knows the accounts;
this package sits below them): it queues ``transfer.notice`` through the outbox
in the caller's transaction, so the notice commits with the transfer or not at
all.  The message names the destination country (in the subscriber's language),
the recipient and the purpose as the pack describes them, the data by element
name, and the ground (a message id of :data:`_GROUNDS`, translated when queued).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from babel import Locale
from sqlalchemy.orm import Session

from doorstep.core.clock import Clock
from doorstep.locale import _, gettext_for
from doorstep.notify.services import queue_email
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.transfers.gate import Notifier, TransferNotice

TEMPLATE = "transfer.notice"
#: ``(session, subject_id) -> (e-mail address, locale)``, or None when the subject has none.
AddressLookup = Callable[[Session, uuid.UUID], tuple[str, str] | None]

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
    """A notifier that e-mails the notice to the address ``address_of`` finds."""

    def notify(session: Session, notice: TransferNotice) -> uuid.UUID | None:
        found = address_of(session, notice.subject_id)
        if found is None:
            return None
        address, locale = found
        purpose = pack.purposes.get(notice.purpose)
        return queue_email(
            session,
            subject_id=notice.subject_id,
            to=address,
            template=TEMPLATE,
            params={
                "purpose": purpose.description.rstrip(".").lower() if purpose else notice.purpose,
                "data": ", ".join(notice.elements),
                "recipient": recipient_name(pack, notice.recipient),
                "destination": country_name(notice.destination, locale),
                "mechanism": gettext_for(locale).gettext(_GROUNDS[notice.mechanism.value]),
            },
            clock=clock,
            locale=locale,
        )

    return notify
