"""``doorstep rollouts …``: firmware rollouts from the command line (decision 0039).

* ``create --name N --image ID (--group G | filter options | --device ID…) [plan]`` —
  a draft; ``--start`` starts it at once.  The plan: ``--canary-count`` or
  ``--canary-percent``, then ``--waves 50,200`` (the last size repeats) or
  ``--growth 2``; ``--max-in-flight``, ``--max-per-model``, ``--failure-threshold``
  (percent), ``--window 02:00-05:00`` with ``--time-zone Europe/Berlin`` (the zone of
  devices without one of their own: ``doorstep devices zone``, decision 0045),
  ``--deadline`` (seconds one device's update may take).
* ``start ID``, ``pause ID``, ``resume ID``, ``abort ID``.
* ``show ID [--follow]`` — the plan, each wave's counts and the failures by reason;
  ``--follow`` draws a progress bar until the rollout finishes, is aborted or pauses.
* ``list`` — the newest rollouts.

Bad input exits 2 and nothing is stored; an unknown id or a verb the state does not
allow exits 1.  Output names ids, versions, states and counts, never a device's
serial number, MAC, IP address or endpoint id.
"""

from __future__ import annotations

import time as clock_time
from datetime import time
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
    from doorstep.devices.fleet.rollout_models import Rollout
    from doorstep.devices.fleet.rollout_views import RolloutView

app = typer.Typer(
    help="Firmware rollouts: waves with a canary, caps, automatic pause, maintenance windows.",
    no_args_is_help=True,
)
Id = Annotated[str, typer.Argument(help="The rollout's id.")]


def _window(value: str | None) -> tuple[time | None, time | None]:
    if not value:
        return None, None
    try:
        start, end = value.split("-")
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        fail("--window must be HH:MM-HH:MM (local time of each device)", 2)


def _sizes(value: str | None) -> tuple[int, ...]:
    if not value:
        return ()
    try:
        return tuple(int(part) for part in value.split(","))
    except ValueError:
        fail("--waves must be sizes separated by commas, like 50,200,1000", 2)


@app.command()
def create(  # noqa: PLR0917 - Typer maps options to parameters
    name: Annotated[str, typer.Option(help="A label for the rollout.")],
    image: Annotated[str, typer.Option(help="The firmware image's id.")],
    group: Annotated[str | None, typer.Option(help="Target: the group's name or id.")] = None,
    device: Annotated[
        list[str] | None, typer.Option(help="Target: an inventory id (repeatable).")
    ] = None,
    model: Model = None,
    firmware: Firmware = None,
    firmware_min: FirmwareMin = None,
    firmware_below: FirmwareBelow = None,
    product_type: ProductType = None,
    online: Online = None,
    tags: Tags = None,
    canary_count: Annotated[int | None, typer.Option(help="Devices in the canary.")] = None,
    canary_percent: Annotated[
        float | None, typer.Option(help="Share of the target in the canary (default 1 %).")
    ] = None,
    waves: Annotated[
        str | None, typer.Option(help="Wave sizes after the canary, e.g. 50,200 (last repeats).")
    ] = None,
    growth: Annotated[
        float | None, typer.Option(help="Each wave is the previous one times this (default 2).")
    ] = None,
    max_in_flight: Annotated[int, typer.Option(help="Devices of a wave updating at once.")] = 50,
    max_per_model: Annotated[
        int | None, typer.Option(help="Devices of one model updating at once.")
    ] = None,
    failure_threshold: Annotated[
        float, typer.Option(help="Failed share of a wave (percent) that pauses the rollout.")
    ] = 10.0,
    window: Annotated[
        str | None,
        typer.Option(help="Maintenance window, HH:MM-HH:MM local time of each device."),
    ] = None,
    time_zone: Annotated[
        str,
        typer.Option(help="IANA time zone of the window for devices without their own."),
    ] = "UTC",
    deadline: Annotated[int, typer.Option(help="Seconds one device's update may take.")] = 3600,
    start: Annotated[bool, typer.Option("--start", help="Start it at once.")] = False,
    by: By = "system:cli",
) -> None:
    """Make a rollout (a draft, or started at once with --start)."""
    from doorstep.devices.fleet.groups import find_group
    from doorstep.devices.fleet.rollout_plan import RolloutSpec, TargetFilter
    from doorstep.devices.fleet.rollouts import create_rollout, start_rollout

    actor = actor_of(by)
    image_id = parse_id(image, "image id")
    found = device_filter(
        raw_filter(
            model=model,
            firmware=firmware,
            firmware_min=firmware_min,
            firmware_below=firmware_below,
            product_type=product_type,
            online=online,
            tags=tags,
        )
    )
    listed = tuple(parse_id(value, "device id") for value in device or ())
    window_start, window_end = _window(window)
    sizes = _sizes(waves)

    def work(session: Session, runtime: Runtime) -> Rollout:
        target = TargetFilter(found, listed) if group is None else None
        spec = RolloutSpec(
            name=name,
            image_id=image_id,
            group_id=find_group(session, group).id if group is not None else None,
            target=target,
            canary_count=canary_count,
            canary_percent=canary_percent,
            wave_sizes=sizes,
            growth=growth,
            max_in_flight=max_in_flight,
            max_per_model=max_per_model,
            failure_threshold=failure_threshold,
            window_start=window_start,
            window_end=window_end,
            time_zone=time_zone,
            deadline_seconds=deadline,
        )
        made = create_rollout(session, spec, actor=actor, clock=runtime.clock)
        if start:
            start_rollout(session, made.id, actor=actor, clock=runtime.clock)
        return made

    made = in_transaction(work, name="doorstep-rollouts")
    typer.echo(f"rollout {made.id}: {made.state.value}")
    if start:
        typer.echo(f"{made.total} devices in {made.wave_count} waves, {made.excluded} left out")


def _verb(rollout: str, by: str, verb: str) -> None:
    from doorstep.devices.fleet import rollouts

    rollout_id = parse_id(rollout, "rollout id")
    actor = actor_of(by)
    act = getattr(rollouts, f"{verb}_rollout")

    def work(session: Session, runtime: Runtime) -> Rollout:
        done: Rollout = act(session, rollout_id, actor=actor, clock=runtime.clock)
        return done

    done = in_transaction(work, name="doorstep-rollouts")
    typer.echo(f"rollout {done.id}: {done.state.value}")


@app.command("start")
def start_command(rollout: Id, by: By = "system:cli") -> None:
    """Resolve the target, plan the waves and open the canary."""
    _verb(rollout, by, "start")


@app.command()
def pause(rollout: Id, by: By = "system:cli") -> None:
    """Pause: nothing new starts; devices updating now finish."""
    _verb(rollout, by, "pause")


@app.command()
def resume(rollout: Id, by: By = "system:cli") -> None:
    """Resume (after an automatic pause: that wave's failures are accepted)."""
    _verb(rollout, by, "resume")


@app.command()
def abort(rollout: Id, by: By = "system:cli") -> None:
    """Abort: devices not started are cancelled; devices updating now finish."""
    _verb(rollout, by, "abort")


def _line(view: RolloutView) -> str:
    counts = view.counts
    return (
        f"{counts.succeeded} succeeded, {counts.failed} failed, {counts.skipped} skipped, "
        f"{counts.cancelled} cancelled, {counts.in_flight} in flight, {counts.pending} waiting "
        f"of {counts.size}"
    )


def _look(rollout_id: uuid.UUID) -> RolloutView:
    from doorstep.devices.fleet.rollout_views import rollout_view

    return in_transaction(lambda session, _: rollout_view(session, rollout_id))


def _follow(view: RolloutView, interval: float) -> RolloutView:
    with typer.progressbar(length=max(view.counts.size, 1), label=view.name) as bar:
        shown = 0
        while True:
            bar.update(view.counts.settled - shown)
            shown = view.counts.settled
            if view.state.value != "running":
                return view
            clock_time.sleep(interval)
            view = _look(view.id)


@app.command()
def show(
    rollout: Id,
    follow: Annotated[bool, typer.Option(help="A progress bar until it stops.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between looks.")] = 2.0,
) -> None:
    """One rollout: plan, state, each wave's counts, failures by reason."""
    from doorstep.devices.fleet.rollout_views import failure_breakdown

    rollout_id = parse_id(rollout, "rollout id")
    view = _look(rollout_id)
    if follow:
        view = _follow(view, interval)
    pause_note = f" ({view.pause_reason})" if view.pause_reason else ""
    typer.echo(f"rollout {view.id} {view.name!r}: {view.state.value}{pause_note}")
    typer.echo(f"image {view.image_id} (version {view.image_version}); target: {view.target}")
    typer.echo(
        f"plan: canary {view.canary}, then {view.waves_plan}; at most {view.max_in_flight} "
        f"in flight per wave"
        + (f", {view.max_per_model} per model" if view.max_per_model else "")
        + f"; pause over {view.failure_threshold:g} % failed; window {view.window} "
        f"{view.time_zone}"
        + (" (or a device's own zone)" if view.windowed else "")
        + f"; deadline {view.deadline_seconds} s"
    )
    typer.echo(_line(view) + (f"; {view.excluded} left out" if view.excluded else ""))
    rows = [
        (
            str(w.number),
            w.state + (" (failures accepted)" if w.failures_accepted else ""),
            str(w.counts.size),
            str(w.counts.succeeded),
            str(w.counts.failed),
            str(w.counts.in_flight),
            str(w.counts.pending),
        )
        for w in view.waves
    ]
    if rows:
        header = ("wave", "state", "devices", "succeeded", "failed", "in flight", "waiting")
        for line in table(header, rows):
            typer.echo(line)
    failures = in_transaction(lambda session, _: failure_breakdown(session, rollout_id))
    for item in failures:
        code = f" (USP {item.usp_code})" if item.usp_code is not None else ""
        typer.echo(f"{item.state}: {item.reason or 'unknown'}{code}: {item.devices} devices")


@app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many.")] = 50,
) -> None:
    """The newest rollouts with their state and counts."""
    from doorstep.devices.fleet.rollout_views import list_rollouts

    views = in_transaction(lambda session, _: list_rollouts(session, limit=limit))
    if not views:
        typer.echo("no rollouts")
        return
    rows = [
        (
            str(v.id),
            v.name,
            v.image_version,
            v.state.value,
            f"{v.current_wave}/{v.wave_count}",
            f"{v.counts.succeeded}/{v.counts.size}",
            str(v.counts.failed),
        )
        for v in views
    ]
    for line in table(("id", "name", "version", "state", "wave", "done", "failed"), rows):
        typer.echo(line)
