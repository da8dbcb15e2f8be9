"""``doorstep incidents`` commands for the authorities: export a regulator report, record
it filed and acknowledged, and run the obligations sweep.

Registered on the ``incidents`` group by :mod:`.cli`; see :mod:`._cli_support`
for exit codes and output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from doorstep.core.commands import fail
from doorstep.core.runtime import Runtime
from doorstep.privacy.incidents._cli_support import (
    Actor,
    echo_json,
    parse_id,
    parse_instant,
    work_in,
)
from doorstep.privacy.incidents.context import IncidentContext

app = typer.Typer()


@app.command("report")
def report(
    obligation_id: Annotated[str, typer.Argument(help="The regulator report's obligation id.")],
    actor: Actor,
    format: Annotated[str, typer.Option(help="json or md.")] = "json",
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Export the report to one authority (no personal data)."""
    from doorstep.privacy.incidents.reports import regulator_report, report_markdown
    from doorstep.services import services_for

    if format not in ("json", "md"):
        fail("--format must be json or md", 2)

    def work(session: Session, ctx: IncidentContext, runtime: Runtime) -> dict[str, Any]:
        pack = services_for(runtime).pack
        return regulator_report(session, ctx, pack, parse_id(obligation_id), actor=actor)

    data = work_in(work)
    text = (
        report_markdown(data)
        if format == "md"
        else json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    )
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"written to {output}")


@app.command("file")
def file(
    obligation_id: Annotated[str, typer.Argument(help="The regulator report's obligation id.")],
    actor: Actor,
    reference: Annotated[str | None, typer.Option(help="The authority's case reference.")] = None,
    filed_at: Annotated[str | None, typer.Option(help="When it was filed (default: now).")] = None,
) -> None:
    """Record that a regulator report was filed."""
    from doorstep.privacy.incidents.reports import file_report

    row = work_in(
        lambda session, ctx, runtime: file_report(
            session,
            ctx,
            parse_id(obligation_id),
            actor=actor,
            reference=reference,
            filed_at=parse_instant(filed_at, "filed-at"),
        )
    )
    typer.echo(f"filed at {row.filed_at.isoformat() if row.filed_at else ''}")


@app.command("acknowledge")
def acknowledge(
    obligation_id: Annotated[str, typer.Argument(help="The regulator report's obligation id.")],
    actor: Actor,
) -> None:
    """Record that the authority acknowledged a filed report."""
    from doorstep.privacy.incidents.reports import acknowledge as ack

    work_in(lambda session, ctx, runtime: ack(session, ctx, parse_id(obligation_id), actor=actor))
    typer.echo("acknowledged")


@app.command("sweep")
def sweep() -> None:
    """Run the obligations sweep now: delivery outcomes, reminders, overdue alerts."""
    from doorstep.privacy.incidents.reports import sweep as run

    echo_json(work_in(lambda session, ctx, runtime: run(session, ctx)))
