"""Identical patterns compile once per process; a broken one still fails every load, at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import DEFAULT_PACK, load_pack
from doorstep.privacy.deidentify import Kind, Profile, PseudonymKey, Scanner
from doorstep.privacy.deidentify import scanner as scanning

MAC = b"00:1A:2B:3C:4D:5E"


def test_loading_a_pack_twice_compiles_its_patterns_once() -> None:
    scanning._compiled.cache_clear()
    load_pack(DEFAULT_PACK)
    first = scanning._compiled.cache_info()
    assert first.misses > 0
    load_pack(DEFAULT_PACK)
    second = scanning._compiled.cache_info()
    assert second.misses == first.misses
    assert second.hits == first.hits + first.misses


def test_scanners_of_one_profile_share_the_compiled_patterns_not_their_scratch() -> None:
    profile = Profile("logs", pseudonymise=frozenset({Kind.MAC}))
    key = PseudonymKey.derive("a deployment secret for tests", recipient="lab")
    one, two = Scanner(profile, key), Scanner(profile, key)
    databases = [database for database, _start in one._databases]
    others = [database for database, _start in two._databases]
    assert all(
        a is not b and a.scratch is not b.scratch for a, b in zip(databases, others, strict=True)
    )
    line = b"link up " + MAC + b"\n"
    assert one.block(line) == two.block(line) and MAC not in one.block(line)


def test_a_broken_pattern_fails_every_load_at_its_line(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    for item in DEFAULT_PACK.iterdir():
        if item.is_file():
            (pack / item.name).write_bytes(item.read_bytes())
    text = (pack / "datamap.yaml").read_text()
    anchor = "    pseudonymise: [serial_number, mac, email, phone, account_id, device_id]\n"
    (pack / "datamap.yaml").write_text(
        text.replace(anchor, anchor + "    patterns:\n      serial_number: ['ZTE(']\n")
    )
    for _attempt in range(2):
        with pytest.raises(ConfigurationError) as raised:
            load_pack(pack)
        assert "datamap.yaml:" in raised.value.detail
        assert "deidentification.diagnostic_logs" in raised.value.detail
