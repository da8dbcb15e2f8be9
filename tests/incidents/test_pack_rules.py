"""The pack's incidents section: shorter clocks allowed, longer refused with file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.incident_rules import IncidentRules
from doorstep.privacy.datamap.pack import DEFAULT_PACK, read_pack

EXAMPLE = DEFAULT_PACK.parent / "example-isp"


def _pack(tmp_path: Path, section: str) -> Path:
    folder = tmp_path / "pack"
    shutil.copytree(EXAMPLE, folder)
    datamap = folder / "datamap.yaml"
    text = datamap.read_text(encoding="utf-8")
    head = text[: text.index("\nincidents:")]
    datamap.write_text(head + "\n" + section, encoding="utf-8")
    return folder


def test_both_packs_name_their_jurisdictions_within_72_hours() -> None:
    for folder in (DEFAULT_PACK, EXAMPLE):
        rules = read_pack(folder)[0].incidents
        assert rules.home in rules.jurisdictions
        assert all(rule.authority_hours <= 72 for rule in rules.jurisdictions.values())
        assert all(rule.subject_hours <= 72 for rule in rules.jurisdictions.values())


def test_a_shorter_period_is_kept(tmp_path: Path) -> None:
    folder = _pack(
        tmp_path,
        "incidents:\n  home: DE\n  jurisdictions:\n    DE:\n      authority: BfDI\n"
        "      authority_hours: 24\n      subject_hours: 48\n",
    )
    rule = read_pack(folder)[0].incidents.jurisdictions["DE"]
    assert (rule.authority_hours, rule.subject_hours) == (24, 48)


def test_a_longer_period_is_refused_with_its_line(tmp_path: Path) -> None:
    folder = _pack(
        tmp_path,
        "incidents:\n  home: DE\n  jurisdictions:\n    DE:\n      authority: BfDI\n"
        "      authority_hours: 96\n",
    )
    lines = (folder / "datamap.yaml").read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "authority_hours: 96" in text)
    with pytest.raises(ConfigurationError) as refused:
        read_pack(folder)
    assert f"datamap.yaml:{line}: " in refused.value.detail
    assert "longer than the 72 hours" in refused.value.detail


def test_pack_check_lists_every_problem_of_the_section(tmp_path: Path) -> None:
    from doorstep.packcheck.check import check_pack
    from doorstep.schema import metadata

    folder = _pack(
        tmp_path,
        "incidents:\n  home: XX\n  jurisdictions:\n    DE:\n      authority: BfDI\n"
        "      authority_hours: 96\n      subject_hours: 100\n      calling_codes: ['49']\n"
        "    AT:\n      authority: DSB\n      calling_codes: ['49']\n",
    )
    messages = [p.message for p in check_pack(folder, metadata) if p.file == "datamap.yaml"]
    assert any("authority_hours is 96 hours" in m for m in messages)
    assert any("subject_hours is 100 hours" in m for m in messages)
    assert any("calling code '49' is also 'DE'" in m for m in messages)
    assert any("home 'XX'" in m for m in messages)


def test_a_pack_without_the_section_has_one_jurisdiction_at_72_hours() -> None:
    rules = IncidentRules()
    assert rules.home == "default"
    assert rules.jurisdictions["default"].authority_hours == 72
