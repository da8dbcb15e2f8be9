"""Pytest plugin: the ``clause`` marker and the no-skips-under-CI rule.

* ``@pytest.mark.clause("CPE-I.ii.1.c")`` ties a test to a promise of the policy;
  an id that is not in the policy pack's ``clauses.yaml`` stops the run at
  collection, so a typo can never make a promise look proven.
* With ``CI=true`` a skipped test fails the run: CI must exercise everything.
* ``--clause-report PATH`` writes which tests prove which clause, and their outcome
  (``doorstep evidence`` reads it, :mod:`doorstep.privacy.evidence.results`).  Under
  pytest-xdist the outcomes are gathered on the controller from the reports the
  workers send back (the clause ids travel in ``user_properties``), so the file is
  written once, by the process that saw every test.  A test's outcome is the worst
  of its phases (a passing call with a failing teardown is ``failed``).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
import yaml

CLAUSES_FILE = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "doorstep"
    / "policy_pack"
    / "default"
    / "clauses.yaml"
)


@cache
def known_clause_ids() -> frozenset[str]:
    """Every clause id of the default policy pack."""
    data = yaml.safe_load(CLAUSES_FILE.read_text(encoding="utf-8"))
    return frozenset(str(item["id"]) for item in data["clauses"])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clause-report",
        default=None,
        help="write a JSON map of clause id -> tests and outcomes to this path",
    )


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    unknown: list[str] = []
    for item in items:
        for marker in item.iter_markers("clause"):
            if len(marker.args) != 1 or not isinstance(marker.args[0], str):
                unknown.append(f"{item.nodeid}: clause marker takes exactly one id")
            elif marker.args[0] not in known_clause_ids():
                unknown.append(f"{item.nodeid}: unknown clause id {marker.args[0]!r}")
    if unknown:
        raise pytest.UsageError("invalid clause markers:\n  " + "\n  ".join(unknown))


#: The file format :mod:`doorstep.privacy.evidence.results` reads.
REPORT_FORMAT = 1
#: Worse outcomes win when a test's phases disagree.
_SEVERITY = {"passed": 0, "skipped": 1, "failed": 2}

#: clause id -> test node id -> outcome (the worst of the test's phases so far).
_outcomes: dict[str, dict[str, str]] = defaultdict(dict)
_tests_run: set[str] = set()
_skipped_under_ci: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and os.environ.get("CI", "").lower() == "true":
        _skipped_under_ci.append(report.nodeid)
    if report.when == "call" or report.outcome != "passed":
        _tests_run.add(report.nodeid)
        # user_properties survive pytest-xdist's trip from worker to controller.
        for clause in (value for key, value in report.user_properties if key == "clause"):
            seen = _outcomes[clause].get(report.nodeid, "passed")
            worst = max(seen, report.outcome, key=lambda outcome: _SEVERITY.get(outcome, 2))
            _outcomes[clause][report.nodeid] = worst


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    clauses = [m.args[0] for m in item.iter_markers("clause") if m.args]
    report.user_properties.extend(("clause", c) for c in clauses)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped_under_ci:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                "CI=true: skipped tests are failures here:\n  " + "\n  ".join(_skipped_under_ci),
                red=True,
            )
    path = session.config.getoption("--clause-report")
    if path and not hasattr(session.config, "workerinput"):
        # session.exitstatus: the run's status once the CI rule above has had its say.
        _write_clause_report(Path(path), session, int(session.exitstatus))


def _write_clause_report(path: Path, session: pytest.Session, exitstatus: int) -> None:
    """Write the run's clause -> tests and outcomes, with when and how the run was made."""
    document = {
        "format": REPORT_FORMAT,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "exit_status": exitstatus,
        "arguments": [str(arg) for arg in session.config.invocation_params.args],
        "tests_run": len(_tests_run),
        "clauses": {
            clause: [{"test": test, "outcome": tests[test]} for test in sorted(tests)]
            for clause, tests in sorted(_outcomes.items())
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
