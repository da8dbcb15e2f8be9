"""``doorstep incidents`` commands on the incident itself: open, list, show, compute the
affected subjects again, rate, mark a plan task done, close.

Registered on the ``incidents`` group by :mod:`.cli`; see :mod:`._cli_support`
for exit codes and output.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from doorstep.core.runtime import Runtime
from doorstep.privacy.incidents._cli_support import (
    Actor,
    IncidentId,
    echo_json,
    parse_id,
    parse_instant,
    show_incident,
    work_in,
)
from doorstep.privacy.incidents.context import IncidentContext

app = typer.Typer()


@app.command("open")
def open_(  # noqa: PLR0917 - Typer maps options to parameters
    kind: Annotated[str, typer.Option(help="loss, disclosure, alteration or unauthorised_access.")],
    actor: Actor,
    aware_at: Annotated[
        str | None, typer.Option(help="When it became known (default: now).")
    ] = None,
    window_start: Annotated[str | None, typer.Option(help="Start of the time window.")] = None,
    window_end: Annotated[str | None, typer.Option(help="End of the time window.")] = None,
    system: Annotated[list[str] | None, typer.Option(help="An affected table (repeat).")] = None,
    element: Annotated[
        list[str] | None, typer.Option(help="An affected table.column (repeat).")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option(help="An affected device model (repeat).")
    ] = None,
    device: Annotated[
        list[str] | None, typer.Option(help="An affected device id (repeat).")
    ] = None,
    subject: Annotated[
        list[str] | None, typer.Option(help="An affected subject id (repeat).")
    ] = None,
    jurisdiction: Annotated[
        list[str] | None, typer.Option(help="A jurisdiction known to be affected (repeat).")
    ] = None,
) -> None:
    """Open an incident: its tasks, the affected subjects and the obligations; print it."""
    from doorstep.privacy.incidents.services import open_incident

    def work(session: Session, ctx: IncidentContext, runtime: Runtime) -> dict[str, Any]:
        incident = open_incident(
            session,
            ctx,
            kind=kind,
            actor=actor,
            aware_at=parse_instant(aware_at, "aware-at"),
            window_start=parse_instant(window_start, "window-start"),
            window_end=parse_instant(window_end, "window-end"),
            systems=system or (),
            elements=element or (),
            device_models=model or (),
            device_ids=[parse_id(item) for item in device or ()],
            subject_ids=[parse_id(item) for item in subject or ()],
            jurisdictions=jurisdiction or (),
        )
        return show_incident(session, ctx, incident.id)

    echo_json(work_in(work))


@app.command("list")
def list_(
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
) -> None:
    """Incidents, newest first: id, type, status, risk, affected, aware since."""
    from doorstep.privacy.incidents.services import list_incidents

    def work(session: Session, ctx: IncidentContext, runtime: Runtime) -> list[str]:
        return [
            f"{row.id}  {row.kind}  {row.status}  {row.risk or 'unrated'}  "
            f"{row.affected_count}  {row.aware_at.isoformat()}"
            for row in list_incidents(session, open_only=open_only)
        ]

    for line in work_in(work):
        typer.echo(line)


@app.command("show")
def show(incident_id: IncidentId) -> None:
    """One incident: tasks, counts by jurisdiction, deliveries, obligations and clocks."""
    echo_json(
        work_in(lambda session, ctx, runtime: show_incident(session, ctx, parse_id(incident_id)))
    )


@app.command("affected")
def affected(incident_id: IncidentId, actor: Actor) -> None:
    """Compute the affected subjects again (new ones are added) and print the counts."""
    from doorstep.privacy.incidents.affected import counts_by_jurisdiction
    from doorstep.privacy.incidents.services import get, recompute

    def work(session: Session, ctx: IncidentContext, runtime: Runtime) -> dict[str, Any]:
        incident = get(session, parse_id(incident_id), lock=True)
        added = recompute(session, ctx, incident, actor)
        return {"added": added, "by_jurisdiction": counts_by_jurisdiction(session, incident.id)}

    echo_json(work_in(work))


@app.command("rate")
def rate(
    incident_id: IncidentId,
    risk: Annotated[str, typer.Option(help="low or significant.")],
    actor: Actor,
) -> None:
    """Rate the incident's risk (CPE-IV.1.e)."""
    from doorstep.privacy.incidents.services import rate as rate_incident

    work_in(
        lambda session, ctx, runtime: rate_incident(
            session, ctx, parse_id(incident_id), risk, actor=actor
        )
    )
    typer.echo(f"rated {risk}")


@app.command("task")
def task(
    incident_id: IncidentId,
    name: Annotated[str, typer.Argument(help="contain or assess.")],
    actor: Actor,
) -> None:
    """Mark an emergency-plan task done."""
    from doorstep.privacy.incidents.services import complete_task

    work_in(
        lambda session, ctx, runtime: complete_task(
            session, ctx, parse_id(incident_id), name, actor=actor
        )
    )
    typer.echo(f"{name} done")


@app.command("close")
def close(incident_id: IncidentId, actor: Actor) -> None:
    """Close the incident once its tasks are done and its obligations met or filed."""
    from doorstep.privacy.incidents.services import close as close_incident

    work_in(
        lambda session, ctx, runtime: close_incident(
            session, ctx, parse_id(incident_id), actor=actor
        )
    )
    typer.echo("closed")
