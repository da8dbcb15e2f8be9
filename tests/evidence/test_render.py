"""The report's three formats: the same facts, escaped, HTML self-contained."""

from __future__ import annotations

import json
import re
from pathlib import Path

from doorstep.privacy.evidence.catalogue import load_catalogue
from doorstep.privacy.evidence.keepers import Keeper
from doorstep.privacy.evidence.notes import ClauseNotes, NotApplicable
from doorstep.privacy.evidence.render import render
from doorstep.privacy.evidence.report import EvidenceReport, build_report
from tests.evidence.synthetic import catalogue_in, run_of

HOSTILE = '<script>alert("x")</script> & | *bold*'


def _report(tmp_path: Path) -> EvidenceReport:
    folder = catalogue_in(
        tmp_path,
        "T-1.a",
        "T-1.b",
        "T-2.a",
        T_1_a={"quote": f"We promise {HOSTILE}", "obligation": "Keep <b>it</b>."},
    )
    run = run_of({"T-1.a": [(f"tests/x.py::test_{HOSTILE}", "passed")]})
    keepers = {"T-1.a": (Keeper("data element", "accounts.email", f"Address {HOSTILE}"),)}
    notes = ClauseNotes(not_applicable={"T-2.a": NotApplicable("0001-<x>.md", f"Why {HOSTILE}")})
    return build_report(load_catalogue(folder), run, keepers, notes, pack="<pack>")


def test_html_escapes_every_value_and_loads_nothing(tmp_path: Path) -> None:
    page = render(_report(tmp_path), "html")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<b>it</b>" not in page and "Keep &lt;b&gt;it&lt;/b&gt;." in page
    assert "0001-&lt;x&gt;.md" in page and "&lt;pack&gt;" in page
    # Self-contained: no reference to anything outside the page.
    assert not re.search(r"(?i)\b(src|href)\s*=|https?://|<link|@import|url\(", page)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_markdown_keeps_its_structure_and_shows_the_counts_first(tmp_path: Path) -> None:
    text = render(_report(tmp_path), "md")
    # Markdown shows code spans literally; everywhere else markup is escaped.
    assert "<script>" not in re.sub(r"`[^`]*`", "", text)
    assert r"\<script\>" in text and r"\| \*bold\*" in text
    counts = text.index("## Counts per section")
    assert counts < text.index("#### T-1.a — proven")
    assert "| **all** | **3** | **1** | **0** | **1** | **1** |" in text
    assert "#### T-1.b — open" in text and "#### T-2.a — not applicable" in text
    # Every table row has the header's number of cells: no value broke a row.
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert {len(re.findall(r"(?<!\\)\|", row)) for row in rows} == {7}


def test_json_holds_the_same_facts(tmp_path: Path) -> None:
    data = json.loads(render(_report(tmp_path), "json"))
    assert data["totals"] == {"proven": 1, "partly proven": 0, "not applicable": 1, "open": 1}
    first = data["clauses"][0]
    assert (first["id"], first["status"], first["quote"]) == (
        "T-1.a",
        "proven",
        f"We promise {HOSTILE}",
    )
    assert first["tests"] == [{"test": f"tests/x.py::test_{HOSTILE}", "outcome": "passed"}]
    assert first["kept_by"][0]["name"] == "accounts.email"
    assert data["clauses"][2]["decision"] == "0001-<x>.md"
    assert [section["key"] for section in data["sections"]] == ["T-1", "T-2"]
