"""``doorstep accounts …``: look up, lock and unlock accounts; manual deregistration requests.

Every command takes ids, never an e-mail address or number, and prints ids,
statuses and instants only.  The command line acts as ``system:cli``.  The
shared helpers come from :mod:`doorstep.core.commands`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from doorstep.core.commands import cli_runtime, fail, load_cli_settings

if TYPE_CHECKING:
    from doorstep.accounts.context import AccountContext

app = typer.Typer(
    help="Subscriber accounts: show, lock, unlock; manual deregistration requests.",
    no_args_is_help=True,
)
_ACTOR = "system:cli"
T = TypeVar("T")


def _id(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"{name} must be a UUID", 2)


@contextmanager
def _session() -> Iterator[tuple[Session, AccountContext]]:
    from doorstep.accounts.context import AccountContext
    from doorstep.audit.entries import audited_transaction

    settings = load_cli_settings()
    with (
        cli_runtime(settings, "doorstep-accounts") as runtime,
        audited_transaction(runtime.sessions) as session,
    ):
        yield session, AccountContext.for_runtime(runtime)


def _run(action: Callable[[Session, AccountContext], T]) -> T:
    """Run ``action(session, ctx)`` in one transaction; domain errors become one line."""
    from doorstep.core.errors import DoorstepError

    try:
        with _session() as (session, ctx):
            return action(session, ctx)
    except DoorstepError as exc:
        fail(exc.detail, 1)


def _when(instant: datetime | None) -> str:
    return instant.isoformat() if instant is not None else "-"


@app.command()
def show(account_id: Annotated[str, typer.Argument(help="The account id (a UUID).")]) -> None:
    """Print an account's status, flags and instants (no e-mail, number or secret)."""
    from doorstep.accounts.admin import summary

    target = _id(account_id, "ACCOUNT_ID")
    found = _run(lambda session, ctx: summary(session, ctx, target, actor=_ACTOR))
    lines = [
        ("account", str(found.id)),
        ("status", found.status),
        ("created", _when(found.created_at)),
        ("e-mail verified", "yes" if found.email_verified else "no"),
        ("mobile verified", "yes" if found.phone_verified else "no"),
        ("child", "yes" if found.child else "no"),
        ("locked", _when(found.locked_at)),
        ("deregistered", _when(found.deregistered_at)),
        ("erased", _when(found.erased_at)),
        ("live sessions", str(found.live_sessions)),
        ("linked providers", str(found.linked_providers)),
    ]
    for label, value in lines:
        typer.echo(f"{label:<18}{value}")


@app.command()
def lock(account_id: Annotated[str, typer.Argument(help="The account id (a UUID).")]) -> None:
    """Lock an account: no sign-in, and every session ends now."""
    from doorstep.accounts.admin import lock as lock_account

    target = _id(account_id, "ACCOUNT_ID")
    ended = _run(lambda session, ctx: lock_account(session, ctx, target, actor=_ACTOR))
    typer.echo(f"account {target} locked; {ended} session(s) ended")


@app.command()
def unlock(account_id: Annotated[str, typer.Argument(help="The account id (a UUID).")]) -> None:
    """Lift a lock; the subscriber signs in again with their password."""
    from doorstep.accounts.admin import unlock as unlock_account

    target = _id(account_id, "ACCOUNT_ID")
    _run(lambda session, ctx: unlock_account(session, ctx, target, actor=_ACTOR))
    typer.echo(f"account {target} unlocked")


@app.command("deregistration-request")
def open_deregistration(
    account_id: Annotated[str, typer.Argument(help="The account id (a UUID).")],
) -> None:
    """Record a deregistration asked for through customer service; prints its deadline."""
    from doorstep.accounts.deregistration.closing import open_request

    target = _id(account_id, "ACCOUNT_ID")
    found = _run(lambda session, ctx: open_request(session, ctx, target, actor=_ACTOR))
    typer.echo(f"request {found.id} for account {target} due {found.due_at.isoformat()}")


@app.command("deregistration-requests")
def list_deregistrations() -> None:
    """List open manual deregistration requests by deadline, overdue ones marked."""
    from doorstep.accounts.deregistration.closing import ManualRequest, list_requests

    def listing(session: Session, ctx: AccountContext) -> list[tuple[ManualRequest, bool]]:
        now = ctx.clock.now()
        return [(item, item.overdue(now)) for item in list_requests(session)]

    rows = _run(listing)
    for item, late in rows:
        typer.echo(
            f"{item.id}  account {item.account_id}  due {item.due_at.isoformat()}"
            + ("  OVERDUE" if late else "")
        )
    typer.echo(f"{len(rows)} open request(s)")


@app.command("deregistration-close")
def close_deregistration(
    request_id: Annotated[str, typer.Argument(help="The request id (a UUID).")],
    refuse: Annotated[
        str | None, typer.Option(help="Refuse with this reason code instead of completing.")
    ] = None,
) -> None:
    """Complete a manual request (deregister the account) or refuse it with a reason code."""
    from doorstep.accounts.deregistration.closing import complete_request, refuse_request

    target = _id(request_id, "REQUEST_ID")
    if refuse is None:
        found = _run(lambda session, ctx: complete_request(session, ctx, target, actor=_ACTOR))
    else:
        reason = refuse
        found = _run(
            lambda session, ctx: refuse_request(session, ctx, target, reason, actor=_ACTOR)
        )
    outcome = found.outcome.value if found.outcome else "open"
    typer.echo(f"request {found.id} {outcome}")
