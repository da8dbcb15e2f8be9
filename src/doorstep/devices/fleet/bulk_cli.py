"""``doorstep bulk …``: bulk actions on a group of devices from the command line.

* ``reboot``, ``set PATH=VALUE…``, ``diagnose --test T --host H``, ``firmware --image ID``
  — start an action on ``--group G`` or on the devices matching the filter options
  (those of ``doorstep devices list``; ``--all-devices`` for the whole fleet, which is
  never the default), throttled by ``--max-in-flight`` and ``--per-minute``.  ``set``
  takes only paths of the pack's ``bulk_parameters:`` allow-list: any other path (a
  PPPoE, Wi-Fi or Hosts parameter) exits 2 naming the path, and nothing is queued.
* ``show ID [--results] [--follow]`` — counts, and the per-device results (device id,
  state, reason code, the device's own USP code); ``--follow`` draws a progress bar
  until the action ends.
* ``list`` — the latest actions; ``cancel ID`` — stop one (queued operations are
  cancelled, those in flight end on their own).
"""

from __future__ import annotations

import time
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
    device_filter,
    in_transaction,
    parse_id,
    raw_filter,
    table,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from doorstep.core.runtime import Runtime
    from doorstep.devices.fleet.bulk import BulkView, DeviceResult
    from doorstep.devices.fleet.operations import OperationKind

app = typer.Typer(
    help="Bulk actions on a group: reboot, set allowed parameters, diagnose, update firmware.",
    no_args_is_help=True,
)
Group = Annotated[str | None, typer.Option(help="The group's name or id.")]
AllDevices = Annotated[
    bool, typer.Option("--all-devices", help="Every device of the fleet (say it explicitly).")
]
MaxInFlight = Annotated[int, typer.Option(min=1, max=10_000, help="Most operations open at once.")]
PerMinute = Annotated[
    int, typer.Option(min=1, max=100_000, help="Most operations queued in any minute.")
]
Action = Annotated[str, typer.Argument(help="The bulk action's id.")]


def _start(
    kind: OperationKind,
    args: dict[str, Any],
    *,
    group: str | None,
    raw: dict[str, Any],
    all_devices: bool,
    max_in_flight: int,
    per_minute: int,
    by: str,
) -> None:
    from doorstep.devices.fleet.bulk import Target, start_bulk
    from doorstep.devices.fleet.groups import find_group
    from doorstep.services import services_for

    actor = actor_of(by)
    if group is not None and (raw or all_devices):
        fail("give either --group or filter options (or --all-devices), not both", 2)
    if group is None and not raw and not all_devices:
        fail("name the devices: --group, filter options, or --all-devices", 2)
    found = device_filter(raw)

    def work(session: Session, runtime: Runtime) -> BulkView:
        target = Target.of(find_group(session, group)) if group is not None else Target(found)
        return start_bulk(
            session,
            kind,
            args,
            target,
            allowed=services_for(runtime).pack.bulk_parameters,
            max_in_flight=max_in_flight,
            per_minute=per_minute,
            actor=actor,
            clock=runtime.clock,
        )

    view = in_transaction(work)
    typer.echo(
        f"bulk action {view.id} started: {view.kind.value} on {view.total:,} devices "
        f"({view.queued:,} queued now; at most {view.max_in_flight:,} at once, "
        f"{view.per_minute:,} a minute)"
    )


def _target(**options: Any) -> dict[str, Any]:
    return raw_filter(
        model=options["model"],
        firmware=options["firmware"],
        firmware_min=options["firmware_min"],
        firmware_below=options["firmware_below"],
        product_type=options["product_type"],
        online=options["online"],
        tags=options["tag"],
    )


@app.command()
def reboot(  # noqa: PLR0917 - Typer maps options to parameters
    group: Group = None,
    model: Model = None,
    firmware: Firmware = None,
    firmware_min: FirmwareMin = None,
    firmware_below: FirmwareBelow = None,
    product_type: ProductType = None,
    online: Online = None,
    tag: Tags = None,
    all_devices: AllDevices = False,
    max_in_flight: MaxInFlight = 50,
    per_minute: PerMinute = 100,
    by: By = "system:cli",
) -> None:
    """Reboot every device of the group (purpose device.maintenance)."""
    from doorstep.devices.fleet.operations import OperationKind

    raw = _target(**locals())
    _start(
        OperationKind.REBOOT,
        {},
        group=group,
        raw=raw,
        all_devices=all_devices,
        max_in_flight=max_in_flight,
        per_minute=per_minute,
        by=by,
    )


@app.command("set")
def set_parameters(  # noqa: PLR0917 - Typer maps options to parameters
    parameters: Annotated[
        list[str], typer.Argument(help="PATH=VALUE pairs of the pack's bulk_parameters.")
    ],
    group: Group = None,
    model: Model = None,
    firmware: Firmware = None,
    firmware_min: FirmwareMin = None,
    firmware_below: FirmwareBelow = None,
    product_type: ProductType = None,
    online: Online = None,
    tag: Tags = None,
    all_devices: AllDevices = False,
    max_in_flight: MaxInFlight = 50,
    per_minute: PerMinute = 100,
    by: By = "system:cli",
) -> None:
    """Set non-personal parameters (the pack's bulk_parameters allow-list only)."""
    from doorstep.devices.fleet.operations import OperationKind

    raw = _target(**locals())
    values: dict[str, str] = {}
    for pair in parameters:
        path, sep, value = pair.partition("=")
        if not sep or not path:
            fail(f"{pair.split('=')[0]!r}: give parameters as PATH=VALUE", 2)
        values[path.strip()] = value
    _start(
        OperationKind.SET_PARAMETERS,
        {"parameters": values},
        group=group,
        raw=raw,
        all_devices=all_devices,
        max_in_flight=max_in_flight,
        per_minute=per_minute,
        by=by,
    )


@app.command()
def diagnose(  # noqa: PLR0917 - Typer maps options to parameters
    test: Annotated[str, typer.Option(help="ping, traceroute, download or upload.")],
    host: Annotated[str, typer.Option(help="The operator's test server.")],
    group: Group = None,
    model: Model = None,
    firmware: Firmware = None,
    firmware_min: FirmwareMin = None,
    firmware_below: FirmwareBelow = None,
    product_type: ProductType = None,
    online: Online = None,
    tag: Tags = None,
    all_devices: AllDevices = False,
    max_in_flight: MaxInFlight = 50,
    per_minute: PerMinute = 100,
    by: By = "system:cli",
) -> None:
    """Run a diagnostic on every device of the group (purpose device.diagnostics)."""
    from doorstep.devices.fleet.operations import OperationKind

    raw = _target(**locals())
    _start(
        OperationKind.DIAGNOSTIC,
        {"test": test, "host": host},
        group=group,
        raw=raw,
        all_devices=all_devices,
        max_in_flight=max_in_flight,
        per_minute=per_minute,
        by=by,
    )


@app.command()
def firmware(  # noqa: PLR0917 - Typer maps options to parameters
    image: Annotated[str, typer.Option(help="The firmware image's id.")],
    group: Group = None,
    model: Model = None,
    firmware: Firmware = None,
    firmware_min: FirmwareMin = None,
    firmware_below: FirmwareBelow = None,
    product_type: ProductType = None,
    online: Online = None,
    tag: Tags = None,
    all_devices: AllDevices = False,
    max_in_flight: MaxInFlight = 50,
    per_minute: PerMinute = 100,
    by: By = "system:cli",
) -> None:
    """Update the firmware of every device of the group (a rollout has waves; this has not)."""
    from doorstep.devices.fleet.operations import OperationKind

    raw = _target(**locals())
    _start(
        OperationKind.FIRMWARE_UPDATE,
        {"image_id": str(parse_id(image, "image id"))},
        group=group,
        raw=raw,
        all_devices=all_devices,
        max_in_flight=max_in_flight,
        per_minute=per_minute,
        by=by,
    )


def _summary(view: BulkView) -> str:
    return (
        f"{view.state.value}: {view.done:,}/{view.total:,} done "
        f"({view.succeeded:,} succeeded, {view.failed:,} failed, {view.cancelled:,} cancelled, "
        f"{view.open:,} open)"
    )


def _result_line(result: DeviceResult) -> tuple[str, str, str, str]:
    return (
        str(result.device_id),
        result.state.value,
        result.reason or "-",
        str(result.usp_code) if result.usp_code is not None else "-",
    )


@app.command()
def show(
    action: Action,
    results: Annotated[bool, typer.Option(help="Print each device's result.")] = False,
    follow: Annotated[bool, typer.Option(help="A progress bar until it ends.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between looks.")] = 2.0,
) -> None:
    """One bulk action: its counts and, with --results, each device's result."""
    from doorstep.devices.fleet.bulk import bulk_results, get_bulk

    bulk_id = parse_id(action, "bulk action id")

    def look(session: Session, _: Runtime) -> BulkView:
        return get_bulk(session, bulk_id)

    view = in_transaction(look)
    if follow:
        view = _follow(view, look, interval)
    typer.echo(f"bulk action {view.id}: {view.kind.value} ({view.purpose}) by {view.actor}")
    typer.echo(
        f"target: {view.filter.describe()}" + (f" (group {view.group_id})" if view.group_id else "")
    )
    typer.echo(_summary(view))
    if results:
        rows = in_transaction(
            lambda session, _: [_result_line(r) for r in bulk_results(session, bulk_id, limit=500)]
        )
        for line in table(("device", "state", "reason", "usp_code"), rows) if rows else []:
            typer.echo(line)


def _follow(view: BulkView, look: Any, interval: float) -> BulkView:
    from doorstep.devices.fleet.bulk_models import BulkState

    with typer.progressbar(length=max(view.total, 1), label=view.kind.value) as bar:
        shown = 0
        while True:
            bar.update(view.done - shown)
            shown = view.done
            if view.state is not BulkState.RUNNING:
                return view
            time.sleep(interval)
            view = in_transaction(look)


@app.command("list")
def list_actions(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many.")] = 20,
) -> None:
    """The latest bulk actions, newest first."""
    from doorstep.devices.fleet.bulk import list_bulk

    def work(session: Session, _: Runtime) -> list[tuple[str, ...]]:
        return [
            (
                str(view.id),
                view.kind.value,
                view.state.value,
                f"{view.done:,}/{view.total:,}",
                str(view.failed),
                view.created_at.isoformat(timespec="seconds"),
            )
            for view in list_bulk(session, limit=limit)
        ]

    rows = in_transaction(work)
    if not rows:
        typer.echo("no bulk actions")
        return
    for line in table(("id", "kind", "state", "done", "failed", "started"), rows):
        typer.echo(line)


@app.command()
def cancel(action: Action, by: By = "system:cli") -> None:
    """Stop a running bulk action."""
    from doorstep.devices.fleet.bulk import cancel_bulk

    actor = actor_of(by)
    bulk_id = parse_id(action, "bulk action id")
    view = in_transaction(
        lambda session, runtime: cancel_bulk(session, bulk_id, actor=actor, clock=runtime.clock)
    )
    typer.echo(f"bulk action {view.id} cancelled: {_summary(view)}")
