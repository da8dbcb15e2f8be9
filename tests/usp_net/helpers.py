"""Controllers, fleets and recording hooks for the USP network tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from doorstep.usp import Notify
from doorstep.usp.agent_sim import MqttOptions, SimAgent, SimTiming, make_agents, run_fleet
from doorstep.usp.agent_sim._websocket import WebSocketOptions
from doorstep.usp.agent_sim.fleet import SIM_HASH_LOG_N
from doorstep.usp.config import UspConfig
from doorstep.usp.controller import AgentAddress, AuditSink, Controller, NullHooks
from doorstep.usp.credentials import InMemoryCredentialStore, hash_secret
from doorstep.usp.mtp.mqtt import MqttTransport

FAST = SimTiming(onboard_retry=1.0, site_survey=0.05, reboot=0.05)


class RecordingHooks(NullHooks):
    """Remembers what the controller told the domain."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, AgentAddress]] = []
        self.disconnected: list[str] = []
        self.events: list[tuple[str, Notify]] = []
        self.traffic: list[str] = []

    async def on_agent_connected(self, endpoint_id: str, mtp: AgentAddress) -> None:
        self.connected.append((endpoint_id, mtp))

    async def on_agent_disconnected(self, endpoint_id: str, mtp: AgentAddress) -> None:
        self.disconnected.append(endpoint_id)

    async def on_event(self, endpoint_id: str, notify: Notify) -> None:
        self.events.append((endpoint_id, notify))

    async def on_agent_traffic(self, endpoint_id: str) -> None:
        self.traffic.append(endpoint_id)

    def named(self, endpoint_id: str, kind: type, name: str | None = None) -> list[Any]:
        """The notifications of ``kind`` (Event with ``name``) from ``endpoint_id``."""
        found = []
        for eid, notify in self.events:
            body = notify.notification
            named = name is None or getattr(body, "event_name", None) == name
            if eid == endpoint_id and isinstance(body, kind) and named:
                found.append(body)
        return found


def store_for(agents: Sequence[SimAgent]) -> InMemoryCredentialStore:
    """A credential store that knows ``agents`` (cheap hashes)."""
    return InMemoryCredentialStore(
        {a.endpoint_id: hash_secret(a.secret, log_n=SIM_HASH_LOG_N) for a in agents}
    )


def agents_for(config: UspConfig, count: int, **kwargs: Any) -> list[SimAgent]:
    """Simulated devices provisioned with ``config``'s controller id."""
    return make_agents(count, controller_id=config.controller_id, timing=FAST, **kwargs)


def mqtt_options(config: UspConfig, port: int, *, v5: bool = True, **changes: Any) -> MqttOptions:
    """Simulator options matching ``config``'s topics."""
    values: dict[str, Any] = {
        "port": port,
        "v5": v5,
        "controller_topic": config.mqtt_controller_topic,
        "agent_topic": config.mqtt_agent_topic,
        "reconnect_min": 0.2,
        "reconnect_max": 1.0,
        "use_credentials": False,
    }
    values.update(changes)
    return MqttOptions(**values)


@contextlib.asynccontextmanager
async def mqtt_controller(
    config: UspConfig,
    credentials: InMemoryCredentialStore,
    *,
    hooks: NullHooks | None = None,
    audit: AuditSink | None = None,
) -> AsyncIterator[tuple[Controller, MqttTransport]]:
    """A controller connected and subscribed to the broker of ``config``."""
    controller = Controller(config, credentials=credentials, hooks=hooks, audit=audit)
    transport = MqttTransport(controller)
    task = asyncio.create_task(transport.run())
    try:
        await asyncio.wait_for(transport.connected.wait(), 10)
        yield controller, transport
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await controller.aclose()


@contextlib.asynccontextmanager
async def fleet(
    agents: Sequence[SimAgent], options: MqttOptions | WebSocketOptions, *, onboard: bool = True
) -> AsyncIterator[None]:
    """Run ``agents`` for the duration; with ``onboard``, wait until each got its NotifyResp."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_fleet(agents, options, stop))
    try:
        if onboard:
            await asyncio.wait_for(asyncio.gather(*(a.onboarded.wait() for a in agents)), 20)
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def until(predicate: Callable[[], object], timeout: float = 10) -> None:
    """Wait until ``predicate()`` is true, or fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
