"""``doorstep evidence`` as CI and an auditor run it (in this process): formats, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli_run import doorstep


def evidence(*args: str) -> subprocess.CompletedProcess[str]:
    """``doorstep evidence ARGS`` under the shipped pack, with no reachable database at all."""
    return doorstep(
        "evidence",
        *args,
        env={
            "DOORSTEP_POLICY_PACK": None,
            "DOORSTEP_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        },
    )


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    """A recorded run over real clause ids of the shipped pack, and notes naming a decision."""
    results = tmp_path / "clause-results.json"
    results.write_text(
        json.dumps(
            {
                "format": 1,
                "finished_at": "2025-01-01T00:00:00+00:00",
                "exit_status": 0,
                "arguments": ["-n", "2"],
                "tests_run": 3,
                "clauses": {
                    "CPE-0.2": [{"test": "tests/a.py::test_version", "outcome": "passed"}],
                    "CPE-0.3": [
                        {"test": "tests/a.py::test_contact", "outcome": "passed"},
                        {"test": "tests/a.py::test_ticket", "outcome": "failed"},
                    ],
                },
            }
        ),
        encoding="utf-8",
    )
    (tmp_path / "0001-scope.md").write_text("# Scope\n", encoding="utf-8")
    notes = tmp_path / "clause-status.yaml"
    notes.write_text(
        "not_applicable:\n  CPE-0.1: {decision: 0001-scope.md, why: One policy per pack.}\n",
        encoding="utf-8",
    )
    return results, notes


def test_markdown_to_stdout_lists_every_clause_with_its_status(inputs: tuple[Path, Path]) -> None:
    results, notes = inputs
    result = evidence("--results", str(results), "--decisions", str(notes))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("# Evidence report: ")
    assert "#### CPE-0.2 — proven" in text
    assert "#### CPE-0.3 — partly proven" in text
    assert "#### CPE-0.1 — not applicable" in text and "`0001-scope.md`" in text
    assert "#### CPE-0.4 — open" in text
    assert text.count("\n#### ") == 148  # every clause of the shipped catalogue
    # What keeps a clause comes from the data map and the code: the disclosure register.
    register = text.split("#### CPE-V.3.c", 1)[1].split("\n#### ", 1)[0]
    assert "data element `disclosures.recipient`" in register


def test_out_writes_the_file_and_prints_the_counts(
    tmp_path: Path, inputs: tuple[Path, Path]
) -> None:
    results, notes = inputs
    out = tmp_path / "reports" / "evidence.html"
    result = evidence(
        "--format", "html", "--results", str(results), "--decisions", str(notes), "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"doorstep evidence: wrote {out}: 148 clauses: 1 proven, 1 partly proven, "
        "1 not applicable, 145 open"
    )
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_json_is_the_report_as_data(inputs: tuple[Path, Path]) -> None:
    results, notes = inputs
    result = evidence("-f", "json", "--results", str(results), "--decisions", str(notes))
    data = json.loads(result.stdout)
    assert data["totals"]["proven"] == 1 and len(data["clauses"]) == 148
    assert data["run"]["finished_at"] == "2025-01-01T00:00:00+00:00"


def test_bad_usage_is_exit_2_and_changes_nothing(tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    results, notes = inputs
    out = tmp_path / "never.md"
    cases = {
        ("--format", "pdf", "--results", str(results)): "unknown --format 'pdf'",
        ("--results", str(tmp_path / "absent.json")): "no recorded test run at",
        ("--results", str(notes)): "cannot be read as JSON",
        ("--results", str(results), "--decisions", str(tmp_path / "none.yaml")): "does not exist",
        ("--results", str(results), "--pack", str(tmp_path)): "does not exist",
    }
    for args, message in cases.items():
        result = evidence(*args, "--out", str(out))
        assert result.returncode == 2, args
        assert message in result.stderr, (args, result.stderr)
    assert not out.exists()


def test_an_unwritable_output_is_exit_1(tmp_path: Path, inputs: tuple[Path, Path]) -> None:
    results, notes = inputs
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    result = evidence(
        "--results", str(results), "--decisions", str(notes), "--out", str(blocker / "x.md")
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"doorstep: cannot write {blocker / 'x.md'}")
