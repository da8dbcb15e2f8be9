"""``doorstep audit …``: verify, seal and checkpoint the audit trail.

``verify`` exits 0 when the chain verifies and 1 when it does not, printing the
first broken link (its ``seq`` and event id), the reason and counts — never the
content of an event.  The shared helpers come from :mod:`doorstep.core.commands`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings

app = typer.Typer(
    help="Audit trail: verify the hash chain, seal recorded events, take checkpoints.",
    no_args_is_help=True,
)


@app.command()
def verify(
    from_checkpoint: Annotated[
        bool,
        typer.Option(
            "--from-checkpoint", help="Start at the newest checkpoint instead of the first link."
        ),
    ] = False,
    grace_minutes: Annotated[
        int, typer.Option(min=0, help="Unsealed events older than this are reported.")
    ] = 10,
) -> None:
    """Re-walk the hash chain; exit 1 and name the first broken link if there is one."""
    from doorstep.audit.services import verify as verify_chain

    settings = load_cli_settings()
    with cli_runtime(settings, "doorstep-audit") as runtime, runtime.sessions() as session:
        # One snapshot for the whole walk, and nothing written.
        session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        report = verify_chain(
            session,
            from_checkpoint=from_checkpoint,
            now=runtime.clock.now(),
            unsealed_grace=timedelta(minutes=grace_minutes),
        )
        session.rollback()
    span = f"links {report.start_seq}..{report.head_seq}" if report.checked else "no links"
    head = f"head seq {report.head_seq} hash {report.head_hash}"
    if report.ok:
        typer.echo(
            f"audit trail verified: {report.checked} links checked ({span}); {head}; "
            f"{report.unsealed} events awaiting sealing"
        )
        raise typer.Exit(0)
    where = [f"seq {report.first_broken}"] if report.first_broken is not None else []
    if report.event_id is not None:
        where.append(f"event {report.event_id}")
    typer.echo(
        f"audit trail BROKEN at {', '.join(where) or 'an unknown place'}: {report.reason}\n"
        f"{report.checked} links verified before it ({span}); last good link: {head}; "
        f"{report.unsealed} events awaiting sealing",
        err=True,
    )
    raise typer.Exit(1)


@app.command()
def seal() -> None:
    """Seal every recorded, committed event into the chain now (waits for a running sealer)."""
    from doorstep.audit.tasks import seal_all

    settings = load_cli_settings()
    with cli_runtime(settings, "doorstep-audit") as runtime:
        count = seal_all(runtime, wait=True)
    typer.echo(f"sealed {count} audit events")


@app.command()
def checkpoint() -> None:
    """Seal, verify the links since the last checkpoint and record the head as a checkpoint."""
    from doorstep.audit.tasks import take_checkpoint
    from doorstep.core.errors import DoorstepError

    settings = load_cli_settings()
    with cli_runtime(settings, "doorstep-audit") as runtime:
        try:
            seq = take_checkpoint(runtime)
        except DoorstepError as exc:
            fields = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            fail(f"{exc.detail} ({fields})" if fields else exc.detail, 1)
    typer.echo(f"checkpoint at seq {seq}" if seq is not None else "nothing new to checkpoint")
