"""The TR-181 subset the simulator implements: access, type and limits per parameter.

Generic paths write instance numbers as ``{i}``.  Access follows TR181.md (the
firmware images, the Request table and the diagnostics' ``…Supported`` flags follow
TR-181 2.15 and later); ``secured`` parameters (PPP Password, Wi-Fi passphrases) can
be written and read back as "" (TR-181 *secured*, as an agent without SecuredRoles
answers).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from doorstep.usp.codes import ErrorCode


class Access(Enum):
    """Who may write: read-only, or read-write."""

    READ_ONLY = "r"
    READ_WRITE = "rw"


class Kind(Enum):
    """How a value is checked when written."""

    STRING = "string"
    BOOLEAN = "boolean"
    IPV4 = "ipv4"
    ENUM = "enum"
    UNSIGNED = "unsignedInt"
    PRINTABLE = "printable"  # passphrases: printable ASCII


@dataclass(frozen=True, slots=True)
class Spec:
    """One parameter's rules."""

    access: Access = Access.READ_ONLY
    kind: Kind = Kind.STRING
    max_len: int = 64
    min_len: int = 0
    choices: tuple[str, ...] = ()
    secured: bool = False

    @property
    def writable(self) -> bool:
        """Whether a Set may change it."""
        return self.access is Access.READ_WRITE

    def check(self, value: str) -> tuple[int, str] | None:
        """``(USP error code, reason)`` when ``value`` is not acceptable, else None.

        Reasons name the rule, never the value (a rejected value may be a password).
        """
        if self.kind is Kind.BOOLEAN:
            ok, rule = value in BOOLEANS, "not a boolean"
        elif self.kind is Kind.UNSIGNED:
            ok = value.isascii() and value.isdigit() and int(value) < 2**32
            rule = "not an unsignedInt"
        else:
            return self._check_text(value)
        return None if ok else (ErrorCode.INVALID_TYPE, rule)

    def _check_text(self, value: str) -> tuple[int, str] | None:
        if not self.min_len <= len(value) <= self.max_len:
            return ErrorCode.INVALID_VALUE, f"length must be {self.min_len} to {self.max_len}"
        if self.kind is Kind.ENUM and value not in self.choices:
            return ErrorCode.INVALID_VALUE, "not one of the allowed values"
        if self.kind is Kind.IPV4 and value and not _is_ipv4(value):
            return ErrorCode.INVALID_VALUE, "not an IPv4 address"
        if self.kind is Kind.PRINTABLE and not _PRINTABLE.fullmatch(value):
            return ErrorCode.INVALID_VALUE, "must be printable ASCII"
        return None


BOOLEANS = frozenset({"true", "false", "1", "0"})
_PRINTABLE = re.compile(r"[\x20-\x7e]*")

SECURITY_MODES = (
    "None",
    "WPA2-Personal",
    "WPA3-Personal",
    "WPA-WPA2-Personal",
    "WPA3-Personal-Transition",
)
NOTIF_TYPES = ("ValueChange", "ObjectCreation", "ObjectDeletion", "OperationComplete", "Event")
INTERFACE_STATUS = ("Up", "Down", "Unknown", "Dormant", "NotPresent", "LowerLayerDown", "Error")

_RO = Spec()
_RW_BOOL = Spec(Access.READ_WRITE, Kind.BOOLEAN)

SCHEMA: dict[str, Spec] = {
    "Device.DeviceInfo.Manufacturer": _RO,
    "Device.DeviceInfo.ManufacturerOUI": _RO,
    "Device.DeviceInfo.ModelName": _RO,
    "Device.DeviceInfo.ProductClass": _RO,
    "Device.DeviceInfo.SerialNumber": _RO,
    "Device.DeviceInfo.SoftwareVersion": _RO,
    "Device.DeviceInfo.HardwareVersion": _RO,
    "Device.DeviceInfo.UpTime": Spec(kind=Kind.UNSIGNED),
    "Device.DeviceInfo.FirmwareImageNumberOfEntries": Spec(kind=Kind.UNSIGNED),
    "Device.DeviceInfo.ActiveFirmwareImage": _RO,
    "Device.DeviceInfo.BootFirmwareImage": Spec(Access.READ_WRITE, max_len=256),
    "Device.DeviceInfo.FirmwareImage.{i}.Alias": Spec(Access.READ_WRITE, max_len=64, min_len=1),
    "Device.DeviceInfo.FirmwareImage.{i}.Name": _RO,
    "Device.DeviceInfo.FirmwareImage.{i}.Version": _RO,
    "Device.DeviceInfo.FirmwareImage.{i}.Available": _RW_BOOL,
    "Device.DeviceInfo.FirmwareImage.{i}.Status": _RO,
    "Device.DeviceInfo.FirmwareImage.{i}.BootFailureLog": _RO,
    "Device.LocalAgent.EndpointID": _RO,
    "Device.LocalAgent.SupportedProtocols": _RO,
    "Device.Ethernet.Interface.{i}.MACAddress": _RO,
    "Device.IP.Interface.{i}.Status": _RO,
    "Device.IP.Interface.{i}.IPv4Address.{i}.IPAddress": Spec(
        Access.READ_WRITE, Kind.IPV4, max_len=15
    ),
    "Device.IP.Interface.{i}.IPv4Address.{i}.AddressingType": _RO,
    "Device.IP.Interface.{i}.IPv4Address.{i}.Status": _RO,
    "Device.IP.Diagnostics.IPv4PingSupported": Spec(kind=Kind.BOOLEAN),
    "Device.IP.Diagnostics.IPv4TraceRouteSupported": Spec(kind=Kind.BOOLEAN),
    "Device.IP.Diagnostics.IPv4DownloadDiagnosticsSupported": Spec(kind=Kind.BOOLEAN),
    "Device.IP.Diagnostics.IPv4UploadDiagnosticsSupported": Spec(kind=Kind.BOOLEAN),
    "Device.PPP.Interface.{i}.Enable": _RW_BOOL,
    "Device.PPP.Interface.{i}.Status": _RO,
    "Device.PPP.Interface.{i}.ConnectionStatus": _RO,
    "Device.PPP.Interface.{i}.Username": Spec(Access.READ_WRITE, max_len=64),
    "Device.PPP.Interface.{i}.Password": Spec(Access.READ_WRITE, max_len=64, secured=True),
    "Device.WiFi.SSID.{i}.SSID": Spec(Access.READ_WRITE, max_len=32, min_len=1),
    "Device.WiFi.SSID.{i}.Enable": _RW_BOOL,
    "Device.WiFi.AccessPoint.{i}.Security.ModesSupported": _RO,
    "Device.WiFi.AccessPoint.{i}.Security.ModeEnabled": Spec(
        Access.READ_WRITE, Kind.ENUM, choices=SECURITY_MODES
    ),
    "Device.WiFi.AccessPoint.{i}.Security.KeyPassphrase": Spec(
        Access.READ_WRITE, Kind.PRINTABLE, max_len=63, min_len=8, secured=True
    ),
    "Device.WiFi.AccessPoint.{i}.Security.SAEPassphrase": Spec(
        Access.READ_WRITE, Kind.PRINTABLE, max_len=63, min_len=8, secured=True
    ),
    "Device.Hosts.HostNumberOfEntries": Spec(kind=Kind.UNSIGNED),
    "Device.Hosts.Host.{i}.PhysAddress": _RO,
    "Device.Hosts.Host.{i}.IPAddress": _RO,
    "Device.Hosts.Host.{i}.HostName": _RO,
    "Device.Hosts.Host.{i}.Active": Spec(kind=Kind.BOOLEAN),
    "Device.LocalAgent.Controller.{i}.EndpointID": _RO,
    "Device.LocalAgent.Controller.{i}.Enable": _RW_BOOL,
    "Device.LocalAgent.Controller.{i}.PeriodicNotifInterval": Spec(
        Access.READ_WRITE, Kind.UNSIGNED
    ),
    "Device.LocalAgent.Controller.{i}.MTP.{i}.Protocol": _RO,
    "Device.LocalAgent.Controller.{i}.MTP.{i}.MQTT.Reference": _RO,
    "Device.LocalAgent.Controller.{i}.MTP.{i}.MQTT.Topic": _RO,
    "Device.LocalAgent.Request.{i}.Command": _RO,
    "Device.LocalAgent.Request.{i}.CommandKey": _RO,
    "Device.LocalAgent.Request.{i}.Status": _RO,
    "Device.LocalAgent.Request.{i}.Originator": _RO,
    "Device.LocalAgent.Subscription.{i}.Enable": _RW_BOOL,
    "Device.LocalAgent.Subscription.{i}.ID": Spec(Access.READ_WRITE, max_len=64, min_len=1),
    "Device.LocalAgent.Subscription.{i}.Recipient": _RO,
    "Device.LocalAgent.Subscription.{i}.NotifType": Spec(
        Access.READ_WRITE, Kind.ENUM, choices=NOTIF_TYPES
    ),
    "Device.LocalAgent.Subscription.{i}.ReferenceList": Spec(Access.READ_WRITE, max_len=1024),
    "Device.LocalAgent.Subscription.{i}.Persistent": _RW_BOOL,
    "Device.LocalAgent.Subscription.{i}.NotifRetry": _RW_BOOL,
    "Device.Time.NTPServer1": Spec(Access.READ_WRITE, max_len=64),
    "Device.Time.NTPServer2": Spec(Access.READ_WRITE, max_len=64),
    "Device.MQTT.Client.{i}.Enable": _RW_BOOL,
    "Device.MQTT.Client.{i}.ProtocolVersion": _RO,
    "Device.MQTT.Client.{i}.WillEnable": _RW_BOOL,
    "Device.MQTT.Client.{i}.WillTopic": Spec(Access.READ_WRITE, max_len=256),
    "Device.MQTT.Client.{i}.WillValue": Spec(Access.READ_WRITE, max_len=256),
    "Device.MQTT.Client.{i}.WillQoS": Spec(Access.READ_WRITE, Kind.ENUM, choices=("0", "1", "2")),
    "Device.MQTT.Client.{i}.WillRetain": _RW_BOOL,
}
SUBSCRIPTION_TABLE = "Device.LocalAgent.Subscription."
SUBSCRIPTION_DEFAULTS = {"Enable": "false", "Persistent": "false", "NotifRetry": "false",
                         "ReferenceList": "", "NotifType": "ValueChange"}  # fmt: skip
"""Values of a new subscription's parameters the Add does not set (TR-181 defaults)."""

_INSTANCE = re.compile(r"\.[0-9]+(?=\.)")


@lru_cache(maxsize=1024)
def generic(path: str) -> str:
    """``Device.WiFi.SSID.2.SSID`` -> ``Device.WiFi.SSID.{i}.SSID``."""
    return _INSTANCE.sub(".{i}", path)


def spec_of(path: str) -> Spec | None:
    """The rules of the parameter at ``path`` (an instance path), or None if unsupported."""
    return SCHEMA.get(generic(path))


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True
