"""The console's diagnostics of a device: support runs one on a ticket or with consent (0041).

The app runs on the test's rolled-back transaction with a TestClient and no fleet
executor (nothing claims the operations queued here).  A run's result is read through
``staff_read``: shown to support, refused (and audited) once the owner restricted it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings
from doorstep.devices.fleet.diagnostics_models import RunState
from doorstep.devices.fleet.diagnostics_origin import finish_run
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.restrictions.services import restrict
from tests.devices.fleet_rows import add_devices, bind
from tests.web.checks import untranslated
from tests.web.clients import page_client
from tests.web.test_console_access import console_sign_in, csrf_of


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Test settings without the fleet executor (it would share the test's connection)."""
    return load_settings(
        env="test", database_url=database_url, data_dir=tmp_path / "data", fleet_executor=False
    )


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction; redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def _runs(db: Session) -> list[tuple[str, str | None]]:
    query = sa.text("SELECT ground::text, ground_ref FROM diagnostic_runs ORDER BY created_at")
    return [(row[0], row[1]) for row in db.execute(query)]


def test_support_runs_a_diagnostic_on_a_ticket_and_sees_its_result(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    (device,) = add_devices(db, 1, now=clock.now())
    owner = bind(db, device, now=clock.now())
    console_sign_in(client, db, clock, "support")
    page = client.get(f"/console/devices/{device}")
    assert page.status_code == 200 and "Run the diagnostic" in page.text
    form = {"csrf_token": csrf_of(page.text), "kind": "ping", "host": "example.org"}

    consent = client.post(
        f"/console/devices/{device}/diagnostics", data={**form, "ground": "consent"}
    )
    assert consent.status_code == 303
    assert consent.headers["location"].endswith("?diagnostic_refused=consent#diagnostics")
    no_ticket = client.post(
        f"/console/devices/{device}/diagnostics", data={**form, "ground": "ticket"}
    )
    assert no_ticket.headers["location"].endswith("?diagnostic_refused=ticket#diagnostics")
    shown = client.get(no_ticket.headers["location"].split("#")[0])
    assert "like AS-2026-0042" in shown.text
    assert _runs(db) == []

    queued = client.post(
        f"/console/devices/{device}/diagnostics",
        data={**form, "ground": "ticket", "ticket": "AS-2026-0042"},
    )
    assert queued.headers["location"].endswith("?done=diagnostic_queued#diagnostics")
    assert _runs(db) == [("ticket", "AS-2026-0042")]
    run_id = db.execute(sa.text("SELECT id FROM diagnostic_runs")).scalar_one()
    finish_run(db, run_id, RunState.SUCCEEDED, now=clock.now(),
               result={"status": "Complete", "average_ms": 17.3})  # fmt: skip
    with_result = client.get(f"/console/devices/{device}")
    assert "average_ms=17.3" in with_result.text and "Ticket AS-2026-0042" in with_result.text
    client.app.state.web_language = "x-pseudo"  # type: ignore[attr-defined]
    for path in (f"/console/devices/{device}", no_ticket.headers["location"].split("#")[0]):
        answer = client.get(path)
        assert "⟦" in answer.text and untranslated(answer.text) == [], path
    client.app.state.web_language = None  # type: ignore[attr-defined]

    # The owner restricts after-sales diagnostics: the result is no longer shown (audited).
    restrict(db, subject_id=owner, purpose="device.diagnostics", reason="objection",
             clock=clock, actor="system:test", pack=default_pack())  # fmt: skip
    restricted = client.get(f"/console/devices/{device}")
    assert "average_ms=17.3" not in restricted.text
    assert "restricted this use" in restricted.text


def test_a_role_without_run_diagnostics_sees_no_form_and_is_refused(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    (device,) = add_devices(db, 1, now=clock.now())
    bind(db, device, now=clock.now())
    console_sign_in(client, db, clock, "privacy_officer")
    page = client.get(f"/console/devices/{device}")
    assert page.status_code == 200 and "Run the diagnostic" not in page.text
    refused = client.post(
        f"/console/devices/{device}/diagnostics",
        data={"csrf_token": csrf_of(page.text), "kind": "ping", "host": "example.org",
              "ground": "ticket", "ticket": "AS-1"},
    )  # fmt: skip
    assert refused.status_code == 403
    assert _runs(db) == []
