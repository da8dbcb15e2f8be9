"""The fleet API's device list (filters, keyset pages, withheld values), technical view and tags."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.devices.fleet.operations import OperationKind, OriginKind, queue_operations
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
from tests.devices.fleet_rows import add_devices, bind, restrict

__all__ = ["client", "settings"]
DEVICES = f"{FLEET}/devices"


def test_support_pages_through_a_filtered_fleet_by_keyset(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    r9 = add_devices(db, 55, now=clock.now(), model="Router Nine", firmware="1.9")
    add_devices(db, 4, now=clock.now(), model="Router Nine", firmware="1.10")
    add_devices(db, 3, now=clock.now(), model="Gate Two", firmware="1.0", product="gateway")
    signed_in(client, db, clock, "support")
    first = client.get(DEVICES, params={"model": "Router Nine", "firmware_below": "1.10"})
    assert first.status_code == 200, first.text
    page = first.json()
    assert (page["count"], page["count_capped"]) == (55, False)
    assert [row["device_id"] for row in page["devices"]] == [str(d) for d in r9[:50]]
    assert page["devices"][0] == {
        "device_id": str(r9[0]),
        "product_type": "router",
        "online": True,
        "tags": [],
        "model": "Router Nine",
        "firmware_version": "1.9",
        "withheld": False,
    }
    assert page["next_after"] == str(r9[49])
    second = client.get(
        DEVICES,
        params={"model": "Router Nine", "firmware_below": "1.10", "after": page["next_after"]},
    ).json()
    assert [row["device_id"] for row in second["devices"]] == [str(d) for d in r9[50:]]
    assert (second["next_after"], second["count"]) == (None, None)  # counted on page 1 only
    small = client.get(DEVICES, params={"product_type": "gateway", "limit": 2}).json()
    assert len(small["devices"]) == 2 and small["count"] == 3 and small["next_after"]
    listed = audited(db, "devices.fleet_listed")
    assert len(listed) == 3 and {r["purpose"] for r in listed} == {"device.maintenance"}
    assert listed[0]["details"]["criteria"] == "model:firmware_below"
    # a row never carries the serial number or the endpoint id the record holds
    assert "SN" not in first.text and "os::" not in first.text


def test_a_bad_filter_is_a_problem_naming_each_field_and_rule(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    signed_in(client, db, clock)
    bad = client.get(
        DEVICES, params={"firmware_min": "beta", "product_type": "fridge", "tag": "Trial"}
    )
    body = problem(bad, 422, "invalid-input")
    assert rules(body) == {
        ("firmware_min", "version"),
        ("product_type", "product_type"),
        ("tags", "tag"),
    }
    problem(client.get(DEVICES, params={"limit": 501}), 422, "invalid-input")
    problem(client.get(DEVICES, params={"after": "not-an-id"}), 422, "invalid-input")
    assert audited(db, "devices.fleet_listed") == []  # nothing was read


def test_model_and_firmware_are_withheld_for_a_restriction_and_from_admin(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    devices = add_devices(db, 3, now=clock.now(), model="R9", firmware="2.0")
    owner = bind(db, devices[1], now=clock.now())
    restrict(db, owner, "device.maintenance", now=clock.now())
    signed_in(client, db, clock, "support")
    rows = client.get(DEVICES).json()["devices"]
    assert [(r["model"], r["withheld"]) for r in rows] == [
        ("R9", False),
        (None, True),
        ("R9", False),
    ]
    view = client.get(f"{DEVICES}/{devices[1]}").json()
    assert (view["model"], view["firmware_version"], view["withheld"]) == (None, None, True)
    assert view["bound"] is True
    signed_in(client, db, clock, "admin")  # admin reads no subscriber data
    rows = client.get(DEVICES).json()["devices"]
    assert {(r["model"], r["firmware_version"], r["withheld"]) for r in rows} == {
        (None, None, True)
    }
    assert client.get(f"{DEVICES}/{devices[0]}").json()["withheld"] is True


def test_the_technical_view_shows_the_unit_its_tags_and_operations_and_nothing_personal(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    (device,) = add_devices(db, 1, now=clock.now(), model="R9", firmware="2.0")
    queue_operations(
        db,
        [device],
        OperationKind.REBOOT,
        {},
        purpose="device.maintenance",
        actor="system:tests",
        origin_kind=OriginKind.SINGLE,
        origin_id=uuid.uuid4(),
        clock=clock,
    )
    signed_in(client, db, clock, "support")
    assert client.post(f"{FLEET}/tags/batch-7/add", json={"device_ids": [str(device)]}).is_success
    answer = client.get(f"{DEVICES}/{device}")
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert {key: view[key] for key in ("registered", "bound", "product_type", "mtp")} == {
        "registered": True,
        "bound": False,
        "product_type": "router",
        "mtp": "mqtt",
    }
    assert (view["model"], view["firmware_version"], view["withheld"]) == ("R9", "2.0", False)
    assert view["tags"] == ["batch-7"]
    (op,) = view["operations"]
    assert (op["kind"], op["state"], op["origin_kind"]) == ("reboot", "queued", "single")
    for personal in ("serial_number", "mac_address", "ip_address", "endpoint_id", "last_seen"):
        assert personal not in view
    assert f"SN{device.hex[:10]}" not in answer.text and "os::test" not in answer.text
    (seen,) = audited(db, "devices.fleet_device_viewed")
    assert seen["purpose"] == "device.maintenance"
    assert seen["details"] == {"device": str(device), "withheld": False}
    provisioned_only = uuid.UUID(int=0)
    problem(client.get(f"{DEVICES}/{provisioned_only}"), 404, "not-found")
    problem(client.get(f"{DEVICES}/not-an-id"), 422, "invalid-input")


def test_tags_label_devices_list_their_counts_and_a_bad_tag_changes_nothing(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    devices = add_devices(db, 3, now=clock.now())
    signed_in(client, db, clock)
    ids = [str(d) for d in devices[:2]] + [str(uuid.uuid4())]
    added = client.post(f"{FLEET}/tags/trial.fw21/add", json={"device_ids": ids})
    assert added.status_code == 200, added.text
    assert added.json() == {"tag": "trial.fw21", "changed": 2, "unchanged": 0, "unknown": 1}
    assert client.get(f"{FLEET}/tags").json() == {"tags": [{"tag": "trial.fw21", "devices": 2}]}
    tagged = client.get(DEVICES, params={"tag": "trial.fw21"}).json()
    assert [row["device_id"] for row in tagged["devices"]] == ids[:2]
    removed = client.post(f"{FLEET}/tags/trial.fw21/remove", json={"device_ids": ids[:1]})
    assert removed.json()["changed"] == 1
    assert count(db, "device_tags") == 1
    for tag in ("Trial", "02-00-5e-10-00-01"):  # capitals; a MAC address is no tag
        refused = client.post(f"{FLEET}/tags/{tag}/add", json={"device_ids": ids})
        assert rules(problem(refused, 422, "invalid-input")) == {("tag", "tag")}
    empty = client.post(f"{FLEET}/tags/trial/add", json={"device_ids": []})
    problem(empty, 422, "invalid-input")
    assert count(db, "device_tags") == 1
    assert len(audited(db, "devices.tagged")) == 1
