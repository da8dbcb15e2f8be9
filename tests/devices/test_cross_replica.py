"""Every ``serve`` replica reaches every WebSocket device (decision 0047).

Two apps served in one event loop, each by its own uvicorn on its own loopback port,
each with its own controller and relay, on this test's database: the simulated
router connects to replica A only, and the subscriber's requests go through replica
B's HTTP API.  B has no session of the device; the request reaches it through A.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.usp import Get, Msg, Set
from doorstep.usp.agent_sim import Host, SimAgent, WebSocketOptions
from doorstep.usp.agent_sim._outbound import SendMsg
from doorstep.usp.config import UspConfig
from tests.devices.conftest import (
    PREFIX,
    Served,
    add_subscriber,
    bearer,
    consent,
    devices_for,
    dump_database,
    provision,
    served,
    with_hosts,
)
from tests.usp_net.conftest import run
from tests.usp_net.helpers import fleet, until

SSID = "Device.WiFi.SSID.1.SSID"
HOSTS = "Device.Hosts.Host."


class WatchedAgent(SimAgent):
    """A simulated router that counts what it is asked, and can stop answering Gets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sets: list[dict[str, str]] = []
        self.host_reads = 0
        self.mute = False

    def answer(self, msg: Msg, send: SendMsg) -> Msg | None:
        body = msg.body
        if isinstance(body, Set):
            self.sets.append(
                {o.obj_path + p.param: p.value for o in body.update_objs for p in o.param_settings}
            )
        if isinstance(body, Get) and any(path.startswith(HOSTS) for path in body.param_paths):
            self.host_reads += 1
            if self.mute:
                return None
        return super().answer(msg, send)


def _watched(agent: SimAgent) -> WatchedAgent:
    return WatchedAgent(
        agent.profile,
        controller_id=agent.controller_id,
        secret=agent.secret,
        claim_code=agent.claim_code,
        timing=agent.timing,
    )


def _owner(runtime: Runtime, agent: SimAgent) -> tuple[uuid.UUID, str]:
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
        subject, token = add_subscriber(session, runtime)
        consent(session, runtime, subject, "wifi.location_scan")
        return subject, token


def _holder(runtime: Runtime, agent: SimAgent) -> str | None:
    with runtime.engine.connect() as connection:
        found = connection.execute(
            sa.text(
                "SELECT h.replica FROM device_session_holders h "
                "JOIN device_registrations r ON r.device_id = h.device_id "
                "WHERE r.endpoint_id = :e"
            ),
            {"e": agent.endpoint_id},
        ).scalar_one_or_none()
    return None if found is None else str(found)


async def _bind(app: Served, agent: SimAgent, auth: dict[str, str]) -> str:
    bound = await app.http.post(
        f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=auth
    )
    assert bound.status_code == 201, bound.text
    return str(bound.json()["device_id"])


def test_a_device_on_one_replica_is_read_set_and_scanned_through_another(
    committed: Runtime, log_lines: io.StringIO
) -> None:
    name, mac = f"CANARY-RELAY-{uuid.uuid4().hex[:10]}", "0e:5e:1a:00:00:01"
    agent = _watched(with_hosts(devices_for(UspConfig(), 1)[0], [Host(name, mac, "192.168.1.9")]))
    _subject, token = _owner(committed, agent)
    auth = bearer(token)

    async def scenario() -> None:
        async with (
            served(committed) as a,
            served(committed) as b,
            fleet([agent], WebSocketOptions(a.ws_url)),
        ):
            assert a.state.relay is not None and b.state.relay is not None
            await until(lambda: _holder(committed, agent) == a.state.relay.replica)
            assert agent.endpoint_id not in b.state.hub.transport.sessions
            device = await _bind(b, agent, auth)

            status = await b.http.get(f"{PREFIX}/{device}/status", headers=auth)
            assert status.status_code == 200, status.text
            assert status.json() == {"terminals": [{"host_name": name, "mac_address": mac}]}

            body = {"ssid": "through-b", "passphrase": "long-enough-pass"}
            done = await b.http.put(f"{PREFIX}/{device}/wifi", json=body, headers=auth)
            assert done.status_code == 204, done.text
            assert agent.model.values[SSID] == "through-b"
            assert [s[SSID] for s in agent.sets if SSID in s] == ["through-b"], "applied once"

            scan = await b.http.post(f"{PREFIX}/{device}/wifi/scan", headers=auth)
            assert scan.status_code == 200, scan.text
            assert scan.json()["networks"], "the scan's result came back through A"

            assert b.state.relay.counters["relayed"] >= 3
            assert a.state.relay.counters["carried"] >= 3
            assert b.state.relay.counters["carried"] == a.state.relay.counters["relayed"] == 0
            await asyncio.sleep(0.2)  # let the requests' transactions commit

    run(scenario())
    dump, said = dump_database(committed), log_lines.getvalue()
    assert "device_session_holders" in dump and said  # the search looked at something real
    for marker in (name, mac):  # relayed through PostgreSQL, stored nowhere
        assert marker not in dump and marker not in said
    assert agent.endpoint_id not in said


def test_a_device_that_does_not_answer_times_out_alike_through_either_replica(
    committed: Runtime,
) -> None:
    agent = _watched(devices_for(UspConfig(), 1)[0])
    _subject, token = _owner(committed, agent)
    auth = bearer(token)

    async def scenario() -> None:
        async with (
            served(committed) as a,
            served(committed) as b,
            fleet([agent], WebSocketOptions(a.ws_url)),
        ):
            assert a.state.relay is not None
            await until(lambda: _holder(committed, agent) == a.state.relay.replica)
            device = await _bind(b, agent, auth)
            a.state.link.timeout = b.state.link.timeout = 1.0
            agent.mute = True
            problems = []
            for app in (a, b):
                reads = agent.host_reads
                answer = await app.http.get(f"{PREFIX}/{device}/status", headers=auth)
                assert answer.status_code == 504, answer.text
                assert agent.host_reads == reads + 1, "the Get reached the device once"
                problems.append({k: v for k, v in answer.json().items() if k != "instance"})
            local, relayed = problems
            assert relayed == local
            assert local["type"].endswith("device-timeout") and local["timeout_seconds"] == 1.0
            agent.mute = False
            again = await b.http.get(f"{PREFIX}/{device}/status", headers=auth)
            assert again.status_code == 200, again.text

    run(scenario())
