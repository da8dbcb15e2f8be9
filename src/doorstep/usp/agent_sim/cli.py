"""``doorstep agent-sim``: N simulated routers and gateways, until Ctrl-C or --duration.

Each device gets its own random secret.  The hashes go to the credentials file the
controller and ``doorstep serve`` read (development default:
``<data dir>/usp-credentials.json``); ``--secrets-file`` writes the secrets themselves
(0600) for a test broker's password file.  For up to 20 devices the endpoint ids, claim
codes and QR payloads are printed (bind them with ``POST /api/v1/devices/bindings``).
``--report`` prints one JSON line once every device has connected: how many, and the
resident memory per device.

Timing and conditions (``_conditions``): ``--reboot-seconds``, ``--download-seconds``,
``--activation-seconds``, ``--diagnostics-seconds``, ``--jitter`` (per-device spread of
every delay), ``--download-failure-rate``, ``--activation-failure-rate``,
``--never-returns-rate`` (probabilities, 0 to 1) and ``--seed`` (one seed, one run).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from doorstep.core.commands import fail, load_cli_settings

if TYPE_CHECKING:
    from doorstep.usp.agent_sim._mqtt import MqttOptions
    from doorstep.usp.agent_sim._websocket import WebSocketOptions
    from doorstep.usp.agent_sim.agent import SimAgent

app = typer.Typer(
    help="Run simulated USP routers and gateways (agents).", invoke_without_command=True
)


@app.callback()
def agent_sim(  # noqa: PLR0917 - Typer maps options to parameters
    count: Annotated[int, typer.Option(min=1, max=100_000, help="How many devices.")] = 10,
    mtp: Annotated[str, typer.Option(help="mqtt or websocket.")] = "mqtt",
    url: Annotated[
        str | None, typer.Option(help="mqtt://host:port, or ws://host:port/usp (default: serve's).")
    ] = None,
    mqtt_version: Annotated[str, typer.Option(help="5 or 3.1.1.")] = "5",
    hosts: Annotated[int, typer.Option(min=0, max=64, help="Connected hosts per device.")] = 3,
    credentials_file: Annotated[
        Path | None, typer.Option(help="Where to write the hashes of the device secrets.")
    ] = None,
    secrets_file: Annotated[
        Path | None, typer.Option(help="Also write 'endpoint-id secret' lines here (0600).")
    ] = None,
    anonymous: Annotated[
        bool, typer.Option(help="MQTT: connect without user name and password.")
    ] = False,
    duration: Annotated[float, typer.Option(min=0, help="Stop after this many seconds.")] = 0,
    report: Annotated[bool, typer.Option(help="Print a JSON line once all connected.")] = False,
    strict: Annotated[
        bool,
        typer.Option(
            help="Behave like real agents: notify only subscribers, no OnBoardRequest, "
            "drop the connection on reboot (last will)."
        ),
    ] = False,
    reboot_seconds: Annotated[
        float, typer.Option(min=0, help="Before a reboot drops the session, and dark after.")
    ] = 0.2,
    download_seconds: Annotated[
        float, typer.Option(min=0, help="A firmware Download() until the image is there.")
    ] = 1.0,
    activation_seconds: Annotated[
        float, typer.Option(min=0, help="Extra dark time while switching firmware images.")
    ] = 0.5,
    diagnostics_seconds: Annotated[
        float, typer.Option(min=0, help="IPPing, TraceRoute, speed tests until results.")
    ] = 0.5,
    jitter: Annotated[
        float, typer.Option(min=0, max=1, help="Per-device spread of every delay (0-1).")
    ] = 0.0,
    download_failure_rate: Annotated[
        float, typer.Option(min=0, max=1, help="Share of firmware downloads that fail.")
    ] = 0.0,
    activation_failure_rate: Annotated[
        float,
        typer.Option(min=0, max=1, help="Share of activations that fall back to the old image."),
    ] = 0.0,
    never_returns_rate: Annotated[
        float,
        typer.Option(min=0, max=1, help="Share of activations after which a device stays off."),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of every draw (failures, jitter, figures).")] = 0,
) -> None:
    """Run ``count`` simulated devices against the controller."""
    from doorstep.core.errors import ConfigurationError
    from doorstep.usp.agent_sim._conditions import SimConditions, SimTiming
    from doorstep.usp.agent_sim._mqtt import MqttOptions
    from doorstep.usp.agent_sim._websocket import WebSocketOptions
    from doorstep.usp.agent_sim.fleet import make_agents, write_credentials
    from doorstep.usp.config import credentials_path, load_usp_config

    settings = load_cli_settings()
    try:
        config = load_usp_config(settings, credentials_file=credentials_file)
        broker = config.replace(mqtt_url=url).broker if mtp == "mqtt" and url else config.broker
    except ConfigurationError as exc:
        fail(exc.detail, 2)
    options: MqttOptions | WebSocketOptions
    if mtp == "mqtt":
        options = MqttOptions(
            broker.host,
            broker.port,
            mqtt_version != "3.1.1",
            config.mqtt_controller_topic,
            config.mqtt_agent_topic,
            use_credentials=not anonymous,
        )
    elif mtp == "websocket":
        options = WebSocketOptions(url or f"ws://{settings.host}:{settings.port}/usp")
    else:
        fail("--mtp must be mqtt or websocket", 2)
    if activation_failure_rate + never_returns_rate > 1:
        fail("--activation-failure-rate and --never-returns-rate add up to more than 1", 2)
    timing = SimTiming(
        reboot=reboot_seconds,
        download=download_seconds,
        activate=activation_seconds,
        diagnostics=diagnostics_seconds,
        jitter=jitter,
    )
    conditions = SimConditions(
        seed=seed,
        download_failure=download_failure_rate,
        activation_failure=activation_failure_rate,
        never_returns=never_returns_rate,
    )
    rss_before = _rss()
    agents = make_agents(
        count,
        controller_id=config.controller_id,
        hosts=hosts,
        strict=strict,
        timing=timing,
        conditions=conditions,
    )
    where = credentials_path(settings, config)
    if where is not None:
        write_credentials(agents, where)
    if secrets_file is not None:
        _write_secrets(secrets_file, [(a.endpoint_id, a.secret) for a in agents])
    mode = "strict" if strict else "lenient"
    typer.echo(
        f"agent-sim: {count} {mode} devices over {mtp}; credentials {where or 'not written'}"
    )
    if count <= 20:
        typer.echo("  endpoint id / product / claim code (type it) / QR payload (scan it)")
        for agent in agents:
            typer.echo(
                f"  {agent.endpoint_id}  {agent.profile.product_class:<8} "
                f"{agent.display_claim_code()}  {agent.claim_payload()}"
            )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(agents, options, duration, rss_before if report else None))


async def _run(
    agents: list[SimAgent],
    options: MqttOptions | WebSocketOptions,
    duration: float,
    rss_before: int | None,
) -> None:
    from doorstep.usp.agent_sim.fleet import run_fleet

    stop = asyncio.Event()
    fleet = asyncio.create_task(run_fleet(agents, options, stop))
    if rss_before is not None:
        while sum(1 for a in agents if a.sessions) < len(agents) and not fleet.done():
            await asyncio.sleep(0.1)
        connected = sum(1 for a in agents if a.sessions)
        rss = _rss()
        line = {
            "agents": len(agents),
            "connected": connected,
            "rss_before": rss_before,
            "rss_after": rss,
            "bytes_per_agent": (rss - rss_before) // max(connected, 1),
        }
        print(json.dumps(line), flush=True)  # noqa: T201 - the report is the output
    if duration:
        await asyncio.sleep(duration)
        stop.set()
    await fleet


def _rss() -> int:
    """Resident memory of this process in bytes (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _write_secrets(path: Path, pairs: list[tuple[str, str]]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.writelines(f"{eid} {secret}\n" for eid, secret in pairs)


if __name__ == "__main__":  # pragma: no cover - `python -m doorstep.usp.agent_sim.cli`
    sys.exit(app())
