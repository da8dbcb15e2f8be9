"""The console's fleet pages: the list and its pages, tags, groups, bulk actions, roles.

The app runs on the test's rolled-back transaction with a TestClient; staff sign in
through the console's own sign-in form (:func:`tests.web.test_console_access.console_sign_in`).
"""

from __future__ import annotations

import re
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
from tests.devices.fleet_rows import add_devices
from tests.web.checks import untranslated
from tests.web.clients import page_client
from tests.web.test_console_access import console_sign_in, csrf_of

_NEXT = re.compile(r'href="(/console/fleet\?[^"]*after=[^"]+)" rel="next"')


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Test settings without the fleet executor: nothing claims the operations these
    pages queue (it would share the test's rolled-back connection)."""
    return load_settings(
        env="test", database_url=database_url, data_dir=tmp_path / "data", fleet_executor=False
    )


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction; redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def _count(db: Session, table: str) -> int:
    return int(db.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_support_pages_through_a_filtered_fleet_by_keyset_and_tags_devices(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    r9 = add_devices(db, 55, now=clock.now(), model="Router Nine", firmware="1.9")
    add_devices(db, 3, now=clock.now(), model="Gate Two", firmware="2.0", product="gateway")
    console_sign_in(client, db, clock, "support")
    page = client.get("/console/fleet", params={"model": "Router Nine", "firmware_below": "1.10"})
    assert page.status_code == 200
    assert "55 devices match." in page.text and "Gate Two" not in page.text
    assert page.text.count('name="device"') == 50 and str(r9[0]) in page.text
    assert str(r9[50]) not in page.text
    link = _NEXT.search(page.text)
    assert link is not None and f"after={r9[49]}" in link.group(1)
    second = client.get(link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and second.text.count('name="device"') == 5
    assert str(r9[50]) in second.text and str(r9[0]) not in second.text
    tagged = client.post(
        "/console/fleet/tags",
        data={
            "csrf_token": csrf_of(page.text),
            "device": [str(r9[0]), str(r9[1])],
            "tag": "trial.fw21",
            "do": "add",
            "back": "/console/fleet?model=Router+Nine",
        },
    )
    assert tagged.status_code == 303
    assert tagged.headers["location"] == "/console/fleet?model=Router+Nine&done=tagged"
    by_tag = client.get("/console/fleet", params={"tag": "trial.fw21"})
    assert "2 devices match." in by_tag.text
    bad = client.get("/console/fleet", params={"firmware_min": "beta"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text


def test_a_group_saved_from_the_list_drives_a_bulk_reboot_with_per_device_results(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    devices = add_devices(db, 4, now=clock.now(), model="Router Nine")
    console_sign_in(client, db, clock, "support")
    listing = client.get("/console/fleet", params={"model": "Router Nine"})
    saved = client.post(
        "/console/groups",
        data={
            "csrf_token": csrf_of(listing.text),
            "name": "Router Nine units",
            "filter_json": '{"model": "Router Nine"}',
        },
    )
    assert saved.status_code == 303
    groups = client.get("/console/groups")
    assert "Router Nine units" in groups.text and "model=Router Nine" in groups.text
    group_id = db.execute(sa.text("SELECT id FROM device_groups")).scalar_one()
    form = client.get("/console/bulk")
    started = client.post(
        "/console/bulk",
        data={
            "csrf_token": csrf_of(form.text),
            "kind": "reboot",
            "group": str(group_id),
            "max_in_flight": "3",
            "per_minute": "100",
        },
    )
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert location.startswith("/console/bulk/") and location.endswith("?done=bulk_started")
    shown = client.get(location)
    assert shown.status_code == 200
    assert "0 of 4 devices done" in shown.text and 'hx-trigger="every 3s"' in shown.text
    assert shown.text.count("<code>reboot") == 0  # the kind is shown by its label
    assert all(str(d) in shown.text for d in devices[:3]) and str(devices[3]) not in shown.text
    bulk_id = location.split("/")[3].split("?")[0]
    cancelled = client.post(
        f"/console/bulk/{bulk_id}/cancel", data={"csrf_token": csrf_of(shown.text)}
    )
    assert cancelled.status_code == 303
    after = client.get(f"/console/bulk/{bulk_id}", params={"state": "cancelled"})
    assert "Cancelled: 3" in after.text and 'hx-trigger="every 3s"' not in after.text


@pytest.mark.parametrize(
    "path",
    ["Device.PPP.Interface.1.Password", "Device.WiFi.SSID.1.SSID", "Device.Hosts.Host.1.HostName"],
)
def test_the_bulk_form_refuses_a_personal_path_by_name_and_starts_nothing(
    client: TestClient, db: Session, clock: FakeClock, path: str
) -> None:
    add_devices(db, 2, now=clock.now(), model="Router Nine")
    console_sign_in(client, db, clock, "support")
    page = client.get("/console/groups")
    client.post(
        "/console/groups",
        data={"csrf_token": csrf_of(page.text), "name": "all", "model": "Router Nine"},
    )
    group_id = db.execute(sa.text("SELECT id FROM device_groups")).scalar_one()
    refused = client.post(
        "/console/bulk",
        data={
            "csrf_token": csrf_of(page.text),
            "kind": "set_parameters",
            "group": str(group_id),
            "parameters": f"Device.Time.NTPServer1=ntp.example.net\n{path}=secret-value",
            "max_in_flight": "10",
            "per_minute": "10",
        },
    )
    assert refused.status_code == 422
    assert f"{path} is not on the policy pack" in refused.text
    assert "secret-value" not in refused.text.replace("secret-value</textarea>", "")
    assert _count(db, "bulk_actions") == 0 and _count(db, "device_operations") == 0


def test_roles_without_fleet_rights_are_refused_and_admin_sees_no_registration_values(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    add_devices(db, 2, now=clock.now(), model="Router Nine", firmware="4.2")
    console_sign_in(client, db, clock, "privacy_officer")
    for path in (
        "/console/fleet",
        "/console/groups",
        "/console/bulk",
        f"/console/bulk/{uuid.uuid4()}",
    ):
        assert client.get(path).status_code == 403, path
    client.cookies.clear()
    console_sign_in(client, db, clock, "admin")
    page = client.get("/console/fleet")
    assert page.status_code == 200 and "2 devices match." in page.text
    assert "Router Nine" not in page.text and "4.2" not in page.text
    assert page.text.count("Withheld") == 4


def test_every_string_of_the_fleet_pages_goes_through_translation(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    add_devices(db, 3, now=clock.now(), model="Router Nine")
    console_sign_in(client, db, clock, "support")
    page = client.get("/console/groups")
    client.post(
        "/console/groups",
        data={"csrf_token": csrf_of(page.text), "name": "nines", "model": "Router Nine"},
    )
    group_id = db.execute(sa.text("SELECT id FROM device_groups")).scalar_one()
    started = client.post(
        "/console/bulk",
        data={
            "csrf_token": csrf_of(page.text),
            "kind": "reboot",
            "group": str(group_id),
            "max_in_flight": "1",
            "per_minute": "1",
        },
    )
    client.app.state.web_language = "x-pseudo"  # type: ignore[attr-defined]
    for path in (
        "/console/fleet",
        "/console/fleet?firmware_min=beta",
        "/console/groups",
        "/console/bulk",
        started.headers["location"],
    ):
        answer = client.get(path)
        assert answer.status_code in (200, 422), path
        assert "⟦" in answer.text and untranslated(answer.text) == [], path
