"""A simulated device's TR-181 values, and USP Get/Set/GetInstances over them.

:func:`build_values` lays out one router or gateway from a :class:`Profile`; the
:class:`DataModel` answers Get (object paths, parameter paths, ``*`` instance
wildcards; secured parameters read as ""), Set (all-or-nothing or ``allow_partial``,
``required`` parameters, errors 7010 unsupported / 7013 not writable / 7011 type /
7012 value / 7014 conflict / 7016 no such object) and GetInstances.  The firmware
image table and its Set rules come from ``_images``.

Memory: paths are interned and shared by every simulated device, and most values are
shared constants, so a device costs its dict and its few unique strings.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from doorstep.usp._requests import Get, GetInstances, Set, UpdateObject
from doorstep.usp._responses import (
    CurrInstance,
    ErrorMsg,
    GetInstancesResp,
    GetPathResult,
    GetResp,
    InstancesPathResult,
    ParamError,
    ResolvedPath,
    SetFailure,
    SetResp,
    SetSuccess,
    UpdatedInstance,
    UpdatedInstanceFailure,
    UpdatedObjectResult,
)
from doorstep.usp._types import ParameterError
from doorstep.usp.agent_sim import _images
from doorstep.usp.agent_sim._schema import SECURITY_MODES, spec_of
from doorstep.usp.codes import ErrorCode


@dataclass(frozen=True, slots=True)
class Host:
    """A terminal the device sees (Device.Hosts.Host.{i})."""

    host_name: str
    phys_address: str
    ip_address: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class Profile:
    """What makes one simulated device itself."""

    endpoint_id: str
    oui: str
    serial_number: str
    product_class: str = "router"
    manufacturer: str = "Doorstep Simulated Devices"
    model_name: str = "DS-1000"
    software_version: str = "1.0.0"
    hardware_version: str = "A1"
    wan_mac: str = "02:00:00:00:00:01"
    lan_mac: str = "02:00:00:00:00:02"
    wan_ip: str = "100.64.0.2"
    ssid: str = "doorstep-wifi"
    ppp_username: str = ""
    hosts: tuple[Host, ...] = field(default=())
    omit: tuple[str, ...] = ()
    """Objects this model lacks (e.g. ``Device.Hosts.``): absent from its data model."""
    deletable: tuple[str, ...] = ()
    """Tables besides the subscriptions whose instances a controller may Delete (e.g.
    ``Device.Hosts.Host.``, which TR-181 makes read-only but some agents allow)."""


_STATIC = {
    "Device.LocalAgent.SupportedProtocols": "MQTT, WebSocket",
    "Device.IP.Interface.1.Status": "Up",
    "Device.IP.Interface.1.IPv4Address.1.AddressingType": "IPCP",
    "Device.IP.Interface.1.IPv4Address.1.Status": "Enabled",
    "Device.IP.Interface.2.Status": "Up",
    "Device.IP.Interface.2.IPv4Address.1.IPAddress": "192.168.1.1",
    "Device.IP.Interface.2.IPv4Address.1.AddressingType": "Static",
    "Device.IP.Interface.2.IPv4Address.1.Status": "Enabled",
    "Device.PPP.Interface.1.Enable": "true",
    "Device.PPP.Interface.1.Status": "Up",
    "Device.PPP.Interface.1.ConnectionStatus": "Connected",
    "Device.PPP.Interface.1.Password": "",
    "Device.IP.Diagnostics.IPv4PingSupported": "true",
    "Device.IP.Diagnostics.IPv4TraceRouteSupported": "true",
    "Device.IP.Diagnostics.IPv4DownloadDiagnosticsSupported": "true",
    "Device.IP.Diagnostics.IPv4UploadDiagnosticsSupported": "true",
    "Device.Time.NTPServer1": "pool.ntp.org",
    "Device.Time.NTPServer2": "",
}
_MODES = ",".join(SECURITY_MODES)
_UPTIME = "Device.DeviceInfo.UpTime"


def build_values(profile: Profile, controller_id: str = "") -> dict[str, str]:
    """Every parameter of a device built from ``profile`` (full path -> value).

    With ``controller_id`` the device also has its factory Controller entry (with a
    ``Periodic!`` interval of a day, as OB-USP-Agent ships) and its MQTT client
    (no last will until a controller provisions one).  Objects named in
    ``profile.omit`` are left out.
    """
    values: dict[str, str] = dict(_STATIC)
    if controller_id:
        values.update(_controller_entry(controller_id))
    values.update(
        {
            "Device.DeviceInfo.Manufacturer": profile.manufacturer,
            "Device.DeviceInfo.ManufacturerOUI": profile.oui,
            "Device.DeviceInfo.ModelName": profile.model_name,
            "Device.DeviceInfo.ProductClass": profile.product_class,
            "Device.DeviceInfo.SerialNumber": profile.serial_number,
            "Device.DeviceInfo.SoftwareVersion": profile.software_version,
            "Device.DeviceInfo.HardwareVersion": profile.hardware_version,
            _UPTIME: "0",
            "Device.LocalAgent.EndpointID": profile.endpoint_id,
            "Device.Ethernet.Interface.1.MACAddress": profile.wan_mac,
            "Device.Ethernet.Interface.2.MACAddress": profile.lan_mac,
            "Device.IP.Interface.1.IPv4Address.1.IPAddress": profile.wan_ip,
            "Device.PPP.Interface.1.Username": profile.ppp_username,
            "Device.Hosts.HostNumberOfEntries": str(len(profile.hosts)),
        }
    )
    values.update(_images.image_values(profile.software_version))
    for index, band in ((1, ""), (2, "-5G")):
        values[f"Device.WiFi.SSID.{index}.SSID"] = profile.ssid + band
        values[f"Device.WiFi.SSID.{index}.Enable"] = "true"
        prefix = f"Device.WiFi.AccessPoint.{index}.Security."
        values[prefix + "ModesSupported"] = _MODES
        values[prefix + "ModeEnabled"] = "WPA2-Personal"
        values[prefix + "KeyPassphrase"] = ""
        values[prefix + "SAEPassphrase"] = ""
    for index, host in enumerate(profile.hosts, start=1):
        prefix = f"Device.Hosts.Host.{index}."
        values[prefix + "HostName"] = host.host_name
        values[prefix + "PhysAddress"] = host.phys_address
        values[prefix + "IPAddress"] = host.ip_address
        values[prefix + "Active"] = "true" if host.active else "false"
    return {
        sys.intern(path): sys.intern(value) if path.endswith(".Name") else value
        for path, value in values.items()
        if not any(path.startswith(gone) for gone in profile.omit)
    }


def _controller_entry(controller_id: str) -> dict[str, str]:
    controller, client = "Device.LocalAgent.Controller.1.", "Device.MQTT.Client.1."
    return {
        controller + "EndpointID": controller_id,
        controller + "Enable": "true",
        controller + "PeriodicNotifInterval": "86400",
        controller + "MTP.1.Protocol": "MQTT",
        controller + "MTP.1.MQTT.Reference": client[:-1],
        client + "Enable": "true",
        client + "ProtocolVersion": "5.0",
        client + "WillEnable": "false",
        client + "WillTopic": "",
        client + "WillValue": "",
        client + "WillQoS": "0",
        client + "WillRetain": "false",
    }


@lru_cache(maxsize=512)
def _pattern(path: str) -> re.Pattern[str]:
    """A requested path as a regex: ``*`` matches one instance number."""
    return re.compile(re.escape(path).replace(r"\*", "[0-9]+"))


def _object_of(path: str) -> str:
    return path[: path.rindex(".") + 1]


class DataModel:
    """One device's values; ``uptime`` is supplied by the agent when read."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def read(self, path: str, uptime: int = 0) -> str:
        """The value a Controller sees: "" for secured parameters."""
        if path == _UPTIME:
            return str(uptime)
        spec = spec_of(path)
        return "" if spec is not None and spec.secured else self.values[path]

    def _matches(self, path: str) -> list[str]:
        if "[" in path:
            return []
        if "*" not in path:
            if path.endswith("."):
                return [p for p in self.values if p.startswith(path)]
            return [path] if path in self.values else []
        pattern = _pattern(path)
        if path.endswith("."):
            return [p for p in self.values if pattern.match(p)]
        return [p for p in self.values if pattern.fullmatch(p)]

    def get(self, request: Get, uptime: int = 0) -> GetResp:
        """Answer a Get; a path that matches nothing fails with 7026 (invalid path)."""
        results = []
        for requested in request.param_paths:
            matches = self._matches(requested)
            if not matches:
                results.append(GetPathResult(requested, ErrorCode.INVALID_PATH, "no such path"))
                continue
            grouped: dict[str, dict[str, str]] = {}
            for path in matches:
                obj = _object_of(path)
                grouped.setdefault(obj, {})[path[len(obj) :]] = self.read(path, uptime)
            resolved = tuple(ResolvedPath(obj, params) for obj, params in grouped.items())
            results.append(GetPathResult(requested, 0, "", resolved))
        return GetResp(tuple(results))

    def instances(self, request: GetInstances) -> GetInstancesResp:
        """Answer a GetInstances: every ``…{n}.`` object under each path."""
        results = []
        for requested in request.obj_paths:
            found: dict[str, None] = {}
            for path in self._matches(requested if requested.endswith(".") else requested + "."):
                obj = _object_of(path)
                for match in re.finditer(r"\.[0-9]+\.", obj):
                    instance = obj[: match.end()]
                    if instance.startswith(requested) and instance != requested:
                        found.setdefault(instance)
            current = tuple(CurrInstance(inst) for inst in found)
            if not current and not any(p.startswith(requested) for p in self.values):
                results.append(InstancesPathResult(requested, ErrorCode.OBJECT_DOES_NOT_EXIST))
            else:
                results.append(InstancesPathResult(requested, 0, "", current))
        return GetInstancesResp(tuple(results))

    def set(self, request: Set) -> SetResp | ErrorMsg:
        """Apply a Set: all or nothing, or per object with ``allow_partial``."""
        outcomes = [self._plan(obj) for obj in request.update_objs]
        failed = [o for o in outcomes if isinstance(o.result, SetFailure)]
        if failed and not request.allow_partial:
            return _set_error(failed)
        for outcome in outcomes:
            if isinstance(outcome.result, SetSuccess):
                self.values.update(outcome.changes)
        return SetResp(tuple(UpdatedObjectResult(o.requested, o.result) for o in outcomes))

    def _plan(self, update: UpdateObject) -> _Planned:
        """Validate one UpdateObject without changing anything.

        The path names objects (``*`` for any instance), not the objects below them.
        """
        exact = _pattern(update.obj_path)
        found = {_object_of(p) for p in self._matches(update.obj_path)}
        objects = sorted(obj for obj in found if exact.fullmatch(obj))
        if not update.obj_path.endswith(".") or not objects:
            failure = SetFailure(ErrorCode.OBJECT_DOES_NOT_EXIST, "no such object")
            return _Planned(update.obj_path, failure, {})
        changes: dict[str, str] = {}
        successes, failures = [], []
        for obj in objects:
            required_errors, optional_errors, updated = [], [], {}
            for setting in update.param_settings:
                path = obj + setting.param
                error = _check(path, setting.value, known=path in self.values) or (
                    _images.conflict(self.values, path, setting.value)
                )
                if error is None:
                    changes[path] = setting.value
                    secured = (spec := spec_of(path)) is not None and spec.secured
                    updated[setting.param] = "" if secured else setting.value
                elif setting.required:
                    required_errors.append(ParameterError(setting.param, *error))
                else:
                    optional_errors.append(ParameterError(setting.param, *error))
            if required_errors:
                failures.append(UpdatedInstanceFailure(obj, tuple(required_errors)))
            else:
                successes.append(UpdatedInstance(obj, tuple(optional_errors), updated))
        if failures:
            first = failures[0].param_errs[0]
            failure = SetFailure(first.err_code, first.err_msg, tuple(failures))
            return _Planned(update.obj_path, failure, {})
        return _Planned(update.obj_path, SetSuccess(tuple(successes)), changes)


@dataclass(frozen=True, slots=True)
class _Planned:
    requested: str
    result: SetSuccess | SetFailure
    changes: dict[str, str]


def _check(path: str, value: str, *, known: bool) -> tuple[int, str] | None:
    spec = spec_of(path)
    if spec is None or not known:
        return ErrorCode.UNSUPPORTED_PARAMETER, "unsupported parameter"
    if not spec.writable:
        return ErrorCode.NOT_WRITABLE, "parameter is read-only"
    return spec.check(value)


def _set_error(failed: Iterable[_Planned]) -> ErrorMsg:
    """The Error Msg of a failed all-or-nothing Set: the first parameter's code on top."""
    param_errs = []
    for planned in failed:
        assert isinstance(planned.result, SetFailure)
        if not planned.result.updated_inst_failures:
            param_errs.append(
                ParamError(planned.requested, planned.result.err_code, planned.result.err_msg)
            )
        for instance in planned.result.updated_inst_failures:
            param_errs.extend(
                ParamError(instance.affected_path + e.param, e.err_code, e.err_msg)
                for e in instance.param_errs
            )
    top = param_errs[0].err_code if param_errs else ErrorCode.MESSAGE_FAILED
    return ErrorMsg(top, "Set failed", tuple(param_errs))
