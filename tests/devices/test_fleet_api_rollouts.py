"""The fleet API's rollouts: make, start, follow, pause, resume, abort; refusals change nothing.

The executor is played by :func:`~tests.devices.rollout_factory.end_operation` (the
final state, then the rollout's callback), as in the engine's own tests; the rollout
through real agents is in ``test_fleet_api_agents.py``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.devices.fleet.operations import OperationState
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
from tests.devices.rollout_factory import end_operation, fleet, image, open_operations

__all__ = ["client", "settings"]
ROLLOUTS = f"{FLEET}/rollouts"


def _group(client: TestClient, **criteria: Any) -> str:
    made = client.post(f"{FLEET}/groups", json={"name": "spring", "filter": criteria})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_support_makes_starts_follows_pauses_resumes_and_aborts_a_rollout(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    fleet(db, clock, 10)
    image_id = image(db, clock)
    signed_in(client, db, clock)
    body = {
        "name": "spring update",
        "image_id": str(image_id),
        "group_id": _group(client, firmware="1.8.3"),
        "canary_count": 2,
        "growth": 2.0,
        "max_in_flight": 10,
        "window_start": "00:00",
        "window_end": "23:59",
        "time_zone": "Europe/Berlin",
    }
    made = client.post(ROLLOUTS, json=body)
    assert made.status_code == 201, made.text
    draft = made.json()
    assert (draft["state"], draft["waves"], draft["counts"]["size"]) == ("draft", [], 0)
    assert (draft["canary"], draft["window"], draft["time_zone"]) == (
        "2 devices",
        "00:00-23:59",
        "Europe/Berlin",
    )
    rollout = f"{ROLLOUTS}/{draft['id']}"
    started = client.post(f"{rollout}/start")
    assert started.status_code == 200, started.text
    view = started.json()
    assert view["state"] == "running" and view["wave_count"] == 3
    assert [w["counts"]["size"] for w in view["waves"]] == [2, 4, 4]
    assert view["counts"] == {
        "size": 10,
        "pending": 8,
        "in_flight": 2,
        "succeeded": 0,
        "failed": 0,
        "skipped": 0,
        "cancelled": 0,
        "percent_done": 0.0,
        "failure_rate": None,
    }
    canary = open_operations(db, uuid.UUID(draft["id"]))
    end_operation(db, canary[0], OperationState.SUCCEEDED, at=clock.now())
    end_operation(
        db, canary[1], OperationState.FAILED, at=clock.now(), reason="device_error", usp_code=7002
    )
    shown = client.get(rollout).json()
    assert shown["state"] == "auto_paused" and shown["pause_reason"] == "failure_threshold"
    assert shown["failures"] == [
        {"state": "failed", "reason": "device_error", "usp_code": 7002, "devices": 1}
    ]
    assert client.post(f"{rollout}/resume").json()["state"] == "running"
    assert client.post(f"{rollout}/pause").json()["state"] == "paused"
    refused = client.post(f"{rollout}/pause")
    assert problem(refused, 409, "conflict")["reason"] == "paused"
    aborted = client.post(f"{rollout}/abort").json()
    assert aborted["state"] == "aborted" and aborted["counts"]["cancelled"] == 8
    listed = client.get(ROLLOUTS).json()["rollouts"]
    assert [(r["id"], r["state"], r["waves"]) for r in listed] == [(draft["id"], "aborted", [])]
    actions = [
        f"devices.rollout_{verb}" for verb in ("created", "started", "resumed", "paused", "aborted")
    ]
    for action in actions:
        (event,) = audited(db, action)
        assert event["actor"].startswith("staff:") and event["purpose"] == "device.maintenance"


def test_a_rollout_started_at_once_queues_its_canary_in_the_same_request(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    devices = fleet(db, clock, 4)
    signed_in(client, db, clock)
    made = client.post(
        ROLLOUTS,
        json={
            "name": "listed",
            "image_id": str(image(db, clock)),
            "device_ids": [str(d) for d in devices[:3]],
            "canary_percent": 50,
            "start": True,
        },
    )
    assert made.status_code == 201, made.text
    view = made.json()
    assert view["state"] == "running" and view["counts"]["size"] == 3
    assert view["target"] == "3 listed devices"
    assert count(db, "device_operations") == view["counts"]["in_flight"] == 2


def test_bad_rollouts_are_problems_and_nothing_is_stored(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    fleet(db, clock, 3, models=("DR-1000",))
    image_id = str(image(db, clock))
    other = str(image(db, clock, models=("XY-1",)))
    signed_in(client, db, clock)
    group_id = _group(client)
    base = {"name": "r", "image_id": image_id, "group_id": group_id}
    cases: list[tuple[dict[str, Any], tuple[str, str]]] = [
        ({"name": "r", "image_id": image_id}, ("target", "group_or_filter")),
        ({**base, "filter": {"model": "DR-1000"}}, ("target", "group_or_filter")),
        ({**base, "name": "bad\nname"}, ("name", "rollout_name")),
        ({**base, "canary_count": 1, "canary_percent": 5}, ("canary", "count_or_percent")),
        ({**base, "wave_sizes": [5], "growth": 2}, ("waves", "sizes_or_growth")),
        ({**base, "window_start": "02:00"}, ("window", "start_and_end")),
        ({**base, "time_zone": "Mars/Olympus"}, ("time_zone", "iana_time_zone")),
        ({**base, "image_id": str(uuid.uuid4())}, ("image_id", "known_image")),
        ({**base, "group_id": str(uuid.uuid4())}, ("group_id", "known_group")),
        (
            {**base, "filter": None, "group_id": None, "device_ids": []},
            ("target", "filter_not_empty"),
        ),
        ({**base, "max_in_flight": 0}, ("max_in_flight", "greater_than_equal")),
        ({**base, "canary_percent": 0}, ("canary_percent", "greater_than")),
        (
            {**base, "window_start": "02:00+01:00", "window_end": "04:00"},
            ("window_start", "value_error"),
        ),
        ({**base, "growth": "NaN"}, ("growth", "finite_number")),
        ({**base, "colour": "red"}, ("colour", "extra_forbidden")),
    ]
    for body, broken in cases:
        refused = client.post(ROLLOUTS, json=body)
        assert broken in rules(problem(refused, 422, "invalid-input")), (body, refused.text)
    empty = client.post(ROLLOUTS, json={**base, "image_id": other, "start": True})
    assert problem(empty, 409, "conflict")["reason"] == "empty_target"
    assert count(db, "rollouts") == 0 and count(db, "device_operations") == 0
    assert audited(db, "devices.rollout_created") == []
    unknown = f"{ROLLOUTS}/{uuid.uuid4()}"
    problem(client.get(unknown), 404, "not-found")
    for verb in ("start", "pause", "resume", "abort"):
        problem(client.post(f"{unknown}/{verb}"), 404, "not-found")
