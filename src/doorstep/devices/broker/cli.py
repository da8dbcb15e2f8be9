"""``doorstep broker …``: the MQTT broker's per-device accounts (decision 0029).

* ``doorstep broker accounts --factory FILE …`` — make Mosquitto's dynamic-security
  accounts and ACLs match the device inventory, live through its control topic: create
  the accounts of inventory units found in the factory files, repair their roles,
  delete managed accounts of units the inventory no longer holds.  Idempotent.
* ``… --out FILE`` — write the commands for an empty broker instead (0600; it holds
  the devices' secrets), e.g. for ``mosquitto_pub -t '$CONTROL/dynamic-security/v1' -f FILE``.

Output names counts, never an endpoint id or secret.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings

app = typer.Typer(help="MQTT broker: per-device accounts and ACLs from the device inventory.")


@app.command()
def accounts(
    factory: Annotated[
        list[Path] | None,
        typer.Option(help="Factory file(s) with the units' secrets (JSON lines); repeatable."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the commands to this file instead (0600).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would change.")
    ] = False,
) -> None:
    """Reconcile the broker's device accounts with the inventory (Mosquitto dynamic security)."""
    from doorstep.core.errors import DoorstepError, InvalidInputError
    from doorstep.devices.broker.accounts import reconcile, write_commands
    from doorstep.usp.config import load_usp_config

    paths = factory or []
    for path in paths:
        if not path.is_file():
            fail(f"factory file {path.name} not found", 2)
    settings = load_cli_settings()
    with cli_runtime(settings, "doorstep-broker") as runtime:
        config = load_usp_config(settings)
        try:
            if out is not None:
                result = write_commands(runtime, config, paths, out)
                typer.echo(
                    f"broker: {result.created} device accounts written "
                    f"({len(result.commands)} commands; secrets inside: keep the file 0600), "
                    f"{result.not_in_inventory} not in the inventory"
                )
                return
            result = asyncio.run(reconcile(runtime, config, paths, dry_run=dry_run))
        except InvalidInputError as exc:
            fail(str(exc), 2)
        except DoorstepError as exc:
            fail(str(exc), 1)
    verb = "would be" if dry_run else "were"
    typer.echo(
        f"broker: {result.created} created, {result.repaired} repaired, {result.removed} "
        f"removed ({verb} applied); {result.not_in_inventory} not in the inventory"
    )
