"""The broker restarts under a thousand connected agents with commands in flight.

A Mosquitto of the test's own (never the system one), a thousand strict simulated agents
in two processes of their own (:mod:`tests.devices.fault_agents`), and in this process
what ``doorstep controller`` runs: the USP controller with the device registry's hooks
(registration, set-up, presence).  The agents were registered before (the registry
holds them, online, with their addresses, as an earlier onboarding left them) and are
connected.  While a hundred Sets of the Wi-Fi name are in flight, round-robin over every
agent, the broker is killed (SIGKILL) and started again on the same port, empty.  Then:

* every agent reconnects, and every one is registered again: its registration read and
  stored after the restart (the firmware version the registry held is replaced by the
  one the device reports), online;
* every command either was answered, and its agent applied it exactly once, or failed
  with one of the controller's errors (timeout, broker unavailable, device offline),
  within its timeout, and its agent applied it at most once;
* no agent applied any Set twice (each agent counts the Sets it applied per msg_id).

The figures (reconnection and re-registration of the thousand) are printed for
docs/benchmarks.md (run with ``-s``).  A smaller test proves one piece of it alone: a
registration read that finds no answer in time (a busy controller, a lost message) is
tried again, so the device is registered all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.inventory import find_device_id, installation_key
from doorstep.devices.mount import controller_parts
from doorstep.devices.registry import record_contact
from doorstep.usp import Get, Msg
from doorstep.usp.agent_sim import SimAgent, make_agents
from doorstep.usp.agent_sim._outbound import SendMsg
from doorstep.usp.config import UspConfig
from doorstep.usp.controller import MQTT, AgentAddress, Controller
from doorstep.usp.mtp.mqtt import MqttTransport
from doorstep.usp.runner import run_mqtt_controller
from tests.devices.conftest import provision
from tests.devices.fault_agents import AgentProcess, AgentStatus
from tests.devices.faults import Commands, real_time, registered_since, wait_for
from tests.usp_net.conftest import needs_mosquitto, net_config, run
from tests.usp_net.helpers import fleet, mqtt_options

COUNT = 1_000
PROCESSES = 2
IN_FLIGHT = 100
TIMEOUT = 10.0
"""Seconds a command waits for its answer (the controller's request timeout)."""
#: No fleet executor (no operations here).  The set-up keeps no subscriptions and no last
#: will: a new session only reads them (one Get), as it would here with them in place.
SETTINGS = {
    "fleet_executor": False,
    "device_request_timeout_seconds": TIMEOUT,
    "device_subscriptions": (),
    "device_last_will": False,
}
BEFORE = "0.0.0-before"
"""The firmware version the registry holds until the device is registered again."""


@contextlib.asynccontextmanager
async def _controller(
    runtime: Runtime, config: UspConfig
) -> AsyncIterator[tuple[Controller, MqttTransport]]:
    """``doorstep controller``'s USP parts in this loop, once subscribed."""
    credentials, hooks = controller_parts(runtime, config)
    ready: asyncio.Future[tuple[Controller, MqttTransport]] = (
        asyncio.get_running_loop().create_future()
    )

    def started(controller: Controller, transport: MqttTransport) -> None:
        hooks.attach(controller)
        ready.set_result((controller, transport))

    task = asyncio.create_task(
        run_mqtt_controller(runtime, config, credentials=credentials, hooks=hooks, started=started)
    )
    try:
        controller, transport = await ready
        await asyncio.wait_for(transport.connected.wait(), 30)
        yield controller, transport
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _registered_before(runtime: Runtime, config: UspConfig, agents: Sequence[SimAgent]) -> None:
    """The registry as an earlier onboarding left it: online, addressed, a version stored."""
    key = installation_key(runtime.settings)
    with runtime.sessions.begin() as session:
        for agent in agents:
            device_id = find_device_id(session, key=key, endpoint_id=agent.endpoint_id)
            assert device_id is not None
            topic = f"{config.mqtt_agent_topic}/{agent.endpoint_id}"
            record_contact(
                session,
                device_id,
                endpoint_id=agent.endpoint_id,
                address=AgentAddress(MQTT, topic, True),
                now=runtime.clock.now(),
            )
        session.execute(
            sa.text(
                "UPDATE device_registrations SET firmware_version = :v WHERE endpoint_id = ANY(:e)"
            ),
            {"v": BEFORE, "e": [a.endpoint_id for a in agents]},
        )


@needs_mosquitto
@pytest.mark.slow
@pytest.mark.timeout(300)  # 70 s here; about 110 s when other work shares both cores
def test_the_broker_restarts_under_a_thousand_agents_and_no_command_is_lost_or_doubled(
    committed: Runtime, spawn_broker: Any, tmp_path: Path
) -> None:
    mosquitto = spawn_broker()
    runtime = real_time(committed, **SETTINGS)
    config = net_config(mosquitto.port, request_timeout=TIMEOUT)
    batch = "FA" + str(time.time_ns() % 10_000).zfill(4)
    agents = make_agents(COUNT, controller_id=config.controller_id, batch=batch, strict=True)
    with runtime.sessions.begin() as session:
        provision(session, runtime, agents)
    _registered_before(runtime, config, agents)
    eids = [a.endpoint_id for a in agents]
    share = COUNT // PROCESSES
    options = mqtt_options(config, mosquitto.port)
    processes = [
        AgentProcess(agents[i * share : (i + 1) * share], batch, options, tmp_path / f"p{i}")
        for i in range(PROCESSES)
    ]

    def statuses() -> dict[str, AgentStatus]:
        return {eid: s for p in processes for eid, s in p.status().items()}

    async def scenario(kept: list[Commands]) -> dict[str, float]:
        for process in processes:
            process.start()
        await wait_for(
            lambda: sum(s.sessions for s in statuses().values()) == COUNT,
            timeout=60,
            what=lambda: "the agents did not connect: " + processes[0].output(),
        )
        async with _controller(runtime, config) as (controller, transport):
            load = Commands(controller)
            kept.append(load)
            stop = asyncio.Event()
            busy = asyncio.create_task(load.keep_busy(eids, IN_FLIGHT, stop))
            await wait_for(lambda: len(load.outcomes) > 3 * IN_FLIGHT, timeout=60)

            await asyncio.to_thread(mosquitto.kill)  # commands are in flight now
            in_flight = sum(1 for o in load.outcomes.values() if not o.seconds)
            await asyncio.sleep(1.0)
            restarted = datetime.now(UTC)
            await asyncio.to_thread(mosquitto.start)
            back = time.monotonic()
            reconnected = await wait_for(
                lambda: all(s.sessions >= 2 for s in statuses().values()),
                timeout=60,
                what="not every agent reconnected",
            )
            await wait_for(
                lambda: registered_since(runtime, eids, restarted) == COUNT,
                timeout=120,
                what=lambda: f"{registered_since(runtime, eids, restarted)} registered again",
            )
            registered = time.monotonic() - back
            served = len(load.outcomes)
            await wait_for(lambda: len(load.outcomes) > served + IN_FLIGHT, timeout=60)
            stop.set()
            await asyncio.wait_for(busy, TIMEOUT * 2)
            assert transport.sessions == 2
        return {"in_flight": in_flight, "reconnected": reconnected, "registered": registered}

    kept: list[Commands] = []
    try:
        figures = run(scenario(kept), timeout=240)
    finally:
        final = {eid: s for p in processes for eid, s in p.stop().items()}
    (load,) = kept
    assert len(final) == COUNT
    assert all(s.sessions == 2 for s in final.values())  # one reconnection each, no more
    with runtime.engine.connect() as connection:
        versions = connection.execute(
            sa.text("SELECT DISTINCT firmware_version FROM device_registrations")
        ).scalars()
        assert sorted(versions) == sorted({a.profile.software_version for a in agents})
    load.check({eid: s.applied for eid, s in final.items()}, longest=TIMEOUT + 5)
    answered = sum(1 for o in load.outcomes.values() if o.error is None)
    failed = load.failed()
    assert answered > 4 * IN_FLIGHT and failed, (answered, len(failed))
    print(  # the figures for docs/benchmarks.md (pytest -s)
        f"\nbroker restart, {COUNT} agents: all reconnected {figures['reconnected']:.1f} s, "
        f"all registered again {figures['registered']:.1f} s after the broker was back; "
        f"{figures['in_flight']} commands in flight at the kill; {answered} answered, "
        f"{len(failed)} failed ({sorted({type(e).__name__ for e in failed.values()})})"
    )


class Forgetful(SimAgent):
    """An agent that never answers the first Get of its registration (the message lost)."""

    dropped = 0

    def answer(self, msg: Msg, send: SendMsg) -> Msg | None:
        """Nothing for the first Get naming DeviceInfo; the rest as any agent."""
        body = msg.body
        if (
            isinstance(body, Get)
            and not self.dropped
            and any(path.startswith("Device.DeviceInfo.") for path in body.param_paths)
        ):
            self.dropped += 1
            return None
        return super().answer(msg, send)


@needs_mosquitto
def test_a_registration_read_without_an_answer_is_tried_again(
    committed: Runtime, broker: int
) -> None:
    runtime = real_time(committed, **{**SETTINGS, "device_request_timeout_seconds": 1.5})
    config = net_config(broker, request_timeout=1.5)
    (made,) = make_agents(1, controller_id=config.controller_id, strict=True)
    agent = Forgetful(
        made.profile,
        controller_id=made.controller_id,
        secret=made.secret,
        claim_code=made.claim_code,
        strict=True,
    )
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
    start = datetime.now(UTC)

    async def scenario() -> None:
        async with (
            _controller(runtime, config),
            fleet([agent], mqtt_options(config, broker), onboard=False),
        ):
            await wait_for(lambda: registered_since(runtime, [agent.endpoint_id], start) == 1, 20)
        assert agent.dropped == 1

    run(scenario())
