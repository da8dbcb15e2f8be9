"""``doorstep staff …``: add, list and deactivate operator staff.

The command line acts as the operator (actor ``system:cli``); in the console an
admin does the same through :mod:`doorstep.staff.services` with ``by=``.  Output
names staff ids, roles and states only.  The shared helpers come from
:mod:`doorstep.core.commands`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.staff.models import StaffRole

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from doorstep.core.runtime import Runtime

app = typer.Typer(
    help="Operator staff: least-privilege roles (support, privacy_officer, admin).",
    no_args_is_help=True,
)


@app.command()
def add(
    role: Annotated[StaffRole, typer.Option(help="The staff member's role.", case_sensitive=False)],
) -> None:
    """Add a staff member with ROLE; prints only the new staff id (SID=$(doorstep staff add …))."""
    from doorstep.audit.entries import audited_transaction
    from doorstep.staff.services import add_staff

    settings = load_cli_settings()
    with (
        cli_runtime(settings, "doorstep-staff") as runtime,
        audited_transaction(runtime.sessions) as session,
    ):
        staff = add_staff(session, role=role, clock=runtime.clock)
    typer.echo(str(staff.id))
    typer.echo(f"doorstep: staff member added with role {staff.role.value}", err=True)


@app.command("list")
def list_command(
    all_: Annotated[bool, typer.Option("--all", help="Include deactivated staff.")] = False,
) -> None:
    """List staff members: id, role, state and since when."""
    from doorstep.audit.entries import audited_transaction
    from doorstep.staff.services import list_staff

    settings = load_cli_settings()
    with (
        cli_runtime(settings, "doorstep-staff") as runtime,
        audited_transaction(runtime.sessions) as session,
    ):
        found = list_staff(session, include_inactive=all_)
    typer.echo(f"{'staff id':<36}  {'role':<15}  {'state':<8}  since")
    for staff in found:
        state = "active" if staff.active else "inactive"
        since = staff.created_at if staff.active else staff.deactivated_at
        typer.echo(
            f"{staff.id!s:<36}  {staff.role.value:<15}  {state:<8}  "
            f"{since.isoformat() if since else '-'}"
        )
    typer.echo(f"{len(found)} staff member(s)")


@contextlib.contextmanager
def _on_staff(staff_id: str) -> Iterator[tuple[Runtime, Session, uuid.UUID]]:
    """The runtime, an audited transaction and STAFF_ID parsed (exit 2 if not a UUID)."""
    from doorstep.audit.entries import audited_transaction

    try:
        target = uuid.UUID(staff_id)
    except ValueError:
        fail("STAFF_ID must be a UUID", 2)
    settings = load_cli_settings()
    with (
        cli_runtime(settings, "doorstep-staff") as runtime,
        audited_transaction(runtime.sessions) as session,
    ):
        yield runtime, session, target


@app.command()
def deactivate(
    staff_id: Annotated[str, typer.Argument(help="The staff id (a UUID).")],
) -> None:
    """Deactivate a staff member: every permission ends at once."""
    from doorstep.staff.services import deactivate_staff

    with _on_staff(staff_id) as (runtime, session, target):
        staff = deactivate_staff(session, target, clock=runtime.clock)
    typer.echo(f"staff {staff.id} is inactive")


@app.command("sign-in-link")
def sign_in_link(
    staff_id: Annotated[str, typer.Argument(help="The staff id (a UUID).")],
    base_url: Annotated[
        str, typer.Option(help="Where the console is served.")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Print a one-time console sign-in link for STAFF_ID (valid 15 minutes, once)."""
    from doorstep.staff.signin import issue_link

    with _on_staff(staff_id) as (runtime, session, target):
        token = issue_link(session, target, clock=runtime.clock)
    typer.echo(f"{base_url.rstrip('/')}/console/sign-in?token={token}")
