"""What each diagnostic sends to the device and what Doorstep keeps of its answer (TR-181 2.15).

* :data:`COMMANDS` — the ``Device.IP.Diagnostics.`` command of each kind.
* :func:`input_args` — the command's input arguments: the host of a ping or trace
  route (the caller's input, checked by :func:`check_host`), the operator's speed-test
  URLs and upload size (settings, never the subscriber's), OB-USP-Agent's defaults for
  the rest.
* :func:`result_of` — the output arguments mapped to named fields, the only form a
  result is stored or relayed in (the device's own ``IPAddressUsed``, the subscriber's
  WAN address, is dropped):

  - ``ping``: ``status``, ``sent``, ``received``, ``average_ms``, ``minimum_ms``,
    ``maximum_ms`` (microsecond figures when the device gives them);
  - ``traceroute``: ``status``, ``response_time_ms``, ``hops`` (``host``,
    ``address``, ``rtt_ms`` list, ``error_code``), at most :data:`MAX_HOPS`;
  - ``download``/``upload``: ``status``, ``bytes``, ``seconds``, ``mbps`` (bits of the
    test bytes over BOM→EOM), ``connect_ms`` (TCP open request → response).

  ``status`` is the device's own word (``Complete``, ``Error_CannotResolveHostName`` …).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from doorstep.core.errors import InvalidInputError
from doorstep.core.settings import Settings
from doorstep.devices.fleet.diagnostics_models import DiagnosticKind

PREFIX = "Device.IP.Diagnostics."
COMMANDS: Mapping[DiagnosticKind, str] = {
    DiagnosticKind.PING: PREFIX + "IPPing()",
    DiagnosticKind.TRACEROUTE: PREFIX + "TraceRoute()",
    DiagnosticKind.DOWNLOAD: PREFIX + "DownloadDiagnostics()",
    DiagnosticKind.UPLOAD: PREFIX + "UploadDiagnostics()",
}
#: Kinds that take a host (the caller's input); the speed tests use the operator's servers.
HOST_KINDS = frozenset({DiagnosticKind.PING, DiagnosticKind.TRACEROUTE})
MAX_HOST = 253
MAX_HOPS = 64
#: A host name or an IPv4/IPv6 address: letters, digits, ``.``, ``-`` and ``:``.
HOST_PATTERN = r"^[A-Za-z0-9.:-]{1,253}$"
_HOST = re.compile(HOST_PATTERN)
_HOP = re.compile(r"^RouteHops\.(\d+)\.(\w+)$")


def check_host(kind: DiagnosticKind, host: object) -> str | None:
    """The host of ``kind`` (None for a speed test); InvalidInputError naming the field."""
    if kind not in HOST_KINDS:
        if host not in (None, ""):
            raise InvalidInputError.of("host", "not_allowed", "a speed test takes no host")
        return None
    if not isinstance(host, str) or not _HOST.fullmatch(host) or host.strip(".:-") == "":
        raise InvalidInputError.of(
            "host", "host", "the host is a name or an address (letters, digits, . - :)"
        )
    return host


def input_args(kind: DiagnosticKind, host: str | None, settings: Settings) -> dict[str, str]:
    """The input arguments of ``kind``'s command."""
    if kind is DiagnosticKind.PING:
        return {"Host": host or "", "NumberOfRepetitions": "4", "Timeout": "5000"}
    if kind is DiagnosticKind.TRACEROUTE:
        return {"Host": host or "", "NumberOfTries": "3", "MaxHopCount": "30"}
    if kind is DiagnosticKind.DOWNLOAD:
        return {"DownloadURL": _on(settings.diagnostics_download_url, host)}
    return {
        "UploadURL": _on(settings.diagnostics_upload_url, host),
        "TestFileLength": str(settings.diagnostics_upload_bytes),
    }


def _on(url: str, host: str | None) -> str:
    """``url``, on ``host`` when one is given (a bulk action names its test server)."""
    if not host:
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, host, parts.path or "/", parts.query, ""))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _ms(detailed: str | None, plain: str | None) -> float | None:
    micro = _int(detailed)
    if micro is not None:
        return round(micro / 1000, 3)
    value = _int(plain)
    return float(value) if value is not None else None


def _ping(out: Mapping[str, str]) -> dict[str, Any]:
    success, failure = _int(out.get("SuccessCount")), _int(out.get("FailureCount"))
    found: dict[str, Any] = {
        "sent": (success or 0) + (failure or 0) if success is not None else None,
        "received": success,
    }
    for name in ("Average", "Minimum", "Maximum"):
        found[f"{name.lower()}_ms"] = _ms(
            out.get(f"{name}ResponseTimeDetailed"), out.get(f"{name}ResponseTime")
        )
    if not success:
        found.update(average_ms=None, minimum_ms=None, maximum_ms=None)
    return found


def _trace(out: Mapping[str, str]) -> dict[str, Any]:
    rows: dict[int, dict[str, str]] = {}
    for key, value in out.items():
        match = _HOP.fullmatch(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
    hops = [
        {
            "hop": number,
            "host": row.get("Host", ""),
            "address": row.get("HostAddress", ""),
            "rtt_ms": [int(t) for t in row.get("RTTimes", "").split(",") if t.strip().isdigit()],
            "error_code": _int(row.get("ErrorCode")) or 0,
        }
        for number, row in sorted(rows.items())[:MAX_HOPS]
    ]
    return {"response_time_ms": _int(out.get("ResponseTime")), "hops": hops}


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _speed(out: Mapping[str, str], upload: bool) -> dict[str, Any]:
    moved = _int(out.get("TestBytesSent" if upload else "TestBytesReceived"))
    begin, end = _instant(out.get("BOMTime")), _instant(out.get("EOMTime"))
    seconds = (end - begin).total_seconds() if begin and end and end > begin else None
    opened = _instant(out.get("TCPOpenRequestTime")), _instant(out.get("TCPOpenResponseTime"))
    connect = None
    if opened[0] and opened[1]:
        connect = round((opened[1] - opened[0]).total_seconds() * 1000, 3)
    mbps = round(moved * 8 / seconds / 1e6, 2) if moved and seconds else None
    return {
        "bytes": moved,
        "seconds": round(seconds, 3) if seconds else None,
        "mbps": mbps,
        "connect_ms": connect,
    }


def result_of(kind: DiagnosticKind, output: Mapping[str, str]) -> dict[str, Any]:
    """The named fields of ``kind``'s output arguments (see the module docstring)."""
    out = {key.rpartition(").")[2] if ")." in key else key: v for key, v in output.items()}
    found: dict[str, Any] = {"status": out.get("Status", "")[:64]}
    if kind is DiagnosticKind.PING:
        found.update(_ping(out))
    elif kind is DiagnosticKind.TRACEROUTE:
        found.update(_trace(out))
    else:
        found.update(_speed(out, upload=kind is DiagnosticKind.UPLOAD))
    return found


def completed(result: Mapping[str, Any]) -> bool:
    """Whether the device says the diagnostic completed (``Status`` Complete)."""
    return result.get("status") == "Complete"
