"""``doorstep diagnostics …``: staff run diagnostics on a subscriber's device (decision 0041).

* ``run DEVICE_ID --kind ping|traceroute|download|upload [--host H] (--ticket T |
  --consent) --by staff:<uuid> [--wait] [--timeout S]`` — a staff member with
  ``run_diagnostics`` runs one on an after-sales ticket (its reference is recorded and
  audited) or with the owner's consent ``device.diagnostics_by_staff``.  With ``--wait``
  the command waits for the device and prints the result — the only way to see one the
  pack does not store (a trace route);
* ``show DEVICE_ID RUN_ID`` and ``list DEVICE_ID`` — the device's runs: state, ground,
  the device's code and the stored result.

Bad input (a kind, a host, no ground or two, ``--by`` not a staff actor) exits 2 with
nothing stored; a refusal (the role, no consent, a restriction: audited) or an unknown
id exits 1.  Output names ids, kinds, states, codes and figures: never the device's
identifiers.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.devices.fleet.cli_common import parse_id, table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from doorstep.devices.fleet.diagnostics_views import RunView

app = typer.Typer(
    help="Diagnostics on a device: ping, trace route, speed tests (staff: a ticket or consent).",
    no_args_is_help=True,
)
Device = Annotated[str, typer.Argument(help="The device's inventory id.")]
_STAFF = re.compile(r"staff:[0-9a-f-]{36}")


def _describe(view: RunView) -> list[str]:
    """Lines of one run: its facts, then its result's fields."""
    lines = [
        f"run: {view.id}",
        f"kind: {view.kind}",
        f"state: {view.state}",
        f"ground: {view.ground}" + (f" ({view.ticket})" if view.ticket else ""),
        f"asked by: {view.asked_by}",
        f"stored: {'yes' if view.stored else 'no (relayed to who waited)'}",
    ]
    lines += [f"{name}: {value}" for name, value in (("reason", view.reason),
              ("usp_code", view.usp_code), ("host", view.host)) if value is not None]  # fmt: skip
    for name, value in (view.result or {}).items():
        if name != "hops":
            lines.append(f"{name}: {value}")
    for hop in (view.result or {}).get("hops", ()):
        times = ",".join(str(t) for t in hop.get("rtt_ms", ()))
        lines.append(f"hop {hop.get('hop')}: {hop.get('host')} {hop.get('address')} {times} ms")
    return lines


@app.command("run")
def run_diagnostic(  # noqa: PLR0917 - Typer maps options to parameters
    device_id: Device,
    kind: Annotated[str, typer.Option(help="ping, traceroute, download or upload.")],
    by: Annotated[str, typer.Option(help="The staff member who acts: staff:<uuid> (audited).")],
    host: Annotated[str | None, typer.Option(help="The host to ping or trace.")] = None,
    ticket: Annotated[str | None, typer.Option(help="The after-sales ticket's reference.")] = None,
    consent: Annotated[
        bool, typer.Option(help="Rely on the owner's consent device.diagnostics_by_staff.")
    ] = False,
    wait: Annotated[bool, typer.Option(help="Wait for the device and print the result.")] = False,
    timeout: Annotated[int, typer.Option(min=1, max=300, help="Seconds --wait waits.")] = 60,
) -> None:
    """Run a diagnostic on a subscriber's device, on a ticket or with the owner's consent."""
    import asyncio

    from doorstep.core.errors import DoorstepError, InvalidInputError
    from doorstep.devices.fleet.diagnostics import Context, Ground, start_run
    from doorstep.devices.fleet.diagnostics_views import get_run
    from doorstep.devices.fleet.diagnostics_wait import start_and_wait
    from doorstep.services import services_for

    device = parse_id(device_id, "device id")
    if not _STAFF.fullmatch(by):
        fail("--by must be staff:<uuid>: diagnostics are run by a staff member", 2)
    if (ticket is None) == (not consent):
        fail("give either --ticket T (an after-sales ticket) or --consent", 2)
    ground = Ground.on_ticket(ticket) if ticket is not None else Ground.by_consent()
    inputs = {"host": host} if host is not None else {}

    with cli_runtime(load_cli_settings(), "doorstep-diagnostics") as runtime:
        context = Context.of(services_for(runtime))

        def start(session: Session) -> uuid.UUID:
            return start_run(
                session, device, kind, inputs, ground=ground, actor=by, context=context
            )

        def read(session: Session, run_id: uuid.UUID) -> RunView:
            return get_run(session, device, run_id)

        try:
            view = asyncio.run(start_and_wait(runtime, start, read, wait=timeout if wait else 0))
        except InvalidInputError as exc:
            fail(exc.detail, 2)
        except DoorstepError as exc:
            fail(exc.detail, 1)
    if not wait:
        typer.echo(f"diagnostics: run {view.id} queued ({view.kind})")
        return
    for line in _describe(view):
        typer.echo(line)
    if view.state != "succeeded":
        raise typer.Exit(1)


@app.command()
def show(device_id: Device, run_id: Annotated[str, typer.Argument(help="The run's id.")]) -> None:
    """One run of the device: state, ground, the device's code, the stored result."""
    from doorstep.devices.fleet.cli_common import in_transaction
    from doorstep.devices.fleet.diagnostics_views import get_run

    device, wanted = parse_id(device_id, "device id"), parse_id(run_id, "run id")
    view = in_transaction(lambda session, _runtime: get_run(session, device, wanted))
    for line in _describe(view):
        typer.echo(line)


@app.command("list")
def list_runs(device_id: Device) -> None:
    """The device's newest runs."""
    from doorstep.devices.fleet.cli_common import in_transaction
    from doorstep.devices.fleet.diagnostics_views import runs_of

    device = parse_id(device_id, "device id")
    found = in_transaction(lambda session, _runtime: runs_of(session, device))
    rows = [
        [
            str(v.id),
            v.kind,
            v.state,
            v.ground,
            v.asked_by,
            v.created_at.isoformat(timespec="seconds"),
        ]
        for v in found
    ]
    for line in table(["run", "kind", "state", "ground", "asked by", "asked at"], rows):
        typer.echo(line)
