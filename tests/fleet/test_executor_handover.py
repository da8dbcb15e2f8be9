"""A notification that arrives while a check of its operation reads the device (decision 0038).

A device that reboots loses the request a check sent it while it was dark.  Its
``Boot!`` is handed to that check turn, which drops the read and resumes the operation
with the notification at once, instead of the hook waiting out the request timeout
(:mod:`doorstep.devices.fleet.handover`).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.operations import (
    OperationKind,
    OperationState,
    OriginKind,
    queue_operations,
)
from doorstep.usp.agent_sim import SimAgent, SimTiming, make_agents
from tests.devices.conftest import device_id_of, provision
from tests.fleet.conftest import controller, counting, online, settled, wall_clock
from tests.usp_net.conftest import needs_mosquitto, net_config, run
from tests.usp_net.helpers import fleet, mqtt_options, until

#: Up for 3 s after Reboot(), then dark for 3 s: the checks, every 0.3 s, read meanwhile.
DARK = SimTiming(onboard_retry=1.0, reboot=3.0, download=0.3, activate=0.1)


def _reboot(runtime: Runtime, agent: SimAgent) -> uuid.UUID:
    origin = uuid.uuid4()
    with runtime.sessions.begin() as session:
        queue_operations(
            session,
            [device_id_of(session, runtime, agent)],
            OperationKind.REBOOT,
            {},
            purpose="device.maintenance",
            actor="system:test",
            origin_kind=OriginKind.BULK,
            origin_id=origin,
            clock=runtime.clock,
        )
    with runtime.engine.connect() as connection:
        query = sa.text("SELECT id FROM device_operations WHERE origin_id = :o")
        return uuid.UUID(str(connection.execute(query, {"o": origin}).scalar_one()))


@needs_mosquitto
def test_a_boot_during_a_check_whose_read_the_reboot_lost_ends_the_operation_at_once(
    committed: Runtime, broker: int
) -> None:
    timeout = 60.0
    runtime = wall_clock(
        committed,
        fleet_check_seconds=0.3,
        device_request_timeout_seconds=timeout,
        device_last_will=False,  # the registry keeps the dark device online: checks go on
    )
    config = net_config(broker)
    sim = make_agents(1, controller_id=config.controller_id, timing=DARK, strict=True)[0]
    agent = counting(sim)
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])

    async def scenario() -> None:
        options = mqtt_options(config, broker)
        async with controller(runtime, config), fleet([agent], options, onboard=False):
            await until(lambda: online(runtime, agent), timeout=30)
            await until(lambda: "doorstep-boot" in agent.model.values.values(), timeout=30)
            sessions = agent.sessions
            op = await settled(runtime, _reboot(runtime, agent), timeout=timeout / 2)
            assert (op.state, op.reason) == (OperationState.SUCCEEDED, None)
            assert agent.commands == ["Reboot()"] and agent.sessions > sessions
            assert op.step_at is not None and op.finished_at is not None
            assert op.finished_at - op.step_at < timedelta(seconds=timeout / 2)

    run(scenario(), timeout=120)
