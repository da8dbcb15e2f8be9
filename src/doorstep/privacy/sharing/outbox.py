"""The outbox's messages pass the sharing gate before their processor carries them.

The composition root installs :func:`outbox_release` as ``Adapters.release``.  A
message's payload is its recipient column (``outbox.email``, ``.phone``
or ``.device_token``, required) and each template parameter as
``outbox.params.<name>``; the processor the pack registers for the
channel (for the subject's home country, :meth:`.SharingGate.carrier`) must hold
an active agreement and a share for ``notification.delivery``.
A parameter outside the share is withheld: the message goes out with
:data:`WITHHELD` in its place, never the value (CORP-3.1).  A refusal ends the
delivery as a permanent failure ``sharing_refused`` (the refusal is audited with
its reason in the delivery's transaction).  A channel no processor carries is
the operator's own infrastructure: nothing leaves to a recipient, nothing is
registered.  A processor in another country than the subject's home is a
transfer (CORP-3.7, decision 0035): without a mechanism (the subscriber's
consent, asked at sign-up) the delivery fails ``transfer_refused``;
where the pack asks for de-identification a parameter goes out as its
pseudonym, and the address itself cannot, so the delivery fails
``sharing_refused`` (reason ``not_deidentifiable``).  The gate sees the values
to check them; it records element names only.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from doorstep.core.clock import Clock
from doorstep.notify.adapters import ReleaseCheck
from doorstep.notify.exceptions import DeliveryError
from doorstep.notify.models import PURPOSE, RECIPIENT_COLUMN, OutboxMessage
from doorstep.privacy.sharing.decisions import SharingRefusedError
from doorstep.privacy.sharing.gate import SharingGate
from doorstep.privacy.transfers.gate import TransferRefusedError
from doorstep.privacy.transfers.mechanisms import home_of

#: What a withheld parameter reads as in the message that leaves.
WITHHELD = "—"
#: The delivery's actor in the audit trail.
ACTOR = "system:doorstep.notify.deliver"
TABLE = "outbox"


def outbox_release(gate: SharingGate) -> ReleaseCheck:
    """The release check of deliveries under ``gate`` (see the module docstring)."""

    def release(session: Session, message: OutboxMessage, clock: Clock) -> Mapping[str, str]:
        params = {key: str(value) for key, value in (message.params or {}).items()}
        home = home_of(session, message.subject_id, gate.home) if gate.home else None
        carrier = gate.carrier(message.channel.value, home)
        if carrier is None:
            return params
        field = RECIPIENT_COLUMN[message.channel]
        column = f"{TABLE}.{field}"
        payload: dict[str, object] = {column: getattr(message, field)}
        payload.update({f"{TABLE}.params.{key}": value for key, value in params.items()})
        try:
            released = gate.release(
                session,
                subject_id=message.subject_id,
                recipient=carrier,
                purpose=PURPOSE,
                payload=payload,
                clock=clock,
                actor=ACTOR,
                required=(column,),
            )
        except SharingRefusedError:
            raise DeliveryError("sharing_refused", permanent=True) from None
        except TransferRefusedError:
            raise DeliveryError("transfer_refused", permanent=True) from None
        prefix = f"{TABLE}.params."
        kept = {
            key.removeprefix(prefix): str(value)
            for key, value in released.payload.items()
            if key.startswith(prefix)
        }
        return {key: kept.get(key, WITHHELD) for key in params}

    return release
