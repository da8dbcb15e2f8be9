"""The devices area inside ``doorstep serve``: one controller per process, DB-backed.

:func:`install` (called by the devices router's lifespan, or by a test before it
serves) sets up the USP WebSocket hub of the app with the inventory as credential
store and :class:`~doorstep.devices.hooks.DeviceHooks`, and keeps a
:class:`DevicesState` on ``app.state.devices``: the :class:`DeviceLink` API handlers
use to reach devices.  If a hub was installed already (a test with its own hooks),
it is used as it is.

While the app runs, :func:`lifespan` also

* refreshes ``last_seen`` of the devices holding a WebSocket session here, every
  :func:`~doorstep.devices.presence.heartbeat_interval` (a connected device that has
  nothing to say is online, not silent);
* with ``device_serve_mqtt``, joins the MQTT broker with the same controller, so the
  API reaches MQTT devices too (answers come back to this process's own response
  topic; see decision 0009 and 0013);
* with ``device_relay`` (the default), runs the relay between ``serve`` replicas
  (:class:`~doorstep.devices.relay.ReplicaRelay`, decision 0047): it listens before
  the app serves, so every replica reaches the WebSocket devices connected to any;
* runs the fleet executor (:func:`start_fleet`, decision 0038) on the same controller:
  it claims the operations of the WebSocket devices holding a session here, and of
  MQTT devices with ``device_serve_mqtt``.  ``doorstep controller`` starts one too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from fastapi import FastAPI, Request

from doorstep.core.runtime import Runtime
from doorstep.core.settings import Environment
from doorstep.devices import presence
from doorstep.devices.credentials import DatabaseCredentialStore
from doorstep.devices.fleet.records import Reach
from doorstep.devices.hooks import DeviceHooks
from doorstep.devices.relay import ReplicaRelay
from doorstep.devices.remote import Completions, DeviceLink
from doorstep.privacy.purposes import PurposeGate
from doorstep.usp.config import UspConfig, credentials_path, load_usp_config
from doorstep.usp.controller import Controller
from doorstep.usp.mtp import websocket as usp_ws

log = logging.getLogger("doorstep.devices")

_HUB_KEY = "usp_websocket"  # where doorstep.usp.mtp.websocket keeps its hub on app.state
_RELAY_START_SECONDS = 10.0


@dataclass
class DevicesState:
    """What the devices API of one app uses; on ``app.state.devices``."""

    link: DeviceLink
    hub: usp_ws.WebSocketHub
    hooks: DeviceHooks | None
    relay: ReplicaRelay | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def controller_parts(
    runtime: Runtime, config: UspConfig, gate: PurposeGate | None = None
) -> tuple[DatabaseCredentialStore, DeviceHooks]:
    """The inventory credential store and registry hooks for any controller process.

    ``doorstep controller`` (MQTT) passes them to ``run_mqtt_controller`` and attaches
    the hooks to its controller (``started=lambda c, _t: hooks.attach(c)``).  ``gate``
    defaults to the runtime's services' (the pack in force).
    """
    settings = runtime.settings
    development = settings.env is not Environment.PRODUCTION
    store = DatabaseCredentialStore(
        runtime, development_file=credentials_path(settings, config) if development else None
    )
    if gate is None:
        from doorstep.services import services_for

        gate = services_for(runtime).gate
    return store, DeviceHooks(runtime, gate)


def start_fleet(
    hooks: DeviceHooks, controller: Controller, reach: Callable[[], Reach]
) -> asyncio.Task[None] | None:
    """Run the hooks' fleet executor on ``controller`` (None when ``fleet_executor`` is off).

    ``reach`` tells, at each claim, which devices this process reaches.  The caller
    cancels the task at shutdown.
    """
    if hooks.fleet is None:
        return None
    return asyncio.get_running_loop().create_task(
        hooks.fleet.run(controller, reach), name="fleet-executor"
    )


def install(app: FastAPI, *, config: UspConfig | None = None) -> DevicesState:
    """Set up the app's USP hub with the device registry (inside its event loop)."""
    runtime = app.state.runtime
    settings = runtime.settings
    hub = getattr(app.state, _HUB_KEY, None)
    hooks: DeviceHooks | None = None
    if not isinstance(hub, usp_ws.WebSocketHub):
        config = config or load_usp_config(settings)
        store, hooks = controller_parts(runtime, config, app.state.services.gate)
        hub = usp_ws.install(app, credentials=store, hooks=hooks, config=config)
        hooks.attach(hub.controller)
    elif isinstance(hub.controller.hooks, DeviceHooks):
        hooks = hub.controller.hooks
    completions = hooks.completions if hooks is not None else Completions()
    link = DeviceLink(
        hub.controller,
        completions,
        timeout=settings.device_request_timeout_seconds,
        async_timeout=settings.device_scan_timeout_seconds,
    )
    relay = None
    if settings.device_relay and hub.transport.relay is None:
        relay = ReplicaRelay(runtime, hub, completions)
    state = DevicesState(link, hub, hooks, relay)
    app.state.devices = state
    return state


def state_of(app: FastAPI) -> DevicesState:
    """The app's devices state, installed on first use."""
    state = getattr(app.state, "devices", None)
    return state if isinstance(state, DevicesState) else install(app)


def device_link(request: Request) -> DeviceLink:
    """FastAPI dependency: how this process reaches devices."""
    return state_of(request.app).link


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Install, run the heartbeat (and MQTT, when configured), stop them at shutdown."""
    state = state_of(app)
    state.tasks.append(asyncio.create_task(_heartbeat(app, state), name="devices-heartbeat"))
    if state.relay is not None:
        state.relay.listening = asyncio.Event()  # this lifespan's loop (an app may run twice)
        state.tasks.append(asyncio.create_task(state.relay.run(), name="devices-relay"))
        try:  # listen before the first session opens, so the others reach it at once
            await asyncio.wait_for(state.relay.listening.wait(), _RELAY_START_SECONDS)
        except TimeoutError:
            log.warning("device relay not listening yet; serving without waiting")
    if app.state.runtime.settings.device_serve_mqtt:
        from doorstep.usp.mtp.mqtt import MqttTransport

        transport = MqttTransport(state.hub.controller)
        state.tasks.append(asyncio.create_task(transport.run(), name="devices-mqtt"))
    if state.hooks is not None:
        mqtt, hub = app.state.runtime.settings.device_serve_mqtt, state.hub
        fleet = start_fleet(
            state.hooks,
            hub.controller,
            lambda: Reach(mqtt=mqtt, websocket=tuple(hub.transport.sessions)),
        )
        if fleet is not None:
            state.tasks.append(fleet)
    try:
        yield
    finally:
        for task in state.tasks:
            task.cancel()
        await asyncio.gather(*state.tasks, return_exceptions=True)
        state.tasks.clear()


async def _heartbeat(app: FastAPI, state: DevicesState) -> None:
    runtime = app.state.runtime
    interval = presence.heartbeat_interval(runtime.settings)

    def touch(endpoint_ids: list[str]) -> None:
        with runtime.sessions.begin() as session:
            presence.touch(session, endpoint_ids, now=runtime.clock.now())

    while True:
        await asyncio.sleep(interval)
        connected = list(state.hub.transport.sessions)
        try:
            await asyncio.to_thread(touch, connected)
        except Exception as exc:  # the database is away: try again next time
            log.warning("device heartbeat failed: %s", type(exc).__name__)
