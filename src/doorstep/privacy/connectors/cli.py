"""``doorstep connectors credentials set|list|remove``: a connected system's secret.

* ``credentials set SYSTEM`` — read the secret from standard input (piped) or a
  hidden prompt asked twice (a terminal), never from an argument, so it stays out
  of the shell's history and the process list; store it sealed
  (:func:`~doorstep.privacy.connectors.credentials.set_secret`), replacing any.
  A system the policy pack does not declare, a manual system (it has no API to
  sign for) or an empty secret exits 2 with nothing stored;
* ``credentials list`` — each declared automated system and whether it has a
  secret (and since when), plus any stored secret of a system no longer declared;
  never the value;
* ``credentials remove SYSTEM`` — delete the system's secret; exit 1 when it had none.

Output names systems and instants only; the secret is never echoed, logged or
put in an error.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import sqlalchemy as sa
import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.core.runtime import Runtime

app = typer.Typer(
    help="Connected systems: their credentials, stored encrypted, never shown.",
    no_args_is_help=True,
)
credentials = typer.Typer(
    help="A connected system's secret (a password or signing key): set, list, remove.",
    no_args_is_help=True,
)
app.add_typer(credentials, name="credentials")


@contextmanager
def _open() -> Iterator[Runtime]:
    with cli_runtime(load_cli_settings(), "doorstep-connectors") as runtime:
        yield runtime


def _read_secret() -> str:
    """The secret from a hidden, confirmed prompt on a terminal, else all of stdin."""
    if sys.stdin.isatty():
        entered: str = typer.prompt("Secret", hide_input=True, confirmation_prompt=True)
        return entered
    return sys.stdin.read().rstrip("\r\n")


@credentials.command("set")
def set_cmd(
    system: Annotated[str, typer.Argument(help="The connected system (systems.yaml).")],
) -> None:
    """Store SYSTEM's secret, read from stdin or a hidden prompt (never an argument)."""
    from doorstep.privacy.connectors.credentials import set_secret
    from doorstep.privacy.datamap.systems import SystemKind
    from doorstep.services import services_for

    with _open() as runtime:
        services = services_for(runtime)
        declared = services.pack.systems.systems.get(system)
        if declared is None:
            fail(f"system {system!r} is not declared in the policy pack's systems.yaml", 2)
        if declared.kind is SystemKind.MANUAL:
            fail(f"system {system!r} is a manual system: it takes no credentials", 2)
        secret = _read_secret()
        if not secret.strip():
            fail("the secret is empty; nothing stored", 2)
        with runtime.sessions.begin() as session:
            set_secret(session, services.keys.keyring, runtime.clock, system, secret)
    typer.echo(f"credentials of system {system} stored (encrypted)")


@credentials.command("list")
def list_cmd() -> None:
    """Each automated system and whether it has a secret; never the secret."""
    from doorstep.privacy.connectors.models import ConnectorCredential
    from doorstep.privacy.datamap.systems import SystemKind
    from doorstep.services import services_for

    with _open() as runtime:
        services = services_for(runtime)
        with runtime.sessions() as session:
            stored = dict(
                session.execute(
                    sa.select(ConnectorCredential.system, ConnectorCredential.set_at)
                ).all()
            )
    declared = services.pack.systems.systems
    for key, system in sorted(declared.items()):
        if system.kind is SystemKind.MANUAL:
            continue
        when = stored.get(key)
        state = f"set {when:%Y-%m-%d %H:%M} UTC" if when else "none"
        typer.echo(f"{key}  {system.kind.value}  {state}")
    for key, when in sorted(stored.items()):
        if key not in declared:
            typer.echo(f"{key}  not declared  set {when:%Y-%m-%d %H:%M} UTC")


@credentials.command("remove")
def remove_cmd(
    system: Annotated[str, typer.Argument(help="The connected system.")],
) -> None:
    """Delete SYSTEM's secret; exit 1 when it had none."""
    from doorstep.privacy.connectors.credentials import remove_secret

    with _open() as runtime, runtime.sessions.begin() as session:
        removed = remove_secret(session, system)
    if not removed:
        fail(f"system {system!r} has no stored credentials", 1)
    typer.echo(f"credentials of system {system} removed")
