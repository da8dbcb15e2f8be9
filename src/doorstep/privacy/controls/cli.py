"""``doorstep controls add|record|assess|publish|send|list|status``: the controls register.

The command line acts as the operator (actor ``system:cli``).  Dates are ISO
(``2026-03-31``).  Bad input is exit 2 with the rule broken, and nothing
changes.  ``status`` is the compliance check: it lists each claim of the
notice and exits 1 when one is flagged (``certification_claim_unsupported``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.core.runtime import Runtime
from doorstep.privacy.datamap.pack_controls import ControlKind, ControlsPolicy

app = typer.Typer(
    help="Controls register: continuity, reviews, audits, certificates, impact assessments; "
    "the notice's claims they evidence.",
    no_args_is_help=True,
)
T = TypeVar("T")
ACTOR = "system:cli"
ControlId = Annotated[str, typer.Argument(help="The control's id.")]


@contextmanager
def _open() -> Iterator[Runtime]:
    with cli_runtime(load_cli_settings(), "doorstep-controls") as runtime:
        yield runtime


def _in_transaction(work: Callable[[Session, Runtime, ControlsPolicy], T]) -> T:
    """Run ``work`` in one transaction; a :class:`DoorstepError` is a one-line failure."""
    from doorstep.core.errors import ConfigurationError, DoorstepError, InvalidInputError
    from doorstep.services import services_for

    with _open() as runtime:
        try:
            with runtime.sessions.begin() as session:
                return work(session, runtime, services_for(runtime).pack.controls)
        except (InvalidInputError, ConfigurationError) as exc:
            fail(_detail(exc), 2)
        except DoorstepError as exc:
            fail(exc.detail, 1)


def _detail(exc: Exception) -> str:
    """The error's detail and the fields and rules it names."""
    detail = str(getattr(exc, "detail", exc))
    errors = getattr(exc, "fields", {}).get("errors") or []
    rules = ", ".join(f"{item.get('field')}: {item.get('rule')}" for item in errors)
    return f"{detail} ({rules})" if rules else detail


def _id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail("the id must be a UUID", 2)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2026-03-31", 2)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """``header`` and ``rows`` as lines, each column as wide as its widest cell."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]


@app.command()
def add(
    kind: Annotated[ControlKind, typer.Option(help="The kind of control.")],
    name: Annotated[str, typer.Option(help="Its name, e.g. 'ISO 27001'.")],
    owner: Annotated[str, typer.Option(help="The role answering for it, e.g. ciso.")],
    scope: Annotated[
        str | None, typer.Option(help="What it covers (audits, certificates).")
    ] = None,
    interval: Annotated[
        int | None, typer.Option(help="Months between two tests (default: the pack's).")
    ] = None,
) -> None:
    """Register a control; prints its id."""
    from doorstep.privacy.controls.services import add_control

    def work(session: Session, runtime: Runtime, policy: ControlsPolicy) -> uuid.UUID:
        control = add_control(
            session,
            kind=kind,
            name=name,
            owner_role=owner,
            scope=scope,
            interval_months=interval,
            clock=runtime.clock,
            actor=ACTOR,
        )
        return control.id

    typer.echo(str(_in_transaction(work)))


@app.command()
def record(
    control_id: ControlId,
    on: Annotated[str, typer.Option(help="When it was tested, reviewed, audited or issued.")],
    evidence: Annotated[str, typer.Option(help="A document id or URL of the report.")],
    valid_until: Annotated[
        str | None, typer.Option(help="A certificate's expiry, or an audit's next due date.")
    ] = None,
    issued_by: Annotated[
        str | None, typer.Option(help="The auditor or certification body.")
    ] = None,
) -> None:
    """Record a test, review, audit or certificate of a control; prints its new state."""
    from doorstep.privacy.controls.services import record_evidence
    from doorstep.privacy.controls.status import register_status

    ident = _id(control_id)
    performed, until = _date(on, "--on"), _date(valid_until, "--valid-until")
    assert performed is not None

    def work(session: Session, runtime: Runtime, policy: ControlsPolicy) -> str:
        record_evidence(
            session,
            ident,
            performed_on=performed,
            evidence=evidence,
            valid_until=until,
            issued_by=issued_by,
            clock=runtime.clock,
            actor=ACTOR,
        )
        today = runtime.clock.now().date()
        (item,) = [x for x in register_status(session, policy, today) if x.id == ident]
        return f"{item.state.value}, due {item.due.isoformat() if item.due else '-'}"

    typer.echo(_in_transaction(work))


@app.command()
def assess(
    control_id: ControlId,
    on: Annotated[str, typer.Option(help="When the assessment was made.")],
    risk: Annotated[str, typer.Option(help="The risk found: low, medium or high.")],
    summary: Annotated[str, typer.Option(help="The public summary of the report.")],
    evidence: Annotated[str, typer.Option(help="A document id or URL of the full report.")],
) -> None:
    """Add the next version of a security impact assessment (a draft); prints its version."""
    from doorstep.privacy.controls.services import add_assessment

    ident, assessed = _id(control_id), _date(on, "--on")
    assert assessed is not None

    def work(session: Session, runtime: Runtime, policy: ControlsPolicy) -> int:
        row = add_assessment(
            session,
            ident,
            assessed_on=assessed,
            risk_level=risk,
            summary=summary,
            evidence=evidence,
            clock=runtime.clock,
            actor=ACTOR,
        )
        return row.version

    typer.echo(str(_in_transaction(work)))


@app.command()
def publish(
    control_id: ControlId,
    version: Annotated[int, typer.Argument(help="The version to publish.", min=1)],
) -> None:
    """Publish a draft version of an assessment (then listed publicly)."""
    from doorstep.privacy.controls.services import publish_assessment

    ident = _id(control_id)

    def work(session: Session, runtime: Runtime, policy: ControlsPolicy) -> None:
        publish_assessment(session, ident, version, clock=runtime.clock, actor=ACTOR)

    _in_transaction(work)
    typer.echo(f"version {version} published")


@app.command()
def send(
    control_id: ControlId,
    to: Annotated[str, typer.Option(help="The e-mail address that asked for the report.")],
    version: Annotated[
        int | None, typer.Option(help="The version (default: the newest published).", min=1)
    ] = None,
) -> None:
    """E-mail a published assessment report to whoever asked for it; prints the outbox id."""
    from doorstep.privacy.controls.reports import send_assessment

    ident = _id(control_id)

    def work(session: Session, runtime: Runtime, policy: ControlsPolicy) -> uuid.UUID:
        return send_assessment(
            session, ident, to=to, version=version, clock=runtime.clock, actor=ACTOR
        )

    typer.echo(str(_in_transaction(work)))


@app.command("list")
def list_controls() -> None:
    """Every control as of today, lapsed ones first: kind, name, last evidence, due, state."""
    from doorstep.privacy.controls.status import register_status

    def work(session: Session, runtime: Runtime, policy: ControlsPolicy) -> list[tuple[str, ...]]:
        statuses = register_status(session, policy, runtime.clock.now().date())
        return [
            (
                str(item.id),
                item.kind.value,
                item.name,
                item.last_on.isoformat() if item.last_on else "-",
                item.due.isoformat() if item.due else "-",
                item.state.value,
            )
            for item in statuses
        ]

    rows = _in_transaction(work)
    for line in _table(("id", "kind", "name", "last", "due", "state"), rows):
        typer.echo(line)


@app.command()
def status() -> None:
    """The notice's claims and their evidence; exits 1 when a claim is flagged."""
    from doorstep.privacy.controls.status import claim_status, register_status

    def work(session: Session, runtime: Runtime, policy: ControlsPolicy) -> list[str]:
        today = runtime.clock.now().date()
        statuses = register_status(session, policy, today)
        lines = [f"as of {today.isoformat()}"]
        lines += [
            f"lapsed control {item.id} ({item.kind.value}): {item.state.value}"
            + (f", due {item.due.isoformat()}" if item.due else "")
            for item in statuses
            if item.lapsed
        ]
        for claim in claim_status(statuses, policy):
            if claim.supported:
                lines.append(f"supported {claim.claim.key}")
                continue
            why = "; ".join(
                f"{lapse.kind.value} {lapse.reason}"
                + (f" ({lapse.control_id})" if lapse.control_id else "")
                for lapse in claim.lapses
            )
            lines.append(f"FLAGGED {claim.code}: {why}")
        return lines

    lines = _in_transaction(work)
    for line in lines:
        typer.echo(line)
    if any(line.startswith("FLAGGED ") for line in lines):
        raise typer.Exit(1)
