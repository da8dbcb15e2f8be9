"""``doorstep requests inquiries list|show|answer|record``: the privacy desk's inquiries.

``list`` names ids, channels, queues and instants only; ``show`` prints the
question itself, read through the purpose gate (audited with ``--reviewer`` as
the actor); ``answer`` sends the answer by e-mail through the outbox, with
``--assessment`` carrying a published security impact assessment report
(CPE-IV.5); ``record`` enters a question staff took down — a call to the
hotline, a question at a brand activity — under the collection point ``--source``
names (CORP-1.1, decision 0036), answered at ``--email``.  Bad input (an id that
is no UUID, ``--version`` without ``--assessment``, an empty answer, no source or
one the pack does not register for inquiries taken by staff) is exit 2; a refusal
(answered already, a draft version, unknown ids) exit 1; nothing changes either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.core.errors import DoorstepError, InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.privacy.requests.context import RequestContext

app = typer.Typer(
    help="General privacy questions: the queue, the question, the answer.", no_args_is_help=True
)
T = TypeVar("T")
Reviewer = Annotated[str, typer.Option(help="Who acts, e.g. staff:<uuid>.")]


def _in_transaction(work: Callable[[Session, RequestContext, Runtime], T]) -> T:
    with cli_runtime(load_cli_settings(), "doorstep-requests") as runtime:
        try:
            with runtime.sessions.begin() as session:
                from doorstep.services import services_for

                return work(session, RequestContext.of(services_for(runtime)), runtime)
        except InvalidInputError as exc:
            fail(exc.detail, 2)
        except DoorstepError as exc:
            fail(exc.detail, 1)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]


def _id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail("the id must be a UUID", 2)


@app.command("list")
def list_inquiries(
    overdue: Annotated[
        bool, typer.Option(help="Only unanswered ones past their deadline.")
    ] = False,
    answered: Annotated[bool, typer.Option(help="Answered ones instead, newest first.")] = False,
) -> None:
    """Unanswered inquiries, overdue first, then soonest deadline."""
    from doorstep.privacy.requests.inquiries.desk import is_overdue, queue

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> list[tuple[str, ...]]:
        now = ctx.clock.now()
        return [
            (
                str(row.id),
                row.channel.value,
                row.queue,
                row.received_at.isoformat(),
                row.due_at.isoformat(),
                row.answered_at.isoformat() if row.answered_at else "-",
                "overdue" if is_overdue(row, now) else "-",
            )
            for row in queue(session, now, overdue_only=overdue, answered=answered)
        ]

    rows = _in_transaction(work)
    header = ("id", "channel", "queue", "received", "due", "answered", "flags")
    for line in _table(header, rows):
        typer.echo(line)


@app.command()
def show(
    inquiry_id: Annotated[str, typer.Argument(help="The inquiry's id.")],
    reviewer: Reviewer = "system:cli",
) -> None:
    """The inquiry's dates, owner and the question (the read is audited)."""
    from doorstep.privacy.requests.department import owner_of
    from doorstep.privacy.requests.inquiries.desk import get, is_overdue, read

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> list[str]:
        row = get(session, _id(inquiry_id))
        question = read(session, ctx, row.id, actor=reviewer)
        return [
            f"id: {row.id}",
            f"channel: {row.channel.value}",
            f"source: {row.source}",
            f"queue: {row.queue} ({owner_of(ctx.policy, row.queue)})",
            f"received_at: {row.received_at.isoformat()}",
            f"due_at: {row.due_at.isoformat()}",
            f"overdue: {is_overdue(row, ctx.clock.now())}",
            f"answered_at: {row.answered_at.isoformat() if row.answered_at else '-'}",
            f"subject: {question.title or '-'}",
            "",
            question.body,
        ]

    for line in _in_transaction(work):
        typer.echo(line)


@app.command()
def answer(
    inquiry_id: Annotated[str, typer.Argument(help="The inquiry's id.")],
    text: Annotated[str, typer.Option("--text", help="The answer, sent by e-mail.")],
    reviewer: Reviewer = "system:cli",
    assessment: Annotated[
        str | None,
        typer.Option(help="Attach this security impact assessment's published report (its id)."),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(help="The published version to attach (default: the newest).", min=1),
    ] = None,
) -> None:
    """Send the answer to the asker and close the inquiry."""
    from doorstep.privacy.requests.inquiries.desk import answer as run

    ident = _id(inquiry_id)
    attached = _id(assessment) if assessment is not None else None
    if version is not None and attached is None:
        fail("--version needs --assessment", 2)

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> str:
        row = run(session, ctx, ident, text, actor=reviewer, assessment=attached, version=version)
        assert row.answered_at is not None
        return f"answered {row.answered_at.isoformat()}"

    typer.echo(f"inquiry {inquiry_id}: {_in_transaction(work)}")


@app.command()
def record(
    source: Annotated[
        str,
        typer.Option(help="The collection point it was taken at: hotline, brand_activity …"),
    ],
    email: Annotated[str, typer.Option(help="The address the answer goes to.")],
    text: Annotated[str, typer.Option("--text", help="The question, as the person put it.")],
    title: Annotated[str | None, typer.Option(help="A subject line.")] = None,
    reviewer: Reviewer = "system:cli",
) -> None:
    """Record a question staff took down (a call to the hotline …); its clock starts now."""
    from doorstep.privacy.requests.inquiries.intake import submit_recorded

    def work(session: Session, ctx: RequestContext, runtime: Runtime) -> tuple[str, str]:
        row = submit_recorded(
            session, ctx, source=source, email=email, title=title, body=text, actor=reviewer
        )
        return str(row.id), row.due_at.isoformat()

    reference, due = _in_transaction(work)
    typer.echo(f"inquiry {reference}: recorded from {source}, due {due}")
