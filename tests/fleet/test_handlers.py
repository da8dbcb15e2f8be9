"""The reboot and set-parameters operations on a simulated router, and what bulk parameters
may never reach: a subscriber's PPPoE, Wi-Fi and hosts (decision 0038)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.operations import (
    OperationKind,
    OperationState,
    OriginKind,
    Reason,
    queue_operations,
)
from doorstep.privacy.datamap.pack import DEFAULT_PACK, default_pack, load_pack
from doorstep.usp import messages
from doorstep.usp.agent_sim import make_agents
from doorstep.usp.paths import PathRefusedError, UspPathPolicy
from tests.devices.conftest import device_id_of, provision
from tests.fleet.conftest import controller, counting, online, settled, wall_clock
from tests.fleet.test_firmware_update import TIMING
from tests.usp_net.conftest import needs_mosquitto, net_config, run
from tests.usp_net.helpers import fleet, mqtt_options, until

INTERVAL = "Device.LocalAgent.Controller.1.PeriodicNotifInterval"


def _queue(runtime: Runtime, agent: Any, kind: OperationKind, args: dict[str, Any]) -> uuid.UUID:
    origin = uuid.uuid4()
    with runtime.sessions.begin() as session:
        queue_operations(
            session,
            [device_id_of(session, runtime, agent)],
            kind,
            args,
            purpose="device.maintenance",
            actor="system:test",
            origin_kind=OriginKind.BULK,
            origin_id=origin,
            clock=runtime.clock,
        )
    with runtime.engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT id FROM device_operations WHERE origin_id = :o"), {"o": origin}
        ).scalar_one()


@needs_mosquitto
def test_reboot_and_allowed_parameters_run_and_a_personal_path_is_never_sent(
    committed: Runtime, broker: int
) -> None:
    runtime = wall_clock(committed, fleet_check_seconds=600.0)
    config = net_config(broker)
    agent = counting(make_agents(1, controller_id=config.controller_id, timing=TIMING)[0])
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])

    async def scenario() -> None:
        async with controller(runtime, config), fleet([agent], mqtt_options(config, broker)):
            await until(lambda: online(runtime, agent), timeout=30)
            sessions = agent.sessions
            reboot = await settled(runtime, _queue(runtime, agent, OperationKind.REBOOT, {}))
            assert (reboot.state, reboot.step) == (OperationState.SUCCEEDED, "reboot")
            assert agent.commands == ["Reboot()"] and agent.sessions > sessions

            parameters = {"parameters": {INTERVAL: "600"}}
            done = await settled(
                runtime, _queue(runtime, agent, OperationKind.SET_PARAMETERS, parameters)
            )
            assert done.state is OperationState.SUCCEEDED
            assert agent.model.values[INTERVAL] == "600"

            password = "Device.PPP.Interface.1.Password"
            refused = {"parameters": {password: "canary-pw-77"}}
            before = agent.model.values.get(password)
            op = await settled(
                runtime, _queue(runtime, agent, OperationKind.SET_PARAMETERS, refused)
            )
            assert (op.state, op.reason) == (OperationState.FAILED, Reason.NOT_APPLICABLE)
            assert op.sent_at is None and agent.model.values.get(password) == before
            assert "canary-pw-77" not in (op.fault or "")

    run(scenario(), timeout=90)


@pytest.mark.clause("CPE-I.iii.R1")
def test_bulk_parameters_can_never_name_pppoe_wifi_or_hosts_paths(tmp_path: Path) -> None:
    """PPPoE credentials serve only Internet access: no fleet action may set or read them.

    The pack reader refuses a bulk parameter under a personal purpose's paths, and the
    controller's per-path gate refuses them to the maintenance purpose at the wire.
    """
    pack = default_pack()
    assert pack.bulk_parameters.allows("Device.LocalAgent.Controller.3.PeriodicNotifInterval")
    personal = (
        "Device.PPP.Interface.1.Password",
        "Device.WiFi.AccessPoint.1.Security.KeyPassphrase",
        "Device.Hosts.Host.1.HostName",
    )
    for path in personal:
        assert not pack.bulk_parameters.allows(path)
        set_body = messages.set("m-1", {path: "x"}).body
        with pytest.raises(PathRefusedError):
            UspPathPolicy(pack.usp_paths).check("device.maintenance", set_body)

    folder = tmp_path / "pack"
    folder.mkdir()
    for source in DEFAULT_PACK.iterdir():
        if source.is_file():
            (folder / source.name).write_bytes(source.read_bytes())
    datamap = folder / "datamap.yaml"
    text = datamap.read_text(encoding="utf-8")
    datamap.write_text(
        text.replace(
            "    - Device.Time.NTPServer2\n",
            "    - Device.Time.NTPServer2\n    - Device.PPP.Interface.{i}.Password\n",
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"personal purpose 'device.internet_access'"):
        load_pack(folder)
