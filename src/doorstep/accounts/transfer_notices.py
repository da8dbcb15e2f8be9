"""Where a subscriber is told of a transfer of its data abroad (CORP-7.3).

The transfer gate (:mod:`doorstep.privacy.transfers`) sits below the accounts
area and cannot read an account; the composition root hands it
:func:`notice_address`, which finds the subscriber's e-mail address and
language: its e-mail address, else (a subscriber who signed up with a mobile
number only) its mobile number, so the notice goes by SMS (decision 0035).  The
address is read through the purpose gate for ``privacy.rights`` (telling a
subject what happens to its data) and the read is audited; a subject without an
account, without an address or number, with a closed account, or whose address
the gate refuses, cannot be told, and the gate then refuses the transfer
(``notice_undeliverable``).
"""

from __future__ import annotations

import uuid
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.models import Account, AccountStatus
from doorstep.audit.entries import system_actor
from doorstep.core.errors import PurposeRefusedError
from doorstep.privacy.purposes import PurposeGate
from doorstep.privacy.transfers.notices import AddressLookup, NoticeAddress

#: The purpose the address is read for: telling the subject about its data.
PURPOSE = "privacy.rights"
ELEMENTS = {"email": "accounts.email", "sms": "accounts.phone"}
ACTOR = system_actor("transfers")


def notice_address(gate: PurposeGate) -> AddressLookup:
    """The gate's address lookup: ``(session, subject) -> NoticeAddress`` or None."""

    def address_of(session: Session, subject_id: uuid.UUID) -> NoticeAddress | None:
        found = session.execute(
            sa.select(Account.email, Account.phone, Account.language, Account.status).where(
                Account.id == subject_id
            )
        ).one_or_none()
        if found is None or found.status is AccountStatus.DEREGISTERED:
            return None
        by_email = found.email is not None
        to = found.email if by_email else found.phone
        if to is None:
            return None
        channel: Literal["email", "sms"] = "email" if by_email else "sms"
        try:
            gate.for_subject(session, subject_id, actor=ACTOR).check(
                ELEMENTS[channel], PURPOSE, audit=True, details={"use": "transfer_notice"}
            )
        except PurposeRefusedError:
            return None  # audited by the gate; the transfer is then refused, not sent
        return NoticeAddress(channel, to, found.language)

    return address_of
