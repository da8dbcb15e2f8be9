"""Restarts in the middle of a firmware update: the update ends once, nothing is sent twice.

* A ``doorstep controller`` process is SIGKILLed after it sent Download(); the device's
  TransferComplete! then reaches no controller.  A new process, the sweep (its lease
  lapsed) and a check of the image slot carry the update on: one Download(), one
  Activate(), succeeded.
* The broker is SIGKILLed while the device downloads, and started again: the
  TransferComplete! is lost with it; the device's reconnection makes the operation due
  for a check, which finds the image downloaded and activates it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.operations import OperationState
from doorstep.devices.fleet.sweep import fleet_sweep
from doorstep.usp.agent_sim import SimTiming, make_agents
from doorstep.usp.config import UspConfig
from tests.conftest import database_url_of
from tests.devices.conftest import provision
from tests.fleet.conftest import (
    FAST_FLEET,
    add_image,
    controller,
    counting,
    online,
    reached,
    settled,
    wall_clock,
)
from tests.fleet.test_firmware_update import ROUTER_MODEL, _update
from tests.usp_net.conftest import needs_mosquitto, net_config, run
from tests.usp_net.helpers import fleet, mqtt_options, until

ROOT = Path(__file__).resolve().parents[2]
SLOT = "Device.DeviceInfo.FirmwareImage.2.Status"
SLOW_DOWNLOAD = SimTiming(onboard_retry=1.0, reboot=0.1, download=3.0, activate=0.1)


def _env(runtime: Runtime, config: UspConfig, data_dir: Path) -> dict[str, str]:
    usp = {
        "MQTT_URL": config.mqtt_url,
        "MQTT_CONTROLLER_TOPIC": config.mqtt_controller_topic,
        "MQTT_RESPONSE_TOPIC": config.mqtt_response_topic,
        "MQTT_AGENT_TOPIC": config.mqtt_agent_topic,
        "MQTT_SHARED_GROUP": config.mqtt_shared_group,
    }
    fleet_settings = {f"DOORSTEP_{key.upper()}": str(value) for key, value in FAST_FLEET.items()}
    return {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_LOG_LEVEL": "DEBUG",
        "DOORSTEP_DATABASE_URL": database_url_of(runtime.settings),
        "DOORSTEP_DATA_DIR": str(data_dir),
        **fleet_settings,
        **{f"DOORSTEP_USP_{name}": value for name, value in usp.items()},
    }


@contextlib.contextmanager
def _controller_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "doorstep", "controller"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _downloaded(agent: Any) -> bool:
    return agent.model.values.get(SLOT) == "Available"


@needs_mosquitto
@pytest.mark.slow
def test_a_controller_killed_after_download_then_a_new_one_completes_the_update_once(
    committed: Runtime, broker: int, tmp_path: Path
) -> None:
    runtime = wall_clock(committed)
    config = net_config(broker)
    agent = counting(make_agents(1, controller_id=config.controller_id, timing=SLOW_DOWNLOAD)[0])
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
    image = add_image(runtime, "2.0.0", [ROUTER_MODEL])
    env, log = _env(runtime, config, tmp_path / "data"), tmp_path / "controller.log"

    async def scenario() -> None:
        async with fleet([agent], mqtt_options(config, broker), onboard=False):
            with _controller_process(env, log) as first:
                await until(lambda: online(runtime, agent), timeout=60)
                op_id = _update(runtime, agent, image.id)
                await reached(runtime, op_id, lambda op: op.step == "download")
                await until(lambda: agent.commands == ["Download()"], timeout=10)
                first.send_signal(signal.SIGKILL)
                first.wait(10)
            await until(lambda: _downloaded(agent), timeout=30)  # no controller hears it
            await asyncio.sleep(0.5)
            with _controller_process(env, log):
                for _ in range(60):  # the sweep returns a lapsed lease, if one was held
                    await asyncio.to_thread(fleet_sweep, runtime)
                    op = await asyncio.to_thread(_row, runtime, op_id)
                    if op.finished_at is not None:
                        break
                    await asyncio.sleep(1)
                op = await settled(runtime, op_id, timeout=5)
        assert (op.state, op.result.get("version")) == (OperationState.SUCCEEDED, "2.0.0")
        assert agent.commands == ["Download()", "Activate()"], log.read_text()[-2000:]

    run(scenario(), timeout=180)


def _row(runtime: Runtime, op_id: Any) -> Any:
    from tests.fleet.conftest import operation

    return operation(runtime, op_id)


@needs_mosquitto
@pytest.mark.slow
def test_a_broker_restart_during_the_download_still_settles_the_update_once(
    committed: Runtime, spawn_broker: Any
) -> None:
    mosquitto = spawn_broker()
    runtime = wall_clock(committed)
    config = net_config(mosquitto.port)
    agent = counting(make_agents(1, controller_id=config.controller_id, timing=SLOW_DOWNLOAD)[0])
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
    image = add_image(runtime, "2.0.0", [ROUTER_MODEL])

    async def scenario() -> None:
        options = mqtt_options(config, mosquitto.port)
        async with controller(runtime, config), fleet([agent], options, onboard=False):
            await until(lambda: online(runtime, agent), timeout=30)
            op_id = _update(runtime, agent, image.id)
            await until(lambda: agent.commands == ["Download()"], timeout=20)
            await asyncio.to_thread(mosquitto.kill)
            await until(lambda: _downloaded(agent), timeout=30)  # TransferComplete! is lost
            await asyncio.to_thread(mosquitto.start)
            op = await settled(runtime, op_id, timeout=60)
        assert (op.state, op.result.get("version")) == (OperationState.SUCCEEDED, "2.0.0")
        assert agent.commands == ["Download()", "Activate()"]

    run(scenario(), timeout=180)
