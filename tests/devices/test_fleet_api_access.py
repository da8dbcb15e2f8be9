"""Who may call the fleet API: every route needs a console session allowed ``manage_fleet``."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.fleet_api import bulk, devices, groups, images, rollouts
from doorstep.fleet_api.api import PREFIX
from tests.accounts.conftest import bearer
from tests.devices.fleet_api_support import (
    FLEET,
    audited,
    client,
    count,
    problem,
    settings,
    staff_token,
)
from tests.devices.fleet_rows import add_devices

__all__ = ["client", "settings"]
_PARAMETER = re.compile(r"\{(\w+)\}")
#: Every table a fleet route writes to.
TABLES = (
    "firmware_images",
    "device_operations",
    "device_groups",
    "device_tags",
    "rollouts",
    "bulk_actions",
)


#: The id every path parameter takes: fixed, so that each worker of ``-n 2`` collects the
#: same test ids; no row has it.
_ABSENT = uuid.UUID("00000000-0000-4000-8000-00000000f1ee")


def _routes() -> list[tuple[str, str]]:
    """(method, concrete path) of every route of the fleet API."""
    found = []
    for part in (images, devices, groups, rollouts, bulk):
        for route in part.router.routes:
            assert isinstance(route, APIRoute)
            path = _PARAMETER.sub(
                lambda m: "trial" if m.group(1) == "tag" else str(_ABSENT), route.path
            )
            found.extend((method, PREFIX + path) for method in sorted(route.methods))
    return found


def test_every_route_is_under_the_console_prefix_and_there_are_all_of_them() -> None:
    routes = _routes()
    assert all(path.startswith(FLEET + "/") for _method, path in routes)
    assert len(routes) == 28


@pytest.mark.parametrize(("method", "path"), _routes())
def test_without_a_console_session_every_route_answers_401(
    client: TestClient, method: str, path: str
) -> None:
    body = {} if method == "POST" else None
    response = client.request(method, path, json=body)
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    subscriber_like = client.request(method, path, json=body, headers=bearer("dsa_" + "x" * 40))
    assert subscriber_like.status_code == 401


def test_a_privacy_officer_is_refused_everywhere_audited_and_nothing_changes(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    devices = add_devices(db, 2, now=clock.now(), model="R9")
    headers = bearer(staff_token(client, db, clock, "privacy_officer"))
    routes = _routes()
    for method, path in routes:
        response = client.request(
            method, path, json={} if method == "POST" else None, headers=headers
        )
        body = problem(response, 403, "staff-permission-denied")
        assert (body["action"], body["reason"]) == ("manage_fleet", "role_not_permitted")
    refusals = audited(db, "staff.manage_fleet", "refused")
    assert len(refusals) == len(routes)
    assert {r["details"]["reason"] for r in refusals} == {"role_not_permitted"}
    assert all(count(db, table) == 0 for table in TABLES)
    assert count(db, "audit_events", "action LIKE 'devices.%'") == 0
    # a body the route would refuse still gets the 403 first: the role is asked first
    tagged = client.post(
        f"{FLEET}/tags/trial/add", json={"device_ids": [str(devices[0])]}, headers=headers
    )
    problem(tagged, 403, "staff-permission-denied")
    assert count(db, "device_tags") == 0


def test_a_deactivated_support_member_is_refused(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    from doorstep.staff.services import deactivate_staff

    token = staff_token(client, db, clock, "support")
    assert client.get(f"{FLEET}/images", headers=bearer(token)).status_code == 200
    staff_id = client.get("/api/v1/console/me", headers=bearer(token)).json()["staff_id"]
    deactivate_staff(db, uuid.UUID(staff_id), clock=clock)
    db.flush()
    assert client.get(f"{FLEET}/images", headers=bearer(token)).status_code == 401
