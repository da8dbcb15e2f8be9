"""Firmware images: upload (SHA-256 computed, stored, served to devices), register, remove,
which devices an image applies to, and ``doorstep firmware …``."""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.images import (
    ImageSpec,
    discard_file,
    download_url,
    folder,
    not_applicable,
    register_image,
    remove_image,
    upload_image,
    version_key,
)
from doorstep.devices.fleet.operations import OperationKind, OriginKind, queue_operations
from doorstep.devices.models import Device
from tests.privacy.test_consent_cli import doorstep

SPEC = ImageSpec("2.0.0", ["DR-1000"], min_version="1.8", max_version="1.9.9")
URL = "https://firmware.example.net/dr-1000/fw-2.0.0.bin"


def _register(session: Session, clock: FakeClock, **changes: object) -> FirmwareImage:
    values: dict[str, object] = {"url": URL, "sha256": "ab" * 32, "size": 1024}
    values.update(changes)
    return register_image(
        session,
        SPEC,
        actor="system:test",
        clock=clock,
        **values,  # type: ignore[arg-type]
    )


def test_an_upload_is_stored_hashed_and_served_to_devices(runtime: Runtime, db: Session) -> None:
    payload = b"\x7fELF firmware " * 50_000
    image = upload_image(
        db, SPEC, io.BytesIO(payload), settings=runtime.settings, actor="system:test",
        clock=runtime.clock,
    )  # fmt: skip
    assert (image.sha256, image.size) == (hashlib.sha256(payload).hexdigest(), len(payload))
    assert image.url is None and image.file_name == f"{image.id}.bin"
    assert (folder(runtime.settings) / image.file_name).read_bytes() == payload
    assert download_url(runtime.settings, image).endswith(f"/firmware/{image.id}")
    db.flush()

    registered = _register(db, runtime.clock)  # type: ignore[arg-type]
    db.flush()
    with TestClient(create_app(runtime)) as client:
        served = client.get(f"/firmware/{image.id}")
        assert served.status_code == 200 and served.content == payload
        assert served.headers["content-type"] == "application/octet-stream"
        assert client.get(f"/firmware/{uuid.uuid4()}").status_code == 404
        assert client.get(f"/firmware/{registered.id}").status_code == 404  # not ours to serve
    assert download_url(runtime.settings, registered) == URL  # kept as given


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"url": "ftp://example.net/fw.bin"}, "url"),
        ({"sha256": "xyz"}, "sha256"),
        ({"size": -1}, "size"),
    ],
)
def test_a_bad_registration_names_the_field_and_stores_nothing(
    db: Session, clock: FakeClock, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        _register(db, clock, **changes)
    rule = "range" if field == "size" else "format"
    assert refused.value.fields["errors"] == [{"field": field, "rule": rule}]
    assert db.scalar(sa.select(sa.func.count()).select_from(FirmwareImage)) == 0


def test_an_empty_or_oversized_upload_leaves_no_file(runtime: Runtime, db: Session) -> None:
    small = runtime.settings.model_copy(update={"fleet_firmware_max_bytes": 10})
    for payload in (b"", b"x" * 11):
        with pytest.raises(InvalidInputError):
            upload_image(
                db, SPEC, io.BytesIO(payload), settings=small, actor="system:test",
                clock=runtime.clock,
            )  # fmt: skip
    stored = folder(small)
    assert not stored.exists() or list(stored.iterdir()) == []


def test_an_image_applies_to_its_models_and_version_range(db: Session, clock: FakeClock) -> None:
    image = _register(db, clock)
    assert not_applicable(image, "DR-1000", "1.8.3") is None
    assert not_applicable(image, "DG-2000", "1.8.3") == "model"
    assert not_applicable(image, "DR-1000", "1.7.9") == "below_min_version"
    assert not_applicable(image, "DR-1000", "1.10") == "above_max_version"  # 1.10 > 1.9.9
    assert version_key("1.10") > version_key("1.9.9")


def test_an_image_in_use_is_not_removed_and_a_free_one_is_with_its_file(
    runtime: Runtime, db: Session
) -> None:
    image = upload_image(
        db, SPEC, io.BytesIO(b"firmware"), settings=runtime.settings, actor="system:test",
        clock=runtime.clock,
    )  # fmt: skip
    device = Device(
        id=uuid.uuid4(), endpoint_key=b"k" * 32, secret_hash="x", claim_hash=b"c" * 32,
        provisioned_at=runtime.clock.now(),
    )  # fmt: skip
    db.add(device)
    db.flush()
    queue_operations(
        db, [device.id], OperationKind.FIRMWARE_UPDATE, {"image_id": str(image.id)},
        purpose="device.maintenance", actor="system:test", origin_kind=OriginKind.SINGLE,
        origin_id=None, clock=runtime.clock,
    )  # fmt: skip
    with pytest.raises(ConflictError):
        remove_image(db, image.id, actor="system:test")
    db.execute(sa.text("UPDATE device_operations SET state = 'succeeded'"))
    file_name = remove_image(db, image.id, actor="system:test")
    discard_file(runtime.settings, file_name)
    assert db.get(FirmwareImage, image.id) is None
    assert not (folder(runtime.settings) / str(file_name)).exists()


def test_the_firmware_commands_add_list_show_update_and_remove(
    committed: Runtime, tmp_path: Path
) -> None:
    settings = committed.settings
    image_file = tmp_path / "fw-3.1.0.bin"
    image_file.write_bytes(b"firmware 3.1.0")
    added = doorstep(settings, "firmware", "add", "--version", "3.1.0", "--model", "DR-1000",
                     "--file", str(image_file))  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert hashlib.sha256(b"firmware 3.1.0").hexdigest() in added.stdout
    image_id = added.stdout.split()[2]
    listed = doorstep(settings, "firmware", "list")
    assert image_id in listed.stdout and "uploaded" in listed.stdout
    shown = doorstep(settings, "firmware", "show", image_id)
    assert f"/firmware/{image_id}" in shown.stdout

    bad = doorstep(settings, "firmware", "add", "--version", "3.1.0", "--model", "DR-1000",
                   "--url", "https://x.example/fw.bin")  # fmt: skip
    assert bad.returncode == 2 and "--sha256" in bad.stderr
    unknown = doorstep(settings, "firmware", "update", str(uuid.uuid4()), "--image", image_id)
    assert unknown.returncode == 1 and "no such device" in unknown.stderr
    assert doorstep(settings, "firmware", "update", "nope", "--image", image_id).returncode == 2

    with committed.sessions.begin() as session:
        device = Device(
            id=uuid.uuid4(), endpoint_key=b"k" * 32, secret_hash="x", claim_hash=b"c" * 32,
            provisioned_at=committed.clock.now(),
        )  # fmt: skip
        session.add(device)
    queued = doorstep(settings, "firmware", "update", str(device.id), "--image", image_id)
    assert queued.returncode == 0 and "queued" in queued.stdout
    # no controller runs here: --wait gives up after its timeout, still queued, exit 1
    waited = doorstep(settings, "firmware", "update", str(device.id), "--image", image_id,
                      "--wait", "--timeout", "1")  # fmt: skip
    assert waited.returncode == 1 and waited.stdout.strip().endswith("queued")
    busy = doorstep(settings, "firmware", "remove", image_id)
    assert busy.returncode == 1 and "open operation" in busy.stderr
    with committed.engine.begin() as connection:
        connection.execute(sa.text("UPDATE device_operations SET state = 'cancelled'"))
    assert doorstep(settings, "firmware", "remove", image_id).returncode == 0
    assert list(folder(settings).iterdir()) == []
