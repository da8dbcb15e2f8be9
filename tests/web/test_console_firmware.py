"""The console's firmware pages: register and upload images, update one device, roles."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.images import folder
from tests.devices.fleet_rows import add_devices
from tests.web.clients import page_client
from tests.web.test_console_access import console_sign_in, csrf_of

URL = "https://firmware.example.net/fw-2.0.0.bin"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's transaction; redirects are not followed."""
    with page_client(runtime, follow_redirects=False) as test_client:
        yield test_client


def _images(db: Session) -> list[tuple[str, str]]:
    rows = db.execute(sa.text("SELECT version, sha256 FROM firmware_images ORDER BY version"))
    return [(str(v), str(s)) for v, s in rows]


def _form(token: str, **values: str) -> dict[str, str]:
    base = {"csrf_token": token, "version": "2.0.0", "models": "DR-1000, DG-2000"}
    base.update(values)
    return base


def test_support_registers_and_uploads_images_and_updates_a_device(
    client: TestClient, db: Session, clock: FakeClock, runtime: Runtime
) -> None:
    console_sign_in(client, db, clock, "support")
    page = client.get("/console/firmware")
    assert page.status_code == 200 and "No firmware images yet." in page.text
    token = csrf_of(page.text)

    bad = client.post("/console/firmware", data=_form(token, url=URL, sha256="nope", size="9"))
    assert bad.status_code == 422 and 'class="field invalid"' in bad.text
    assert _images(db) == []

    added = client.post(
        "/console/firmware", data=_form(token, url=URL, sha256="ab" * 32, size="1024")
    )
    assert added.headers["location"] == "/console/firmware?done=image_added"
    payload = b"firmware 2.1.0 bytes"
    uploaded = client.post(
        "/console/firmware/upload",
        data=_form(token, version="2.1.0"),
        files={"file": ("fw-2.1.0.bin", payload, "application/octet-stream")},
    )
    assert uploaded.status_code == 303, uploaded.text[-500:]
    assert _images(db) == [("2.0.0", "ab" * 32), ("2.1.0", hashlib.sha256(payload).hexdigest())]
    listed = client.get("/console/firmware?done=image_added")
    assert URL in listed.text and "/firmware/" in listed.text
    assert len(list(folder(runtime.settings).iterdir())) == 1

    device = add_devices(db, 1, now=clock.now())[0]
    device_page = client.get(f"/console/devices/{device}")
    assert "Firmware and operations" in device_page.text
    assert "No operations on this device yet." in device_page.text
    image_id = db.execute(
        sa.text("SELECT id FROM firmware_images WHERE version = '2.0.0'")
    ).scalar_one()
    queued = client.post(
        f"/console/devices/{device}/firmware",
        data={"csrf_token": csrf_of(device_page.text), "image": str(image_id)},
    )
    assert queued.headers["location"] == f"/console/devices/{device}?done=update_queued"
    after = client.get(queued.headers["location"])
    assert "firmware_update" in after.text and "queued" in after.text
    row = db.execute(
        sa.text("SELECT kind, purpose, actor, origin_kind FROM device_operations")
    ).one()
    assert (row.kind, row.purpose, row.origin_kind) == (
        "firmware_update",
        "device.maintenance",
        "single",
    )
    assert row.actor.startswith("staff:")

    in_use = client.post(f"/console/firmware/{image_id}/delete", data={"csrf_token": token})
    assert in_use.status_code == 409 and len(_images(db)) == 2


def test_a_privacy_officer_may_not_manage_firmware(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    console_sign_in(client, db, clock, "privacy_officer")
    assert client.get("/console/firmware").status_code == 403
    device = add_devices(db, 1, now=clock.now())[0]
    page = client.get(f"/console/devices/{device}")
    assert page.status_code == 200 and "Firmware and operations" not in page.text
