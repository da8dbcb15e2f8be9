"""Assemble the evidence report from the pack, the recorded run, the notes and the data map.

:func:`evidence_report` is what ``doorstep evidence`` runs; it needs the whole
schema (the root command composes it before any command runs) but no database.
Every input problem is a :class:`ConfigurationError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

from doorstep.core.models import schema_metadata
from doorstep.privacy.datamap.pack import DEFAULT_PACK, PolicyPack
from doorstep.privacy.datamap.registry import personal_elements
from doorstep.privacy.evidence.catalogue import load_catalogue
from doorstep.privacy.evidence.keepers import gather_keepers
from doorstep.privacy.evidence.notes import load_notes
from doorstep.privacy.evidence.report import EvidenceReport, build_report
from doorstep.privacy.evidence.results import load_results

#: The package whose source is searched for code naming a clause.
PACKAGE_DIR = Path(__file__).resolve().parents[2]


def evidence_report(
    *, pack: PolicyPack, results: Path, notes: Path, notes_required: bool
) -> EvidenceReport:
    """The report of every clause of ``pack`` (its ``clauses.yaml``).

    ``results`` is the recorded test run; ``notes`` the not-applicable and partial
    notes (a missing file is no notes unless ``notes_required``); the decisions
    naming a clause are searched for beside it.
    """
    catalogue = load_catalogue(pack.path)
    run = load_results(results)
    clause_notes = load_notes(notes, required=notes_required)
    elements = [
        (element, declaration.clauses, declaration.description)
        for element, declaration in personal_elements(schema_metadata())
        if declaration.clauses
    ]
    keepers = gather_keepers(
        [clause.id for clause in catalogue.clauses],
        pack=pack,
        elements=elements,
        package_dir=PACKAGE_DIR,
        decisions_dir=notes.parent,
    )
    shipped = pack.path.resolve() == DEFAULT_PACK.resolve()
    label = "default (the reference pack shipped with Doorstep)" if shipped else str(pack.path)
    return build_report(catalogue, run, keepers, clause_notes, pack=label)
