"""Where removing settings from a router is asked for and followed (decision 0042): the
privacy center's unbind form (offered, ticked), "My devices", the console's device page and
list of removals, and ``doorstep devices mark-returned|mark-resold|wipes``.

The routers never connect: what is checked is what is asked and shown, and that bad
input changes nothing.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.usp.agent_sim import SimAgent
from doorstep.usp.config import UspConfig
from tests.devices.conftest import devices_for, provision
from tests.devices.fleet_rows import add_devices
from tests.privacy.test_consent_cli import doorstep
from tests.web.clients import page_client, sign_in_as, token_in
from tests.web.people import make_subscriber
from tests.web.test_console_access import console_sign_in, csrf_of


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's rolled-back transaction; redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def _wipes(db: Session, device: uuid.UUID) -> list[tuple[str, str]]:
    rows = db.execute(
        sa.text("SELECT trigger, state FROM device_wipes WHERE device_id = :d ORDER BY 1"),
        {"d": device},
    )
    return [(str(t), str(s)) for t, s in rows]


def _bind(client: TestClient, agent: SimAgent) -> uuid.UUID:
    token = token_in(client.get("/devices").text)
    answer = client.post(
        "/devices/bind", data={"csrf_token": token, "claim_code": agent.display_claim_code()}
    )
    found = re.fullmatch(r"/devices/([0-9a-f-]{36})\?done=bound", answer.headers["location"])
    assert found is not None, answer.text
    return uuid.UUID(found.group(1))


def test_the_unbind_form_offers_the_removal_ticked_and_my_devices_follows_it(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    routers = devices_for(UspConfig(), 2)
    provision(db, runtime, routers)
    sign_in_as(client, make_subscriber(runtime), then="/devices")
    wiped, kept = _bind(client, routers[0]), _bind(client, routers[1])

    form = client.get(f"/devices/{wiped}/unbind")
    assert form.status_code == 200
    assert re.search(r'<input type="checkbox" id="f-wipe_settings"[^>]* checked>', form.text)
    assert "your Internet access (PPPoE) account and password" in form.text
    assert "up to 30 days" in form.text
    token = token_in(form.text)
    done = client.post(f"/devices/{wiped}/unbind", data={"csrf_token": token, "wipe_settings": "1"})
    assert done.headers["location"] == "/devices?done=unbound_wiped"
    assert _wipes(db, wiped) == [("unbind", "pending")]

    # unticked: the device keeps its settings, only the binding ends
    plain = client.post(f"/devices/{kept}/unbind", data={"csrf_token": token})
    assert plain.headers["location"] == "/devices?done=unbound"
    assert _wipes(db, kept) == []

    page = client.get("/devices?done=unbound_wiped")
    assert "Your settings are removed from the device itself now" in page.text
    assert "Your settings on devices you no longer have" in page.text
    assert f"Device {wiped.hex[:8]}" in page.text and f"Device {kept.hex[:8]}" not in page.text
    assert "Waiting for the device to connect" in page.text


def test_support_marks_a_device_resold_and_follows_the_removals(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    console_sign_in(client, db, clock, "support")
    device = add_devices(db, 1, now=clock.now())[0]
    page = client.get(f"/console/devices/{device}")
    assert "The device left its owner" in page.text
    assert "No removal of settings from this device." in page.text
    token = csrf_of(page.text)

    bad = client.post(f"/console/devices/{device}/mark", data={"csrf_token": token, "mark": "lost"})
    assert bad.status_code == 422 and _wipes(db, device) == []

    # unticked, a resale still removes the settings
    marked = client.post(
        f"/console/devices/{device}/mark", data={"csrf_token": token, "mark": "resold"}
    )
    assert marked.headers["location"] == f"/console/devices/{device}?done=marked_resold"
    assert _wipes(db, device) == [("resold", "pending")]
    after = client.get(marked.headers["location"])
    assert "The device is marked resold" in after.text and "<code>resold</code>" in after.text
    listed = client.get("/console/wipes")
    assert listed.status_code == 200 and device.hex[:8] in listed.text
    assert "No removal failed." in listed.text


def test_a_privacy_officer_may_not_mark_devices(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    console_sign_in(client, db, clock, "privacy_officer")
    device = add_devices(db, 1, now=clock.now())[0]
    page = client.get(f"/console/devices/{device}")
    assert page.status_code == 200 and "The device left its owner" not in page.text
    assert client.get("/console/wipes").status_code == 403
    token = csrf_of(page.text) if 'name="csrf_token"' in page.text else ""
    refused = client.post(
        f"/console/devices/{device}/mark", data={"csrf_token": token, "mark": "resold"}
    )
    assert refused.status_code == 403 and _wipes(db, device) == []


def test_the_commands_mark_devices_and_list_removals(committed: Runtime) -> None:
    settings = committed.settings
    with committed.sessions.begin() as session:
        returned, resold = add_devices(session, 2, now=committed.clock.now())

    kept = doorstep(settings, "devices", "mark-returned", str(returned), "--no-wipe")
    assert kept.returncode == 0, kept.stderr
    assert "no removal of settings" in kept.stdout
    done = doorstep(settings, "devices", "mark-resold", str(resold), "--by", "system:cli")
    assert done.returncode == 0, done.stderr
    assert "pending (runs when the router is online)" in done.stdout

    assert doorstep(settings, "devices", "mark-resold", "not-a-uuid").returncode == 2
    assert doorstep(settings, "devices", "mark-resold", str(uuid.uuid4())).returncode == 1
    assert doorstep(settings, "devices", "mark-returned", str(resold), "--by", "me").returncode == 2

    listed = doorstep(settings, "devices", "wipes", "--failed", "--pending", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["device_id"], r["trigger"], r["state"]) for r in rows] == [
        (str(resold), "resold", "pending")
    ]
    assert "subject" not in json.dumps(rows)
    failed_only = doorstep(settings, "devices", "wipes")
    assert failed_only.returncode == 0 and "0 removal(s)" in failed_only.stdout
    with committed.engine.connect() as connection:
        audited = connection.execute(
            sa.text(
                "SELECT action FROM audit_events WHERE action LIKE 'devices.marked_%' ORDER BY id"
            )
        ).scalars()
        assert list(audited) == ["devices.marked_returned", "devices.marked_resold"]
