"""``doorstep devices mark-returned|mark-resold|wipes``: staff's side of removing settings.

* ``doorstep devices mark-returned DEVICE [--no-wipe] [--by staff:<uuid>]`` — the device
  came back to the operator: its binding (if any) ends as ``returned``, its PPPoE
  credentials are deleted, and the owner's settings are removed from the router (on
  by default; ``--no-wipe`` keeps them, e.g. for a repair the owner gets back).
* ``doorstep devices mark-resold DEVICE [--by …]`` — the device goes to someone else:
  the same, and the removal is always done.
* ``doorstep devices wipes [--device ID] [--failed] [--pending] [--json]`` — removals:
  of one device, or those that failed (and those still waiting) for staff to follow up.

Decision 0042.  The removal waits in the fleet queue until the router is online, for
``wipe_deadline_days``.  Exit 2 on bad input, 1 for an unknown device; nothing changes
then.  Output names ids, states and codes only (:mod:`.wipes`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from doorstep.devices.fleet.cli_common import By, actor_of, in_transaction, parse_id, table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from doorstep.core.runtime import Runtime
    from doorstep.devices.fleet.wipes import Marked

Device = Annotated[str, typer.Argument(help="The device's inventory id (a UUID).")]
Wipe = Annotated[
    bool,
    typer.Option(
        "--wipe/--no-wipe",
        help="Remove the owner's settings from the router (PPPoE, Wi-Fi, host table).",
    ),
]


def _mark(device: str, mark: str, wipe: bool, by: str) -> None:
    from doorstep.devices.fleet.wipe_models import WipeTrigger
    from doorstep.devices.fleet.wipes import mark_device

    device_id, actor, trigger = parse_id(device, "device id"), actor_of(by), WipeTrigger(mark)

    def work(session: Session, runtime: Runtime) -> Marked:
        return mark_device(
            session,
            device_id,
            trigger,
            wipe=wipe,
            actor=actor,
            settings=runtime.settings,
            clock=runtime.clock,
        )

    done = in_transaction(work, name="doorstep-devices")
    bound = "its binding ended" if done.binding_ended else "it was not bound"
    removal = (
        f"removal {done.wipe.id} {done.wipe.state.value} (runs when the router is online)"
        if done.wipe is not None
        else "no removal of settings"
    )
    typer.echo(f"device {device_id} marked {mark}: {bound}; {removal}")


def mark_returned(device: Device, wipe: Wipe = True, by: By = "system:cli") -> None:
    """Mark a device returned to the operator (its binding ends; settings removed by default)."""
    _mark(device, "returned", wipe, by)


def mark_resold(device: Device, by: By = "system:cli") -> None:
    """Mark a device resold (its binding ends; the owner's settings are always removed)."""
    _mark(device, "resold", True, by)


def list_wipes(
    device: Annotated[str | None, typer.Option(help="Only this device's removals.")] = None,
    failed: Annotated[bool, typer.Option(help="Removals that failed (staff follow up).")] = False,
    pending: Annotated[bool, typer.Option(help="With --failed: those still waiting too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """Removals of settings from routers: of one device, or the failed (and pending) ones."""
    from doorstep.devices.fleet.wipes import failed_wipes, wipe_view, wipes_of_device

    if device is None and not failed:
        failed = True
    device_id = parse_id(device, "device id") if device is not None else None

    def work(session: Session, runtime: Runtime) -> list[dict[str, Any]]:
        rows = (
            wipes_of_device(session, device_id)
            if device_id is not None
            else failed_wipes(session, include_pending=pending)
        )
        return [wipe_view(row) for row in rows]

    views = in_transaction(work, name="doorstep-devices")
    if as_json:
        for view in views:
            typer.echo(json.dumps(view, sort_keys=True))
        return
    header = ("removal", "device", "trigger", "state", "pppoe", "wifi", "hosts", "reason", "asked")
    rows = [
        (
            str(v["id"]),
            str(v["device_id"]),
            str(v["trigger"]),
            str(v["state"]),
            *(str(v["parts"].get(p, "-")) for p in ("pppoe", "wifi", "hosts")),
            str(v["reason"] or "-"),
            str(v["requested_at"]),
        )
        for v in views
    ]
    for line in table(header, rows):
        typer.echo(line)
    typer.echo(f"{len(views)} removal(s)")
