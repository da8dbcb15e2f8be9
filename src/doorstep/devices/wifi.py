"""Wi-Fi: set the network name and password; relay a scan of nearby networks.

* :func:`set_wifi` — the manual path, always available (CPE-I.iii.R3, CPE-V.4.c):
  one USP Set of ``Device.WiFi.SSID.{i}.SSID`` and
  ``Device.WiFi.AccessPoint.{i}.Security.KeyPassphrase`` with ``allow_partial``:
  the two objects are independent on a device, so one the device refuses is
  reported with what it did apply (``DevicePartlyAppliedError``: ``applied`` and
  ``not_applied`` names, decision 0028).  Nothing is stored: the device page reads
  the network name back from the device (CPE-V.1.b, X-11).  The change is on record
  as ``sent`` before it leaves (:func:`.access.sending`).
* :func:`scan_wifi` — the optional function: the device's
  ``NeighboringWiFiDiagnostic()`` site survey, allowed only while the subscriber's
  consent ``wifi.location_scan`` is live (nearby networks reveal where the home is);
  the ledger decides (:func:`.access.require_consent`), the device is reached under
  ``device.wireless_config``, and the audit record names the grant relied on.  The
  result goes from the device's Notify to the app in memory: never stored, cached,
  logged, audited by value or put in a job (CPE-I.iii.R4).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from doorstep.core.errors import DoorstepError, InvalidInputError
from doorstep.devices.access import (
    owned_device,
    require_consent,
    require_function,
    sending,
    use,
)
from doorstep.devices.fleet.wipe_guard import refuse_while_clearing
from doorstep.devices.pppoe import with_audit
from doorstep.devices.remote import DeviceLink
from doorstep.privacy.purposes import PurposeGate

CONFIG_PURPOSE = "device.wireless_config"
SCAN_PURPOSE = "wifi.location_scan"
ELEMENT = "device_registrations.endpoint_id"
SITE_SURVEY = "Device.WiFi.NeighboringWiFiDiagnostic()"
_PASSPHRASE = re.compile(r"[\x20-\x7e]{8,63}")
_RESULT = re.compile(r"Result\.([0-9]+)\.([A-Za-z]+)")


@dataclass(frozen=True, slots=True)
class Network:
    """One nearby network the device saw; relayed to the app, never stored."""

    ssid: str
    bssid: str
    channel: int | None
    signal_strength: int | None
    band: str
    security: str


def _check(ssid: str, passphrase: str, index: int) -> None:
    errors = []
    if not 1 <= len(ssid.encode("utf-8")) <= 32 or not ssid.isprintable():
        errors.append({"field": "ssid", "rule": "1 to 32 bytes, printable"})
    if not _PASSPHRASE.fullmatch(passphrase):
        errors.append({"field": "passphrase", "rule": "8 to 63 printable ASCII characters"})
    if not 1 <= index <= 16:
        errors.append({"field": "index", "rule": "an instance number from 1 to 16"})
    if errors:
        raise InvalidInputError("invalid Wi-Fi settings", errors=errors)


async def set_wifi(
    session: Session,
    gate: PurposeGate,
    link: DeviceLink,
    *,
    subject_id: uuid.UUID,
    device_id: uuid.UUID,
    ssid: str,
    passphrase: str,
    index: int = 1,
) -> None:
    """Set the network name and passphrase of SSID/AccessPoint ``index`` on the device."""
    _check(ssid, passphrase, index)
    owned = owned_device(session, subject_id, device_id)
    action = "devices.wifi_set"
    require_function(owned, "wifi", action=action, purpose=CONFIG_PURPOSE)
    refuse_while_clearing(session, device_id)  # the previous owner's removal first (0042)
    use(session, gate, subject_id, [ELEMENT], CONFIG_PURPOSE, action=action,
        details={"device": str(device_id), "index": index})  # fmt: skip
    updates = {
        f"Device.WiFi.SSID.{index}.SSID": ssid,
        f"Device.WiFi.AccessPoint.{index}.Security.KeyPassphrase": passphrase,
    }
    sending(session, action=action, subject_id=subject_id, purpose=CONFIG_PURPOSE,
            device_id=device_id)  # fmt: skip
    try:
        await link.set(owned.endpoint(), updates, purpose=CONFIG_PURPOSE, allow_partial=True)
    except DoorstepError as exc:
        raise with_audit(
            exc, action=action, subject_id=subject_id, purpose=CONFIG_PURPOSE, device_id=device_id
        ) from None


async def scan_wifi(
    session: Session,
    gate: PurposeGate,
    link: DeviceLink,
    *,
    subject_id: uuid.UUID,
    device_id: uuid.UUID,
) -> list[Network]:
    """Run the device's site survey and return what it saw (with location consent only)."""
    owned = owned_device(session, subject_id, device_id)
    action = "devices.wifi_scanned"
    require_function(owned, "wifi_scan", action=action, purpose=SCAN_PURPOSE)
    grant = require_consent(session, gate, subject_id, SCAN_PURPOSE, element=ELEMENT)
    use(session, gate, subject_id, [ELEMENT], CONFIG_PURPOSE, action=action,
        details={"device": str(device_id), "consent_event": grant})  # fmt: skip
    try:
        output = await link.run_async(owned.endpoint(), SITE_SURVEY, purpose=CONFIG_PURPOSE)
    except DoorstepError as exc:
        raise with_audit(
            exc, action=action, subject_id=subject_id, purpose=SCAN_PURPOSE, device_id=device_id
        ) from None
    return networks_of(output)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def networks_of(output: Mapping[str, str]) -> list[Network]:
    """The ``Result.{i}.*`` output arguments as networks, by instance (decoded defensively)."""
    found: dict[int, dict[str, str]] = {}
    for key, value in output.items():
        match = _RESULT.fullmatch(key.removeprefix("Device.WiFi.NeighboringWiFiDiagnostic()."))
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [
        Network(
            ssid=fields.get("SSID", ""),
            bssid=fields.get("BSSID", ""),
            channel=_int(fields.get("Channel")),
            signal_strength=_int(fields.get("SignalStrength")),
            band=fields.get("OperatingFrequencyBand", ""),
            security=fields.get("SecurityModeEnabled", ""),
        )
        for _, fields in sorted(found.items())
    ]
