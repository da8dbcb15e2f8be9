"""De-identification: canaries never leave, pseudonyms are keyed and stable, failures close."""

from __future__ import annotations

import hmac
import io
import tracemalloc
from pathlib import Path

import pytest

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import default_pack, load_pack
from doorstep.privacy.deidentify import (
    Kind,
    MalformedLineError,
    PatternError,
    Profile,
    PseudonymKey,
    Scanner,
    deidentify_file,
    deidentify_payload,
    deidentify_stream,
)

SECRET = "test-deployment-secret-" + "s" * 20
SERIAL = "ZTEGC8A1B2C3"
MAC = "a4:5e:60:d1:22:9f"
EMAIL = "canary.subscriber@example.net"
IP = "203.0.113.77"
PHONE = "+49 170 5550123"
ACCOUNT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
DEVICE = "os::00D09E-CANARY0042"
CANARIES = (SERIAL, MAC, EMAIL, IP, PHONE, ACCOUNT, DEVICE)
LOG = (
    f"2026-12-07T10:00:00Z cwmp[77]: inform serial={SERIAL} event=2 PERIODIC\n"
    f"2026-12-07T10:00:01Z wland[812]: assoc sta {MAC} rssi=-61\n"
    f"2026-12-07T10:00:02Z dhcpd: DHCPACK on {IP} to {MAC.upper()}\n"
    f"2026-12-07T10:00:03Z api: account {ACCOUNT} <{EMAIL}> sms to {PHONE}\n"
    f"2026-12-07T10:00:04Z usp: Notify from {DEVICE} sub=boot-1\n"
    "2026-12-07T10:00:05Z kernel: eth0 link up 1000Mbps full duplex\n"
)


def _scanner(profile: Profile | None = None, *, generation: int = 1) -> Scanner:
    key = PseudonymKey.derive(SECRET, recipient="research", generation=generation)
    return Scanner(profile or default_pack().deidentification["diagnostic_logs"], key)


def _canaries_absent(text: str) -> None:
    lowered = text.lower()
    for canary in CANARIES:
        assert canary.lower() not in lowered, canary
    assert MAC.replace(":", "").lower() not in lowered


@pytest.mark.clause("CPE-IV.2.a")
def test_a_log_line_with_a_mac_reaches_the_sink_as_its_keyed_hash() -> None:
    key = PseudonymKey.derive(SECRET, recipient="research")
    sink = io.BytesIO()
    deidentify_stream(io.BytesIO(f"assoc sta {MAC} ok\n".encode()), sink, _scanner())
    expected = hmac.digest(key.secret, b"mac\x00" + MAC.replace(":", "").encode(), "sha256")
    assert sink.getvalue() == f"assoc sta mac-p1-{expected[:8].hex()} ok\n".encode()


@pytest.mark.clause("CPE-IV.2.a")
@pytest.mark.clause("CORP-7.2")
def test_planted_identifiers_never_appear_in_a_deidentified_export(tmp_path: Path) -> None:
    source = tmp_path / "device.log"
    source.write_text(LOG * 50)
    target = tmp_path / "export" / "device.log"
    summary = deidentify_file(source, target, _scanner())
    out = target.read_text()
    _canaries_absent(out)
    assert "[ip removed]" in out  # the pack's profile drops IP addresses
    assert out.count("\n") == LOG.count("\n") * 50
    assert summary.lines == 300
    assert summary.replaced == {
        "serial_number": 50,
        "mac": 100,
        "ip": 50,
        "email": 50,
        "phone": 50,
        "account_id": 50,
        "device_id": 50,
    }
    assert "kernel: eth0 link up 1000Mbps full duplex" in out  # the rest is untouched


def test_pseudonyms_are_stable_per_key_and_change_when_it_rotates() -> None:
    first = deidentify_payload(LOG, _scanner())
    assert first == deidentify_payload(LOG, _scanner())
    rotated = deidentify_payload(LOG, _scanner(generation=2))
    assert "mac-p2-" in rotated and "mac-p1-" not in rotated
    tokens_first = {word for word in first.split() if "-p1-" in word}
    tokens_rotated = {word.replace("-p2-", "-p1-") for word in rotated.split() if "-p2-" in word}
    assert tokens_first and not tokens_first & tokens_rotated
    other = Scanner(
        default_pack().deidentification["diagnostic_logs"],
        PseudonymKey.derive(SECRET, recipient="analytics"),
    )
    assert not tokens_first & set(deidentify_payload(LOG, other).split())


def test_spellings_of_one_mac_share_a_pseudonym() -> None:
    out = deidentify_payload(f"{MAC} {MAC.upper()} {MAC.replace(':', '-')}\n", _scanner())
    tokens = out.split()
    assert len(set(tokens)) == 1 and tokens[0].startswith("mac-p1-")


def test_kinds_not_pseudonymised_are_dropped() -> None:
    profile = Profile("macs_only", pseudonymise=frozenset({Kind.MAC}))
    out = deidentify_payload(LOG, _scanner(profile))
    _canaries_absent(out)
    assert "[email removed]" in out and "[serial_number removed]" in out
    assert "serial=[serial_number removed]" in out  # the label stays, the value goes
    assert "mac-p1-" in out


def test_identifiers_across_chunk_boundaries_are_replaced_like_any_other() -> None:
    whole = io.BytesIO()
    deidentify_stream(io.BytesIO(LOG.encode() * 20), whole, _scanner())
    for size in (1, 7, 64):
        chunked = io.BytesIO()
        deidentify_stream(io.BytesIO(LOG.encode() * 20), chunked, _scanner(), chunk_size=size)
        assert chunked.getvalue() == whole.getvalue()


def test_a_line_that_is_not_utf8_stops_the_export_naming_it_and_leaves_no_file(
    tmp_path: Path,
) -> None:
    source = tmp_path / "device.log"
    source.write_bytes(LOG.encode() * 3 + f"bad {MAC} \xff\xfe\n".encode("latin-1") + b"after\n")
    target = tmp_path / "out.log"
    with pytest.raises(MalformedLineError) as raised:
        deidentify_file(source, target, _scanner())
    assert raised.value.line == 19
    assert "line 19" in raised.value.detail and MAC not in raised.value.detail
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [source]  # no temporary left behind


def test_a_nul_byte_or_an_endless_line_fails_closed() -> None:
    with pytest.raises(MalformedLineError) as raised:
        deidentify_stream(io.BytesIO(b"ok\nok\nx\x00y\n"), io.BytesIO(), _scanner())
    assert raised.value.line == 3
    sink = io.BytesIO()
    endless = b"ok\n" + (MAC.encode() + b" ") * 100
    with pytest.raises(MalformedLineError) as raised:
        deidentify_stream(io.BytesIO(endless), sink, _scanner(), chunk_size=64, max_line=256)
    assert raised.value.line == 2
    assert MAC.encode() not in sink.getvalue()


def test_a_pattern_that_does_not_compile_stops_before_anything_is_scanned() -> None:
    profile = Profile(
        "broken", pseudonymise=frozenset(Kind), extra_patterns={Kind.SERIAL_NUMBER: ("ZTE(",)}
    )
    with pytest.raises(PatternError) as raised:
        _scanner(profile)
    assert raised.value.kind == "serial_number"
    assert raised.value.index == 2  # after the two built-in serial patterns


def test_a_pack_pattern_that_does_not_compile_stops_the_pack_at_its_line(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    source = Path(default_pack().path)
    pack.mkdir()
    for item in source.iterdir():
        if item.is_file():
            (pack / item.name).write_bytes(item.read_bytes())
    text = (pack / "datamap.yaml").read_text()
    anchor = "    pseudonymise: [serial_number, mac, email, phone, account_id, device_id]\n"
    assert text.count(anchor) == 1
    (pack / "datamap.yaml").write_text(
        text.replace(anchor, anchor + "    patterns:\n      serial_number: ['ZTE(']\n")
    )
    with pytest.raises(ConfigurationError) as raised:
        load_pack(pack)
    assert "datamap.yaml:" in raised.value.detail
    assert "deidentification.diagnostic_logs" in raised.value.detail


def test_a_large_stream_runs_in_bounded_memory() -> None:
    class Generated(io.RawIOBase):
        """About 12 MiB of log lines, made as they are read."""

        def __init__(self) -> None:
            self.left = 12 << 20
            self.block = LOG.encode() * 200

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            if self.left <= 0:
                return b""
            take = min(size if size > 0 else len(self.block), len(self.block), self.left)
            self.left -= take
            return self.block[:take]

    class Counting(io.RawIOBase):
        def __init__(self) -> None:
            self.total = 0
            self.leaked = False

        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            self.total += len(data)
            self.leaked = self.leaked or EMAIL.encode() in data
            return len(data)

    sink = Counting()
    tracemalloc.start()
    try:
        summary = deidentify_stream(Generated(), sink, _scanner(), chunk_size=1 << 20)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.bytes_in >= 12 << 20 and not sink.leaked
    assert peak < 8 << 20  # a few chunks, never the input
