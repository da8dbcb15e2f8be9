"""Diagnostics by a subscriber, through the app API, on real Mosquitto with strict simulated agents.

``serve`` with its MQTT transport and fleet executor (``device_serve_mqtt``), a strict
simulated router (notifications only to subscribers, like OB-USP-Agent), and the app's
HTTP API: the subscriber pings a host and runs a download speed test on their own router
(decision 0041, issue 19 items 5 and 6).  A trace route's result, which the reference
pack does not store, reaches the caller who waited for it and nothing else; bad input
is a 422 problem with nothing stored or queued.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet import diagnostics_handler
from doorstep.usp.agent_sim import SimAgent
from doorstep.usp.config import UspConfig
from doorstep.usp.mtp.mqtt import MqttTransport
from tests.devices.conftest import (
    PREFIX,
    Served,
    add_subscriber,
    bearer,
    devices_for,
    dump_database,
    provision,
    served,
)
from tests.fleet.conftest import CountingAgent, counting, wall_clock
from tests.usp_net.conftest import needs_mosquitto, run
from tests.usp_net.helpers import fleet, mqtt_options, until

pytestmark = needs_mosquitto
SUBSCRIPTION_ID = "Device.LocalAgent.Subscription."
CANARY = "canary-trace-7q3k.example"


def _scalar(runtime: Runtime, query: str, **params: Any) -> Any:
    with runtime.engine.connect() as connection:
        return connection.execute(sa.text(query), params).scalar()


def _subscribed(agent: SimAgent) -> bool:
    """Whether Doorstep's subscription to the diagnostics' results is on the agent."""
    values = agent.model.values
    return any(
        path.startswith(SUBSCRIPTION_ID)
        and path.endswith(".ID")
        and value == "doorstep-diagnostics"
        for path, value in values.items()
    )


@contextlib.asynccontextmanager
async def _owned(
    committed: Runtime, broker: int
) -> AsyncIterator[tuple[Served, str, dict[str, str], CountingAgent]]:
    """``serve`` over MQTT, one strict router bound to a subscriber: (app, device, auth, agent)."""
    runtime = wall_clock(committed, device_serve_mqtt=True)
    agent = counting(devices_for(UspConfig(), 1, strict=True)[0])
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
        _subject, token = add_subscriber(session, runtime)
    auth = bearer(token)
    async with served(runtime, mqtt_url=f"mqtt://127.0.0.1:{broker}") as app:
        transport, _address = app.state.hub.controller.route(agent.endpoint_id)
        assert isinstance(transport, MqttTransport)
        await asyncio.wait_for(transport.connected.wait(), 10)
        async with fleet([agent], mqtt_options(app.config, broker), onboard=False):
            # The first contact provisions a last will: the agent reconnects to apply it.
            await until(lambda: agent.sessions >= 2 and _subscribed(agent), timeout=30)
            bound = await app.http.post(
                f"{PREFIX}/bindings", json={"claim_code": agent.claim_code}, headers=auth
            )
            assert bound.status_code == 201, bound.text
            yield app, bound.json()["device_id"], auth, agent


async def _until_done(http: httpx.AsyncClient, url: str, auth: dict[str, str]) -> dict[str, Any]:
    for _ in range(300):
        answer = await http.get(url, headers=auth)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["finished_at"] is not None:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"the run never ended: {body}")


def test_a_subscriber_pings_a_host_and_tests_the_download_speed_of_their_router(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with _owned(committed, broker) as (app, device, auth, _agent):
            url = f"{PREFIX}/{device}/diagnostics"
            ping = await app.http.post(
                url,
                json={"kind": "ping", "host": "example.org"},
                headers={**auth, "Prefer": "wait=20"},
            )
            assert ping.status_code == 200, ping.text
            assert ping.headers["preference-applied"] == "wait=20"
            body = ping.json()
            assert (body["kind"], body["state"], body["ground"], body["asked_by"]) == (
                "ping", "succeeded", "owner", "subscriber"
            )  # fmt: skip
            result = body["result"]
            assert (result["status"], result["sent"], result["received"]) == ("Complete", 4, 4)
            assert 0 < result["minimum_ms"] <= result["average_ms"] <= result["maximum_ms"]
            assert body["stored"] is True and body["host"] == "example.org"
            assert ping.headers["location"] == f"{url}/{body['run_id']}"

            speed = await app.http.post(url, json={"kind": "download"}, headers=auth)
            assert speed.status_code == 202, speed.text
            assert speed.json()["state"] in {"queued", "running"}
            done = await _until_done(app.http, speed.headers["location"], auth)
            assert done["state"] == "succeeded" and done["host"] is None
            measured = done["result"]
            assert measured["status"] == "Complete" and measured["bytes"] == 100_000_000
            assert 50 < measured["mbps"] < 1000 and measured["seconds"] > 0

            listed = (await app.http.get(url, headers=auth)).json()["runs"]
            assert [r["kind"] for r in listed] == ["download", "ping"]
            # The device was asked under device.diagnostics, once per run.
            ended = _scalar(
                committed,
                "SELECT count(*) FROM device_operations WHERE kind = 'diagnostic' "
                "AND state = 'succeeded' AND purpose = 'device.diagnostics'",
            )
            assert ended == 2

    run(scenario(), timeout=120)
    assert _scalar(committed, "SELECT count(*) FROM diagnostic_runs WHERE result IS NOT NULL") == 2


def test_a_trace_route_reaches_the_waiting_app_and_is_stored_nowhere(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with _owned(committed, broker) as (app, device, auth, _agent):
            url = f"{PREFIX}/{device}/diagnostics"
            waited = await app.http.post(
                url,
                json={"kind": "traceroute", "host": CANARY},
                headers={**auth, "Prefer": "wait=20"},
            )
            assert waited.status_code == 200, waited.text
            body = waited.json()
            assert body["stored"] is False and body["state"] == "succeeded"
            hops = body["result"]["hops"]
            assert hops and hops[-1]["host"] == CANARY and hops[0]["address"] == "100.64.0.1"
            # Read again: the state and times are kept, the route and the host are not.
            again = (await app.http.get(waited.headers["location"], headers=auth)).json()
            assert (again["state"], again["result"], again["host"]) == ("succeeded", None, None)
            # Nobody waiting: the result is never seen by anyone.
            unseen = await app.http.post(
                url, json={"kind": "traceroute", "host": CANARY}, headers=auth
            )
            assert unseen.status_code == 202
            late = await _until_done(app.http, unseen.headers["location"], auth)
            assert (late["state"], late["result"]) == ("succeeded", None)

    run(scenario(), timeout=120)
    assert CANARY not in dump_database(committed)


def test_bad_input_is_a_problem_and_nothing_is_stored_or_queued(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with _owned(committed, broker) as (app, device, auth, _agent):
            url = f"{PREFIX}/{device}/diagnostics"
            for bad in (
                {"kind": "ping", "host": "example .org"},
                {"kind": "ping", "host": "example.org; reboot"},
                {"kind": "whois", "host": "example.org"},
                {"kind": "ping"},
                {"kind": "upload", "host": "example.org"},
                {"kind": "ping", "host": "example.org", "count": 50},
            ):
                answer = await app.http.post(url, json=bad, headers=auth)
                assert answer.status_code == 422, (bad, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"
            other = await app.http.post(
                f"{PREFIX}/00000000-0000-4000-8000-000000000000/diagnostics",
                json={"kind": "ping", "host": "example.org"},
                headers=auth,
            )
            assert other.status_code == 404

    run(scenario(), timeout=90)
    assert _scalar(committed, "SELECT count(*) FROM diagnostic_runs") == 0
    assert _scalar(committed, "SELECT count(*) FROM device_operations") == 0


def test_a_result_lost_on_the_way_fails_the_run_and_the_command_is_not_sent_again(
    committed: Runtime, broker: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(diagnostics_handler, "GRACE_SECONDS", 1)
    sent = CountingAgent.deliver

    def lose_results(self: CountingAgent, notif_type: str, *args: Any) -> None:
        """The device's OperationComplete never arrives (a broker restart, say)."""
        if notif_type != "OperationComplete":
            sent(self, notif_type, *args)

    async def scenario() -> None:
        async with _owned(committed, broker) as (app, device, auth, agent):
            monkeypatch.setattr(CountingAgent, "deliver", lose_results)
            url = f"{PREFIX}/{device}/diagnostics"
            body = {"kind": "ping", "host": "example.org"}
            started = await app.http.post(url, json=body, headers=auth)
            assert started.status_code == 202
            done = await _until_done(app.http, started.headers["location"], auth)
            assert (done["state"], done["reason"], done["result"]) == (
                "failed", "device_timeout", None
            )  # fmt: skip
            assert agent.commands.count("IPPing()") == 1

    run(scenario(), timeout=90)
    fault = _scalar(committed, "SELECT fault FROM device_operations WHERE kind = 'diagnostic'")
    assert fault == diagnostics_handler.LOST
