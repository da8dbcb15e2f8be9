"""``doorstep groups create|list|show|delete``: device groups from the command line.

* ``create NAME [filter options | --filter JSON]`` — save a group (:mod:`.groups`); the
  filter options are those of ``doorstep devices list``; ``--filter`` takes the JSON form
  (``{"model": "…", "firmware_below": "2.0", "tags": ["trial"]}``).
* ``list`` — every group with its filter and how many devices match (capped at 1,000).
* ``show NAME|ID`` — one group, its count and its first members' ids.
* ``delete NAME|ID`` — remove it (bulk actions keep their own copy of its filter).

Bad input exits 2 with nothing changed; an unknown group or a taken name exits 1.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

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
    in_transaction,
    raw_filter,
    table,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from doorstep.core.runtime import Runtime

app = typer.Typer(
    help="Device groups: saved fleet filters (model, firmware, product, online, tags).",
    no_args_is_help=True,
)
Reference = Annotated[str, typer.Argument(help="The group's name or id.")]


def _count(count: int, cap: int) -> str:
    return f"more than {cap:,}" if count > cap else f"{count:,}"


@app.command()
def create(  # noqa: PLR0917 - Typer maps options to parameters
    name: Annotated[str, typer.Argument(help="The group's name (1 to 80 characters).")],
    model: Model = None,
    firmware: Firmware = None,
    firmware_min: FirmwareMin = None,
    firmware_below: FirmwareBelow = None,
    product_type: ProductType = None,
    online: Online = None,
    tag: Tags = None,
    filter_json: Annotated[
        str | None, typer.Option("--filter", help="The filter as JSON (instead of the options).")
    ] = None,
    by: By = "system:cli",
) -> None:
    """Save a group; prints its id and how many devices match now."""
    from doorstep.devices.fleet.groups import COUNT_CAP, count_members, create_group

    actor = actor_of(by)
    raw: dict[str, Any] = raw_filter(
        model=model,
        firmware=firmware,
        firmware_min=firmware_min,
        firmware_below=firmware_below,
        product_type=product_type,
        online=online,
        tags=tag,
    )
    if filter_json is not None:
        if raw:
            fail("give either --filter or filter options, not both", 2)
        try:
            raw = json.loads(filter_json)
        except json.JSONDecodeError:
            fail("--filter is not valid JSON", 2)

    def work(session: Session, runtime: Runtime) -> tuple[str, str, int]:
        group = create_group(session, name, raw, actor=actor, clock=runtime.clock)
        return str(group.id), group.filter.describe(), count_members(session, group.filter)

    group_id, described, count = in_transaction(work)
    typer.echo(f"group {group_id} created: {described}; {_count(count, COUNT_CAP)} devices match")


@app.command("list")
def list_groups() -> None:
    """Every group, its filter and how many devices match now."""
    from doorstep.devices.fleet.groups import COUNT_CAP, count_members
    from doorstep.devices.fleet.groups import list_groups as run

    def work(session: Session, _: Runtime) -> list[tuple[str, str, str, str]]:
        return [
            (
                str(group.id),
                group.name,
                group.filter.describe(),
                _count(count_members(session, group.filter), COUNT_CAP),
            )
            for group in run(session)
        ]

    rows = in_transaction(work)
    if not rows:
        typer.echo("no groups")
        return
    for line in table(("id", "name", "filter", "devices"), rows):
        typer.echo(line)


@app.command()
def show(
    group: Reference,
    members: Annotated[int, typer.Option(min=0, max=500, help="Member ids to print.")] = 20,
) -> None:
    """One group: its filter, how many devices match and the first members' ids."""
    from doorstep.devices.fleet.groups import COUNT_CAP, count_members, find_group
    from doorstep.devices.fleet.groups import members as member_query

    def work(session: Session, _: Runtime) -> list[str]:
        found = find_group(session, group)
        ids = (
            session.scalars(member_query(found.filter, session).limit(members)).all()
            if members
            else []
        )
        return [
            f"id: {found.id}",
            f"name: {found.name}",
            f"filter: {json.dumps(found.filter.to_json(), sort_keys=True)}",
            f"devices: {_count(count_members(session, found.filter), COUNT_CAP)}",
            f"created: {found.created_at.isoformat()} by {found.created_by}",
            *(f"member: {device_id}" for device_id in ids),
        ]

    for line in in_transaction(work):
        typer.echo(line)


@app.command()
def delete(group: Reference, by: By = "system:cli") -> None:
    """Remove a group."""
    from doorstep.devices.fleet.groups import delete_group, find_group

    actor = actor_of(by)

    def work(session: Session, _: Runtime) -> str:
        found = find_group(session, group)
        delete_group(session, found.id, actor=actor)
        return str(found.id)

    typer.echo(f"group {in_transaction(work)} deleted")
