"""The pack's ``controls:`` section: loaded with its defaults, and checked with file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from doorstep.packcheck.check import check_pack
from doorstep.privacy.datamap.pack import DEFAULT_PACK, load_pack
from doorstep.privacy.datamap.pack_controls import ControlKind
from doorstep.schema import metadata

SECTION = "\ncontrols:\n"


def _pack_with(tmp_path: Path, section: str) -> Path:
    """A copy of the reference pack whose ``controls:`` section is ``section``."""
    pack = Path(shutil.copytree(DEFAULT_PACK, tmp_path / "pack"))
    datamap = pack / "datamap.yaml"
    text = datamap.read_text(encoding="utf-8")
    head = text[: text.index(SECTION)] if SECTION in text else text
    datamap.write_text(head + section, encoding="utf-8")
    return pack


def _line_of(pack: Path, needle: str) -> int:
    lines = (pack / "datamap.yaml").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def test_both_shipped_packs_declare_the_section() -> None:
    reference = load_pack(DEFAULT_PACK).controls
    assert reference.interval(ControlKind.CONTINUITY_PLAN) == 12
    assert reference.interval(ControlKind.CERTIFICATE) is None
    assert reference.desk == "privacy@zte.com.cn"
    assert {claim.code for claim in reference.claims.values()} >= {
        "certification_claim_unsupported",
        "continuity_claim_unsupported",
    }
    example = load_pack(DEFAULT_PACK.parent / "example-isp").controls
    assert example.desk == "dpo@example.net" and set(example.claims) == {"continuity"}


def test_without_a_section_every_interval_is_twelve_months(tmp_path: Path) -> None:
    policy = load_pack(_pack_with(tmp_path, "")).controls
    assert policy.claims == {} and policy.desk == ""
    assert {policy.interval(kind) for kind in ControlKind} == {12, None}


@pytest.mark.parametrize(
    ("section", "needle", "message"),
    [
        (
            "controls:\n  intervals:\n    continuity_plan: 0\n",
            "continuity_plan: 0",
            "controls.intervals.continuity_plan must be a whole number of months",
        ),
        (
            "controls:\n  intervals:\n    certificate: 12\n",
            "certificate: 12",
            "a certificate has no interval",
        ),
        (
            "controls:\n  claims:\n    certified:\n      text: We are certified.\n"
            "      evidence: [diploma]\n",
            "evidence: [diploma]",
            "unknown control kind 'diploma'",
        ),
        (
            "controls:\n  claims:\n    certified:\n      evidence: [certificate]\n",
            "certified:",
            "claim 'certified' has no text",
        ),
        ("controls:\n  desk: not-an-address\n", "desk:", "controls.desk must be an e-mail"),
        (
            "controls:\n  claims:\n    certified:\n      text: We are certified.\n"
            "      evidence: [certificate]\n      clauses: [CPE-IV.2.z]\n",
            "clauses: [CPE-IV.2.z]",
            "claim 'certified' cites unknown clause 'CPE-IV.2.z'",
        ),
    ],
)
def test_a_bad_section_is_named_with_its_file_and_line(
    tmp_path: Path, section: str, needle: str, message: str
) -> None:
    pack = _pack_with(tmp_path, "\n" + section)
    found = [str(problem) for problem in check_pack(pack, metadata)]
    expected = f"datamap.yaml:{_line_of(pack, needle)}: "
    assert any(line.startswith(expected) and message in line for line in found), found
