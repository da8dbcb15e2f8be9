"""What a removal clears on one router, read from its own answers (decision 0042).

Pure functions over the router's answers, so the handler (:mod:`.wipe_handler`) only
talks to the device:

* :func:`plan_of` — from one GetSupportedDM (:data:`SUPPORTED_PATHS`) and one
  GetInstances (:data:`TABLES`): the PPP interfaces whose ``Username``/``Password``
  the model lets a controller write, the SSIDs and access points (with ``SAEPassphrase``
  where the model has it), the host entries and whether the model lets a controller
  delete them (``OBJ_DELETE_ONLY``/``OBJ_ADD_DELETE`` on ``Device.Hosts.Host.{i}.``),
  and whether it offers ``Device.FactoryReset()``.  A part the model lacks is
  ``not_supported``.
* :func:`ppp_updates`, :func:`wifi_updates` — the Sets (empty credentials; the
  neutral network name and one random passphrase the subscriber never sees).
* :func:`neutral_ssid` — ``<prefix><4 hex>`` from a keyed hash of the unit (its
  inventory key), never from its serial number or endpoint id.
* :func:`read_paths`, :func:`confirmed` — the read-back that confirms a part: every
  PPP ``Username`` empty, every SSID the neutral name, no host entry left of those
  deleted.  Passwords and passphrases are *secured* (a router reads them back as ""),
  so those are confirmed by the router's answer to the Set that carried them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from doorstep.usp import (
    GetInstancesResp,
    GetSupportedDMResp,
    ObjAccessType,
    ParamAccessType,
    SupportedObject,
)

PPP = "Device.PPP.Interface."
SSID = "Device.WiFi.SSID."
ACCESS_POINT = "Device.WiFi.AccessPoint."
HOST = "Device.Hosts.Host."
FACTORY_RESET = "Device.FactoryReset()"
TABLES = (PPP, SSID, ACCESS_POINT, HOST)
"""The tables whose instances a removal reads (GetInstances, first level only)."""
SUPPORTED_PATHS = (
    "Device.",
    PPP + "{i}.",
    SSID + "{i}.",
    ACCESS_POINT + "{i}.Security.",
    HOST + "{i}.",
)
"""What one GetSupportedDM (first level) asks: commands of ``Device.``, the parameters
of the interfaces, SSIDs and access points, and the access of the host table."""
_DELETABLE = frozenset({ObjAccessType.OBJ_DELETE_ONLY, ObjAccessType.OBJ_ADD_DELETE})
_WRITABLE = frozenset({ParamAccessType.PARAM_READ_WRITE, ParamAccessType.PARAM_WRITE_ONLY})
_PASSPHRASE_BYTES = 18
"""A random passphrase of 24 URL-safe characters (144 bits), within WPA's 8 to 63."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What this router lets a controller clear, and its instances now."""

    ppp: tuple[str, ...] = ()
    ssids: tuple[str, ...] = ()
    access_points: tuple[str, ...] = ()
    sae: bool = False
    """The access points have ``Security.SAEPassphrase`` (WPA3), cleared as well."""
    hosts: tuple[str, ...] = ()
    hosts_deletable: bool = False
    factory_reset: bool = False

    @property
    def has_pppoe(self) -> bool:
        """Whether the model has a PPP interface whose credentials can be written."""
        return bool(self.ppp)

    @property
    def has_wifi(self) -> bool:
        """Whether the model has SSIDs or access points to clear."""
        return bool(self.ssids or self.access_points)


def _objects(answer: GetSupportedDMResp) -> dict[str, SupportedObject]:
    return {
        obj.supported_obj_path: obj
        for result in answer.req_obj_results
        if not result.err_code
        for obj in result.supported_objs
    }


def _writable(obj: SupportedObject | None, *names: str) -> bool:
    if obj is None:
        return False
    writable = {p.param_name for p in obj.supported_params if p.access in _WRITABLE}
    return all(name in writable for name in names)


def _direct(instances: Iterable[str], table: str) -> tuple[str, ...]:
    pattern = re.compile(re.escape(table) + r"[0-9]+\.")
    return tuple(path for path in dict.fromkeys(instances) if pattern.fullmatch(path))


def plan_of(supported: GetSupportedDMResp, instances: GetInstancesResp) -> Plan:
    """The plan for a router from its GetSupportedDM and GetInstances answers."""
    objects = _objects(supported)
    found = instances.instances
    ppp_ok = _writable(objects.get(PPP + "{i}."), "Username", "Password")
    security = objects.get(ACCESS_POINT + "{i}.Security.")
    host = objects.get(HOST + "{i}.")
    device = objects.get("Device.")
    commands = {c.command_name for c in device.supported_commands} if device else set()
    return Plan(
        ppp=_direct(found, PPP) if ppp_ok else (),
        ssids=_direct(found, SSID) if _writable(objects.get(SSID + "{i}."), "SSID") else (),
        access_points=_direct(found, ACCESS_POINT) if _writable(security, "KeyPassphrase") else (),
        sae=_writable(security, "SAEPassphrase"),
        hosts=_direct(found, HOST),
        hosts_deletable=host is not None and host.access in _DELETABLE,
        factory_reset="FactoryReset()" in commands,
    )


def neutral_ssid(prefix: str, unit_key: bytes) -> str:
    """The network name of a cleared router: ``prefix`` and 4 hex digits of its keyed hash."""
    return f"{prefix}{unit_key.hex()[:4].upper()}"


def random_passphrase() -> str:
    """A passphrase nobody knows: never stored, logged or shown (the next owner sets theirs)."""
    return secrets.token_urlsafe(_PASSPHRASE_BYTES)


def ppp_updates(plan: Plan) -> dict[str, str]:
    """Empty ``Username`` and ``Password`` of every PPP interface."""
    updates: dict[str, str] = {}
    for interface in plan.ppp:
        updates[interface + "Username"] = ""
        updates[interface + "Password"] = ""
    return updates


def wifi_updates(plan: Plan, ssid: str, passphrase: str) -> dict[str, str]:
    """Every SSID to the neutral name, every access point's passphrase(s) to ``passphrase``."""
    updates = {path + "SSID": ssid for path in plan.ssids}
    for access_point in plan.access_points:
        updates[access_point + "Security.KeyPassphrase"] = passphrase
        if plan.sae:
            updates[access_point + "Security.SAEPassphrase"] = passphrase
    return updates


def read_paths(plan: Plan) -> list[str]:
    """What the read-back Gets: the PPP account names and the network names."""
    paths = [interface + "Username" for interface in plan.ppp]
    return paths + [path + "SSID" for path in plan.ssids]


def confirmed(values: Mapping[str, str], plan: Plan, ssid: str) -> dict[str, bool]:
    """Per part, whether the read-back shows it cleared (``pppoe``, ``wifi``)."""
    return {
        "pppoe": all(values.get(i + "Username") == "" for i in plan.ppp),
        "wifi": all(values.get(s + "SSID") == ssid for s in plan.ssids),
    }
