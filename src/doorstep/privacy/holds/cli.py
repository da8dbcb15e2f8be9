"""``doorstep holds place|release|list|show``: legal holds from the operator's command line.

Output names ids, codes, elements, references and instants, never a value of
the held data.  Changes are audited with ``--by`` as the actor (``staff:<id>``;
``system:cli`` by default).  Bad input exits 2 with nothing changed; an unknown
subject or hold, or a hold released already, exits 1.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.core.errors import DoorstepError, InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.privacy.holds.basis import HoldBasis
from doorstep.privacy.holds.models import LegalHold

app = typer.Typer(
    help="Legal holds: keep a subject's data past its period on a recorded legal ground.",
    no_args_is_help=True,
)
T = TypeVar("T")
_ACTOR = re.compile(r"staff:[0-9a-f-]{36}|system:cli")
By = Annotated[str, typer.Option(help="Who acts, e.g. staff:<uuid> (audited).")]


@contextmanager
def _open() -> Iterator[Runtime]:
    with cli_runtime(load_cli_settings(), "doorstep-holds") as runtime:
        yield runtime


def _in_transaction(work: Callable[[Session, Runtime], T]) -> T:
    with _open() as runtime:
        try:
            with runtime.sessions.begin() as session:
                return work(session, runtime)
        except InvalidInputError as exc:
            fail(exc.detail, 2)
        except DoorstepError as exc:
            fail(exc.detail, 1)


def _id(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"the {what} must be a UUID", 2)


def _by(value: str) -> str:
    if not _ACTOR.fullmatch(value):
        fail("--by must be staff:<uuid> or system:cli", 2)
    return value


def _line(row: LegalHold) -> tuple[str, ...]:
    return (
        str(row.id),
        str(row.subject_id),
        row.element or "*",
        row.basis,
        row.reference,
        row.placed_at.isoformat(),
        row.released_at.isoformat() if row.released_at else "standing",
    )


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]


@app.command()
def place(  # noqa: PLR0917 - Typer maps options to parameters
    subject: Annotated[str, typer.Argument(help="The data subject's id.")],
    basis: Annotated[
        str, typer.Option(help="Legal basis: " + ", ".join(b.value for b in HoldBasis) + ".")
    ],
    authority: Annotated[str, typer.Option(help="The authority or law that requires it.")],
    reference: Annotated[str, typer.Option(help="That authority's reference (an id).")],
    element: Annotated[
        str | None,
        typer.Option(help="A table or table.column of the data map; all the data if omitted."),
    ] = None,
    by: By = "system:cli",
) -> None:
    """Place a hold; prints its id."""
    from doorstep.core.models import schema_metadata
    from doorstep.privacy.holds.services import check
    from doorstep.privacy.holds.services import place as run

    actor = _by(by)
    subject_id = _id(subject, "subject")
    try:
        given = check(
            schema_metadata(),
            subject_id=subject_id,
            element=element,
            basis=basis,
            authority=authority,
            reference=reference,
        )
    except InvalidInputError as exc:
        fail(exc.detail, 2)

    def work(session: Session, runtime: Runtime) -> uuid.UUID:
        return run(session, runtime.clock, given, actor=actor).id

    typer.echo(f"hold {_in_transaction(work)} placed on {given.element or 'all the data'}")


@app.command()
def release(
    hold: Annotated[str, typer.Argument(help="The hold's id.")],
    by: By = "system:cli",
) -> None:
    """Release a hold: the erasures it deferred are queued; the next sweep takes the rest."""
    from doorstep.privacy.holds.services import release as run

    actor = _by(by)
    hold_id = _id(hold, "hold")

    def work(session: Session, runtime: Runtime) -> str:
        row = run(session, runtime.clock, hold_id, actor=actor)
        assert row.released_at is not None
        return row.released_at.isoformat()

    typer.echo(f"hold {hold_id} released at {_in_transaction(work)}")


@app.command("list")
def list_holds(
    subject: Annotated[str | None, typer.Option(help="Only this subject's holds.")] = None,
    standing: Annotated[bool, typer.Option(help="Only holds that stand.")] = False,
) -> None:
    """Holds, standing first, newest first."""
    from doorstep.privacy.holds.services import listing

    subject_id = _id(subject, "subject") if subject else None

    def work(session: Session, runtime: Runtime) -> list[tuple[str, ...]]:
        rows = listing(session, subject_id=subject_id, standing_only=standing)
        return [_line(row) for row in rows]

    rows = _in_transaction(work)
    header = ("id", "subject", "element", "basis", "reference", "placed", "released")
    for line in _table(header, rows):
        typer.echo(line)


@app.command()
def show(hold: Annotated[str, typer.Argument(help="The hold's id.")]) -> None:
    """Every field of one hold."""
    from doorstep.privacy.holds.services import get

    hold_id = _id(hold, "hold")

    def work(session: Session, runtime: Runtime) -> list[str]:
        row = get(session, hold_id)
        return [
            f"{column.name}: {getattr(row, column.key)}" for column in LegalHold.__table__.columns
        ]

    for line in _in_transaction(work):
        typer.echo(line)
