"""A flow through the sharing gate to a recipient abroad passes the transfer gate (CORP-3.7).

:func:`cross` is the one call :meth:`~.gate.SharingGate.release` makes when the
recipient names a country (decision 0030, 0031): a domestic flow passes
untouched; a transfer is refused (``TransferRefusedError``, its audit entry
kept), or de-identified, noticed and registered by the transfer gate.  An
element the caller marks ``required`` must leave as it is (an e-mail address
the relay delivers to): when the transfer gate had to de-identify it, the flow
cannot go, and everything the transfer gate wrote for it (register row, notice,
audit) is rolled back before the sharing gate refuses it
(``not_deidentifiable``).

:func:`standing_notice` wraps the transfer gate's notifier for sharing flows: a
subject already told that the same recipient in the same country receives
these elements for this purpose on this ground is not told again at every
flow.  Without it each e-mail to a subject abroad would queue a notice whose
own delivery queues the next.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import Clock
from doorstep.privacy.transfers.gate import (
    Flow,
    Notifier,
    TransferGate,
    TransferNotice,
    TransferRefusedError,
)
from doorstep.privacy.transfers.models import Transfer


def standing_notice(notifier: Notifier) -> Notifier:
    """``notifier``, but an earlier notice of the same flow answers for a repeated one."""

    def notify(session: Session, notice: TransferNotice) -> uuid.UUID | None:
        earlier = session.scalar(
            sa.select(Transfer.notice_id)
            .where(
                Transfer.subject_id == notice.subject_id,
                Transfer.recipient == notice.recipient,
                Transfer.destination == notice.destination,
                Transfer.purpose == notice.purpose,
                Transfer.mechanism == notice.mechanism,
                Transfer.elements.contains(list(notice.elements)),
                Transfer.notice_id.is_not(None),
            )
            .limit(1)
        )
        return earlier if earlier is not None else notifier(session, notice)

    return notify


def cross(
    transfers: TransferGate,
    session: Session,
    flow: Flow,
    payload: Mapping[str, object],
    *,
    required: Collection[str],
    clock: Clock,
    actor: str,
) -> Mapping[str, object] | None:
    """The payload that may leave on ``flow`` (de-identified where the pack says so).

    None when a ``required`` element would leave de-identified: nothing the
    transfer gate wrote stays.  Raises ``TransferRefusedError`` (its audit entry
    recorded) when the transfer gate refuses the flow.
    """
    text = {key: str(value) for key, value in payload.items()}
    flush_events(session)  # what the caller audited so far stays, whatever happens below
    savepoint = session.begin_nested()
    try:
        passed = transfers.transfer(session, flow, clock=clock, actor=actor, payload=text)
    except TransferRefusedError:
        savepoint.commit()
        raise
    if passed.transfer_id is None or passed.payload is None:
        savepoint.commit()
        return payload
    cleaned = passed.payload
    if any(cleaned.get(key) != text[key] for key in required if key in text):
        flush_events(session)
        savepoint.rollback()
        return None
    savepoint.commit()
    return dict(cleaned)
