"""The fleet API's device groups: save, list with counts, show, page members, delete."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from tests.devices.fleet_api_support import (
    FLEET,
    audited,
    client,
    count,
    problem,
    rules,
    settings,
    signed_in,
)
from tests.devices.fleet_rows import add_devices

__all__ = ["client", "settings"]
GROUPS = f"{FLEET}/groups"


def test_support_saves_a_group_lists_it_pages_its_members_and_deletes_it(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    old = add_devices(db, 7, now=clock.now(), model="R9", firmware="1.9")
    add_devices(db, 2, now=clock.now(), model="R9", firmware="1.10")
    signed_in(client, db, clock)
    body = {"name": "old R9", "filter": {"model": "R9", "firmware_below": "1.10"}}
    made = client.post(GROUPS, json=body)
    assert made.status_code == 201, made.text
    group = made.json()
    assert group["name"] == "old R9"
    assert group["filter"] == {
        "model": "R9",
        "firmware": None,
        "firmware_min": None,
        "firmware_below": "1.10",
        "product_type": None,
        "online": None,
        "tags": None,
    }
    assert (group["devices"], group["devices_capped"]) == (7, False)
    assert group["created_by"].startswith("staff:")
    assert client.get(GROUPS).json() == {"groups": [group]}
    assert client.get(f"{GROUPS}/{group['id']}").json() == group
    first = client.get(f"{GROUPS}/{group['id']}/devices", params={"limit": 5}).json()
    assert [row["device_id"] for row in first["devices"]] == [str(d) for d in old[:5]]
    assert first["count"] == 7
    rest = client.get(
        f"{GROUPS}/{group['id']}/devices", params={"after": first["next_after"]}
    ).json()
    assert [row["device_id"] for row in rest["devices"]] == [str(d) for d in old[5:]]
    assert rest["next_after"] is None
    (created,) = audited(db, "devices.group_created")
    assert created["details"]["group"] == group["id"]
    deleted = client.delete(f"{GROUPS}/{group['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert count(db, "device_groups") == 0
    assert len(audited(db, "devices.group_deleted")) == 1
    for path in (f"{GROUPS}/{group['id']}", f"{GROUPS}/{group['id']}/devices"):
        problem(client.get(path), 404, "not-found")
    problem(client.delete(f"{GROUPS}/{group['id']}"), 404, "not-found")


def test_a_group_of_a_tag_is_a_fixed_set_and_the_whole_fleet_is_a_group_too(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    devices = add_devices(db, 4, now=clock.now())
    signed_in(client, db, clock)
    client.post(f"{FLEET}/tags/ticket.42/add", json={"device_ids": [str(devices[2])]})
    tagged = client.post(GROUPS, json={"name": "ticket 42", "filter": {"tags": ["ticket.42"]}})
    assert tagged.json()["devices"] == 1
    everything = client.post(GROUPS, json={"name": "everything"})
    assert everything.status_code == 201 and everything.json()["devices"] == 4
    names = [g["name"] for g in client.get(GROUPS).json()["groups"]]
    assert names == ["everything", "ticket 42"]


def test_a_bad_group_is_a_problem_and_nothing_is_stored(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    signed_in(client, db, clock)
    cases = [
        ({"name": ""}, ("name", "group_name")),
        ({"name": "x" * 81}, ("name", "group_name")),
        ({"name": "tab\there"}, ("name", "group_name")),
        ({"name": "g", "filter": {"firmware_min": "beta"}}, ("firmware_min", "version")),
        ({"name": "g", "filter": {"tags": ["Trial"]}}, ("tags", "tag")),
        ({"name": "g", "filter": {"colour": "red"}}, ("filter.colour", "extra_forbidden")),
        ({"name": "g", "filter": {"online": "maybe"}}, ("filter.online", "bool_parsing")),
        ({"filter": {}}, ("name", "missing")),
    ]
    for body, broken in cases:
        refused = client.post(GROUPS, json=body)
        assert broken in rules(problem(refused, 422, "invalid-input")), (body, refused.text)
    assert client.post(GROUPS, json={"name": "trial"}).status_code == 201
    taken = client.post(GROUPS, json={"name": "trial", "filter": {"model": "R9"}})
    assert problem(taken, 409, "conflict")["reason"] == "name_taken"
    assert count(db, "device_groups") == 1
    assert len(audited(db, "devices.group_created")) == 1
    problem(client.get(f"{GROUPS}/{uuid.uuid4()}"), 404, "not-found")
