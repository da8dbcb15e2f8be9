"""``doorstep completions record|list|run``: completion events from the operator's command line.

* ``record SYSTEM KIND RECORD_ID [--at ISO] [--subject ID]`` — a record was
  closed; prints the event's id and when its deletion is due.  An undeclared
  system or kind, a bad id or instant exits 2 with nothing stored; a record
  recorded already exits 1;
* ``list SYSTEM [--state held]`` — the system's events and where each stands;
* ``run`` — carry out the due events now (what the periodic job does);
* ``scan`` — record the events the live systems' declared sources say
  happened (what the other periodic job does); exits 1 when a source failed.

Output names ids, kinds, rules, states and instants; the record's id is shown
only by ``list``, to the operator who recorded it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.core.errors import DoorstepError, InvalidInputError
from doorstep.core.runtime import Runtime

app = typer.Typer(
    help="Completion events: a closed order, ticket, application or shop account schedules "
    "its deletion in its connected system.",
    no_args_is_help=True,
)
_ACTOR = re.compile(r"staff:[0-9a-f-]{36}|system:cli")


@contextmanager
def _open() -> Iterator[Runtime]:
    with cli_runtime(load_cli_settings(), "doorstep-completions") as runtime:
        yield runtime


@app.command("record")
def record_cmd(  # noqa: PLR0917 - Typer maps arguments to parameters
    system: Annotated[str, typer.Argument(help="The connected system (systems.yaml).")],
    kind: Annotated[str, typer.Argument(help="The kind of record (its completions:).")],
    record_id: Annotated[str, typer.Argument(help="The record's id in the system.")],
    at: Annotated[
        str | None, typer.Option(help="When it was closed, ISO 8601 with zone (default: now).")
    ] = None,
    subject: Annotated[str | None, typer.Option(help="Its Doorstep subject's id.")] = None,
    by: Annotated[str, typer.Option(help="Who acts: staff:<uuid> or system:cli.")] = "system:cli",
) -> None:
    """Record that a record was closed; prints the event id and when its deletion is due."""
    from doorstep.privacy.connectors.completions.record import Closing, record
    from doorstep.services import services_for

    if not _ACTOR.fullmatch(by):
        fail("--by must be staff:<uuid> or system:cli", 2)
    try:
        when = datetime.fromisoformat(at) if at else None
        subject_id = uuid.UUID(subject) if subject else None
    except ValueError:
        fail("--at must be an ISO 8601 instant and --subject a UUID", 2)
    with _open() as runtime:
        services = services_for(runtime)
        try:
            with runtime.sessions.begin() as session:
                row = record(
                    session,
                    runtime.clock,
                    services.pack,
                    runtime.settings,
                    Closing(system, kind, record_id, when, subject_id),
                    actor=by,
                )
                typer.echo(f"event {row.id} scheduled: {row.rule}, due {row.due_at.isoformat()}")
        except InvalidInputError as exc:
            fail(exc.detail, 2)
        except DoorstepError as exc:
            fail(exc.detail, 2 if exc.status == 404 else 1)


@app.command("list")
def list_cmd(
    system: Annotated[str, typer.Argument(help="The connected system.")],
    state: Annotated[str | None, typer.Option(help="Only events in this state.")] = None,
) -> None:
    """The system's events, newest first."""
    from doorstep.privacy.connectors.completions.desk import listing

    with _open() as runtime:
        try:
            with runtime.sessions.begin() as session:
                for row in listing(session, system, state=state):
                    typer.echo(
                        f"{row.id}  {row.kind}  {row.record_id}  {row.rule}  "
                        f"due {row.due_at.isoformat()}  {row.state}"
                        + (f" ({row.reason})" if row.reason else "")
                    )
        except InvalidInputError as exc:
            fail(exc.detail, 2)


@app.command("run")
def run_cmd() -> None:
    """Carry out the due events now; prints how many ended in each state."""
    from doorstep.privacy.connectors.completions.carry import carry_out_due
    from doorstep.services import services_for

    with _open() as runtime:
        result = carry_out_due(services_for(runtime), runtime.sessions)
    for state, count in sorted(result.states.items()):
        typer.echo(f"{state}: {count}")
    typer.echo(f"completion events handled: {result.total}")


@app.command("scan")
def scan_cmd() -> None:
    """Record the events the declared sources say happened; prints what it recorded."""
    from doorstep.privacy.connectors.completions.sources import scan_sources
    from doorstep.services import services_for

    with _open() as runtime:
        result = scan_sources(services_for(runtime), runtime.sessions)
    for source, reason in sorted(result.failed.items()):
        typer.echo(f"{source}: failed ({reason})")
    typer.echo(
        f"sources scanned: {result.sources}; events recorded: {result.recorded}; "
        f"refused: {result.refused}"
    )
    if result.failed:
        raise typer.Exit(1)
