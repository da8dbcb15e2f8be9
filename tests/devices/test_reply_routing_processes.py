"""Every answer reaches the process that asked: two real ``doorstep serve`` processes on
one shared subscription, a restart of one, and a strict MQTT 3.1.1 agent (decision 0027).

Both processes join the broker (``DOORSTEP_DEVICE_SERVE_MQTT``) with the same shared
group, against this test's database.  The agent connects once; the process that did
not take its Connect Record, and later a restarted process that never heard from it,
must address it as the registry stored it (topic, 3.1.1), with their own
``/reply-to=`` topic, or about half their requests would time out.  Requests go
through each process's HTTP API (``PUT /api/v1/devices/{id}/wifi`` is a USP Set).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.usp.config import UspConfig
from tests.conftest import database_url_of
from tests.devices.conftest import PREFIX, add_subscriber, bearer, provision
from tests.usp_net.conftest import free_port, needs_mosquitto, net_config, run
from tests.usp_net.helpers import agents_for, fleet, mqtt_options

ROOT = Path(__file__).resolve().parents[2]
ASKED = 6
"""Requests sent through each process each round (at once)."""


def _env(runtime: Runtime, config: UspConfig, data_dir: Path) -> dict[str, str]:
    usp = {
        "MQTT_URL": config.mqtt_url,
        "MQTT_CONTROLLER_TOPIC": config.mqtt_controller_topic,
        "MQTT_RESPONSE_TOPIC": config.mqtt_response_topic,
        "MQTT_AGENT_TOPIC": config.mqtt_agent_topic,
        "MQTT_SHARED_GROUP": config.mqtt_shared_group,
        "REQUEST_TIMEOUT": "10",
    }
    return {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(runtime.settings),
        "DOORSTEP_DATA_DIR": str(data_dir),
        "DOORSTEP_DEVICE_SERVE_MQTT": "true",
        "DOORSTEP_DEVICE_REQUEST_TIMEOUT_SECONDS": "10",
        **{f"DOORSTEP_USP_{name}": value for name, value in usp.items()},
    }


@contextlib.contextmanager
def _serve(env: dict[str, str], log: Path) -> Iterator[str]:
    """``doorstep serve`` in a process of its own; yields its base URL once it is ready."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "doorstep", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "doorstep serve did not become ready"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _online(runtime: Runtime, endpoint_id: str) -> bool:
    with runtime.engine.connect() as connection:
        found = connection.execute(
            sa.text("SELECT online FROM device_registrations WHERE endpoint_id = :e"),
            {"e": endpoint_id},
        ).scalar_one_or_none()
    return bool(found)


@needs_mosquitto
@pytest.mark.slow
def test_two_serve_processes_and_a_restart_each_get_their_answers(
    committed: Runtime, broker: int, clock: FakeClock, tmp_path: Path
) -> None:
    clock.set(datetime.fromtimestamp(time.time(), tz=UTC))  # the processes use the real clock
    config = net_config(broker)
    agent = agents_for(config, 1, strict=True)[0]
    with committed.sessions.begin() as session:
        provision(session, committed, [agent])
        _subject, token = add_subscriber(session, committed)
    auth = bearer(token)
    env = _env(committed, config, tmp_path / "data")
    log = tmp_path / "serve.log"

    async def set_wifi(client: httpx.AsyncClient, device: str, round_: int) -> list[int]:
        async def one(i: int) -> int:
            body = {"ssid": f"home-{round_}-{i}", "passphrase": "long-enough-pass"}
            answer = await client.put(f"{PREFIX}/{device}/wifi", json=body, headers=auth)
            return answer.status_code

        return list(await asyncio.gather(*(one(i) for i in range(ASKED))))

    async def scenario(first: str, second: str, restart: contextlib.ExitStack) -> None:
        options = mqtt_options(config, broker, v5=False)
        async with (
            fleet([agent], options, onboard=False),
            httpx.AsyncClient(base_url=first, timeout=60) as a,
        ):
            deadline = time.monotonic() + 60
            while not await asyncio.to_thread(_online, committed, agent.endpoint_id):
                assert time.monotonic() < deadline, "the agent never reached a controller"
                await asyncio.sleep(0.2)
            # Doorstep's first-contact set-up gives the agent a last will, which it applies
            # by reconnecting (a clean session): requests in flight at that moment are lost
            # with the old session. Wait until the set-up is held and the agent is back.
            while not (agent.last_will() is not None and agent.sessions >= 2):
                assert time.monotonic() < deadline, "the agent never took Doorstep's set-up"
                await asyncio.sleep(0.2)
            while not await asyncio.to_thread(_online, committed, agent.endpoint_id):
                assert time.monotonic() < deadline, "the agent did not come back"
                await asyncio.sleep(0.2)
            bound = await a.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=auth
            )
            assert bound.status_code == 201, bound.text
            device = bound.json()["device_id"]
            async with httpx.AsyncClient(base_url=second, timeout=60) as b:
                assert await set_wifi(a, device, 1) == [204] * ASKED
                assert await set_wifi(b, device, 1) == [204] * ASKED
            restart.close()  # the second process stops; a fresh one never heard from the agent
            fresh = await asyncio.to_thread(restart.enter_context, _serve(env, log))
            async with httpx.AsyncClient(base_url=fresh, timeout=60) as c:
                results = await asyncio.gather(set_wifi(a, device, 2), set_wifi(c, device, 2))
                assert results == [[204] * ASKED, [204] * ASKED]
            restart.close()

    with _serve(env, log) as first, contextlib.ExitStack() as restart:
        second = restart.enter_context(_serve(env, log))
        run(scenario(first, second, restart), timeout=240)
    said = log.read_text(errors="replace")
    assert "device-timeout" not in said and "Traceback" not in said
    assert agent.secret not in said
