"""``doorstep pack diff OLD NEW`` also says how publishing NEW as a version would be classified.

Each difference major (with its trigger) or minor, and whether the version would
need each subscriber's acceptance: the classifier of decision 0019, as ``doorstep
policy preview`` runs it, without a database.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from doorstep.privacy.datamap.pack import DEFAULT_PACK
from tests.cli_run import doorstep

OFFLINE: dict[str, str | None] = {"DOORSTEP_DATABASE_URL": None}


def _shorter_outbox(datamap: dict[str, Any], consent: dict[str, Any]) -> None:
    datamap["retention"]["outbox_messages"]["period"] = "P7D"


def test_pack_diff_prints_each_difference_major_or_minor(
    pack_copy: Callable[..., Path],
) -> None:
    rights = {
        "access": "Ask for a copy in the privacy center.",
        "correction": "Ask us to correct it in the privacy center.",
    }
    new = pack_copy("new", _shorter_outbox, policy={"rights": rights})
    result = doorstep("pack", "diff", str(DEFAULT_PACK), str(new), "--offline", env=OFFLINE)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("as a policy version: major; needs each subscriber's acceptance")
    classified = [" ".join(line.split()) for line in lines[start + 1 : -1]]
    assert "MAJOR (rights) rights: deletion removed [reduces rights]" in classified
    assert "MAJOR (rights) rights: access changed" in " ".join(classified)
    assert "minor retention: outbox_messages shorter (30 days -> 7 days)" in classified
    assert classified[-1] == "minor texts: policy texts changed"
    assert lines[-1] == "offline: no counts (--offline)"


def test_pack_diff_of_a_reworded_pack_is_minor(pack_copy: Callable[..., Path]) -> None:
    new = pack_copy("reworded")
    text = new / "cpe-privacy-policy.txt"
    text.write_text(text.read_text(encoding="utf-8") + "\nA clarified sentence.\n", "utf-8")
    result = doorstep("pack", "diff", str(DEFAULT_PACK), str(new), "--offline", env=OFFLINE)
    assert result.returncode == 0, result.stderr
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert lines[1:3] == ["as a policy version: minor", "minor texts: policy texts changed"]
