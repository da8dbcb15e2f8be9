"""The fleet API for real: Mosquitto, strict simulated agents, the controller's fleet executor.

The rig (:func:`tests.devices.rollout_net.rig`) runs the agents, ``doorstep
controller``'s parts with the executor and the worker's fleet sweep in the test's event
loop; the app (``create_app``) answers the staff's requests in the same loop through
httpx's ASGI transport, on the same committed database.  Each test checks both sides:
what the API answers and what the devices did.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet import bulk_progress  # noqa: F401  (registers origin "bulk")
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from tests.devices.fleet_api_support import FLEET
from tests.devices.rollout_net import Rig, add_image, rig, versions
from tests.usp_net.conftest import broker, needs_mosquitto, run

__all__ = ["broker"]


@asynccontextmanager
async def staff_api(made: Rig) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the rig's database, signed in as a new support staff member."""
    with made.runtime.sessions.begin() as session:
        staff = add_staff(session, role="support", clock=made.clock)
        link = issue_link(session, staff.id, clock=made.clock)
    transport = httpx.ASGITransport(app=create_app(made.runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://doorstep.test") as api:
        made_session = await api.post("/api/v1/console/sessions", json={"token": link})
        assert made_session.status_code == 201, made_session.text
        api.headers["Authorization"] = f"Bearer {made_session.json()['access_token']}"
        yield api


async def _until(
    api: httpx.AsyncClient, path: str, done: Any, timeout: float = 60
) -> dict[str, Any]:
    """GET ``path`` until ``done(body)`` holds; the last body."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        answer = await api.get(path)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if done(body):
            return body
        assert asyncio.get_running_loop().time() < deadline, f"stuck: {body}"
        await asyncio.sleep(0.1)


@needs_mosquitto
def test_a_bulk_reboot_started_through_the_api_reboots_each_device_once(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with rig(committed, broker, 6) as made, staff_api(made) as api:
            before = [agent.sessions for agent in made.agents]
            ids = [str(d) for d in made.device_ids]
            tagged = await api.post(f"{FLEET}/tags/apitest/add", json={"device_ids": ids})
            assert tagged.json()["changed"] == 6
            group = await api.post(
                f"{FLEET}/groups", json={"name": "api test", "filter": {"tags": ["apitest"]}}
            )
            started = await api.post(
                f"{FLEET}/bulk-actions",
                json={"kind": "reboot", "group_id": group.json()["id"], "max_in_flight": 2},
            )
            assert started.status_code == 201, started.text
            action = started.json()
            assert (action["total"], action["queued"]) == (6, 2)
            path = f"{FLEET}/bulk-actions/{action['id']}"
            ended = await _until(api, path, lambda body: body["state"] != "running")
            assert (ended["state"], ended["succeeded"], ended["failed"]) == ("finished", 6, 0)
            results = (await api.get(f"{path}/results")).json()["results"]
            assert [r["device_id"] for r in results] == ids
            assert {r["state"] for r in results} == {"succeeded"}
            after = [agent.sessions for agent in made.agents]
            assert [b - a for a, b in zip(before, after, strict=True)] == [1] * 6

    run(scenario())


@needs_mosquitto
def test_a_single_update_and_a_rollout_through_the_api_reach_the_devices(
    committed: Runtime, broker: int
) -> None:
    async def scenario() -> None:
        async with rig(committed, broker, 4) as made, staff_api(made) as api:
            image_id = await asyncio.to_thread(add_image, made.runtime, version="3.0.0")
            first = made.device_ids[0]
            queued = await api.post(
                f"{FLEET}/devices/{first}/firmware-update", json={"image_id": str(image_id)}
            )
            assert queued.status_code == 202, queued.text
            op = await _until(
                api,
                f"{FLEET}/operations/{queued.json()['id']}",
                lambda body: body["state"] in ("succeeded", "failed", "cancelled"),
            )
            assert op["state"] == "succeeded", op
            view = (await api.get(f"{FLEET}/devices/{first}")).json()
            assert view["firmware_version"] == "3.0.0"  # confirmed by the device itself
            assert view["operations"][0]["id"] == op["id"]

            made_rollout = await api.post(
                f"{FLEET}/rollouts",
                json={
                    "name": "api rollout",
                    "image_id": str(image_id),
                    "device_ids": [str(d) for d in made.device_ids],
                    "canary_count": 1,
                    "start": True,
                },
            )
            assert made_rollout.status_code == 201, made_rollout.text
            rollout = made_rollout.json()
            assert rollout["excluded"] == 0 and rollout["counts"]["size"] == 4
            ended = await _until(
                api,
                f"{FLEET}/rollouts/{rollout['id']}",
                lambda body: body["state"] == "finished" and not body["counts"]["in_flight"],
            )
            counts = ended["counts"]
            # the device updated alone is already current: succeeded without a new install
            assert (counts["succeeded"], counts["failed"], counts["percent_done"]) == (4, 0, 100)
            assert versions(made.agents) == ["3.0.0"] * 4

    run(scenario())
