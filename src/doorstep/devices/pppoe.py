"""PPPoE: the Internet-access configuration of a router or gateway (CPE-I.iii.R1, R2, G).

:func:`set_pppoe` checks the purpose (``device.internet_access``), sends the account
and password to the device in one all-or-nothing USP Set of
``Device.PPP.Interface.{i}.Username`` and ``.Password``, and only once the device
answered with success seals both with the owner's data key and stores them, in the
request's transaction with its audit event.  A device that refuses the Set raises
:class:`~doorstep.devices.exceptions.DeviceRefusedError` with its USP code; the
transaction rolls back, so nothing is stored as if it had succeeded, and the failed
attempt is still audited (it carries its :class:`AuditEntry`, which
``audited_transaction`` writes after the rollback).  Before the Set leaves, the change
is on record as ``sent`` in a transaction of its own (:func:`.access.sending`): should
the process die before the request commits, the trail shows the change the device may
hold while the stored copy keeps what the device last confirmed.

The credentials live under the binding they were set in and are deleted when it
ends (:func:`doorstep.devices.binding.end_binding`).  The password is never given
back, not even to the owner (the data map describes it, never exports it):
:func:`read_pppoe` returns the account name, whether a password is stored and
when it was set, and decrypts the account name only.  No function here logs a value.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.audit.entries import AuditEntry, subject_actor
from doorstep.core.errors import DoorstepError, InvalidInputError
from doorstep.devices.access import owned_device, require_function, sending, use
from doorstep.devices.fleet.wipe_guard import refuse_while_clearing
from doorstep.devices.models import DevicePppoe
from doorstep.devices.remote import DeviceLink
from doorstep.keys.services import KeyService
from doorstep.privacy.purposes import PurposeGate

PURPOSE = "device.internet_access"
USERNAME = "device_pppoe.username"
PASSWORD = "device_pppoe.password"  # noqa: S105 - an element name, not a password
ELEMENTS = (USERNAME, PASSWORD)
SET_AT = "device_pppoe.set_at"
#: What :func:`read_pppoe` uses: the password is never read back.
READ_ELEMENTS = (USERNAME, SET_AT)
_PRINTABLE = re.compile(r"[\x20-\x7e]{1,64}")


@dataclass(frozen=True, slots=True)
class PppoeSettings:
    """The PPPoE settings stored for a device as its owner sees them: never the password."""

    username: str = field(repr=False)
    password_set: bool = True
    interface: int = 1
    set_at: datetime | None = None


def _check(username: str, password: str, interface: int) -> None:
    errors = []
    if not _PRINTABLE.fullmatch(username):
        errors.append({"field": "username", "rule": "1 to 64 printable ASCII characters"})
    if not _PRINTABLE.fullmatch(password):
        errors.append({"field": "password", "rule": "1 to 64 printable ASCII characters"})
    if not 1 <= interface <= 64:
        errors.append({"field": "interface", "rule": "an instance number from 1 to 64"})
    if errors:
        raise InvalidInputError("invalid PPPoE settings", errors=errors)


def with_audit(
    exc: DoorstepError,
    *,
    action: str,
    subject_id: uuid.UUID,
    purpose: str,
    device_id: uuid.UUID,
    outcome: str = "failed",
) -> DoorstepError:
    """Attach the audit record of a failed device request, kept after the rollback.

    ``outcome`` is ``failed`` (the device could not do it) or ``refused`` (Doorstep
    refused, e.g. a function the device does not support).
    """
    details: dict[str, str | int | bool | None] = {"device": str(device_id), "error": exc.code}
    if "usp_code" in exc.fields:
        details["usp_code"] = int(exc.fields["usp_code"])
    entry = AuditEntry(
        action=action,
        actor=subject_actor(subject_id),
        subject_id=subject_id,
        purpose=purpose,
        outcome=outcome,
        details=details,
    )
    setattr(exc, "audit_entry", entry)  # noqa: B010 - read by audited_transaction
    return exc


async def set_pppoe(
    session: Session,
    gate: PurposeGate,
    keys: KeyService,
    link: DeviceLink,
    *,
    subject_id: uuid.UUID,
    device_id: uuid.UUID,
    username: str,
    password: str,
    interface: int,
    now: datetime,
) -> datetime:
    """Set PPPoE on the device, then store the credentials sealed; return ``set_at``."""
    _check(username, password, interface)
    owned = owned_device(session, subject_id, device_id, lock=True)
    require_function(owned, "pppoe", action="devices.pppoe_set", purpose=PURPOSE)
    refuse_while_clearing(session, device_id)  # the previous owner's removal first (0042)
    action = "devices.pppoe_set"
    use(session, gate, subject_id, ELEMENTS, PURPOSE, action=action,
        details={"device": str(device_id), "interface": interface})  # fmt: skip
    prefix = f"Device.PPP.Interface.{interface}."
    sending(session, action=action, subject_id=subject_id, purpose=PURPOSE, device_id=device_id)
    try:
        await link.set(
            owned.endpoint(),
            {prefix + "Username": username, prefix + "Password": password},
            purpose=PURPOSE,
        )
    except DoorstepError as exc:
        raise with_audit(
            exc, action=action, subject_id=subject_id, purpose=PURPOSE, device_id=device_id
        ) from None
    values = {
        "interface": interface,
        "username": keys.encrypt(session, subject_id, username, context=USERNAME),
        "password": keys.encrypt(session, subject_id, password, context=PASSWORD),
        "set_at": now,
    }
    session.execute(
        insert(DevicePppoe)
        .values(binding_id=owned.binding_id, **values)
        .on_conflict_do_update(index_elements=["binding_id"], set_=values)
    )
    return now


def read_pppoe(
    session: Session,
    gate: PurposeGate,
    keys: KeyService,
    *,
    subject_id: uuid.UUID,
    device_id: uuid.UUID,
) -> PppoeSettings | None:
    """The owner's PPPoE account name (decrypted), whether a password is stored and when.

    None when nothing is stored.  The password is neither decrypted nor returned.
    """
    owned = owned_device(session, subject_id, device_id)
    use(session, gate, subject_id, READ_ELEMENTS, PURPOSE, action="devices.pppoe_read",
        details={"device": str(device_id)})  # fmt: skip
    row = session.get(DevicePppoe, owned.binding_id)
    if row is None:
        return None
    return PppoeSettings(
        username=keys.decrypt(session, subject_id, row.username, context=USERNAME).decode(),
        password_set=bool(row.password),
        interface=row.interface,
        set_at=row.set_at,
    )


def pppoe_set_at(
    session: Session, gate: PurposeGate, *, subject_id: uuid.UUID, device_id: uuid.UUID
) -> datetime | None:
    """When the owner's PPPoE credentials were stored (None: none are); nothing is decrypted.

    For pages that only say whether credentials are stored: the use of
    ``device_pppoe.set_at`` is checked by the gate and audited, the credentials
    themselves are never read.
    """
    owned = owned_device(session, subject_id, device_id)
    use(session, gate, subject_id, [SET_AT], PURPOSE, action="devices.pppoe_state_read",
        details={"device": str(device_id)})  # fmt: skip
    row = session.get(DevicePppoe, owned.binding_id)
    return None if row is None else row.set_at
