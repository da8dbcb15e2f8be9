"""Run a USP controller process: the MQTT MTP, the audit sink, until stopped.

``doorstep controller`` calls :func:`run_mqtt_controller`; tests and benchmarks call it
with their own credential store, hooks and stop event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from doorstep.core.metrics import track_agents
from doorstep.core.runtime import Runtime
from doorstep.usp.config import UspConfig, default_credentials
from doorstep.usp.controller import Controller, ControllerHooks, RuntimeAuditSink
from doorstep.usp.credentials import CredentialStore
from doorstep.usp.mtp.mqtt import MqttTransport


async def run_mqtt_controller(
    runtime: Runtime,
    config: UspConfig,
    *,
    credentials: CredentialStore | None = None,
    hooks: ControllerHooks | None = None,
    stop: asyncio.Event | None = None,
    started: Callable[[Controller, MqttTransport], None] | None = None,
) -> None:
    """Connect to the broker and serve agents until ``stop`` is set (or cancelled)."""
    audit = RuntimeAuditSink(runtime, repeat_seconds=config.audit_repeat_seconds)
    controller = Controller(
        config,
        credentials=credentials or default_credentials(runtime.settings, config),
        hooks=hooks,
        audit=audit,
        secret_key=runtime.settings.secret_key.get_secret_value().encode("utf-8"),
    )
    track_agents(controller)  # doorstep_usp_agents_connected
    transport = MqttTransport(controller)
    mqtt = asyncio.create_task(transport.run(), name="usp-mqtt")
    if started is not None:
        started(controller, transport)
    try:
        if stop is None:
            await mqtt
        else:
            waiting = asyncio.create_task(stop.wait())
            await asyncio.wait([mqtt, waiting], return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
    finally:
        mqtt.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await mqtt
        await controller.aclose()
        await audit.aclose()
