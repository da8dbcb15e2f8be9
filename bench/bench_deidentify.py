"""De-identification throughput: MB/s per core on a generated device log, against Python's ``re``.

A log is generated in a temporary directory (1 GiB; 64 MiB with ``--quick``):
router and cloud log lines in which about two lines in three carry identifiers
(MACs, IPv4 and IPv6 addresses, GPON serial numbers, e-mail addresses, phone
numbers, account UUIDs and USP endpoint ids), the rest none.  Then, in the same
run and on the same file:

* **doorstep**: :func:`deidentify_file` with the reference profile shape (IPs
  dropped, every other kind pseudonymised), one process, so MB/s is per core;
* **re baseline**: the same patterns as one alternation compiled by Python's
  ``re``, the same keyed pseudonyms and drops through ``re.sub`` with a callback,
  line by line in the same 1 MiB chunks — on a slice of the file (a quarter),
  scaled, since it is the slow side.

Both outputs of the slice are compared: the figure is only printed when they
agree on every identifier count.  Target of the issue: >= 50 MB/s per core and
>= 5x the ``re`` baseline.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from pathlib import Path

from bench.harness import BenchContext, Figure
from doorstep.privacy.deidentify import (
    Kind,
    Profile,
    PseudonymKey,
    Scanner,
    deidentify_file,
)
from doorstep.privacy.deidentify.kinds import BUILTIN_PATTERNS, LABELLED
from doorstep.privacy.deidentify.pseudonyms import Pseudonymiser

MIB = 1 << 20
PROFILE = Profile("bench", pseudonymise=frozenset(Kind) - {Kind.IP})
KEY = PseudonymKey.derive("bench-secret-" + "x" * 32, recipient="research")


def _hex(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(count))


_PLAIN = (
    "kernel: eth0 link up 1000Mbps full duplex, queue {q} flow control off",
    "wland[812]: channel utilisation {q}0% on 5GHz band, noise floor -92 dBm",
    "ntpd[55]: clock synchronised, offset {q} ms, stratum 2",
    "procd: service dnsmasq restarted after config change (generation {q})",
    "cwmp[77]: periodic inform scheduled in {q}00 s, session closed normally",
    "fw3: reloading firewall rules, {q} zones, 14 redirects, 0 errors",
)


def _line(rng: random.Random, n: int, *, dense: bool) -> str:
    stamp = f"2026-12-07T{n % 24:02d}:{n % 60:02d}:{(n * 7) % 60:02d}.{n % 1000:03d}Z"
    if not dense and n % 3:  # a typical log: one line in three names someone or something
        return f"{stamp} " + _PLAIN[rng.randrange(len(_PLAIN))].format(q=n % 10)
    n //= 1 if dense else 3
    mac = ":".join(_hex(rng, 2) for _ in range(6))
    ip = f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    pick = n % 9
    if pick == 0:
        return f"{stamp} wland[812]: assoc sta {mac} rssi=-{rng.randrange(30, 90)} ch=36 ok"
    if pick == 1:
        return f"{stamp} dhcpd[431]: DHCPACK on {ip} to {mac} lease=86400 iface=br0"
    if pick == 2:
        return f"{stamp} cwmp[77]: inform serial=ZTEG{_hex(rng, 8).upper()} event=2 PERIODIC rc=0"
    if pick == 3:
        return f"{stamp} api: session {_uuid(rng)} signed in via app for user{n}@example.org"
    if pick == 4:
        return f"{stamp} usp: Notify from os::00D09E-{_hex(rng, 10).upper()} sub=boot-1 ok"
    if pick == 5:
        return f"{stamp} pppd[901]: local IP {ip} remote 2001:db8:{_hex(rng, 4)}::1 mtu 1492"
    if pick == 6:
        return f"{stamp} notify: sms queued to +49 170 {rng.randrange(1000000, 9999999)} ok"
    return f"{stamp} " + _PLAIN[n % len(_PLAIN)].format(q=n % 10)


def _uuid(rng: random.Random) -> str:
    return f"{_hex(rng, 8)}-{_hex(rng, 4)}-4{_hex(rng, 3)}-a{_hex(rng, 3)}-{_hex(rng, 12)}"


def generate(path: Path, size: int, *, dense: bool = False, seed: int = 17) -> None:
    """Write about ``size`` bytes of log lines: a pool of 12,288 lines, shuffled per repeat."""
    rng = random.Random(seed)
    pool = [(_line(rng, n, dense=dense) + "\n").encode() for n in range(12288)]
    written = 0
    with path.open("wb") as out:
        while written < size:
            rng.shuffle(pool)
            block = b"".join(pool)
            out.write(block)
            written += len(block)


def _re_baseline(path: Path, limit: int) -> tuple[float, dict[str, int]]:
    """Seconds for Python's ``re`` to do the same work on the first ``limit`` bytes, and counts."""
    groups: list[str] = []
    kind_of: dict[str, Kind] = {}
    for i, kind in enumerate(Kind):
        for j, pattern in enumerate(BUILTIN_PATTERNS[kind]):
            name = f"k{i}_{j}"
            kind_of[name] = kind
            groups.append(f"(?P<{name}>{pattern})")
    combined = re.compile("|".join(groups).encode())
    label = re.compile(rb"^[A-Za-z_]+[=:] ?\"?")
    pseudonyms = Pseudonymiser(KEY)
    counts: dict[str, int] = {}

    def replace(match: re.Match[bytes]) -> bytes:
        kind = kind_of[match.lastgroup or ""]
        counts[kind.value] = counts.get(kind.value, 0) + 1
        value, prefix = match.group(0), b""
        if kind in LABELLED and (found := label.match(value)) is not None:
            prefix, value = value[: found.end()], value[found.end() :]
        if kind not in PROFILE.pseudonymise:
            return prefix + f"[{kind.value} removed]".encode()
        return prefix + pseudonyms.token(kind, value)

    started = time.perf_counter()
    done = 0
    with path.open("rb") as reader, (path.parent / "re.out").open("wb") as writer:
        while done < limit:
            chunk = reader.read(MIB)
            if not chunk:
                break
            done += len(chunk)
            writer.write(combined.sub(replace, chunk))
    return time.perf_counter() - started, counts


def _measure(folder: Path, size: int, *, dense: bool) -> Figure:
    """One figure: Doorstep's scanner on the whole log, ``re`` on a quarter of it."""
    log = folder / ("dense.log" if dense else "device.log")
    generate(log, size, dense=dense)
    actual = log.stat().st_size
    started = time.perf_counter()
    summary = deidentify_file(log, folder / "out.log", Scanner(PROFILE, KEY))
    ours = actual / MIB / (time.perf_counter() - started)
    sliced = folder / "slice.log"
    with log.open("rb") as reader, sliced.open("wb") as writer:
        writer.write(reader.read(max(actual // 4, MIB)))
    slice_summary = deidentify_file(sliced, folder / "slice.out", Scanner(PROFILE, KEY))
    re_seconds, re_counts = _re_baseline(sliced, sliced.stat().st_size)
    baseline = sliced.stat().st_size / MIB / re_seconds
    identifiers = sum(summary.replaced.values())
    note = f"{actual / MIB:.0f} MiB, {identifiers / (actual / MIB):.0f} identifiers/MiB" + (
        "" if re_counts == slice_summary.replaced else "; COUNTS DIFFER from re"
    )
    for path in (log, sliced, folder / "out.log", folder / "slice.out"):
        path.unlink(missing_ok=True)
    return Figure(
        "de-identify " + ("dense log, every line" if dense else "device log, 1 line in 3"),
        ours,
        "MiB/s",
        target=">= 50 MiB/s per core, >= 5x re" if not dense else "",
        baseline=baseline,
        baseline_name="Python re.sub, same patterns",
        note=note,
    )


def run(ctx: BenchContext) -> list[Figure]:
    """Generate each log, then time Doorstep's scanner and the ``re`` baseline on it."""
    size = 64 * MIB if ctx.quick else 1024 * MIB
    with tempfile.TemporaryDirectory(prefix="doorstep-bench-deid-") as folder:
        return [
            _measure(Path(folder), size, dense=False),
            _measure(Path(folder), size // 4, dense=True),
        ]
