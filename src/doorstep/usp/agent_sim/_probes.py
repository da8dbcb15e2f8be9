"""What the simulated network answers a device's diagnostics: output arguments of
``IPPing()``, ``TraceRoute()``, ``DownloadDiagnostics()`` and ``UploadDiagnostics()``.

Pure functions of the fleet's seed, the device, the command's Request number and the
target (:class:`Draws`), so one seed gives the same figures again.

* **Names.** A name under ``.invalid`` (RFC 6761) never resolves
  (Error_CannotResolveHostName); another name resolves to an address of TEST-NET-2
  (``198.51.100.0/24``) fixed by the name; an IPv4 literal is itself.  The devices
  have no IPv6: an IPv6 target or ProtocolVersion IPv6 ends in Error_Other (ping,
  trace route) or Error_NoRouteToHost (speed tests).
* **Hosts that never answer**: TEST-NET-1 (``192.0.2.0/24``).  Every ping is lost
  (Status Complete, FailureCount = repetitions), a trace route stops answering after
  the third hop (Error_MaxHopCountExceeded), a speed test cannot connect
  (Error_InitConnectionFailed).
* **Round trips**: a base of 3 to 62 ms fixed by the address, each probe within
  -15 %/+15 % of it; a route has 4 to 11 hops (carrier gateway ``100.64.0.1``, then
  the carrier's core, then the target), each hop's time growing towards the base.
* **Speed tests**: the device's line (100/20, 250/50, 500/100 or 1000/500 Mbit/s down/up,
  fixed by the device) at 88-98 % efficiency per test; a test moves the file (its size
  from the URL's file name, e.g. ``100MB.bin``, else 10 MB; TestFileLength for uploads)
  or runs for TimeBasedTestDuration seconds.  Timestamps start at the clock's now.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from doorstep.usp.agent_sim._conditions import draw

NEVER_ANSWERS = ipaddress.IPv4Network("192.0.2.0/24")
_RESOLVED = ipaddress.IPv4Network("198.51.100.0/24")
_LINES = ((100, 20), (250, 50), (500, 100), (1000, 500))
_SIZE = re.compile(r"([0-9]+)\s*([KMG]?)i?B", re.IGNORECASE)
_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}
DEFAULT_TEST_BYTES = 10_000_000


@dataclass(frozen=True, slots=True)
class Draws:
    """The draws of one diagnostic: seed, device and the Request number."""

    seed: int
    endpoint_id: str
    request: int

    def u(self, what: str, index: int = 0) -> float:
        """A number in [0, 1) for ``what`` (``index``-th of its kind)."""
        return draw(self.seed, self.endpoint_id, f"{what}.{index}", self.request)


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


def resolve(host: str) -> str | None:
    """The IPv4 address ``host`` resolves to, or None (see the module docstring)."""
    name = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        if name == "invalid" or name.endswith(".invalid"):
            return None
        return str(_RESOLVED[1 + _hash(name) % 254])
    return str(address)


def _ipv6(address: str) -> bool:
    return ":" in address


def _silent(address: str) -> bool:
    return not _ipv6(address) and ipaddress.IPv4Address(address) in NEVER_ANSWERS


def _base_us(address: str) -> int:
    """The round trip to ``address`` in microseconds (3 to 62 ms)."""
    return 3000 + (_hash(address) % 60) * 1000 + _hash("us" + address) % 1000


def ping(draws: Draws, host: str, repetitions: int, ipv6: bool, wan_ip: str) -> dict[str, str]:
    """IPPing()'s output arguments."""
    address = resolve(host)
    if address is None:
        return {"Status": "Error_CannotResolveHostName"}
    if ipv6 or _ipv6(address):
        return {"Status": "Error_Other"}
    times = []
    if not _silent(address):
        base = _base_us(address)
        times = [int(base * (0.85 + 0.3 * draws.u("ping", i))) for i in range(repetitions)]
    detailed = (sum(times) // len(times), min(times), max(times)) if times else (0, 0, 0)
    names = ("Average", "Minimum", "Maximum")
    result = {
        "Status": "Complete",
        "IPAddressUsed": wan_ip,
        "SuccessCount": str(len(times)),
        "FailureCount": str(repetitions - len(times)),
    }
    for name, value in zip(names, detailed, strict=True):
        result[f"{name}ResponseTime"] = str(round(value / 1000))
        result[f"{name}ResponseTimeDetailed"] = str(value)
    return result


def trace(
    draws: Draws, host: str, tries: int, max_hops: int, *, ipv6: bool, wan_ip: str
) -> dict[str, str]:
    """TraceRoute()'s output arguments (``RouteHops.<n>.…``)."""
    address = resolve(host)
    if address is None:
        return {"Status": "Error_CannotResolveHostName"}
    if ipv6 or _ipv6(address):
        return {"Status": "Error_Other"}
    silent = _silent(address)
    hops = max_hops if silent else 4 + _hash(address) % 8
    core = 1 + _hash("core" + address) % 250
    base = _base_us(address)
    result = {"Status": "Complete", "IPAddressUsed": wan_ip}
    last_ms = 0
    for hop in range(1, min(hops, max_hops) + 1):
        prefix = f"RouteHops.{hop}."
        if silent and hop > 3:
            result.update({prefix + "Host": "", prefix + "HostAddress": "",
                           prefix + "ErrorCode": "0", prefix + "RTTimes": ""})  # fmt: skip
            continue
        at = "100.64.0.1" if hop == 1 else address if hop == hops else f"10.{core}.{hop}.1"
        share = base * hop / hops
        rtts = [round(share * (0.85 + 0.3 * draws.u(f"hop{hop}", t)) / 1000) for t in range(tries)]
        last_ms = sum(rtts) // len(rtts)
        name = host if hop == hops else at
        result.update({prefix + "Host": name, prefix + "HostAddress": at,
                       prefix + "ErrorCode": "0",
                       prefix + "RTTimes": ",".join(str(max(r, 1)) for r in rtts)})  # fmt: skip
    if silent or hops > max_hops:
        result["Status"] = "Error_MaxHopCountExceeded"
    result["ResponseTime"] = str(max(last_ms, 1)) if result["Status"] == "Complete" else "0"
    return result


@dataclass(frozen=True, slots=True)
class SpeedTest:
    """What a speed test was asked to do."""

    host: str
    upload: bool
    size: int
    """Bytes of the file (ignored when ``duration`` is set)."""
    duration: int = 0
    """TimeBasedTestDuration in seconds (0: move the file)."""
    interval: int = 0
    """TimeBasedTestMeasurementInterval in seconds (0: no IncrementalResult)."""
    connections: int = 1
    per_connection: bool = False
    ipv6: bool = False


def file_size(url: str) -> int:
    """The size a speed-test URL's file name announces (``100MB.bin``), else 10 MB."""
    found = _SIZE.search(url.rsplit("/", 1)[-1])
    if found is None:
        return DEFAULT_TEST_BYTES
    return int(found.group(1)) * _UNITS[found.group(2).upper()]


def speed(draws: Draws, test: SpeedTest, now: datetime, wan_ip: str) -> dict[str, str]:
    """DownloadDiagnostics() or UploadDiagnostics() output arguments."""
    address = resolve(test.host)
    if address is None:
        return {"Status": "Error_CannotResolveHostName"}
    if test.ipv6 or _ipv6(address):
        return {"Status": "Error_NoRouteToHost"}
    if _silent(address):
        return {"Status": "Error_InitConnectionFailed"}
    down, up = _LINES[_hash(f"{draws.seed}/{draws.endpoint_id}") % len(_LINES)]
    rate = (up if test.upload else down) * 1e6 * (0.88 + 0.1 * draws.u("efficiency"))
    seconds = test.duration or test.size * 8 / rate
    moved = int(rate * seconds / 8) if test.duration else test.size
    rtt = timedelta(microseconds=_base_us(address))
    opened = now + rtt
    begin = opened + rtt
    end = begin + timedelta(seconds=seconds)
    kind = "Sent" if test.upload else "Received"
    other = "Received" if test.upload else "Sent"
    result = {
        "Status": "Complete",
        "IPAddressUsed": wan_ip,
        "TCPOpenRequestTime": _stamp(now),
        "TCPOpenResponseTime": _stamp(opened),
        "ROMTime": _stamp(opened),
        "BOMTime": _stamp(begin),
        "EOMTime": _stamp(end),
        f"TestBytes{kind}": str(moved),
        f"TotalBytes{kind}": str(int(moved * 1.03)),
        f"TotalBytes{other}": str(int(moved * 0.02)),
        f"TestBytes{kind}UnderFullLoading": str(moved),
        f"TotalBytes{kind}UnderFullLoading": str(int(moved * 1.03)),
        f"TotalBytes{other}UnderFullLoading": str(int(moved * 0.02)),
        "PeriodOfFullLoading": str(int(seconds * 1e6)),
    }
    if test.per_connection and test.connections > 1:
        for n in range(1, test.connections + 1):
            share = moved // test.connections
            prefix = f"PerConnectionResult.{n}."
            result.update({prefix + "ROMTime": _stamp(opened), prefix + "BOMTime": _stamp(begin),
                           prefix + "EOMTime": _stamp(end), prefix + f"TestBytes{kind}": str(share),
                           prefix + f"TotalBytes{kind}": str(int(share * 1.03)),
                           prefix + f"TotalBytes{other}": str(int(share * 0.02)),
                           prefix + "TCPOpenRequestTime": _stamp(now),
                           prefix + "TCPOpenResponseTime": _stamp(opened)})  # fmt: skip
    if test.duration and test.interval:
        steps = test.duration // test.interval
        for n in range(1, steps + 1):
            share = moved // steps
            prefix = f"IncrementalResult.{n}."
            first = begin + timedelta(seconds=(n - 1) * test.interval)
            last = first + timedelta(seconds=test.interval)
            result.update({prefix + f"TestBytes{kind}": str(share),
                           prefix + f"TotalBytes{kind}": str(int(share * 1.03)),
                           prefix + f"TotalBytes{other}": str(int(share * 0.02)),
                           prefix + "StartTime": _stamp(first),
                           prefix + "EndTime": _stamp(last)})  # fmt: skip
    return result


def _stamp(instant: datetime) -> str:
    """dateTime with microseconds, as TR-181's speed-test times are written."""
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
