"""``doorstep notify …``: list outbox messages, retry a failed one, cancel a queued one.

Output names ids, channels, templates, statuses, counts, error codes and
instants: never an address, a number, a token or message content.  Retries and
cancellations are audited as ``system:cli``.  The shared helpers come from
:mod:`doorstep.core.commands`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings

app = typer.Typer(
    help="Notification outbox: list messages, retry failed ones, cancel queued ones.",
    no_args_is_help=True,
)

ACTOR = "system:cli"


def _uuid(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"{name} must be a UUID", 2)


@app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option(help="Only this status: queued, sent, failed or cancelled.")
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="Only messages about this subject id.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
) -> None:
    """List the newest messages: id, when, channel, template, status, attempts, error."""
    from doorstep.notify.models import Status
    from doorstep.notify.services import list_messages

    try:
        wanted = Status(status) if status is not None else None
    except ValueError:
        fail("--status must be queued, sent, failed or cancelled", 2)
    subject_id = _uuid(subject, "--subject") if subject is not None else None
    settings = load_cli_settings()
    with cli_runtime(settings, "doorstep-notify") as runtime, runtime.sessions() as session:
        messages = list_messages(session, status=wanted, subject_id=subject_id, limit=limit)
    typer.echo(
        f"{'id':<36}  {'created':<25}  {'channel':<7}  {'template':<26}  "
        f"{'status':<9}  {'tries':>5}  error"
    )
    for item in messages:
        error = item.last_error or "-"
        if item.content_purged and item.status is not Status.SENT:
            error += " (content purged)"
        typer.echo(
            f"{item.id!s:<36}  {item.created_at.isoformat(timespec='seconds'):<25}  "
            f"{item.channel.value:<7}  {item.template:<26}  {item.status.value:<9}  "
            f"{item.attempts:>5}  {error}"
        )
    typer.echo(f"{len(messages)} messages")


@app.command()
def retry(
    outbox_id: Annotated[str, typer.Argument(help="The id of a failed message.")],
) -> None:
    """Queue a failed message again with a fresh delivery job; exit 1 if it cannot be."""
    from doorstep.core.database import transaction
    from doorstep.core.errors import DoorstepError
    from doorstep.notify.services import retry as retry_message

    message_id = _uuid(outbox_id, "OUTBOX_ID")
    settings = load_cli_settings()
    with cli_runtime(settings, "doorstep-notify") as runtime:
        try:
            with transaction(runtime.sessions) as session:
                retry_message(session, message_id, actor=ACTOR)
        except DoorstepError as exc:
            fail(f"{exc.detail} ({message_id})", 1)
    typer.echo(f"message {message_id} queued again")


@app.command()
def cancel(
    outbox_id: Annotated[str, typer.Argument(help="The id of a queued message.")],
) -> None:
    """Cancel a queued message and blank its content; exit 1 if it is no longer queued."""
    from doorstep.core.database import transaction
    from doorstep.core.errors import DoorstepError
    from doorstep.notify.services import cancel as cancel_message

    message_id = _uuid(outbox_id, "OUTBOX_ID")
    settings = load_cli_settings()
    with cli_runtime(settings, "doorstep-notify") as runtime:
        try:
            with transaction(runtime.sessions) as session:
                done = cancel_message(session, message_id, actor=ACTOR, clock=runtime.clock)
        except DoorstepError as exc:
            fail(f"{exc.detail} ({message_id})", 1)
    if not done:
        fail(f"message {message_id} is no longer queued", 1)
    typer.echo(f"message {message_id} cancelled")
