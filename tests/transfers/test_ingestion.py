"""Ingestion minimisation: undeclared fields are dropped before storage and counted."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.devices.registry import RegistrationPaths, read_registration, store_registration
from doorstep.privacy.transfers.ingestion import UNNAMED, drift, minimise
from doorstep.privacy.transfers.models import DriftSource
from doorstep.usp import GetPathResult, GetResp, ResolvedPath
from doorstep.usp.config import UspConfig
from tests.devices.conftest import device_id_of, devices_for, provision
from tests.packs import reference_gate

CANARY = "canary-location-48.8566,2.3522"


def _answer(agent_serial: str) -> GetResp:
    resolved = (
        ResolvedPath(
            "Device.DeviceInfo.",
            {
                "ModelName": "DR-1000",
                "SoftwareVersion": "1.8.3",
                "SerialNumber": agent_serial,
                "ProductClass": "Router",
                "X_VENDOR_GeoLocation": CANARY,
            },
        ),
        ResolvedPath("Device.Ethernet.Interface.1.", {"MACAddress": "02:D0:0C:00:00:01"}),
        ResolvedPath("Device.IP.Interface.1.", {"Status": "Up"}),
    )
    return GetResp((GetPathResult("Device.", 0, "", resolved),))


def _audited(db: Session) -> list[str]:
    flush_events(db)
    return list(
        db.scalars(
            sa.text(
                "SELECT details::text FROM audit_events "
                "WHERE action = 'ingestion.undeclared_dropped'"
            )
        )
    )


@pytest.mark.clause("CPE-IV.3.a")
def test_a_field_the_firmware_adds_is_not_stored_and_raises_drift_with_model_and_path(
    db: Session, runtime: Runtime
) -> None:
    agent = devices_for(UspConfig(), 1)[0]
    provision(db, runtime, [agent])
    device_id = device_id_of(db, runtime, agent)
    registration = read_registration(_answer("SN123456"), RegistrationPaths(), ())
    assert registration.undeclared == ("Device.DeviceInfo.X_VENDOR_GeoLocation",)
    for _ in range(2):
        store_registration(
            db,
            reference_gate(),
            device_id,
            registration,
            endpoint_id=agent.endpoint_id,
            now=runtime.clock.now(),
        )
    db.flush()
    stored = db.execute(
        sa.text("SELECT row_to_json(r)::text FROM device_registrations r WHERE device_id = :d"),
        {"d": device_id},
    ).scalar_one()
    assert "SN123456" in stored and CANARY not in stored
    [found] = drift(db)
    assert (found.source, found.model, found.path, found.purpose, found.count) == (
        DriftSource.DEVICE,
        "DR-1000",
        "Device.DeviceInfo.X_VENDOR_GeoLocation",
        "device.registration",
        2,
    )
    assert all(CANARY not in line for line in _audited(db))


@pytest.mark.clause("CPE-0.4")
def test_a_field_outside_the_allow_list_is_stripped_and_a_violation_is_logged(
    db: Session, clock: FakeClock
) -> None:
    received = {"ssid": "home", "password": "secret-1", "contacts": "alice,bob"}
    kept = minimise(
        db,
        received,
        declared=("ssid", "password"),
        source=DriftSource.CLIENT,
        model="app",
        purpose="device.wireless_config",
        clock=clock,
        actor=f"subject:{uuid.uuid4()}",
    )
    assert kept == {"ssid": "home", "password": "secret-1"}
    [found] = drift(db)
    assert (found.source, found.path, found.count) == (DriftSource.CLIENT, "contacts", 1)
    [details] = _audited(db)
    assert '"fields": 1' in details and "alice" not in details


def test_a_field_name_that_holds_a_value_is_counted_unnamed(db: Session, clock: FakeClock) -> None:
    minimise(
        db,
        {"someone@example.org": "1", "ok": "2"},
        declared=("ok",),
        source=DriftSource.CLIENT,
        model="app",
        purpose="device.wireless_config",
        clock=clock,
        actor="system:tests",
    )
    assert [item.path for item in drift(db)] == [UNNAMED]
