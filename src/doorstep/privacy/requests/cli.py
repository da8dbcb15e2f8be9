"""``doorstep requests list|show|approve|refuse|extend|recipients|tombstones|replay``: the desk.

Output names ids, kinds, states, codes and instants, never a personal-data
value.  Decisions are audited with ``--reviewer`` as the actor (``staff:<id>``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import sqlalchemy as sa
import typer
from sqlalchemy.orm import Session

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.core.errors import DoorstepError
from doorstep.core.runtime import Runtime
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.inquiries.cli import app as inquiries_app
from doorstep.privacy.requests.models import RequestStatus, SubjectRequest
from doorstep.privacy.requests.services import OPEN

app = typer.Typer(
    help="Data-subject requests: the queue, decisions, deadlines.", no_args_is_help=True
)
app.add_typer(inquiries_app, name="inquiries")
T = TypeVar("T")
Reviewer = Annotated[str, typer.Option(help="Who decides, e.g. staff:<uuid>.")]


@contextmanager
def _open() -> Iterator[Runtime]:
    with cli_runtime(load_cli_settings(), "doorstep-requests") as runtime:
        yield runtime


def _in_transaction(work: Callable[[Session, RequestContext, Runtime], T]) -> T:
    with _open() as runtime:
        try:
            with runtime.sessions.begin() as session:
                from doorstep.services import services_for

                ctx = RequestContext.of(services_for(runtime))
                return work(session, ctx, runtime)
        except DoorstepError as exc:
            fail(exc.detail, 1)


def _id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail("the id must be a UUID", 2)


def _cells(row: SubjectRequest) -> tuple[str, ...]:
    flags = ",".join(
        name
        for name, on in (
            ("fee", row.fee_due),
            ("reminded", row.reminded_at),
            ("overdue", row.escalated_at),
        )
        if on
    )
    return (
        str(row.id),
        row.kind.value,
        row.status.value,
        row.queue,
        row.received_at.isoformat(),
        row.due_at.isoformat(),
        flags or "-",
    )


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """``header`` and ``rows`` as lines, each column as wide as its widest cell."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]


@app.command("list")
def list_requests(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    overdue: Annotated[bool, typer.Option(help="Only open requests past their deadline.")] = False,
) -> None:
    """The open requests (or those of --status), overdue first, then soonest deadline."""

    from doorstep.privacy.requests.tracking import desk_queue

    try:
        wanted = RequestStatus(status) if status else None
    except ValueError:
        fail(f"--status must be one of {', '.join(s.value for s in RequestStatus)}", 2)

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> list[tuple[str, ...]]:
        rows = desk_queue(session, ctx.clock.now(), status=wanted, overdue_only=overdue)
        return [_cells(row) for row in rows]

    rows = _in_transaction(work)  # the header only once the rows are there
    for line in _table(("id", "kind", "status", "queue", "received", "due", "flags"), rows):
        typer.echo(line)


@app.command()
def show(request_id: Annotated[str, typer.Argument(help="The request's id.")]) -> None:
    """Every field of one request (ids, codes and instants)."""
    from doorstep.privacy.requests.services import get

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> list[str]:
        row = get(session, _id(request_id))
        return [
            f"{c.name}: {getattr(row, c.key)}"
            for c in sa.inspect(SubjectRequest).columns
            if c.name not in {"proof_hash", "new_value", "old_value_hash"}
        ]

    for line in _in_transaction(work):
        typer.echo(line)


@app.command()
def approve(
    request_id: Annotated[str, typer.Argument(help="The request's id.")],
    reviewer: Reviewer = "system:cli",
) -> None:
    """Carry out a verified request (exports and erasures are queued as jobs)."""
    from doorstep.privacy.requests.fulfil import approve as run

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> str:
        row = run(session, ctx, _id(request_id), actor=reviewer)
        if row.status in OPEN:
            return f"{row.status.value}; queued, a worker completes it"
        return row.status.value

    typer.echo(f"request {request_id}: {_in_transaction(work)}")


@app.command()
def refuse(
    request_id: Annotated[str, typer.Argument(help="The request's id.")],
    code: Annotated[str, typer.Option(help="Reason code (CPE-V.6.d/e).")],
    reviewer: Reviewer = "system:cli",
    evidence: Annotated[str | None, typer.Option(help="Reference of the evidence.")] = None,
) -> None:
    """Refuse with a reason code (connected systems' open work is cancelled); prints where
    the requester may complain."""
    from doorstep.privacy.requests.systems.decisions import refuse as run

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> str:
        refusal = run(
            session, ctx, _id(request_id), code=code, reviewer=reviewer, evidence=evidence
        )
        return f"refused ({refusal.code.value}); complaints: {refusal.complaint_route}"

    typer.echo(f"request {request_id}: {_in_transaction(work)}")


@app.command()
def extend(
    request_id: Annotated[str, typer.Argument(help="The request's id.")],
    months: Annotated[int, typer.Option(help="Months to add.")],
    reason: Annotated[
        str, typer.Option(help="complexity or number_of_requests (told to the requester).")
    ],
    reviewer: Reviewer = "system:cli",
) -> None:
    """Extend the deadline (where the jurisdiction allows, inside the first period); manual
    systems' tasks move with it."""
    from doorstep.privacy.requests.systems.decisions import extend as run

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> str:
        row = run(session, ctx, _id(request_id), months=months, reason=reason, actor=reviewer)
        return f"extended; due {row.due_at.isoformat()}"

    typer.echo(f"request {request_id}: {_in_transaction(work)}")


@app.command("recipients")
def recipients() -> None:
    """Erasure and correction notices to recipients still waiting for confirmation."""
    from doorstep.privacy.sharing.services import open_notices

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> list[tuple[str, ...]]:
        return [
            (
                str(n.id),
                n.kind.value,
                n.status.value,
                n.recipient,
                str(n.request_id or "-"),
                n.created_at.isoformat(),
            )
            for n in open_notices(session)
        ]

    rows = _in_transaction(work)
    for line in _table(("id", "kind", "status", "recipient", "request", "issued"), rows):
        typer.echo(line)
    typer.echo(f"{len(rows)} notice(s) waiting for confirmation")


@app.command("recipient-confirmed")
def recipient_confirmed(
    notice_id: Annotated[str, typer.Argument(help="The notice's id.")],
    reviewer: Reviewer = "system:cli",
) -> None:
    """Record that a recipient confirmed it erased or corrected the data."""
    from doorstep.privacy.sharing.services import confirm_notice

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> str:
        return confirm_notice(session, _id(notice_id), clock=ctx.clock, actor=reviewer).status.value

    typer.echo(f"notice {notice_id}: {_in_transaction(work)}")


@app.command("tombstones")
def list_tombstones() -> None:
    """Print the ids of every erased subject, one a line (keep the list outside the backups)."""
    from doorstep.privacy.requests.erasure import tombstones

    for subject_id in _in_transaction(lambda session, ctx, runtime: tombstones(session)):
        typer.echo(str(subject_id))


@app.command()
def replay(
    path: Annotated[Path, typer.Argument(help="A file from `doorstep requests tombstones`.")],
) -> None:
    """After restoring a backup: erase again every listed subject it brought back (CPE-V.3.d)."""
    from doorstep.privacy.requests.erasure import replay as run

    try:
        ids = [uuid.UUID(line) for line in path.read_text().split() if line]
    except (OSError, ValueError):
        fail("PATH must be a readable list of subject ids", 2)

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> int:
        return run(session, ctx, ctx.require_services().keys, ids, actor="system:cli")

    typer.echo(f"erased again: {_in_transaction(work)}")
