"""Each clause's status from a synthetic test run, catalogue and notes; what keeps a clause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import PolicyPack, Purpose, default_pack
from doorstep.privacy.evidence.catalogue import load_catalogue
from doorstep.privacy.evidence.keepers import Keeper, gather_keepers
from doorstep.privacy.evidence.notes import ClauseNotes, NotApplicable, load_notes
from doorstep.privacy.evidence.report import Status, build_report
from doorstep.privacy.evidence.results import load_results
from tests.evidence.synthetic import catalogue_in, run_of


def test_each_status_follows_the_tests_outcomes_and_the_notes(tmp_path: Path) -> None:
    ids = ("T-1.a", "T-1.b", "T-1.c", "T-2.a", "T-2.b", "T-2.c", "T-3.a")
    catalogue = load_catalogue(catalogue_in(tmp_path, *ids))
    run = run_of(
        {
            "T-1.a": [("t::passes", "passed"), ("t::also", "passed")],
            "T-1.b": [("t::passes", "passed"), ("t::fails", "failed"), ("t::skips", "skipped")],
            "T-1.c": [("t::fails", "failed"), ("t::skips", "skipped")],
            "T-2.b": [("t::passes", "passed")],
            "T-3.a": [("t::passes", "passed")],
        }
    )
    notes = ClauseNotes(
        not_applicable={"T-2.c": NotApplicable("0001-x.md", "We sell nothing.")},
        partial={"T-2.b": "Only the e-mail channel is tested."},
    )
    report = build_report(catalogue, run, {}, notes, pack="test")
    found = {item.clause.id: item for item in report.clauses}

    assert found["T-1.a"].status is Status.PROVEN and found["T-1.a"].note == ""
    assert found["T-1.b"].status is Status.PARTLY_PROVEN
    assert found["T-1.b"].note == (
        "2 of its 3 marked tests did not pass in the last run (1 failed, 1 skipped)."
    )
    assert found["T-1.c"].status is Status.OPEN
    assert "None of its 2 marked tests passed" in found["T-1.c"].note
    assert found["T-2.a"].status is Status.OPEN
    assert found["T-2.a"].note == "No test is marked as proving this clause."
    assert found["T-2.b"].status is Status.PARTLY_PROVEN
    assert found["T-2.b"].note == "Only the e-mail channel is tested."
    assert (found["T-2.c"].status, found["T-2.c"].decision) == (Status.NOT_APPLICABLE, "0001-x.md")
    assert found["T-2.c"].note == "We sell nothing."
    assert [t.test for t in found["T-1.b"].tests] == ["t::passes", "t::fails", "t::skips"]

    assert report.totals == {
        Status.PROVEN: 2,
        Status.PARTLY_PROVEN: 2,
        Status.NOT_APPLICABLE: 1,
        Status.OPEN: 2,
    }
    by_section = {row.section.key: row for row in report.sections}
    assert list(by_section) == ["T-1", "T-2", "T-3"]
    assert by_section["T-1"].counts[Status.PARTLY_PROVEN] == 1
    assert by_section["T-2"].total == 3
    assert by_section["T-1"].section.title == "Test Policy · T-1 Heading"
    assert report.warnings == ()


def test_a_mapped_clause_has_the_evidence_of_the_reference_clauses(tmp_path: Path) -> None:
    catalogue = load_catalogue(
        catalogue_in(tmp_path, "EX-1.a", EX_1_a={"maps_to": ["CPE-0.2", "CPE-0.3"]})
    )
    run = run_of({"CPE-0.2": [("t::a", "passed")], "CPE-0.3": [("t::b", "passed")]})
    keepers = {"CPE-0.2": (Keeper("purpose", "account"),)}
    report = build_report(catalogue, run, keepers, ClauseNotes(), pack="example")
    (item,) = report.clauses
    assert item.status is Status.PROVEN
    assert [test.test for test in item.tests] == ["t::a", "t::b"]
    assert item.keepers == (Keeper("purpose", "account"),)


def test_the_report_warns_about_a_failed_run_and_foreign_ids(tmp_path: Path) -> None:
    catalogue = load_catalogue(catalogue_in(tmp_path, "T-1.a"))
    run = run_of({"T-9.z": [("t::x", "passed")]}, exit_status=1)
    notes = ClauseNotes(partial={"T-8.q": "typo"})
    warnings = build_report(catalogue, run, {}, notes, pack="t").warnings
    assert warnings[0] == "The recorded test run ended with exit status 1."
    assert "T-9.z" in warnings[1]
    assert "T-8.q" in warnings[2]


def test_what_keeps_a_clause_is_found_whole_and_in_order(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "area").mkdir(parents=True)
    (package / "area" / "services.py").write_text(
        '"""Keeps CORP-1.10."""\n\nX = 1  # CORP-1.1 and (CORP-1.1, CORP-1.10)\n', encoding="utf-8"
    )
    (package / "policy_pack").mkdir()
    (package / "policy_pack" / "notes.py").write_text("# CORP-1.1\n", encoding="utf-8")
    decisions = tmp_path / "decisions"
    decisions.mkdir()
    (decisions / "0001-a.md").write_text("Settles CORP-1.1.a, not CORP-1.1.\n", encoding="utf-8")
    pack = PolicyPack(
        Path("pack"),
        purposes={
            "account": Purpose("account", "essential.service", "Run accounts.", ("CORP-1.1",))
        },
        retention={},
        regions={},
        recipients={},
    )
    keepers = gather_keepers(
        ["CORP-1.1", "CORP-1.10", "CORP-1.1.a"],
        pack=pack,
        elements=[("accounts.email", ("CORP-1.1",), "Sign-in address.")],
        package_dir=package,
        decisions_dir=decisions,
    )
    assert keepers["CORP-1.1"] == (
        Keeper("purpose", "account", "Run accounts."),
        Keeper("data element", "accounts.email", "Sign-in address."),
        Keeper("code", "pkg/area/services.py", "line 3"),
        Keeper("decision", "0001-a.md"),
    )
    assert keepers["CORP-1.10"] == (Keeper("code", "pkg/area/services.py", "lines 1, 3"),)
    assert keepers["CORP-1.1.a"] == (Keeper("decision", "0001-a.md"),)


def test_the_shipped_packs_declarations_keep_clauses() -> None:
    """Real input: the reference pack's purposes cite clauses the report lists as keepers."""
    pack = default_pack()
    keepers = gather_keepers(
        pack.clause_ids, pack=pack, elements=[], package_dir=None, decisions_dir=None
    )
    cited = {clause for purpose in pack.purposes.values() for clause in purpose.clauses}
    assert cited and cited <= set(keepers)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"format": 2, "clauses": {}}, "not a clause report of format 1"),
        ({"format": 1, "clauses": []}, "'clauses' must be a mapping"),
        ({"format": 1, "clauses": {"T-1": [{"test": "t"}]}}, "clause T-1 has an entry"),
        ({"format": 1, "clauses": {"T-1": [{"test": "t", "outcome": "lost"}]}}, "T-1"),
    ],
)
def test_a_bad_results_file_is_refused_by_name(
    tmp_path: Path, document: dict[str, Any], message: str
) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message) as raised:
        load_results(path)
    assert str(path) in raised.value.detail


def test_the_notes_need_an_existing_decision_and_a_reason(tmp_path: Path) -> None:
    (tmp_path / "0001-a.md").write_text("# A\n", encoding="utf-8")
    notes = tmp_path / "clause-status.yaml"
    notes.write_text(
        "not_applicable:\n  T-1.a: {decision: 0001-a.md, why: No shop.}\n"
        "partial:\n  T-1.b: TLS is not tested.\n",
        encoding="utf-8",
    )
    loaded = load_notes(notes, required=True)
    assert loaded.not_applicable == {"T-1.a": NotApplicable("0001-a.md", "No shop.")}
    assert loaded.partial == {"T-1.b": "TLS is not tested."}

    notes.write_text("not_applicable:\n  T-1.a: {decision: 0009-none.md, why: x}\n")
    with pytest.raises(ConfigurationError, match=r"0009-none\.md"):
        load_notes(notes, required=True)
    notes.write_text("not_applicable:\n  T-1.a: {decision: 0001-a.md}\n")
    with pytest.raises(ConfigurationError, match="needs a 'decision'"):
        load_notes(notes, required=True)
    assert load_notes(tmp_path / "absent.yaml", required=False) == ClauseNotes()
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_notes(tmp_path / "absent.yaml", required=True)


def test_a_clause_without_a_quote_is_refused_by_id(tmp_path: Path) -> None:
    (tmp_path / "clauses.yaml").write_text(
        "clauses:\n- id: T-1.a\n  obligation: Do it.\n", encoding="utf-8"
    )
    with pytest.raises(ConfigurationError, match=r"clause T-1\.a has no quote"):
        load_catalogue(tmp_path)
