"""The policy's purpose list (CORP-1.2): exactly the corporate policy's fourteen purposes,
each mapped to the pack's purposes and, through their elements, to data categories;
"other purposes approved by you" requires consent.  The lint is the pack reader and
``doorstep pack check``, which start-up runs too."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from doorstep.core.errors import ConfigurationError
from doorstep.packcheck.check import check_pack
from doorstep.privacy.datamap.pack import DEFAULT_PACK, default_pack, load_pack
from doorstep.privacy.datamap.pack_policy_purposes import CORPORATE_PURPOSES, OTHER_APPROVED
from doorstep.privacy.datamap.ropa import build_ropa
from doorstep.privacy.datamap.ropa_formats import to_markdown
from doorstep.privacy.datamap.ropa_registers import policy_purpose_categories
from doorstep.schema import metadata
from tests.cli_run import doorstep

#: The bulleted list of the corporate policy's section 1, as printed.
_LIST = re.compile(r"^  \*\s+(.+?)\s*$", re.MULTILINE)


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DEFAULT_PACK, tmp_path / "pack"))


def _edit(pack: Path, old: str, new: str) -> None:
    path = pack / "datamap.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _ours(problem: str) -> bool:
    """A problem about the policy's purposes (other checks have tests of their own)."""
    return "policy purpose" in problem or "policy_purposes" in problem


def _line(pack: Path, text: str) -> int:
    lines = (pack / "datamap.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index("policy_purposes:")
    return next(i for i, item in enumerate(lines) if i >= start and text in item) + 1


@pytest.mark.clause("CORP-1.2")
def test_the_registry_holds_exactly_the_fourteen_purposes_each_with_data_categories() -> None:
    pack = default_pack()
    assert pack.policy_purposes is not None
    listed = pack.policy_purposes.purposes
    assert tuple(listed) == CORPORATE_PURPOSES and len(listed) == 14
    # the quotes are the policy's own list, in its order
    text = (DEFAULT_PACK / pack.policy_purposes.text).read_text(encoding="utf-8")
    start = text.index("We may collect your personal information for the following purposes:")
    bullets = _LIST.findall(text, start)[:14]
    assert [item.quote for item in listed.values()] == bullets
    records = policy_purpose_categories(metadata, pack)
    assert [record.number for record in records] == list(range(1, 15))
    for record in records:
        assert record.maps_to and record.data_categories, record.key
    # computed from the elements, not typed: the union of the activities they map to
    activities = {item.purpose: item for item in build_ropa(metadata, pack).activities}
    for record in records:
        expected = {
            term.key
            for purpose in record.maps_to
            if purpose in activities
            for term in activities[purpose].data_categories
        }
        assert {term.key for term in record.data_categories} == expected, record.key
    consent = [record.key for record in records if record.requires_consent]
    assert consent == [OTHER_APPROVED]
    assert [item for item in check_pack(DEFAULT_PACK, metadata) if _ours(item.message)] == []


@pytest.mark.clause("CORP-1.2")
@pytest.mark.parametrize(
    ("old", "new", "message", "at"),
    [
        (
            "    - id: anti_fraud\n"
            "      quote: Improve our loss prevention and anti-fraud plans.\n"
            "      maps_to: [security.audit, service.access_log]\n",
            "",
            "the pack adopts CORP-1.2: 'policy_purposes' must list exactly the policy's 14 "
            f"purposes in its order ({', '.join(CORPORATE_PURPOSES)}); it lists 13",
            "  purposes:",
        ),
        (
            "    - id: anti_fraud\n",
            "    - id: fraud\n",
            "the pack adopts CORP-1.2: 'policy_purposes' must list exactly the policy's 14 "
            f"purposes in its order ({', '.join(CORPORATE_PURPOSES)}); it lists 14",
            "  purposes:",
        ),
        (
            "      maps_to: [security.audit, service.access_log]\n",
            "      maps_to: []\n",
            "policy purpose 'anti_fraud' is mapped to none of the pack's purposes",
            "      maps_to: []",
        ),
        (
            "      maps_to: [security.audit, service.access_log]\n",
            "      maps_to: [security.audit, fraud.scoring]\n",
            "policy purpose 'anti_fraud' maps to unknown purpose 'fraud.scoring'",
            "fraud.scoring",
        ),
        (
            "      quote: Improve our loss prevention and anti-fraud plans.\n",
            "      quote: Prevent fraud.\n",
            "policy purpose 'anti_fraud': the quote is not in the policy text",
            "      quote: Prevent fraud.",
        ),
        (
            "      maps_to: [cloud.backup]\n      requires_consent: true\n",
            "      maps_to: [cloud.backup]\n",
            "policy purpose 'other_approved' must declare 'requires_consent: true' (CORP-1.2)",
            "- id: other_approved",
        ),
    ],
)
def test_the_lint_refuses_a_list_that_is_not_the_policys_with_file_and_line(
    tmp_path: Path, old: str, new: str, message: str, at: str
) -> None:
    pack = _copy(tmp_path)
    _edit(pack, old, new)
    with pytest.raises(ConfigurationError) as refused:
        load_pack(pack)
    assert refused.value.detail == f"policy pack: datamap.yaml:{_line(pack, at)}: {message}"
    found = check_pack(pack, metadata)  # doorstep pack check says the same
    assert [str(problem) for problem in found if _ours(problem.message)] == [
        f"datamap.yaml:{_line(pack, at)}: {message}"
    ]


@pytest.mark.clause("CORP-1.2")
def test_pack_check_refuses_a_purpose_without_categories_or_consent_it_needs(
    tmp_path: Path,
) -> None:
    pack = _copy(tmp_path)
    # wifi.location_scan stores nothing: on its own it has no data category
    _edit(
        pack,
        "      maps_to: [account.profile, device.qr_camera, wifi.location_scan]\n",
        "      maps_to: [wifi.location_scan]\n",
    )
    # order fulfilment rests on the contract, not on consent
    _edit(
        pack, "      maps_to: [cloud.backup]\n", "      maps_to: [cloud.backup, order.fulfilment]\n"
    )
    found = [str(problem) for problem in check_pack(pack, metadata) if _ours(problem.message)]
    assert found == [
        f"datamap.yaml:{_line(pack, 'maps_to: [wifi.location_scan]')}: policy purpose "
        "'user_experience' has no data category: no element is processed for "
        "wifi.location_scan (CORP-1.2)",
        f"datamap.yaml:{_line(pack, 'maps_to: [cloud.backup, order.fulfilment]')}: policy "
        "purpose 'other_approved' requires consent, but order.fulfilment does not rest on "
        "consent (CORP-1.2)",
    ]


@pytest.mark.clause("CORP-1.2")
def test_a_pack_that_adopts_the_clause_must_declare_the_list(tmp_path: Path) -> None:
    pack = _copy(tmp_path)
    text = (pack / "datamap.yaml").read_text(encoding="utf-8")
    start = text.index("\n# The corporate policy's purposes")
    end = text.index("\n# The controls register")
    (pack / "datamap.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"adopts CORP-1\.2 but declares no"):
        load_pack(pack)


@pytest.mark.clause("CORP-1.2")
def test_the_datamap_commands_show_the_fourteen_with_their_categories() -> None:
    shown = doorstep("datamap", "purposes", env={"DOORSTEP_POLICY_PACK": None})
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    heads = [line for line in lines if re.match(r"^\s*\d+\. ", line)]
    assert [line.split(". ", 1)[1].split(":")[0] for line in heads] == list(CORPORATE_PURPOSES)
    assert heads[-1] == "14. other_approved: Other purposes approved by you.  (consent required)"
    categories = [line for line in lines if line.startswith("    data categories: ")]
    assert len(categories) == 14 and all(not line.endswith(": none") for line in categories)
    assert "    data categories: user.contact, user.content.self_image" in lines
    assert lines[-1].startswith("14 policy purposes; pack purposes outside them: ")
    markdown = to_markdown(build_ropa(metadata, default_pack()))
    assert "## The policy's purposes" in markdown
    assert (
        "| 14 | `other_approved` — Other purposes approved by you. | cloud.backup | required |"
        in (markdown)
    )
