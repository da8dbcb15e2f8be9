"""``doorstep devices list|tag|untag``: the fleet list and tags from the command line.

* ``doorstep devices list [--model M] [--firmware V | --firmware-min V --firmware-below V]
  [--product-type router|gateway] [--online|--offline] [--tag T]… [--group G]
  [--after ID] [--limit N] [--json]`` — one page of the fleet in device-id order
  (keyset: the last line says which ``--after`` gives the next page), with a count
  capped at 1,000 on the first page.  Model and firmware are read for ``device.maintenance``
  (:mod:`.listing`); a device whose owner restricted that purpose shows ``withheld``.
* ``doorstep devices tag TAG ID… [--file FILE]`` and ``untag`` — set or remove an
  operator's label (:mod:`.tags`); ``--file`` reads one device id a line.
* ``doorstep devices zone ZONE ID… [--file FILE]``, ``clear-zone ID…`` and ``zones`` —
  set or remove devices' own time zones (an IANA name or a POSIX TZ string, in which
  their rollouts' maintenance windows are read: :mod:`.time_zones`, decision 0045), and
  list the zones in use with how many devices have each.

Registered on the ``devices`` group by :mod:`doorstep.devices.cli`.  The actor is
``--by`` (``system:cli`` by default).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from doorstep.core.commands import fail
from doorstep.devices.fleet.cli_common import (
    By,
    Firmware,
    FirmwareBelow,
    FirmwareMin,
    Model,
    Online,
    ProductType,
    Tags,
    actor_of,
    device_filter,
    in_transaction,
    parse_id,
    raw_filter,
    table,
)

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.orm import Session

    from doorstep.core.runtime import Runtime
    from doorstep.devices.fleet.listing import FleetPage


def list_devices(  # noqa: PLR0917 - Typer maps options to parameters
    model: Model = None,
    firmware: Firmware = None,
    firmware_min: FirmwareMin = None,
    firmware_below: FirmwareBelow = None,
    product_type: ProductType = None,
    online: Online = None,
    tag: Tags = None,
    group: Annotated[
        str | None, typer.Option(help="A group's name or id (instead of the filter options).")
    ] = None,
    after: Annotated[str | None, typer.Option(help="The page after this device id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Devices per page.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    by: By = "system:cli",
) -> None:
    """One page of the fleet's devices matching the filter, in device-id order."""
    from doorstep.devices.fleet.groups import find_group
    from doorstep.devices.fleet.listing import fleet_page
    from doorstep.services import services_for

    actor = actor_of(by)
    raw = raw_filter(
        model=model,
        firmware=firmware,
        firmware_min=firmware_min,
        firmware_below=firmware_below,
        product_type=product_type,
        online=online,
        tags=tag,
    )
    if group is not None and raw:
        fail("give either --group or filter options, not both", 2)
    found = device_filter(raw)
    cursor = parse_id(after, "--after device id") if after else None

    def work(session: Session, runtime: Runtime) -> FleetPage:
        chosen = find_group(session, group).filter if group is not None else found
        gate = services_for(runtime).gate
        return fleet_page(
            session, gate, chosen, actor=actor, after=cursor, limit=limit, count=cursor is None
        )

    page = in_transaction(work)
    if as_json:
        typer.echo(json.dumps(_document(page), indent=2))
        return
    if page.count is not None:  # counted on the first page only
        more = "more than " if page.capped else ""
        typer.echo(f"{more}{page.count:,} devices match")
    rows = [
        (
            str(row.device_id),
            "withheld" if row.withheld else row.model or "-",
            "withheld" if row.withheld else row.firmware_version or "-",
            row.product_type.value if row.product_type else "-",
            "online" if row.online else "offline",
            ",".join(row.tags) or "-",
        )
        for row in page.rows
    ]
    if rows:
        for line in table(("device", "model", "firmware", "product", "state", "tags"), rows):
            typer.echo(line)
    if page.next_after is not None:
        typer.echo(f"next page: --after {page.next_after}")


def _document(page: FleetPage) -> dict[str, object]:
    return {
        "count": page.count,
        "capped": page.capped,
        "next_after": str(page.next_after) if page.next_after else None,
        "devices": [
            {
                "device_id": str(row.device_id),
                "model": row.model,
                "firmware_version": row.firmware_version,
                "withheld": row.withheld,
                "product_type": row.product_type.value if row.product_type else None,
                "online": row.online,
                "tags": list(row.tags),
            }
            for row in page.rows
        ],
    }


def _ids(devices: list[str] | None, file: Path | None) -> list[uuid.UUID]:
    given = list(devices or ())
    if file is not None:
        try:
            given += [line for line in file.read_text(encoding="utf-8").split() if line]
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror}", 2)
    if not given:
        fail("name at least one device id (or --file)", 2)
    return [parse_id(value, "device id") for value in given]


Devices = Annotated[list[str] | None, typer.Argument(help="Device ids.")]
File = Annotated[Path | None, typer.Option(help="A file of device ids, one a line.")]
Tag = Annotated[str, typer.Argument(help="The tag: 1 to 40 of a-z 0-9 _ . -")]


def tag(tag: Tag, devices: Devices = None, file: File = None, by: By = "system:cli") -> None:
    """Add a tag to devices (an operator's label of hardware: batch, site, trial)."""
    from doorstep.devices.fleet.tags import tag_devices

    actor = actor_of(by)
    ids = _ids(devices, file)
    change = in_transaction(
        lambda session, runtime: tag_devices(session, ids, tag, actor=actor, clock=runtime.clock)
    )
    typer.echo(
        f"tag {change.tag}: {change.changed} devices tagged, {change.unchanged} had it, "
        f"{change.unknown} not in the fleet"
    )


def untag(tag: Tag, devices: Devices = None, file: File = None, by: By = "system:cli") -> None:
    """Remove a tag from devices."""
    from doorstep.devices.fleet.tags import untag_devices

    actor = actor_of(by)
    ids = _ids(devices, file)
    change = in_transaction(lambda session, _: untag_devices(session, ids, tag, actor=actor))
    typer.echo(
        f"tag {change.tag}: removed from {change.changed} devices, {change.unchanged} did not "
        f"have it, {change.unknown} not in the fleet"
    )


Zone = Annotated[
    str, typer.Argument(help="An IANA name (Europe/Berlin) or a POSIX TZ string (CET-1CEST,…).")
]


def zone(zone: Zone, devices: Devices = None, file: File = None, by: By = "system:cli") -> None:
    """Set devices' time zone: their rollouts' maintenance windows are read in it."""
    from doorstep.devices.fleet.time_zones import set_zone

    actor = actor_of(by)
    ids = _ids(devices, file)
    change = in_transaction(
        lambda session, runtime: set_zone(session, ids, zone, actor=actor, clock=runtime.clock)
    )
    typer.echo(
        f"zone {change.zone}: {change.changed} devices set, {change.unchanged} had it, "
        f"{change.unknown} not in the fleet"
    )


def clear_zone(devices: Devices = None, file: File = None, by: By = "system:cli") -> None:
    """Remove devices' time zone: their rollouts' own zone applies again."""
    from doorstep.devices.fleet.time_zones import clear_zone as run

    actor = actor_of(by)
    ids = _ids(devices, file)
    change = in_transaction(lambda session, _: run(session, ids, actor=actor))
    typer.echo(
        f"zone removed from {change.changed} devices, {change.unchanged} had none, "
        f"{change.unknown} not in the fleet"
    )


def zones() -> None:
    """The time zones set on devices, and how many devices have each."""
    from doorstep.devices.fleet.time_zones import zones_in_use

    rows = in_transaction(lambda session, _: zones_in_use(session))
    if not rows:
        typer.echo("no device has a time zone of its own: rollouts use their own zone")
        return
    for line in table(("zone", "devices"), [(name, str(count)) for name, count in rows]):
        typer.echo(line)
