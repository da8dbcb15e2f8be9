"""A firmware update of a WebSocket device, run by the ``serve`` process holding its session.

``serve`` reaches a WebSocket device only while the device's session is held there: its
executor claims the operations of those sessions (decision 0038), and the device comes
back after the activation on a new session to the same process.
"""

from __future__ import annotations

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.operations import OperationState
from doorstep.usp.agent_sim import make_agents
from doorstep.usp.agent_sim._websocket import WebSocketOptions
from tests.devices.conftest import provision, served
from tests.fleet.conftest import add_image, counting, online, settled, wall_clock
from tests.fleet.test_firmware_update import ROUTER_MODEL, TIMING, _update
from tests.usp_net.conftest import run
from tests.usp_net.helpers import fleet, until


def test_serve_updates_the_websocket_device_whose_session_it_holds(committed: Runtime) -> None:
    runtime = wall_clock(committed, fleet_check_seconds=600.0)
    image = add_image(runtime, "2.0.0", [ROUTER_MODEL])

    async def scenario() -> None:
        async with served(runtime) as app:
            agent = counting(
                make_agents(1, controller_id=app.config.controller_id, timing=TIMING)[0]
            )
            with runtime.sessions.begin() as session:
                provision(session, runtime, [agent])
            async with fleet([agent], WebSocketOptions(app.ws_url)):
                await until(lambda: online(runtime, agent), timeout=30)
                op = await settled(runtime, _update(runtime, agent, image.id))
                assert (op.state, op.result.get("version")) == (OperationState.SUCCEEDED, "2.0.0")
                assert agent.commands == ["Download()", "Activate()"]

    run(scenario(), timeout=90)
