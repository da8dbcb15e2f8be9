"""The console's rollout pages: start one on a group, follow it, pause, resume, abort; roles.

The app runs on the test's rolled-back transaction with a TestClient and no fleet
executor; the executor's part (an operation ends, its origin's callback runs) is played by
:func:`tests.devices.rollout_factory.end_operation`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings
from doorstep.devices.fleet.groups import create_group
from doorstep.devices.fleet.operations import OperationState, Reason
from doorstep.devices.fleet.rollout_models import Rollout, RolloutState
from tests.devices.rollout_factory import end_operation, fleet, image, open_operations
from tests.web.checks import untranslated
from tests.web.clients import page_client
from tests.web.test_console_access import console_sign_in, csrf_of


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Test settings without the fleet executor (it would share the rolled-back connection)."""
    return load_settings(
        env="test", database_url=database_url, data_dir=tmp_path / "data", fleet_executor=False
    )


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction; redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def _group(db: Session, clock: FakeClock, count: int = 20) -> tuple[uuid.UUID, uuid.UUID]:
    fleet(db, clock, count, models=("DR-1000",))
    group = create_group(db, "routers", {"model": "DR-1000"}, actor="system:tests", clock=clock)
    return group.id, image(db, clock)


def _form(group_id: uuid.UUID, image_id: uuid.UUID, **changes: str) -> dict[str, str]:
    values = {
        "name": "spring update",
        "group": str(group_id),
        "image": str(image_id),
        "canary_percent": "10",
        "growth": "2",
        "max_in_flight": "5",
        "max_per_model": "",
        "failure_threshold": "20",
        "window_start": "",
        "window_end": "",
        "time_zone": "Europe/Berlin",
    }
    values.update(changes)
    return values


def _start(client: TestClient, group_id: uuid.UUID, image_id: uuid.UUID) -> uuid.UUID:
    page = client.get("/console/rollouts")
    started = client.post(
        "/console/rollouts", data={"csrf_token": csrf_of(page.text), **_form(group_id, image_id)}
    )
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert location.endswith("?done=rollout_start")
    return uuid.UUID(location.split("/")[3].split("?")[0])


def test_support_starts_a_rollout_on_a_group_and_follows_its_waves(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    group_id, image_id = _group(db, clock)
    console_sign_in(client, db, clock, "support")
    listing = client.get("/console/rollouts")
    assert listing.status_code == 200 and "No rollouts yet." in listing.text
    assert "Start the rollout" in listing.text
    rollout_id = _start(client, group_id, image_id)

    page = client.get(f"/console/rollouts/{rollout_id}", params={"done": "rollout_start"})
    assert page.status_code == 200
    assert "The rollout started" in page.text
    assert "0 of 20 devices done" in page.text and "Updating now: 2" in page.text
    assert 'hx-get="/console/rollouts/' in page.text  # it moves: the page polls
    first, second = open_operations(db, rollout_id)
    end_operation(
        db, first, OperationState.FAILED, at=clock.now(), reason=Reason.DEVICE_ERROR, usp_code=7022
    )
    fragment = client.get(f"/console/rollouts/{rollout_id}/progress")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Paused by itself" in fragment.text and "1 of 20 devices done" in fragment.text
    assert "device error 7022" in fragment.text and "Resume" in fragment.text
    assert "hx-trigger" not in fragment.text  # nothing moves while paused: no polling

    resumed = client.post(
        f"/console/rollouts/{rollout_id}/resume", data={"csrf_token": csrf_of(fragment.text)}
    )
    assert resumed.headers["location"].endswith("?done=rollout_resume")
    (again,) = open_operations(db, rollout_id)  # the canary's other device, queued again
    assert again.device_id == second.device_id
    end_operation(db, again, OperationState.SUCCEEDED, at=clock.now())
    assert len(open_operations(db, rollout_id)) == 4  # the next wave: twice the canary
    shown = client.get(f"/console/rollouts/{rollout_id}")
    assert "wave 2 of" in shown.text and "failures accepted" in shown.text
    listing = client.get("/console/rollouts")
    assert "spring update" in listing.text and "Running" in listing.text


def test_a_verb_the_state_does_not_allow_changes_nothing(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    group_id, image_id = _group(db, clock)
    console_sign_in(client, db, clock, "support")
    rollout_id = _start(client, group_id, image_id)
    page = client.get(f"/console/rollouts/{rollout_id}")
    token = csrf_of(page.text)
    refused = client.post(f"/console/rollouts/{rollout_id}/resume", data={"csrf_token": token})
    assert refused.headers["location"].endswith("?error=state")
    shown = client.get(refused.headers["location"])
    assert "This cannot be done in the rollout's state now." in shown.text
    assert db.get(Rollout, rollout_id).state is RolloutState.RUNNING  # type: ignore[union-attr]
    forged = client.post(f"/console/rollouts/{rollout_id}/abort", data={"csrf_token": "x" * 40})
    assert forged.status_code == 403
    assert db.get(Rollout, rollout_id).state is RolloutState.RUNNING  # type: ignore[union-attr]
    aborted = client.post(f"/console/rollouts/{rollout_id}/abort", data={"csrf_token": token})
    assert aborted.headers["location"].endswith("?done=rollout_abort")
    db.expire_all()
    assert db.get(Rollout, rollout_id).state is RolloutState.ABORTED  # type: ignore[union-attr]


def test_a_bad_form_is_refused_field_by_field_and_starts_nothing(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    group_id, image_id = _group(db, clock)
    console_sign_in(client, db, clock, "support")
    page = client.get("/console/rollouts")
    bad = _form(group_id, image_id, name="", failure_threshold="150", time_zone="Mars/Base")
    refused = client.post("/console/rollouts", data={"csrf_token": csrf_of(page.text), **bad})
    assert refused.status_code == 422
    assert "Please correct what is marked below." in refused.text
    assert refused.text.count("This is not valid.") == 3
    assert db.scalar(sa.select(sa.func.count()).select_from(Rollout)) == 0


def test_roles_without_the_fleet_right_get_the_refusal_page(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    console_sign_in(client, db, clock, "privacy_officer")
    assert client.get("/console/rollouts").status_code == 403
    assert client.get(f"/console/rollouts/{uuid.uuid4()}").status_code == 403


def test_every_string_of_the_rollout_pages_goes_through_the_catalogue(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    group_id, image_id = _group(db, clock)
    console_sign_in(client, db, clock, "support")
    rollout_id = _start(client, group_id, image_id)
    op = open_operations(db, rollout_id)[0]
    end_operation(db, op, OperationState.FAILED, at=clock.now(), reason=Reason.DEVICE_ERROR)
    client.app.state.web_language = "x-pseudo"  # type: ignore[attr-defined]
    for path in (
        "/console/rollouts",
        f"/console/rollouts/{rollout_id}",
        f"/console/rollouts/{rollout_id}/progress",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "⟦" in answer.text and untranslated(answer.text) == [], path
