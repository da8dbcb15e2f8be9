"""``doorstep controller``: the USP controller over MQTT, until Ctrl-C.

Mounted as a command group whose callback is the command itself, so ``doorstep
controller --help`` lists its options.  Several controllers can run at once: the
broker shares the agents' traffic among them (MQTT 5 shared subscription).  The
helpers of :mod:`doorstep.cli` are imported inside the command (that module mounts
this one while it is being imported).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

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
    from doorstep.cli import _runtime, _settings, fail
    from doorstep.core.errors import ConfigurationError
    from doorstep.usp.config import credentials_path, load_usp_config
    from doorstep.usp.runner import run_mqtt_controller

    settings = _settings()
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
        _runtime(settings, "doorstep-controller") as runtime,
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
