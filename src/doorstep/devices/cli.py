"""``doorstep devices …``: the operator's side of the device inventory.

* ``doorstep devices import FILE`` — provision units from a factory file (one JSON
  object a line: ``endpoint_id``, ``secret``, ``claim_code``); only hashes are stored.
* ``doorstep devices factory --count N --out FILE`` — make a factory file of N
  simulated units (random secrets and claim codes), for trying the flow end to end.
* ``doorstep devices sweep`` — run the presence sweep once (what the worker does
  every minute).
* ``doorstep devices list|tag|untag`` — the fleet list and operators' tags, and
  ``doorstep devices zone|clear-zone|zones`` — devices' own time zones for rollouts'
  maintenance windows (:mod:`doorstep.devices.fleet.list_cli`).
* ``doorstep devices mark-returned|mark-resold DEVICE`` and ``doorstep devices wipes`` —
  a device leaves its owner, and the removal of their settings from it
  (:mod:`doorstep.devices.fleet.wipe_cli`, decision 0042).

Output names counts, never an endpoint id, secret or claim code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from doorstep.core.commands import cli_runtime, load_cli_settings
from doorstep.devices.fleet import list_cli, wipe_cli

app = typer.Typer(
    help="Device inventory and fleet: import factory files, list and tag devices, sweep presence."
)


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="Factory file, one JSON object per line.")],
) -> None:
    """Provision every unit of a factory file (already provisioned ones are kept)."""
    from doorstep.devices.inventory import import_records, installation_key, read_factory_file

    with (
        cli_runtime(load_cli_settings(), "doorstep-devices") as runtime,
        runtime.sessions.begin() as session,
    ):
        added, existing = import_records(
            session,
            read_factory_file(path),
            key=installation_key(runtime.settings),
            now=runtime.clock.now(),
        )
    typer.echo(f"devices: {added} provisioned, {existing} already in the inventory")


@app.command()
def factory(
    out: Annotated[Path, typer.Option(help="Where to write the factory file (0600).")],
    count: Annotated[int, typer.Option(min=1, max=100_000, help="How many units.")] = 5,
) -> None:
    """Write a factory file of simulated units (endpoint ids of the simulator's OUI)."""
    import secrets

    from doorstep.devices.inventory import new_factory_record
    from doorstep.usp.agent_sim.fleet import SIM_OUI

    batch = secrets.token_hex(3).upper()
    records = [new_factory_record(f"os::{SIM_OUI}-{batch}{i:07d}") for i in range(count)]
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        for record in records:
            line = {
                "endpoint_id": record.endpoint_id,
                "secret": record.secret,
                "claim_code": record.claim_code,
            }
            handle.write(json.dumps(line) + "\n")
    typer.echo(f"devices: {count} simulated units written (secrets inside: keep the file 0600)")


@app.command()
def sweep() -> None:
    """Mark silent devices offline and end the bindings of anonymised ones, once."""
    from doorstep.devices.tasks import presence_sweep

    with cli_runtime(load_cli_settings(), "doorstep-devices") as runtime:
        result = presence_sweep(runtime)
    typer.echo(
        f"devices: {result.went_offline} went offline, {result.bindings_ended} bindings ended"
    )


app.command("list")(list_cli.list_devices)
app.command()(list_cli.tag)
app.command()(list_cli.untag)
app.command()(list_cli.zone)
app.command("clear-zone")(list_cli.clear_zone)
app.command()(list_cli.zones)
app.command("mark-returned")(wipe_cli.mark_returned)
app.command("mark-resold")(wipe_cli.mark_resold)
app.command("wipes")(wipe_cli.list_wipes)
