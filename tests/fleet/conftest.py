"""Fixtures of the fleet tests: a wall-clock runtime with fast fleet settings, a registered
firmware image the simulator accepts, and the MQTT controller with its executor.

The simulated devices "download" the UTF-8 bytes of an image's URL and read its version
from the file name (:mod:`doorstep.usp.agent_sim._images`), so a registered image's
checksum is ``sha256(url)``.  The controller runs in the test's event loop exactly as
``doorstep controller`` runs it (:func:`~doorstep.devices.controller_cli.run_controller`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import sqlalchemy as sa

from doorstep.core.clock import SystemClock
from doorstep.core.database import make_session_factory
from doorstep.core.runtime import Runtime
from doorstep.devices.controller_cli import run_controller
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.images import ImageSpec, register_image
from doorstep.devices.fleet.operations import DeviceOperation
from doorstep.devices.hooks import DeviceHooks
from doorstep.devices.mount import controller_parts
from doorstep.usp.agent_sim import SimAgent
from doorstep.usp.config import UspConfig
from tests.usp_net.conftest import broker, spawn_broker  # noqa: F401

FAST_FLEET = {
    "fleet_check_seconds": 1.0,
    "fleet_lease_seconds": 10,
    "fleet_poll_seconds": 0.2,
    "device_request_timeout_seconds": 5.0,
}


def wall_clock(runtime: Runtime, **changes: Any) -> Runtime:
    """``runtime`` with the real clock (the simulated devices' own) and fast fleet settings."""
    clock = SystemClock()
    return Runtime(
        settings=runtime.settings.model_copy(update={**FAST_FLEET, **changes}),
        database_url=runtime.database_url,
        engine=runtime.engine,
        sessions=make_session_factory(runtime.engine, clock),
        clock=clock,
    )


def add_image(
    runtime: Runtime, version: str, models: list[str], *, checksum: str | None = None
) -> FirmwareImage:
    """A registered image at ``http://firmware.test/fw-<version>.bin`` (checksum of the URL)."""
    url = f"http://firmware.test/fw-{version}.bin"
    digest = checksum or hashlib.sha256(url.encode()).hexdigest()
    with runtime.sessions.begin() as session:
        image = register_image(
            session,
            ImageSpec(version, models),
            url=url,
            sha256=digest,
            size=len(url),
            actor="system:test",
            clock=runtime.clock,
        )
        session.expunge(image)
    return image


def operation(runtime: Runtime, op_id: uuid.UUID) -> DeviceOperation:
    """The operation's row as committed now."""
    with runtime.sessions() as session:
        found = session.get(DeviceOperation, op_id)
        assert found is not None
        session.expunge(found)
        return found


def audit_actions(runtime: Runtime, op_id: uuid.UUID) -> list[str]:
    """The audit actions that name the operation, in order."""
    query = sa.text(
        "SELECT action FROM audit_events WHERE details->>'operation_id' = :op ORDER BY id"
    )
    with runtime.engine.connect() as connection:
        return list(connection.execute(query, {"op": str(op_id)}).scalars())


async def settled(runtime: Runtime, op_id: uuid.UUID, timeout: float = 60) -> DeviceOperation:
    """Wait until the operation ended; its row."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        op = await asyncio.to_thread(operation, runtime, op_id)
        if op.finished_at is not None:
            return op
        assert asyncio.get_running_loop().time() < deadline, f"still {op.state} at {op.step}"
        await asyncio.sleep(0.1)


async def reached(
    runtime: Runtime, op_id: uuid.UUID, condition: Callable[[DeviceOperation], bool]
) -> DeviceOperation:
    """Wait until ``condition(row)`` holds (30 s at most)."""
    for _ in range(600):
        op = await asyncio.to_thread(operation, runtime, op_id)
        if condition(op):
            return op
        await asyncio.sleep(0.05)
    raise AssertionError(f"the operation is {op.state} {op.step} {op.reason} {op.fault}")


def online(runtime: Runtime, agent: SimAgent) -> bool:
    """Whether the registry has the device online."""
    query = sa.text("SELECT online FROM device_registrations WHERE endpoint_id = :e")
    with runtime.engine.connect() as connection:
        return bool(connection.execute(query, {"e": agent.endpoint_id}).scalar_one_or_none())


class CountingAgent(SimAgent):
    """A simulated device that counts the commands it was asked to run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: list[str] = []

    def answer(self, msg: Any, send: Any) -> Any:
        command = getattr(msg.body, "command", None)
        if isinstance(command, str):
            self.commands.append(command.rsplit(".", 1)[-1])
        return super().answer(msg, send)


def counting(agent: SimAgent) -> CountingAgent:
    """The same device, counting its commands."""
    return CountingAgent(
        agent.profile,
        controller_id=agent.controller_id,
        secret=agent.secret,
        claim_code=agent.claim_code,
        timing=agent.timing,
        strict=agent.strict,
        conditions=agent.conditions,
    )


@contextlib.asynccontextmanager
async def controller(runtime: Runtime, config: UspConfig) -> AsyncIterator[DeviceHooks]:
    """``doorstep controller``'s controller, registry hooks and executor, in this loop."""
    store, hooks = controller_parts(runtime, config)
    stop = asyncio.Event()
    task = asyncio.create_task(run_controller(runtime, config, store, hooks, stop=stop))
    try:
        for _ in range(200):
            if hooks.fleet is not None and hooks.fleet.controller is not None:
                break
            await asyncio.sleep(0.05)
        yield hooks
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
