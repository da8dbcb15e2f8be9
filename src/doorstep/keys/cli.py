"""``doorstep keys …``: inspect the keyring and rotate key-encryption keys.

Output names KEK ids, dates and counts, never key material.  Errors go through
:func:`doorstep.core.commands.cli_runtime`: a keyring problem (wrong permissions, corrupt
file) exits 2, any other failure 1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

import typer

from doorstep.core.commands import cli_runtime, load_cli_settings
from doorstep.core.runtime import Runtime
from doorstep.keys.keyring import load_keyring
from doorstep.keys.services import KeyService

app = typer.Typer(
    help="Per-subject data keys: keyring status, KEK rotation and retirement.",
    no_args_is_help=True,
)


@contextlib.contextmanager
def _keys(application_name: str = "doorstep-keys") -> Iterator[tuple[Runtime, KeyService]]:
    with cli_runtime(load_cli_settings(), application_name) as runtime:
        keyring = load_keyring(runtime.settings, clock=runtime.clock)
        ttl = timedelta(seconds=runtime.settings.key_cache_ttl_seconds)
        yield runtime, KeyService(keyring, runtime.clock, cache_ttl=ttl)


@app.command()
def status() -> None:
    """Show each KEK with the number of subject keys it wraps, and the tombstones in force."""
    with _keys() as (runtime, service), runtime.sessions() as session:
        report = service.status(session)
    typer.echo(f"keyring: {report.keyring}")
    for kek, count in report.keks:
        marker = "active" if kek.active else "old"
        typer.echo(
            f"  {kek.id}  {marker:<6}  created {kek.created_at:%Y-%m-%d %H:%M} UTC  "
            f"{count} subject keys"
        )
    typer.echo(f"retired KEKs: {len(report.retired)}")
    typer.echo(f"tombstones in force: {report.tombstones}")
    for kek_id, count in sorted(report.missing.items()):
        typer.echo(f"  WARNING: {count} subject keys are under {kek_id}, unknown to this keyring")
    if report.missing:
        raise typer.Exit(1)


@app.command()
def rotate(
    batch_size: Annotated[
        int, typer.Option(min=1, help="Subject keys re-wrapped per transaction.")
    ] = 1000,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Finish an interrupted rotation; do not create a new KEK."),
    ] = False,
) -> None:
    """Create a new KEK and re-wrap every subject key under it (safe while serving)."""
    with _keys() as (runtime, service):
        if not resume:
            typer.echo(f"new KEK {service.add_kek().id} is active")

        def show(done: int, total: int) -> None:
            typer.echo(f"re-wrapped {done}/{total} subject keys")

        count = service.rotate_kek(runtime.sessions, batch_size=batch_size, progress=show)
    typer.echo(f"done: {count} subject keys re-wrapped under {service.keyring.active_kek()}")


@app.command()
def retire(
    keep_days: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Keep a superseded KEK this many days (your backup retention): "
            "backups whose keys are under a retired KEK lose their secret fields. "
            "Default: DOORSTEP_KEK_RETIREMENT_DAYS (35).",
        ),
    ] = None,
) -> None:
    """Destroy old KEKs that no subject key uses any more (finishes crypto-shredding)."""
    with _keys() as (runtime, service), runtime.sessions() as session, session.begin():
        days = runtime.settings.kek_retirement_days if keep_days is None else keep_days
        retired = service.retire_keks(session, keep_for=timedelta(days=days))
    for kek_id in retired:
        typer.echo(f"retired {kek_id}")
    typer.echo(f"{len(retired)} KEKs retired")
