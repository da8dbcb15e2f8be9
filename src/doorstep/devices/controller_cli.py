"""``doorstep controller``: the USP controller over MQTT with the devices' handlers, until Ctrl-C.

It lives with the devices area because it serves the device registry's handlers
(:func:`doorstep.devices.mount.controller_parts`) and runs the fleet executor for the
MQTT devices (:func:`run_controller`, decision 0038); the USP package below knows no area.

Mounted as a command group whose callback is the command itself, so ``doorstep
controller --help`` lists its options.  Several controllers can run at once: the
broker shares the agents' traffic among them (MQTT 5 shared subscription).  The
shared helpers come from :mod:`doorstep.core.commands`.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings

if TYPE_CHECKING:
    from doorstep.core.metrics_http import MetricsServer
    from doorstep.core.runtime import Runtime
    from doorstep.core.settings import Settings
    from doorstep.devices.hooks import DeviceHooks
    from doorstep.usp.config import UspConfig
    from doorstep.usp.controller import Controller
    from doorstep.usp.credentials import CredentialStore

app = typer.Typer(
    help="Run the USP controller over MQTT until Ctrl-C.", invoke_without_command=True
)


@app.callback()
def controller(
    mqtt_url: Annotated[
        str | None, typer.Option(help="Broker, mqtt://[user@]host:port (or mqtts://).")
    ] = None,
    controller_id: Annotated[str | None, typer.Option(help="The controller's Endpoint ID.")] = None,
    shared_group: Annotated[
        str | None, typer.Option(help="Shared-subscription group; '' to subscribe plainly.")
    ] = None,
    credentials_file: Annotated[
        Path | None, typer.Option(help="Credentials file of device secret hashes.")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0, max=65535, help="Serve Prometheus metrics on this port (metrics_bind); 0: off."
        ),
    ] = None,
) -> None:
    """Connect to the MQTT broker and serve USP agents until interrupted."""
    from doorstep.core.errors import ConfigurationError
    from doorstep.usp.config import credentials_path, load_usp_config

    settings = load_cli_settings()
    try:
        config = load_usp_config(
            settings,
            mqtt_url=mqtt_url,
            controller_id=controller_id,
            mqtt_shared_group=shared_group,
            credentials_file=credentials_file,
        )
    except ConfigurationError as exc:
        fail(exc.detail, 2)
    broker = config.broker
    where = credentials_path(settings, config)
    typer.echo(
        f"doorstep controller: {config.controller_id} on mqtt {broker.host}:{broker.port}, "
        f"topic {config.mqtt_controller_topic}/#, credentials {where or 'none'}; Ctrl-C stops"
    )
    with (
        cli_runtime(settings, "doorstep-controller") as runtime,
        contextlib.ExitStack() as stack,
        contextlib.suppress(KeyboardInterrupt),
    ):
        if metrics_port:
            stack.callback(_serve_metrics(settings, metrics_port).close)
        # The device registry supplies the credential store and the onboarding hooks.
        from doorstep.devices.mount import controller_parts

        credentials, hooks = controller_parts(runtime, config)
        asyncio.run(run_controller(runtime, config, credentials, hooks))
    typer.echo("doorstep controller: stopped")


def _serve_metrics(settings: Settings, port: int) -> MetricsServer:
    """This process's metrics (USP round trips, timeouts, agents) on ``metrics_bind:port``.

    The database gauges are served by ``serve`` and the worker (:mod:`doorstep.metrics`,
    above this area); a controller serves what only it knows.
    """
    from prometheus_client import REGISTRY

    from doorstep.core.metrics_http import start_metrics_server

    host = str(settings.metrics_bind)
    try:
        return start_metrics_server(REGISTRY, host=host, port=port, token=settings.metrics_token)
    except OSError:
        fail(f"port {port} on {host} is already in use; choose another with --metrics-port", 1)


async def run_controller(
    runtime: Runtime,
    config: UspConfig,
    credentials: CredentialStore,
    hooks: DeviceHooks,
    *,
    stop: asyncio.Event | None = None,
) -> None:
    """The MQTT controller with the registry's hooks and the fleet executor, until ``stop``."""
    from doorstep.devices.fleet.records import Reach
    from doorstep.devices.mount import start_fleet
    from doorstep.usp.runner import run_mqtt_controller

    fleet: list[asyncio.Task[None]] = []

    def started(controller: Controller, _transport: object) -> None:
        hooks.attach(controller)
        task = start_fleet(hooks, controller, lambda: Reach(mqtt=True))
        if task is not None:
            fleet.append(task)

    try:
        await run_mqtt_controller(
            runtime, config, credentials=credentials, hooks=hooks, stop=stop, started=started
        )
    finally:
        for task in fleet:
            task.cancel()
        await asyncio.gather(*fleet, return_exceptions=True)
