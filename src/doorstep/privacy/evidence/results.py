"""The last recorded test run: which tests prove which clause, and how each ended.

The test suite's ``clause`` marker plugin (``tests/plugins/clauses.py``) writes it
with ``--clause-report PATH``; ``python3 dev.py test`` records it in
:data:`DEFAULT_RESULTS`.  The file is JSON::

    {"format": 1, "finished_at": "2025-01-01T12:00:00+00:00", "exit_status": 0,
     "arguments": ["-n", "2"], "tests_run": 1234,
     "clauses": {"CPE-V.3.a": [{"test": "tests/...::test_x", "outcome": "passed"}]}}

``outcome`` is ``passed``, ``failed`` or ``skipped``.  :func:`load_results`
raises :class:`ConfigurationError` naming the file and what is wrong with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from doorstep.core.errors import ConfigurationError

#: Where ``python3 dev.py test`` records the run (relative to the checkout; git-ignored).
DEFAULT_RESULTS = Path(".evidence") / "clause-results.json"
FORMAT = 1
OUTCOMES = ("passed", "failed", "skipped")


@dataclass(frozen=True, slots=True)
class MarkedTest:
    """One marked test and how it ended in the run."""

    test: str
    outcome: str

    @property
    def passed(self) -> bool:
        """Whether the test passed."""
        return self.outcome == "passed"


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A recorded test run: when it finished, how, and the marked tests per clause."""

    finished_at: str
    exit_status: int
    arguments: tuple[str, ...]
    tests_run: int
    clauses: dict[str, tuple[MarkedTest, ...]] = field(default_factory=dict)

    def tests_of(self, clause_id: str) -> tuple[MarkedTest, ...]:
        """The marked tests of ``clause_id`` in this run (none when it has no marker)."""
        return self.clauses.get(clause_id, ())


def _outcome(item: Any, clause_id: str, where: Path) -> MarkedTest:
    if (
        not isinstance(item, dict)
        or not isinstance(item.get("test"), str)
        or item.get("outcome") not in OUTCOMES
    ):
        raise ConfigurationError(
            f"{where}: clause {clause_id} has an entry without a test and an outcome "
            f"({', '.join(OUTCOMES)})"
        )
    return MarkedTest(item["test"], item["outcome"])


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_results(document: Any, where: Path) -> RecordedRun:
    """The :class:`RecordedRun` of a decoded results document (``where`` names it in errors)."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigurationError(
            f"{where} is not a clause report of format {FORMAT} (written by pytest --clause-report)"
        )
    clauses = document.get("clauses")
    if not isinstance(clauses, dict):
        raise ConfigurationError(f"{where}: 'clauses' must be a mapping of clause id to tests")
    arguments = document.get("arguments") or []
    return RecordedRun(
        finished_at=str(document.get("finished_at") or "unknown"),
        exit_status=_number(document.get("exit_status")),
        arguments=tuple(str(arg) for arg in arguments) if isinstance(arguments, list) else (),
        tests_run=_number(document.get("tests_run")),
        clauses={
            str(clause_id): tuple(_outcome(item, str(clause_id), where) for item in items)
            for clause_id, items in clauses.items()
            if isinstance(items, list)
        },
    )


def load_results(path: Path) -> RecordedRun:
    """Read the clause report at ``path``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            f"no recorded test run at {path}: run `python3 dev.py test` "
            "(or pytest --clause-report PATH) first"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} cannot be read as JSON ({exc})") from None
    return parse_results(document, path)
