"""Removing a subscriber's settings from the router itself, end to end (decision 0042).

Real Mosquitto, the executor of ``doorstep controller`` and simulated routers; every
assertion about the router reads the simulator's own state (``agent.model.values``),
never Doorstep's idea of it.  The unbind goes through the app API.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from doorstep.core.settings.wipe import WipeMode
from doorstep.devices.fleet.wipe_models import DeviceWipe, WipeState, WipeTrigger
from doorstep.devices.fleet.wipe_origin import confirm
from doorstep.devices.fleet.wipe_plan import neutral_ssid
from doorstep.devices.fleet.wipes import mark_device
from doorstep.devices.models import Device
from doorstep.services import services_for
from doorstep.usp.agent_sim import SimAgent, make_agents
from doorstep.usp.claims import display_claim_code
from doorstep.usp.config import UspConfig
from tests.devices.conftest import PREFIX, add_subscriber, bearer, device_id_of, provision
from tests.fleet.conftest import controller, online, wall_clock
from tests.fleet.test_firmware_update import TIMING
from tests.usp_net.conftest import needs_mosquitto, net_config, run
from tests.usp_net.helpers import fleet, mqtt_options, until

PPP = "Device.PPP.Interface.1."
HOSTS = "Device.Hosts.Host."
SUBSCRIBERS_KEY = "the-subscribers-own-key"


def _router(config: UspConfig, **profile: Any) -> SimAgent:
    """A simulated router holding its owner's settings (a Wi-Fi key of theirs too)."""
    made = make_agents(1, controller_id=config.controller_id, timing=TIMING)[0]
    agent = SimAgent(
        dataclasses.replace(made.profile, **profile),
        controller_id=made.controller_id,
        secret=made.secret,
        claim_code=made.claim_code,
        timing=made.timing,
    )
    for index in (1, 2):
        agent.model.values[f"Device.WiFi.AccessPoint.{index}.Security.KeyPassphrase"] = (
            SUBSCRIBERS_KEY
        )
    agent.model.values[PPP + "Password"] = "the-subscribers-ppp-password"
    return agent


def _ssid(runtime: Runtime, agent: SimAgent) -> str:
    with runtime.sessions() as session:
        device = session.get(Device, device_id_of(session, runtime, agent))
        assert device is not None
        return neutral_ssid(runtime.settings.wipe_ssid_prefix, device.endpoint_key)


def _wipe(runtime: Runtime, wipe_id: uuid.UUID) -> DeviceWipe:
    with runtime.sessions() as session:
        found = session.get(DeviceWipe, wipe_id)
        assert found is not None
        session.expunge(found)
        return found


async def _ended(runtime: Runtime, wipe_id: uuid.UUID, timeout: float = 60) -> DeviceWipe:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        wipe = await asyncio.to_thread(_wipe, runtime, wipe_id)
        if wipe.state is not WipeState.PENDING:
            return wipe
        assert loop.time() < deadline, f"the removal is still pending: {wipe.parts}"
        await asyncio.sleep(0.1)


def _actions(runtime: Runtime, wipe_id: uuid.UUID) -> list[str]:
    query = sa.text("SELECT action FROM audit_events WHERE details->>'wipe_id' = :w ORDER BY id")
    with runtime.engine.connect() as connection:
        return list(connection.execute(query, {"w": str(wipe_id)}).scalars())


def _confirmation(
    runtime: Runtime, wipe_id: uuid.UUID, subject: uuid.UUID
) -> tuple[str, dict[str, str]]:
    """Run the confirmation job's work; the template and parameters it queued."""
    with runtime.sessions.begin() as session:
        assert confirm(session, services_for(runtime).gate, wipe_id, clock=runtime.clock)
    query = sa.text("SELECT template, params FROM outbox WHERE subject_id = :s")
    with runtime.engine.connect() as connection:
        (row,) = connection.execute(query, {"s": subject}).all()
    return str(row.template), dict(row.params)


@contextmanager
def _api(runtime: Runtime) -> Iterator[httpx.AsyncClient]:
    app = create_app(runtime)
    yield httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


def _assert_cleared(agent: SimAgent, ssid: str) -> None:
    values = agent.model.values
    assert values[PPP + "Username"] == "" and values[PPP + "Password"] == ""
    for index in (1, 2):
        assert values[f"Device.WiFi.SSID.{index}.SSID"] == ssid
        key = values[f"Device.WiFi.AccessPoint.{index}.Security.KeyPassphrase"]
        assert key != SUBSCRIBERS_KEY and len(key) >= 20


@needs_mosquitto
def test_unbinding_with_the_wipe_clears_pppoe_wifi_and_hosts_on_the_router(
    committed: Runtime, broker: int
) -> None:
    runtime = wall_clock(committed)
    config = net_config(broker)
    agent = _router(config, deletable=(HOSTS,))
    assert any(path.startswith(HOSTS) for path in agent.model.values)
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
        subject, token = add_subscriber(session, runtime)

    async def scenario() -> uuid.UUID:
        with _api(runtime) as api:
            bound = await api.post(
                f"{PREFIX}/bindings",
                json={"claim_code": display_claim_code(agent.claim_code)},
                headers=bearer(token),
            )
            assert bound.status_code == 201, bound.text
            device = bound.json()["device_id"]
            async with controller(runtime, config), fleet([agent], mqtt_options(config, broker)):
                await until(lambda: online(runtime, agent) and agent.sessions >= 2, timeout=30)
                answer = await api.delete(
                    f"{PREFIX}/{device}/binding",
                    params={"wipe_settings": "true"},
                    headers=bearer(token),
                )
                assert answer.status_code == 202, answer.text
                body = answer.json()
                assert body["state"] == "pending" and body["trigger"] == "unbind"
                wipe_id = uuid.UUID(body["wipe_id"])
                ended = await _ended(runtime, wipe_id)
                assert ended.state is WipeState.SUCCEEDED, (ended.reason, ended.parts)
                mine = await api.get(f"{PREFIX}/wipes/{wipe_id}", headers=bearer(token))
                assert mine.json()["parts"] == {"pppoe": "done", "wifi": "done", "hosts": "done"}
            # no longer the owner: the device is gone from my list, the removal is mine still
            listed = await api.get(PREFIX, headers=bearer(token))
            assert listed.json()["devices"] == []
            return wipe_id

    wipe_id = run(scenario())
    _assert_cleared(agent, _ssid(runtime, agent))
    values = agent.model.values
    assert not any(path.startswith(HOSTS) for path in values)
    assert values["Device.Hosts.HostNumberOfEntries"] == "0"
    wipe = _wipe(runtime, wipe_id)
    assert (wipe.subject_id, wipe.trigger, wipe.mode) == (
        subject,
        WipeTrigger.UNBIND,
        WipeMode.PARAMETERS,
    )
    assert wipe.parts == {"pppoe": "done", "wifi": "done", "hosts": "done"}
    assert _actions(runtime, wipe_id) == ["devices.wipe_requested", "devices.wipe_done"]
    template, params = _confirmation(runtime, wipe_id, subject)
    assert template == "device.settings_removed"
    assert params["removed"] == wipe.requested_at.date().isoformat()
    assert "were removed" in params["outcome"]
    # the neutral name says nothing of the unit: no serial number, no endpoint id
    assert agent.profile.serial_number not in values["Device.WiFi.SSID.1.SSID"]


@needs_mosquitto
def test_a_resold_router_is_always_cleared_and_its_binding_ends(
    committed: Runtime, broker: int
) -> None:
    runtime = wall_clock(committed)
    config = net_config(broker)
    agent = _router(config, deletable=(HOSTS,))
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
        subject, _token = add_subscriber(session, runtime)
        device_id = device_id_of(session, runtime, agent)
        session.execute(
            sa.text(
                "INSERT INTO device_bindings (id, device_id, subject_id, method, bound_at) "
                "VALUES (:id, :d, :s, 'manual', :at)"
            ),
            {"id": uuid.uuid4(), "d": device_id, "s": subject, "at": runtime.clock.now()},
        )

    async def scenario() -> uuid.UUID:
        async with controller(runtime, config), fleet([agent], mqtt_options(config, broker)):
            await until(lambda: online(runtime, agent) and agent.sessions >= 2, timeout=30)
            with runtime.sessions.begin() as session:
                marked = mark_device(
                    session,
                    device_id,
                    WipeTrigger.RESOLD,
                    wipe=False,  # a resale removes all the same
                    actor="staff:" + str(uuid.uuid4()),
                    settings=runtime.settings,
                    clock=runtime.clock,
                )
                assert marked.binding_ended and marked.wipe is not None
                wipe_id = marked.wipe.id
            ended = await _ended(runtime, wipe_id)
            assert ended.state is WipeState.SUCCEEDED, (ended.reason, ended.parts)
            return wipe_id

    wipe_id = run(scenario())
    _assert_cleared(agent, _ssid(runtime, agent))
    with runtime.engine.connect() as connection:
        reason = connection.execute(
            sa.text("SELECT end_reason FROM device_bindings WHERE device_id = :d"),
            {"d": device_id},
        ).scalar_one()
    assert reason == "resold"
    wipe = _wipe(runtime, wipe_id)
    assert (wipe.subject_id, wipe.trigger) == (subject, WipeTrigger.RESOLD)
    assert wipe.requested_by.startswith("staff:")


@needs_mosquitto
def test_an_offline_router_is_cleared_when_it_comes_back_and_a_model_without_host_delete_says_so(
    committed: Runtime, broker: int
) -> None:
    runtime = wall_clock(committed)
    config = net_config(broker)
    agent = _router(config)  # TR-181's read-only host table: no Delete
    hosts = {path: value for path, value in agent.model.values.items() if path.startswith(HOSTS)}
    assert hosts
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
        device_id = device_id_of(session, runtime, agent)
        marked = mark_device(
            session,
            device_id,
            WipeTrigger.RETURNED,
            wipe=True,
            actor="system:cli",
            settings=runtime.settings,
            clock=runtime.clock,
        )
        assert marked.wipe is not None and not marked.binding_ended
        wipe_id = marked.wipe.id

    async def scenario() -> None:
        async with controller(runtime, config):
            await asyncio.sleep(1.5)  # the executor looks, and leaves it queued: nobody online
            assert (await asyncio.to_thread(_wipe, runtime, wipe_id)).state is WipeState.PENDING
            async with fleet([agent], mqtt_options(config, broker)):
                ended = await _ended(runtime, wipe_id)
                assert ended.state is WipeState.SUCCEEDED, (ended.reason, ended.parts)

    run(scenario())
    _assert_cleared(agent, _ssid(runtime, agent))
    # the model does not let a controller delete its host entries: they stay, and it says so
    assert {p: v for p, v in agent.model.values.items() if p.startswith(HOSTS)} == hosts
    wipe = _wipe(runtime, wipe_id)
    assert wipe.parts == {"pppoe": "done", "wifi": "done", "hosts": "not_supported"}
    assert wipe.subject_id is None  # it was bound to nobody


@needs_mosquitto
def test_the_factory_reset_mode_resets_the_router(committed: Runtime, broker: int) -> None:
    runtime = wall_clock(committed, wipe_mode=WipeMode.FACTORY_RESET)
    config = net_config(broker)
    agent = _router(config)
    agent.model.values[PPP + "Username"] = "set-by-the-subscriber"
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
        device_id = device_id_of(session, runtime, agent)

    async def scenario() -> uuid.UUID:
        async with controller(runtime, config), fleet([agent], mqtt_options(config, broker)):
            await until(lambda: online(runtime, agent) and agent.sessions >= 2, timeout=30)
            sessions = agent.sessions
            with runtime.sessions.begin() as session:
                marked = mark_device(
                    session,
                    device_id,
                    WipeTrigger.RESOLD,
                    wipe=True,
                    actor="system:cli",
                    settings=runtime.settings,
                    clock=runtime.clock,
                )
                assert marked.wipe is not None
                wipe_id = marked.wipe.id
            ended = await _ended(runtime, wipe_id)
            assert ended.state is WipeState.SUCCEEDED, (ended.reason, ended.parts)
            assert agent.sessions > sessions  # it rebooted
            return wipe_id

    wipe_id = run(scenario())
    values = agent.model.values
    assert values[PPP + "Username"] == agent.profile.ppp_username  # its factory value
    assert values["Device.WiFi.AccessPoint.1.Security.KeyPassphrase"] == ""
    wipe = _wipe(runtime, wipe_id)
    assert wipe.mode is WipeMode.FACTORY_RESET
    assert wipe.parts == {"pppoe": "done", "wifi": "done", "hosts": "done"}


class WanOverPppoe(SimAgent):
    """A router whose WAN runs over PPPoE: it answers the Set that empties its credentials,
    then nothing more reaches it, and it drops off the net."""

    dark = False

    def answer(self, msg: Any, send: Any) -> Any:
        if self.dark:
            return None
        reply = super().answer(msg, send)
        settings = getattr(msg.body, "update_objs", ())
        if any(o.obj_path == PPP and o.param_settings for o in settings):
            self.dark = True
            asyncio.get_running_loop().call_later(0.5, self.power_off)
        return reply


@needs_mosquitto
def test_a_router_that_drops_off_with_its_pppoe_is_confirmed_by_its_answer(
    committed: Runtime, broker: int
) -> None:
    runtime = wall_clock(committed)
    config = net_config(broker)
    plain = _router(config)
    agent = WanOverPppoe(
        plain.profile,
        controller_id=plain.controller_id,
        secret=plain.secret,
        claim_code=plain.claim_code,
        timing=plain.timing,
    )
    agent.model.values.update(plain.model.values)
    with runtime.sessions.begin() as session:
        provision(session, runtime, [agent])
        device_id = device_id_of(session, runtime, agent)

    async def scenario() -> uuid.UUID:
        async with controller(runtime, config), fleet([agent], mqtt_options(config, broker)):
            await until(lambda: online(runtime, agent) and agent.sessions >= 2, timeout=30)
            with runtime.sessions.begin() as session:
                marked = mark_device(
                    session,
                    device_id,
                    WipeTrigger.RETURNED,
                    wipe=True,
                    actor="system:cli",
                    settings=runtime.settings,
                    clock=runtime.clock,
                )
                assert marked.wipe is not None
                wipe_id = marked.wipe.id
            ended = await _ended(runtime, wipe_id)
            assert ended.state is WipeState.SUCCEEDED, (ended.reason, ended.parts)
            assert not agent.powered.is_set()  # it went dark after answering
            return wipe_id

    wipe_id = run(scenario())
    _assert_cleared(agent, _ssid(runtime, agent))
    with runtime.engine.connect() as connection:
        result = connection.execute(
            sa.text("SELECT result FROM device_operations WHERE origin_id = :w"), {"w": wipe_id}
        ).scalar_one()
    assert result["pppoe_confirmed_by"] == "set_answer"
