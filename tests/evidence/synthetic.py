"""Synthetic inputs of the evidence report: a clause catalogue and a recorded run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from doorstep.privacy.evidence.results import RecordedRun, parse_results


def catalogue_in(folder: Path, *ids: str, **extra: Any) -> Path:
    """A clauses.yaml in ``folder`` with one clause per id (``extra`` per id: more fields)."""
    clauses = [
        {
            "id": clause_id,
            "source": {"file": "policy.txt", "section": f"{clause_id[:3]} Heading (part)"},
            "quote": f"We promise {clause_id}.",
            "obligation": f"The software keeps {clause_id}.",
            **extra.get(clause_id.replace("-", "_").replace(".", "_"), {}),
        }
        for clause_id in ids
    ]
    document = {"meta": {"title": "Test policy", "sources": {"T": {"name": "Test Policy"}}}}
    (folder / "clauses.yaml").write_text(
        yaml.safe_dump({**document, "clauses": clauses}), encoding="utf-8"
    )
    return folder


def run_of(clauses: dict[str, list[tuple[str, str]]], exit_status: int = 0) -> RecordedRun:
    """A recorded run: clause id -> [(test, outcome)]."""
    return parse_results(
        {
            "format": 1,
            "finished_at": "2025-01-01T00:00:00+00:00",
            "exit_status": exit_status,
            "arguments": [],
            "tests_run": 9,
            "clauses": {
                clause_id: [{"test": test, "outcome": outcome} for test, outcome in tests]
                for clause_id, tests in clauses.items()
            },
        },
        Path("results.json"),
    )
