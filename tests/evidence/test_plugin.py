"""``pytest --clause-report`` under pytest-xdist: every worker's outcomes reach the file.

A real pytest run in a process of its own (its subject is the run: workers,
controller, the file written at the end), over a small generated suite whose
tests pass, fail, skip and break in set-up and tear-down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from doorstep.privacy.evidence.results import load_results

ROOT = Path(__file__).resolve().parents[2]

SUITE = """
import pytest


@pytest.mark.clause("CPE-0.2")
def test_passes():
    pass


@pytest.mark.clause("CPE-0.2")
@pytest.mark.clause("CPE-0.3")
def test_fails():
    assert False


@pytest.mark.clause("CPE-0.3")
def test_skips():
    pytest.skip("not here")


@pytest.fixture
def broken_setup():
    raise RuntimeError("set-up")


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("tear-down")


@pytest.mark.clause("CPE-0.4")
def test_setup_breaks(broken_setup):
    pass


@pytest.mark.clause("CPE-0.5")
def test_teardown_breaks(broken_teardown):
    pass


@pytest.mark.parametrize("n", range(6))
def test_unmarked(n):
    pass
"""


def test_the_report_holds_every_workers_outcomes(tmp_path: Path) -> None:
    (tmp_path / "test_marked.py").write_text(SUITE, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    clause(id): a promise\n", encoding="utf-8"
    )
    report = tmp_path / "out" / "clause-results.json"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "COV_")) and key != "CI"
    }
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.plugins.clauses",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "--clause-report",
            str(report),
            "test_marked.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr  # tests failed, as written
    assert "2 workers" in run.stdout, run.stdout

    recorded = load_results(report)
    outcomes = {
        clause: {test.test.split("::")[1]: test.outcome for test in tests}
        for clause, tests in recorded.clauses.items()
    }
    assert outcomes == {
        "CPE-0.2": {"test_passes": "passed", "test_fails": "failed"},
        "CPE-0.3": {"test_fails": "failed", "test_skips": "skipped"},
        "CPE-0.4": {"test_setup_breaks": "failed"},
        "CPE-0.5": {"test_teardown_breaks": "failed"},
    }
    assert recorded.tests_run == 11
    assert recorded.exit_status == 1
    assert recorded.arguments[-1] == "test_marked.py"
    assert json.loads(report.read_text(encoding="utf-8"))["format"] == 1
