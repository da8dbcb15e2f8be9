"""``doorstep controller``: the USP controller over MQTT with the devices' handlers, until Ctrl-C.

It lives with the devices area because it serves the device registry's handlers
(:func:`doorstep.devices.mount.controller_parts`); the USP package below knows no area.

Mounted as a command group whose callback is the command itself, so ``doorstep
controller --help`` lists its options.  Several controllers can run at once: the
broker shares the agents' traffic among them (MQTT 5 shared subscription).  The
shared helpers come from :mod:`doorstep.core.commands`.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings

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
) -> None:
    """Connect to the MQTT broker and serve USP agents until interrupted."""
    from doorstep.core.errors import ConfigurationError
    from doorstep.usp.config import credentials_path, load_usp_config
    from doorstep.usp.runner import run_mqtt_controller

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
        contextlib.suppress(KeyboardInterrupt),
    ):
        # The device registry supplies the credential store and the onboarding hooks.
        from doorstep.devices.mount import controller_parts

        credentials, hooks = controller_parts(runtime, config)
        asyncio.run(
            run_mqtt_controller(
                runtime,
                config,
                credentials=credentials,
                hooks=hooks,
                started=lambda controller, _task: hooks.attach(controller),
            )
        )
    typer.echo("doorstep controller: stopped")
