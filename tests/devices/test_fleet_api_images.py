"""The fleet API's firmware images, the update of one device, and one operation."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.settings import Settings
from doorstep.devices.fleet.images import ImageSpec, upload_image
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
IMAGES = f"{FLEET}/images"
URL = "https://firmware.example.net/dr1000/fw-2.1.0.bin"


def _image(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": "2.1.0",
        "models": ["DR-1000"],
        "min_version": "1.0",
        "release_notes": "Fixes the Wi-Fi scheduler.",
        "url": URL,
        "sha256": hashlib.sha256(b"image").hexdigest(),
        "size": 4096,
    }
    body.update(changes)
    return body


def test_support_registers_lists_shows_and_removes_an_image(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    signed_in(client, db, clock)
    made = client.post(IMAGES, json=_image())
    assert made.status_code == 201, made.text
    image = made.json()
    assert {k: image[k] for k in ("version", "models", "min_version", "max_version", "url")} == {
        "version": "2.1.0",
        "models": ["DR-1000"],
        "min_version": "1.0",
        "max_version": None,
        "url": URL,
    }
    assert (image["download_url"], image["uploaded"]) == (URL, False)
    assert client.get(IMAGES).json() == {"images": [image]}
    assert client.get(f"{IMAGES}/{image['id']}").json() == image
    (added,) = audited(db, "firmware.image_added")
    assert added["actor"].startswith("staff:") and added["details"]["image_id"] == image["id"]
    removed = client.delete(f"{IMAGES}/{image['id']}")
    assert removed.status_code == 204 and removed.content == b""
    assert count(db, "firmware_images") == 0
    problem(client.get(f"{IMAGES}/{image['id']}"), 404, "not-found")
    problem(client.delete(f"{IMAGES}/{image['id']}"), 404, "not-found")


def test_a_bad_image_is_a_problem_naming_the_field_and_nothing_is_stored(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    signed_in(client, db, clock)
    cases = [
        (_image(version="2.1 beta"), ("version", "format")),
        (_image(models=["DR 1000\n"]), ("models", "format")),
        (_image(min_version="3.0", max_version="2.0"), ("min_version", "range")),
        (_image(url="ftp://firmware.example.net/x.bin"), ("url", "format")),
        (_image(sha256="abc"), ("sha256", "format")),
        (_image(size=-1), ("size", "greater_than_equal")),
        (_image(models=[]), ("models", "too_short")),
        (_image(release_notes="a\x00b"), ("release_notes", "string_pattern_mismatch")),
        (_image(colour="red"), ("colour", "extra_forbidden")),
    ]
    for body, broken in cases:
        refused = client.post(IMAGES, json=body)
        assert broken in rules(problem(refused, 422, "invalid-input")), (body, refused.text)
    assert count(db, "firmware_images") == 0
    assert audited(db, "firmware.image_added") == []


def test_an_image_in_use_stays_and_an_uploaded_file_goes_with_its_image(
    client: TestClient, db: Session, clock: FakeClock, settings: Settings
) -> None:
    (device,) = add_devices(db, 1, now=clock.now(), model="DR-1000")
    signed_in(client, db, clock)
    uploaded = upload_image(
        db,
        ImageSpec("2.2.0", ["DR-1000"]),
        io.BytesIO(b"firmware bytes"),
        settings=settings,
        actor="system:tests",
        clock=clock,
    )
    stored = settings.data_dir / "firmware" / f"{uploaded.id}.bin"
    assert stored.is_file()
    shown = client.get(f"{IMAGES}/{uploaded.id}").json()
    assert shown["uploaded"] is True and shown["url"] is None
    assert shown["download_url"].endswith(f"/firmware/{uploaded.id}")
    update = client.post(
        f"{FLEET}/devices/{device}/firmware-update", json={"image_id": str(uploaded.id)}
    )
    assert update.status_code == 202, update.text
    busy = client.delete(f"{IMAGES}/{uploaded.id}")
    assert problem(busy, 409, "conflict")["image_id"] == str(uploaded.id)
    assert stored.is_file() and count(db, "firmware_images") == 1
    db.execute(sa.text("UPDATE device_operations SET state = 'cancelled'"))
    assert client.delete(f"{IMAGES}/{uploaded.id}").status_code == 204
    assert not stored.exists()  # deleted once the removal was committed


def test_support_queues_one_device_update_once_per_request_and_follows_it(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    (device,) = add_devices(db, 1, now=clock.now(), model="DR-1000", firmware="1.0")
    signed_in(client, db, clock)
    image = client.post(IMAGES, json=_image()).json()
    request_id = str(uuid.uuid4())
    body = {"image_id": image["id"], "request_id": request_id}
    queued = client.post(f"{FLEET}/devices/{device}/firmware-update", json=body)
    assert queued.status_code == 202, queued.text
    op = queued.json()
    assert (op["device_id"], op["kind"], op["state"]) == (str(device), "firmware_update", "queued")
    assert (op["origin_kind"], op["origin_id"]) == ("single", request_id)
    assert op["args"] == {"image_id": image["id"]}
    again = client.post(f"{FLEET}/devices/{device}/firmware-update", json=body)
    assert again.json()["id"] == op["id"]  # the same request queues nothing more
    assert count(db, "device_operations") == 1
    shown = client.get(f"{FLEET}/operations/{op['id']}").json()
    assert shown == op
    view = client.get(f"{FLEET}/devices/{device}").json()
    assert [o["id"] for o in view["operations"]] == [op["id"]]
    staff_id = client.get("/api/v1/console/me").json()["staff_id"]
    actor = db.execute(sa.text("SELECT actor, purpose FROM device_operations")).one()
    assert tuple(actor) == (f"staff:{staff_id}", "device.maintenance")


def test_an_update_of_an_unknown_device_or_image_is_a_404_and_queues_nothing(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    (device,) = add_devices(db, 1, now=clock.now())
    signed_in(client, db, clock)
    image = client.post(IMAGES, json=_image()).json()
    unknown = str(uuid.uuid4())
    nobody = client.post(
        f"{FLEET}/devices/{unknown}/firmware-update", json={"image_id": image["id"]}
    )
    problem(nobody, 404, "not-found")
    no_image = client.post(f"{FLEET}/devices/{device}/firmware-update", json={"image_id": unknown})
    problem(no_image, 404, "not-found")
    bad = client.post(f"{FLEET}/devices/{device}/firmware-update", json={"image": image["id"]})
    assert rules(problem(bad, 422, "invalid-input")) == {
        ("image_id", "missing"),
        ("image", "extra_forbidden"),
    }
    problem(client.get(f"{FLEET}/operations/{unknown}"), 404, "not-found")
    assert count(db, "device_operations") == 0
