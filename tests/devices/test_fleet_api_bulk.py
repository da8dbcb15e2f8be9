"""The fleet API's bulk actions: start, counts, per-device results, cancel, and refusals.

A parameter path outside the pack's ``bulk_parameters:`` allow-list (PPPoE, Wi-Fi,
Hosts) is refused as a problem naming the path and never the value, and nothing is
stored or queued.  The executor is played by hand (the final state, then the bulk
origin's callback); the bulk reboot through real agents is in ``test_fleet_api_agents.py``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.devices.fleet.bulk_progress import on_done
from doorstep.devices.fleet.operations import DeviceOperation, OperationState
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
BULK = f"{FLEET}/bulk-actions"
NTP = "Device.Time.NTPServer1"
SECRET = "hunter2-value-never-echoed"


def _ops(db: Session) -> list[DeviceOperation]:
    query = sa.select(DeviceOperation).order_by(DeviceOperation.device_id)
    return list(db.scalars(query.execution_options(populate_existing=True)))


def _group(client: TestClient, name: str, **criteria: Any) -> str:
    made = client.post(f"{FLEET}/groups", json={"name": name, "filter": criteria})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_support_reboots_a_group_in_throttled_batches_and_reads_each_result(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    devices = add_devices(db, 5, now=clock.now(), model="R9")
    add_devices(db, 2, now=clock.now(), model="Other")
    signed_in(client, db, clock)
    group_id = _group(client, "all R9", model="R9")
    started = client.post(BULK, json={"kind": "reboot", "group_id": group_id, "max_in_flight": 2})
    assert started.status_code == 201, started.text
    action = started.json()
    assert (action["kind"], action["state"], action["purpose"]) == (
        "reboot",
        "running",
        "device.maintenance",
    )
    assert (action["total"], action["queued"], action["open"]) == (5, 2, 0 + 2)
    assert action["group_id"] == group_id and action["filter"]["model"] == "R9"
    first = _ops(db)
    assert [op.device_id for op in first] == devices[:2]
    first[0].state, first[0].finished_at = OperationState.SUCCEEDED, clock.now()
    first[1].state, first[1].finished_at = OperationState.FAILED, clock.now()
    first[1].reason, first[1].usp_code = "device_error", 7002
    db.flush()
    on_done(db, first[0])
    on_done(db, first[1])
    shown = client.get(f"{BULK}/{action['id']}").json()
    assert (shown["queued"], shown["succeeded"], shown["failed"], shown["done"]) == (4, 1, 1, 2)
    page = client.get(f"{BULK}/{action['id']}/results", params={"limit": 3}).json()
    assert [r["device_id"] for r in page["results"]] == [str(d) for d in devices[:3]]
    assert page["results"][1] == {
        "device_id": str(devices[1]),
        "state": "failed",
        "reason": "device_error",
        "usp_code": 7002,
        "started_at": None,
        "finished_at": clock.now().isoformat().replace("+00:00", "Z"),
    }
    rest = client.get(f"{BULK}/{action['id']}/results", params={"after": page["next_after"]}).json()
    assert [r["device_id"] for r in rest["results"]] == [str(devices[3])]
    assert rest["next_after"] is None
    failed = client.get(f"{BULK}/{action['id']}/results", params={"state": "failed"}).json()
    assert [r["device_id"] for r in failed["results"]] == [str(devices[1])]
    cancelled = client.post(f"{BULK}/{action['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["state"], cancelled.json()["cancelled"]) == ("cancelled", 2)
    again = client.post(f"{BULK}/{action['id']}/cancel")
    assert problem(again, 409, "conflict")["reason"] == "cancelled"
    listed = client.get(BULK).json()["actions"]
    assert [(a["id"], a["state"]) for a in listed] == [(action["id"], "cancelled")]
    (event,) = audited(db, "devices.bulk_started")
    assert event["actor"].startswith("staff:") and event["details"]["devices"] == 5
    assert len(audited(db, "devices.bulk_cancelled")) == 1


def test_a_bulk_set_of_an_allowed_parameter_on_a_filter_queues_it(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    add_devices(db, 3, now=clock.now(), model="R9")
    signed_in(client, db, clock)
    started = client.post(
        BULK,
        json={
            "kind": "set_parameters",
            "filter": {"model": "R9"},
            "parameters": {NTP: "ntp.example.net"},
        },
    )
    assert started.status_code == 201, started.text
    assert started.json()["args"] == {"parameters": {NTP: "ntp.example.net"}}
    assert {tuple(op.args["parameters"].items()) for op in _ops(db)} == {
        ((NTP, "ntp.example.net"),)
    }


@pytest.mark.clause("CPE-I.iii.R1")
@pytest.mark.parametrize(
    "path",
    [
        "Device.WiFi.AccessPoint.1.Security.KeyPassphrase",
        "Device.WiFi.SSID.1.SSID",
        "Device.PPP.Interface.1.Password",
        "Device.Hosts.Host.1.HostName",
    ],
)
def test_a_bulk_set_of_a_personal_path_is_a_problem_and_nothing_is_stored(
    client: TestClient, db: Session, clock: FakeClock, path: str
) -> None:
    add_devices(db, 3, now=clock.now())
    signed_in(client, db, clock)
    group_id = _group(client, "everything")
    refused = client.post(
        BULK,
        json={
            "kind": "set_parameters",
            "group_id": group_id,
            "parameters": {NTP: "ntp.example.net", path: SECRET},
        },
    )
    body = problem(refused, 422, "bulk-parameter-refused")
    assert body["path"] == path and rules(body) == {(path, "bulk_parameters")}
    assert SECRET not in refused.text
    assert count(db, "bulk_actions") == 0 and count(db, "device_operations") == 0
    assert audited(db, "devices.bulk_started") == []


def test_bad_bulk_actions_are_problems_and_nothing_is_stored(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    add_devices(db, 2, now=clock.now())
    signed_in(client, db, clock)
    group_id = _group(client, "everything")
    cases: list[tuple[dict[str, Any], tuple[str, str]]] = [
        ({"kind": "reboot"}, ("target", "required")),
        ({"kind": "reboot", "filter": {}}, ("target", "required")),
        (
            {"kind": "reboot", "group_id": group_id, "all_devices": True},
            ("target", "group_or_filter"),
        ),
        (
            {"kind": "reboot", "group_id": group_id, "parameters": {NTP: "x"}},
            ("body", "value_error"),
        ),
        ({"kind": "set_parameters", "group_id": group_id}, ("parameters", "required")),
        (
            {"kind": "set_parameters", "group_id": group_id, "parameters": {NTP: "a\nb"}},
            (NTP, "value"),
        ),
        ({"kind": "firmware_update", "group_id": group_id}, ("image_id", "uuid")),
        (
            {"kind": "firmware_update", "group_id": group_id, "image_id": str(uuid.uuid4())},
            ("image_id", "known_image"),
        ),
        (
            {"kind": "diagnostic", "group_id": group_id, "test": "nmap", "host": "h"},
            ("test", "diagnostic_test"),
        ),
        (
            {"kind": "diagnostic", "group_id": group_id, "test": "ping", "host": "a b"},
            ("host", "host"),
        ),
        ({"kind": "wipe_settings", "group_id": group_id}, ("kind", "literal_error")),
        (
            {"kind": "reboot", "group_id": group_id, "max_in_flight": 0},
            ("max_in_flight", "greater_than_equal"),
        ),
        ({"kind": "reboot", "filter": {"firmware_min": "beta"}}, ("firmware_min", "version")),
    ]
    for body, broken in cases:
        refused = client.post(BULK, json=body)
        assert broken in rules(problem(refused, 422, "invalid-input")), (body, refused.text)
    unknown_group = client.post(BULK, json={"kind": "reboot", "group_id": str(uuid.uuid4())})
    problem(unknown_group, 404, "not-found")
    assert count(db, "bulk_actions") == 0 and count(db, "device_operations") == 0
    whole = client.post(BULK, json={"kind": "reboot", "all_devices": True})
    assert whole.status_code == 201 and whole.json()["total"] == 2  # only when said
    unknown = f"{BULK}/{uuid.uuid4()}"
    for path in (unknown, f"{unknown}/results"):
        problem(client.get(path), 404, "not-found")
    problem(client.post(f"{unknown}/cancel"), 404, "not-found")
