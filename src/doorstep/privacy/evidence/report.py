"""Each clause's status, from its marked tests' outcomes and the decisions' notes.

* **not applicable** — a decision declares it so (:mod:`.notes`); its tests are
  still listed;
* **open** — no marked test ran, or none of them passed;
* **partly proven** — some marked tests failed or were skipped in the last
  run, or they all passed but a decision notes a part they do not prove;
* **proven** — at least one marked test, and every one passed.

Every status but "proven" carries a note saying what is missing (or why the
clause does not apply).  Counts are given per section and in total.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from doorstep.privacy.evidence.catalogue import Catalogue, Clause, Section
from doorstep.privacy.evidence.keepers import Keeper
from doorstep.privacy.evidence.notes import ClauseNotes
from doorstep.privacy.evidence.results import MarkedTest, RecordedRun


class Status(StrEnum):
    """How far a clause is proven."""

    PROVEN = "proven"
    PARTLY_PROVEN = "partly proven"
    NOT_APPLICABLE = "not applicable"
    OPEN = "open"


@dataclass(frozen=True, slots=True)
class ClauseEvidence:
    """One clause with its tests, what keeps it, its status and (unless proven) a note.

    ``decision`` is the decision file that declares a clause not applicable.
    """

    clause: Clause
    status: Status
    tests: tuple[MarkedTest, ...]
    keepers: tuple[Keeper, ...]
    note: str = ""
    decision: str = ""


@dataclass(frozen=True, slots=True)
class SectionCounts:
    """How many clauses of a section have each status."""

    section: Section
    counts: dict[Status, int]

    @property
    def total(self) -> int:
        """Every clause of the section."""
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class EvidenceReport:
    """The whole report: the run it rests on, the counts, each clause, and warnings."""

    title: str
    pack: str
    run: RecordedRun
    totals: dict[Status, int]
    sections: tuple[SectionCounts, ...]
    clauses: tuple[ClauseEvidence, ...]
    warnings: tuple[str, ...] = ()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _status(
    clause_id: str, tests: tuple[MarkedTest, ...], notes: ClauseNotes
) -> tuple[Status, str, str]:
    """(status, note, decision) of one clause."""
    if clause_id in notes.not_applicable:
        entry = notes.not_applicable[clause_id]
        return Status.NOT_APPLICABLE, entry.why, entry.decision
    if not tests:
        return Status.OPEN, "No test is marked as proving this clause.", ""
    not_passed = [test for test in tests if not test.passed]
    if not_passed:
        outcomes = ", ".join(
            f"{sum(1 for test in not_passed if test.outcome == outcome)} {outcome}"
            for outcome in ("failed", "skipped")
            if any(test.outcome == outcome for test in not_passed)
        )
        if len(not_passed) == len(tests):
            note = f"None of its {_plural(len(tests), 'marked test')} passed in the last run"
            return Status.OPEN, f"{note} ({outcomes}).", ""
        note = (
            f"{len(not_passed)} of its {_plural(len(tests), 'marked test')} did not pass "
            f"in the last run ({outcomes})."
        )
        partial = notes.partial.get(clause_id)
        return Status.PARTLY_PROVEN, f"{note} {partial}" if partial else note, ""
    if clause_id in notes.partial:
        return Status.PARTLY_PROVEN, notes.partial[clause_id], ""
    return Status.PROVEN, "", ""


def _warnings(catalogue: Catalogue, run: RecordedRun, notes: ClauseNotes) -> list[str]:
    known = {clause.id for clause in catalogue.clauses}
    found: list[str] = []
    if run.exit_status != 0:
        found.append(f"The recorded test run ended with exit status {run.exit_status}.")
    mapped = {ref for clause in catalogue.clauses for ref in clause.maps_to}
    foreign = sorted(set(run.clauses) - known - mapped)
    if foreign:
        named = ", ".join(foreign[:10]) + (
            f" and {len(foreign) - 10} more" if len(foreign) > 10 else ""
        )
        found.append(f"The test run proves clauses this pack neither has nor maps to: {named}.")
    unknown = notes.unknown_ids(known)
    if unknown:
        found.append("The decisions' notes name clauses not in this pack: " + ", ".join(unknown))
    return found


def build_report(
    catalogue: Catalogue,
    run: RecordedRun,
    keepers: dict[str, tuple[Keeper, ...]],
    notes: ClauseNotes,
    *,
    pack: str,
) -> EvidenceReport:
    """The evidence of every clause of ``catalogue``, in the catalogue's order."""
    clauses: list[ClauseEvidence] = []
    for clause in catalogue.clauses:
        ids = clause.evidence_ids
        tests = tuple(dict.fromkeys(test for ref in ids for test in run.tests_of(ref)))
        kept = tuple(dict.fromkeys(keeper for ref in ids for keeper in keepers.get(ref, ())))
        status, note, decision = _status(clause.id, tests, notes)
        clauses.append(ClauseEvidence(clause, status, tests, kept, note, decision))
    sections = tuple(
        SectionCounts(
            section,
            {
                status: sum(
                    1
                    for item in clauses
                    if item.clause.group == section.key and item.status is status
                )
                for status in Status
            },
        )
        for section in catalogue.sections
    )
    totals = {status: sum(1 for item in clauses if item.status is status) for status in Status}
    return EvidenceReport(
        title=catalogue.title,
        pack=pack,
        run=run,
        totals=totals,
        sections=sections,
        clauses=tuple(clauses),
        warnings=tuple(_warnings(catalogue, run, notes)),
    )
