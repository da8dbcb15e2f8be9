"""``Device.IP.Diagnostics.`` of a simulated device: IPPing(), TraceRoute(),
DownloadDiagnostics() and UploadDiagnostics(), in their TR-181 2.15 USP command forms.

All four are asynchronous: the OperateResp names a Request row (``_async``), and after
``timing.diagnostics`` the output arguments (``_probes``) come in a Notify
OperationComplete to its subscribers.  An outcome of the network (a name that does not
resolve, a host that does not answer) is an output ``Status`` such as
Error_CannotResolveHostName, as TR-181 defines it.  Inputs that are missing or not of
their type are refused in the OperateResp with 7004 and no row, as OB-USP-Agent 11
refuses a missing or unsafe ``Host`` of its IPPing() (a host is letters, digits,
``.``, ``-`` and ``:``, at most 255 characters); numbers keep TR-181's ranges, and
IPPing() keeps OB-USP-Agent's (1-20 repetitions, default 4; timeout 1000-60000 ms,
default 5000).
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import urlsplit

from doorstep.usp import messages
from doorstep.usp._requests import Operate
from doorstep.usp._types import OutputArgs
from doorstep.usp.agent_sim import _probes
from doorstep.usp.agent_sim._async import finish, number, open_request, refuse, started
from doorstep.usp.agent_sim._device import SimDevice
from doorstep.usp.agent_sim._schema import BOOLEANS
from doorstep.usp.codes import ErrorCode

DIAGNOSTICS = "Device.IP.Diagnostics."
LENIENT_ID = "diagnostics"
_WAN_IP = "Device.IP.Interface.1.IPv4Address.1.IPAddress"
_HOST_CHARACTERS = frozenset(string.ascii_letters + string.digits + ".-:")
_PROTOCOLS = ("Any", "IPv4", "IPv6")
_COMMON = ("Interface", "ProtocolVersion")
_SPEED = (
    "DSCP",
    "EthernetPriority",
    "TimeBasedTestDuration",
    "TimeBasedTestMeasurementInterval",
    "TimeBasedTestMeasurementOffset",
    "ProtocolVersion",
    "NumberOfConnections",
    "EnablePerConnectionResults",
)
_SPEED_OUT = (
    "Status",
    "IPAddressUsed",
    "ROMTime",
    "BOMTime",
    "EOMTime",
    "TotalBytesReceived",
    "TotalBytesSent",
    "TotalBytesReceivedUnderFullLoading",
    "TotalBytesSentUnderFullLoading",
    "PeriodOfFullLoading",
    "TCPOpenRequestTime",
    "TCPOpenResponseTime",
)
#: Input and output argument names per command, as GetSupportedDM lists them.
ARGUMENTS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "IPPing()": (
        (*_COMMON, "Host", "NumberOfRepetitions", "Timeout", "DataBlockSize", "DSCP"),
        ("Status", "IPAddressUsed", "SuccessCount", "FailureCount",
         *(f"{k}ResponseTime{d}" for d in ("", "Detailed")
           for k in ("Average", "Minimum", "Maximum"))),
    ),
    "TraceRoute()": (
        (*_COMMON, "Host", "NumberOfTries", "Timeout", "DataBlockSize", "DSCP", "MaxHopCount"),
        ("Status", "IPAddressUsed", "ResponseTime", "RouteHops.{i}.Host",
         "RouteHops.{i}.HostAddress", "RouteHops.{i}.ErrorCode", "RouteHops.{i}.RTTimes"),
    ),
    "DownloadDiagnostics()": (
        ("Interface", "DownloadURL", *_SPEED),
        (*_SPEED_OUT, "TestBytesReceived", "TestBytesReceivedUnderFullLoading"),
    ),
    "UploadDiagnostics()": (
        ("Interface", "UploadURL", "TestFileLength", *_SPEED),
        (*_SPEED_OUT, "TestBytesSent", "TestBytesSentUnderFullLoading"),
    ),
}  # fmt: skip


class _Refused(Exception):
    """An input is missing or not of its type (the message names it, never its value)."""


def operate(device: SimDevice, request: Operate) -> object:
    """The OperateResp (or Error body) of a diagnostics command."""
    command = request.command
    name = command[len(DIAGNOSTICS) :]
    supported = DIAGNOSTICS + "IPv4PingSupported" in device.model.values
    if not command.startswith(DIAGNOSTICS) or name not in ARGUMENTS or not supported:
        return messages.error("-", ErrorCode.INVALID_PATH, "no such command").body
    args = request.input_args
    try:
        _interface(device, args)
        probe = _PLANS[name](args)
    except _Refused as exc:
        return refuse(command, ErrorCode.INVALID_ARGUMENTS, str(exc))
    row = open_request(device, command, request.command_key)
    device.job(_run(device, row, probe))
    return started(command, row)


Probe = Callable[[_probes.Draws, str, datetime], dict[str, str]]
"""A planned diagnostic: (draws, the device's WAN address, when it began) -> outputs."""


async def _run(device: SimDevice, row: str, probe: Probe) -> None:
    """Wait ``timing.diagnostics``, then report the figures."""
    conditions = device.conditions
    began = conditions.clock.now()
    await asyncio.sleep(device.delay(device.timing.diagnostics))
    draws = _probes.Draws(conditions.seed, device.endpoint_id, number(row))
    result = probe(draws, device.model.values.get(_WAN_IP, ""), began)
    finish(device, row, OutputArgs(result), LENIENT_ID)


def _ping(args: Mapping[str, str]) -> Probe:
    host = _host(args)
    repetitions = _number(args, "NumberOfRepetitions", 4, 1, 20)
    _number(args, "Timeout", 5000, 1000, 60000)
    _number(args, "DataBlockSize", 56, 1, 65535)
    _number(args, "DSCP", 0, 0, 63)
    ipv6 = _protocol(args)
    return lambda draws, wan_ip, _: _probes.ping(draws, host, repetitions, ipv6, wan_ip)


def _trace(args: Mapping[str, str]) -> Probe:
    host = _host(args)
    tries = _number(args, "NumberOfTries", 3, 1, 3)
    _number(args, "Timeout", 5000, 1, 2**32 - 1)
    _number(args, "DataBlockSize", 38, 1, 65535)
    _number(args, "DSCP", 0, 0, 63)
    hops = _number(args, "MaxHopCount", 30, 1, 64)
    ipv6 = _protocol(args)
    return lambda draws, wan_ip, _: _probes.trace(
        draws, host, tries, hops, ipv6=ipv6, wan_ip=wan_ip
    )


def _download(args: Mapping[str, str]) -> Probe:
    return _speed(args, "DownloadURL", upload=False)


def _upload(args: Mapping[str, str]) -> Probe:
    return _speed(args, "UploadURL", upload=True)


def _speed(args: Mapping[str, str], url_arg: str, *, upload: bool) -> Probe:
    url = args.get(url_arg, "")
    parts = urlsplit(url)
    if not 0 < len(url) <= 2048 or parts.scheme not in {"http", "ftp"} or not parts.hostname:
        raise _Refused(f"{url_arg} must be an HTTP or FTP URL")
    duration = _number(args, "TimeBasedTestDuration", 0, 0, 999)
    interval = _number(args, "TimeBasedTestMeasurementInterval", 0, 0, 999)
    _number(args, "TimeBasedTestMeasurementOffset", 0, 0, 255)
    _number(args, "DSCP", 0, 0, 63)
    _number(args, "EthernetPriority", 0, 0, 7)
    size = _probes.file_size(url)
    if upload:
        size = _number(args, "TestFileLength", _probes.DEFAULT_TEST_BYTES, 1, 2**32 - 1)
    if args.get("EnablePerConnectionResults", "false") not in BOOLEANS:
        raise _Refused("EnablePerConnectionResults must be a boolean")
    test = _probes.SpeedTest(
        parts.hostname,
        upload,
        size,
        duration,
        interval if interval <= duration else 0,
        _number(args, "NumberOfConnections", 1, 1, 64),
        args.get("EnablePerConnectionResults") in {"true", "1"},
        _protocol(args),
    )
    return lambda draws, wan_ip, began: _probes.speed(draws, test, began, wan_ip)


_PLANS: Mapping[str, Callable[[Mapping[str, str]], Probe]] = {
    "IPPing()": _ping,
    "TraceRoute()": _trace,
    "DownloadDiagnostics()": _download,
    "UploadDiagnostics()": _upload,
}


def _host(args: Mapping[str, str]) -> str:
    host = args.get("Host", "")
    if not 0 < len(host) < 256 or not set(host) <= _HOST_CHARACTERS:
        raise _Refused("Host must be a host name or an IP address")
    return host


def _number(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and low <= int(raw) <= high):
        raise _Refused(f"{name} must be a number from {low} to {high}")
    return int(raw)


def _protocol(args: Mapping[str, str]) -> bool:
    """Whether IPv6 is asked for (ProtocolVersion must be Any, IPv4 or IPv6)."""
    version = args.get("ProtocolVersion", "Any") or "Any"
    if version not in _PROTOCOLS:
        raise _Refused("ProtocolVersion must be Any, IPv4 or IPv6")
    return version == "IPv6"


def _interface(device: SimDevice, args: Mapping[str, str]) -> None:
    """``Interface`` is empty or names an IP interface of the device."""
    interface = args.get("Interface", "").rstrip(".")
    if interface and interface + ".Status" not in device.model.values:
        raise _Refused("Interface must name a Device.IP.Interface instance")
