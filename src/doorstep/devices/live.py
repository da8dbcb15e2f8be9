"""Live status and reboot: asked of the device at the moment the owner asks.

* :func:`live_status` — the terminals connected to the router or gateway now, host
  name and MAC address (``Device.Hosts.Host.{i}.HostName``, ``.PhysAddress``, only
  the ``Active`` ones), read through one USP Get and returned to the owner
  (CPE-I.iii.R5).  They are never persisted, cached, logged, audited by value or put
  in a job payload (CPE-I.iii.R6): the list exists in this function's frame and in
  the response, nowhere else.  The audit event names the device id only.  A
  device that lacks ``Device.Hosts.`` answers the Get with a per-path error (7026
  invalid path, 7016 no such object): that is
  :class:`~doorstep.devices.exceptions.FunctionUnsupportedError` ("this device
  doesn't report its connected devices"), audited as a refusal, never an empty
  list; another per-path error is the device's refusal (``DeviceRefusedError``).
* :func:`reboot` — ``Device.Reboot()`` (on record as ``sent`` before it leaves,
  :func:`.access.sending`); the device drops its connection, comes back
  and reports ``Boot!`` (which re-reads its registration).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from doorstep.core.errors import DoorstepError
from doorstep.devices.access import owned_device, require_function, sending, use
from doorstep.devices.exceptions import DeviceRefusedError, FunctionUnsupportedError
from doorstep.devices.pppoe import with_audit
from doorstep.devices.remote import DeviceLink
from doorstep.privacy.purposes import PurposeGate

STATUS_PURPOSE = "device.status_query"
FUNCTION_PURPOSE = "device.product_functions"
ELEMENT = "device_registrations.endpoint_id"
HOSTS = "Device.Hosts.Host."
#: Per-path error codes that say the device has no such object (not "no hosts").
MISSING_PATH_CODES = frozenset({7026, 7016})
_HOST = re.compile(r"Device\.Hosts\.Host\.([0-9]+)\.(HostName|PhysAddress|Active)")
_TRUE = frozenset({"true", "1"})


@dataclass(frozen=True, slots=True)
class Terminal:
    """A device connected to the router now (relayed, never stored)."""

    host_name: str = field(repr=False)
    mac_address: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """What the device reported just now."""

    terminals: list[Terminal]


async def live_status(
    session: Session,
    gate: PurposeGate,
    link: DeviceLink,
    *,
    subject_id: uuid.UUID,
    device_id: uuid.UUID,
) -> LiveStatus:
    """The terminals connected to the owner's device, fetched from it now."""
    owned = owned_device(session, subject_id, device_id)
    action = "devices.status_queried"
    require_function(owned, "status", action=action, purpose=STATUS_PURPOSE)
    use(session, gate, subject_id, [ELEMENT], STATUS_PURPOSE, action=action,
        details={"device": str(device_id)})  # fmt: skip
    paths = [f"{HOSTS}*.HostName", f"{HOSTS}*.PhysAddress", f"{HOSTS}*.Active"]
    try:
        answer = await link.get(owned.endpoint(), paths, purpose=STATUS_PURPOSE)
        _per_path(answer.failures)
    except DoorstepError as exc:
        outcome = "refused" if isinstance(exc, FunctionUnsupportedError) else "failed"
        raise with_audit(
            exc,
            action=action,
            subject_id=subject_id,
            purpose=STATUS_PURPOSE,
            device_id=device_id,
            outcome=outcome,
        ) from None
    hosts: dict[int, dict[str, str]] = {}
    for path, value in answer.values.items():
        match = _HOST.fullmatch(path)
        if match:
            hosts.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return LiveStatus(
        [
            Terminal(host.get("HostName", ""), host.get("PhysAddress", "").lower())
            for _, host in sorted(hosts.items())
            if host.get("Active", "true").lower() in _TRUE
        ]
    )


def _per_path(failures: dict[str, int]) -> None:
    """Raise for the first path the device answered with an error."""
    for code in failures.values():
        if code in MISSING_PATH_CODES:
            raise FunctionUnsupportedError("status", HOSTS + "{i}.", usp_code=code)
        raise DeviceRefusedError(code)


async def reboot(
    session: Session,
    gate: PurposeGate,
    link: DeviceLink,
    *,
    subject_id: uuid.UUID,
    device_id: uuid.UUID,
) -> None:
    """Ask the owner's device to reboot (``Device.Reboot()``, cause RemoteReboot)."""
    owned = owned_device(session, subject_id, device_id)
    action = "devices.rebooted"
    require_function(owned, "reboot", action=action, purpose=FUNCTION_PURPOSE)
    use(session, gate, subject_id, [ELEMENT], FUNCTION_PURPOSE, action=action,
        details={"device": str(device_id)})  # fmt: skip
    sending(session, action=action, subject_id=subject_id, purpose=FUNCTION_PURPOSE,
            device_id=device_id)  # fmt: skip
    try:
        await link.operate(
            owned.endpoint(),
            "Device.Reboot()",
            {"Cause": "RemoteReboot"},
            purpose=FUNCTION_PURPOSE,
        )
    except DoorstepError as exc:
        raise with_audit(
            exc, action=action, subject_id=subject_id, purpose=FUNCTION_PURPOSE,
            device_id=device_id,
        ) from None  # fmt: skip
