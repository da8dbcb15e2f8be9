"""``doorstep evidence``: the evidence report of the active policy pack.

Reads the pack's ``clauses.yaml``, the last recorded test run (``--results``,
by default ``.evidence/clause-results.json``, which ``python3 dev.py test``
writes), the decisions' notes (``--decisions``, by default
``docs/decisions/clause-status.yaml`` when it exists) and the data map, and
writes the report as Markdown, HTML or JSON to ``--out`` or stdout.  It needs no
database.  With ``--out`` it prints the counts, so CI can show them.

``--pack DIR`` picks the pack; without it, the pack in force (the ``policy_pack``
setting, ``DOORSTEP_POLICY_PACK``; the shipped reference pack by default).

Exit codes: 0 the report was written (open clauses are not an error: the report
says what is missing); 1 it could not be written; 2 bad usage — unknown format,
no recorded test run or an unreadable one, a broken pack or notes file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from doorstep.core.commands import fail, load_cli_settings
from doorstep.core.errors import ConfigurationError

if TYPE_CHECKING:
    from doorstep.privacy.evidence.report import EvidenceReport

app = typer.Typer(
    help="The evidence report: each clause of the policy, the tests that prove it and the "
    "code that keeps it.",
    invoke_without_command=True,
)


def _summary(report: EvidenceReport) -> str:
    counts = ", ".join(f"{count} {status.value}" for status, count in report.totals.items())
    return f"{sum(report.totals.values())} clauses: {counts}"


@app.callback()
def evidence(
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, html or json.")] = "md",
    results: Annotated[
        Path | None,
        typer.Option(
            help="The recorded test run (pytest --clause-report); .evidence/clause-results.json "
            "if not given.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
    ] = None,
    pack: Annotated[
        Path | None,
        typer.Option(
            "--pack",
            help="Policy pack folder (holds clauses.yaml); default: the pack in force "
            "(DOORSTEP_POLICY_PACK).",
            show_default=False,
        ),
    ] = None,
    decisions: Annotated[
        Path | None,
        typer.Option(
            help="Clauses declared not applicable or partly kept (YAML); "
            "docs/decisions/clause-status.yaml if it exists.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write the evidence report of every clause of the active policy pack."""
    from doorstep.privacy.datamap.chosen import chosen_pack
    from doorstep.privacy.datamap.pack import load_pack
    from doorstep.privacy.evidence.build import evidence_report
    from doorstep.privacy.evidence.notes import DEFAULT_NOTES
    from doorstep.privacy.evidence.render import FORMATS, render
    from doorstep.privacy.evidence.results import DEFAULT_RESULTS

    if fmt not in FORMATS:
        fail(f"unknown --format {fmt!r}; choose one of: {', '.join(FORMATS)}", 2)
    try:
        loaded = chosen_pack(load_cli_settings()) if pack is None else load_pack(pack)
        report = evidence_report(
            pack=loaded,
            results=results or DEFAULT_RESULTS,
            notes=decisions or DEFAULT_NOTES,
            notes_required=decisions is not None,
        )
    except ConfigurationError as exc:
        fail(exc.detail, 2)
    text = render(report, fmt)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}", 1)
    typer.echo(f"doorstep evidence: wrote {out}: {_summary(report)}")
    for warning in report.warnings:
        typer.echo(f"doorstep evidence: warning: {warning}", err=True)
