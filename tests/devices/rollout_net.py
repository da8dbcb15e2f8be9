"""A rollout for real: Mosquitto, simulated agents, the controller with its fleet executor.

:func:`rig` runs, in the test's event loop, what production runs in its processes:

* the simulated agents (strict, like real ones: notifications only to subscribers) over
  MQTT, provisioned in the inventory as ``doorstep devices import`` does;
* ``doorstep controller``'s parts: a USP controller with the device registry's hooks and
  the fleet executor (:func:`~doorstep.devices.mount.controller_parts`,
  :func:`~doorstep.devices.mount.start_fleet`) — or, with ``controller=False``, none:
  the test runs ``doorstep controller`` processes itself (:func:`controller_process`);
* the worker's fleet sweep (:func:`~doorstep.devices.fleet.sweep.fleet_sweep`), every
  ``sweep_every`` seconds on a thread (the real job runs every minute).

Time is a :class:`ShiftClock`: the wall clock plus an offset the test moves (a
maintenance window opens, a deadline passes), shared by every part in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from doorstep.core.database import make_session_factory
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet import rollout_origin  # noqa: F401  (registers origin "rollout")
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.records import Reach
from doorstep.devices.fleet.rollout_models import RolloutState
from doorstep.devices.fleet.rollout_plan import RolloutSpec, TargetFilter
from doorstep.devices.fleet.rollout_views import RolloutView, rollout_view
from doorstep.devices.fleet.rollouts import create_rollout, start_rollout
from doorstep.devices.fleet.sweep import fleet_sweep
from doorstep.devices.mount import controller_parts, start_fleet
from doorstep.usp.agent_sim import SimAgent, SimConditions, SimTiming, make_agents
from doorstep.usp.config import UspConfig
from doorstep.usp.runner import run_mqtt_controller
from tests.conftest import ROOT, database_url_of
from tests.devices.conftest import provision
from tests.usp_net.conftest import net_config
from tests.usp_net.helpers import fleet, mqtt_options

ACTOR = "system:tests"
TIMING = SimTiming(onboard_retry=1.0, reboot=0.05, download=0.05, activate=0.05)
#: Fleet settings of the tests: short leases and checks, so lost words are found fast.
FLEET = {
    "fleet_lease_seconds": 10,
    "fleet_check_seconds": 1.0,
    "fleet_poll_seconds": 0.2,
    "fleet_executor_concurrency": 32,
    "device_request_timeout_seconds": 10,
}


class ShiftClock:
    """The wall clock plus ``offset``, which the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        """Now, shifted."""
        return datetime.now(UTC) + self.offset


def net_runtime(committed: Runtime, clock: ShiftClock, **settings: Any) -> Runtime:
    """``committed``'s database with real time (shifted) and the fleet test settings."""
    changed = committed.settings.model_copy(update={**FLEET, **settings})
    return Runtime(
        settings=changed,
        database_url=committed.database_url,
        engine=committed.engine,
        sessions=make_session_factory(committed.engine, clock),
        clock=clock,
    )


def add_image(runtime: Runtime, *, version: str = "3.0.0", good_checksum: bool = True) -> uuid.UUID:
    """A registered image for both simulated models (the simulator's bytes: the URL's text)."""
    url = f"http://firmware.test/sim/fw-{version}.bin"
    digest = hashlib.sha256(url.encode() if good_checksum else b"other bytes").hexdigest()
    with runtime.sessions.begin() as session:
        row = FirmwareImage(
            id=uuid.uuid4(),
            version=version,
            models=["DR-1000", "DG-2000"],
            size=len(url),
            sha256=digest,
            url=url,
            release_notes="",
            created_at=runtime.clock.now(),
            created_by=ACTOR,
        )
        session.add(row)
    return row.id


@dataclass
class Rig:
    """What :func:`rig` runs; the test drives it."""

    runtime: Runtime
    clock: ShiftClock
    config: UspConfig
    broker: int
    agents: list[SimAgent]
    device_ids: list[uuid.UUID] = field(default_factory=list)
    stack: contextlib.AsyncExitStack | None = None

    async def connect(self, timeout: float = 60, batch: int = 100) -> None:
        """Start the agents (once a controller listens) and wait until they are registered.

        ``batch`` agents at a time, each batch registered before the next connects: a
        thousand first contacts at once would time out their registration reads.
        """
        assert self.stack is not None
        options = mqtt_options(self.config, self.broker)
        for first in range(0, len(self.agents), batch):
            group = self.agents[first : first + batch]
            await self.stack.enter_async_context(fleet(group, options, onboard=False))
            await wait_registered(self, timeout, group)
        await wait_registered(self, timeout, self.agents)

    def start(self, image_id: uuid.UUID, **plan: Any) -> uuid.UUID:
        """Create and start a rollout of ``image_id`` on every simulated device."""
        spec = RolloutSpec(
            name="net test",
            image_id=image_id,
            target=TargetFilter(device_ids=tuple(self.device_ids)),
            **plan,
        )
        with self.runtime.sessions.begin() as session:
            made = create_rollout(session, spec, actor=ACTOR, clock=self.clock)
            start_rollout(session, made.id, actor=ACTOR, clock=self.clock)
        return made.id

    def act(self, verb: Any, rollout_id: uuid.UUID) -> None:
        """Run a verb of :mod:`doorstep.devices.fleet.rollouts` in a transaction."""
        with self.runtime.sessions.begin() as session:
            verb(session, rollout_id, actor=ACTOR, clock=self.clock)

    def view(self, rollout_id: uuid.UUID) -> RolloutView:
        """The rollout now."""
        with self.runtime.sessions() as session:
            return rollout_view(session, rollout_id)

    async def until(
        self, rollout_id: uuid.UUID, states: Sequence[RolloutState], timeout: float = 60
    ) -> RolloutView:
        """Wait until the rollout is in one of ``states`` with nothing in flight."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            view = await asyncio.to_thread(self.view, rollout_id)
            if view.state in states and not view.counts.in_flight:
                return view
            assert asyncio.get_running_loop().time() < deadline, (
                f"stuck: {view.state} {view.counts}; open: {self.open_rows(rollout_id)}"
            )
            await asyncio.sleep(0.1)

    async def until_sent(self, rollout_id: uuid.UUID, count: int, timeout: float = 30) -> None:
        """Wait until ``count`` of the rollout's operations have sent something."""

        def sent() -> int:
            with self.runtime.engine.connect() as connection:
                return int(
                    connection.execute(
                        sa.text(
                            "SELECT count(*) FROM device_operations WHERE origin_id = :id "
                            "AND sent_at IS NOT NULL"
                        ),
                        {"id": rollout_id},
                    ).scalar_one()
                )

        deadline = asyncio.get_running_loop().time() + timeout
        while await asyncio.to_thread(sent) < count:
            assert asyncio.get_running_loop().time() < deadline, "nothing was sent"
            await asyncio.sleep(0.02)

    def device_of(self, agent: SimAgent) -> uuid.UUID:
        """The inventory id of a simulated agent."""
        with self.runtime.engine.connect() as connection:
            return uuid.UUID(
                str(
                    connection.execute(
                        sa.text(
                            "SELECT device_id FROM device_registrations WHERE endpoint_id = :e"
                        ),
                        {"e": agent.endpoint_id},
                    ).scalar_one()
                )
            )

    def open_rows(self, rollout_id: uuid.UUID) -> list[tuple[Any, ...]]:
        """State, step, result and times of the rollout's open operations (for messages)."""
        with self.runtime.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT state::text, step, result, sent_at, check_at, lease_until "
                    "FROM device_operations WHERE origin_id = :id "
                    "AND state IN ('queued', 'running', 'waiting')"
                ),
                {"id": rollout_id},
            )
            return [tuple(row) for row in rows]

    def operations(self, rollout_id: uuid.UUID) -> list[tuple[uuid.UUID, str, str | None]]:
        """(device, state, reason) of each of the rollout's operations."""
        with self.runtime.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT device_id, state::text, reason FROM device_operations "
                    "WHERE origin_id = :id"
                ),
                {"id": rollout_id},
            )
            return [(row[0], row[1], row[2]) for row in rows]


def requests_made(agent: SimAgent) -> int:
    """Asynchronous commands the agent started so far (Download() and Activate() each one)."""
    return agent.next_request() - 1


def versions(agents: Sequence[SimAgent]) -> list[str]:
    """The version each agent runs now."""
    return [a.model.values["Device.DeviceInfo.SoftwareVersion"] for a in agents]


async def _sweeping(runtime: Runtime, every: float) -> None:
    while True:
        await asyncio.to_thread(fleet_sweep, runtime)
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def controller_task(runtime: Runtime, config: UspConfig) -> AsyncIterator[None]:
    """``doorstep controller``'s parts in this loop: registry hooks and the fleet executor."""
    credentials, hooks = controller_parts(runtime, config)
    tasks: list[asyncio.Task[None]] = []

    def started(controller: Any, _transport: object) -> None:
        hooks.attach(controller)
        task = start_fleet(hooks, controller, lambda: Reach(mqtt=True))
        if task is not None:
            tasks.append(task)

    main = asyncio.create_task(
        run_mqtt_controller(runtime, config, credentials=credentials, hooks=hooks, started=started)
    )
    try:
        yield
    finally:
        for task in (*tasks, main):
            task.cancel()
        await asyncio.gather(*tasks, main, return_exceptions=True)


@contextlib.asynccontextmanager
async def rig(
    committed: Runtime,
    broker: int,
    count: int,
    *,
    conditions: SimConditions | None = None,
    timing: SimTiming = TIMING,
    controller: bool = True,
    sweep_every: float = 0.5,
    connect_timeout: float = 60,
    **settings: Any,
) -> AsyncIterator[Rig]:
    """Agents, controller and sweep running; yields once every agent is registered.

    With ``controller=False`` it yields before the agents start: the test starts its
    ``doorstep controller`` processes, then :meth:`Rig.connect`.
    """
    clock = ShiftClock()
    runtime = net_runtime(committed, clock, **settings)
    config = net_config(broker, request_timeout=10.0)
    agents = make_agents(
        count,
        controller_id=config.controller_id,
        timing=timing,
        strict=True,
        conditions=conditions or SimConditions(seed=7),
    )
    with runtime.sessions.begin() as session:
        provision(session, runtime, agents)
    async with contextlib.AsyncExitStack() as stack:
        made = Rig(runtime, clock, config, broker, agents, stack=stack)
        sweep = asyncio.create_task(_sweeping(runtime, sweep_every))
        stack.callback(sweep.cancel)
        if controller:
            await stack.enter_async_context(controller_task(runtime, config))
            await made.connect(connect_timeout)
        yield made


async def wait_registered(made: Rig, timeout: float, agents: Sequence[SimAgent]) -> None:
    """Wait until ``agents`` are registered (with their firmware version) and set up."""
    deadline = asyncio.get_running_loop().time() + timeout

    def registered() -> list[uuid.UUID]:
        with made.runtime.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT device_id FROM device_registrations WHERE endpoint_id = ANY(:e) "
                    "AND firmware_version IS NOT NULL"
                ),
                {"e": [a.endpoint_id for a in agents]},
            )
            return [row[0] for row in rows]

    while len(found := await asyncio.to_thread(registered)) < len(agents):
        assert asyncio.get_running_loop().time() < deadline, f"{len(found)} registered"
        await asyncio.sleep(0.2)
    made.device_ids = sorted({*made.device_ids, *found})
    # Doorstep's first-contact set-up gives each agent a last will, which it applies by
    # reconnecting: a request sent in that moment is lost with the old session.
    will = made.runtime.settings.device_last_will
    while will and not all(a.last_will() is not None and a.sessions >= 2 for a in agents):
        assert asyncio.get_running_loop().time() < deadline, "the set-up was not taken"
        await asyncio.sleep(0.2)


def controller_env(runtime: Runtime, config: UspConfig, data_dir: Path) -> dict[str, str]:
    """The environment of a ``doorstep controller`` process on this test's database and topics."""
    usp = {
        "MQTT_URL": config.mqtt_url,
        "MQTT_CONTROLLER_TOPIC": config.mqtt_controller_topic,
        "MQTT_RESPONSE_TOPIC": config.mqtt_response_topic,
        "MQTT_AGENT_TOPIC": config.mqtt_agent_topic,
        "MQTT_SHARED_GROUP": config.mqtt_shared_group,
        "REQUEST_TIMEOUT": "10",
        "RECONNECT_MIN": "0.2",
        "RECONNECT_MAX": "1",
    }
    fleet_env = {f"DOORSTEP_{key.upper()}": str(value) for key, value in FLEET.items()}
    return {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(runtime.settings),
        "DOORSTEP_DATA_DIR": str(data_dir),
        "DOORSTEP_LOG_LEVEL": "INFO",
        **fleet_env,
        **{f"DOORSTEP_USP_{name}": value for name, value in usp.items()},
    }


SUBSCRIBED = "mqtt controller subscribed"


async def controller_process(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A ``doorstep controller`` process, once it listens; its output goes to ``log``."""
    before = log.read_text(errors="replace").count(SUBSCRIBED) if log.exists() else 0
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "doorstep", "controller"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = asyncio.get_running_loop().time() + 60
    while log.read_text(errors="replace").count(SUBSCRIBED) <= before:
        if process.poll() is not None or asyncio.get_running_loop().time() > deadline:
            stop(process)
            raise AssertionError(log.read_text(errors="replace")[-3000:])
        await asyncio.sleep(0.1)
    return process


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop ``process`` with ``sig`` (killed if it lingers) and reap it."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def with_conditions(agents: Sequence[SimAgent], conditions: SimConditions) -> None:
    """Give running agents other conditions (failure rates) from now on."""
    for agent in agents:
        agent.conditions = dataclasses.replace(conditions)
