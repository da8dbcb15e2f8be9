"""Migration 0038: devices' own time zones, one per registered device; gone with it, and down."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from doorstep.core import migrations
from doorstep.core.database import create_db_engine
from tests.conftest import _worker_id, fresh_database


@pytest.fixture
def scratch_engine(server_url: str) -> Engine:
    """An empty database of its own, migrated step by step by the test."""
    url = fresh_database(server_url, f"doorstep_test_{_worker_id()}_zones")
    engine = create_db_engine(url, pool_size=1)
    yield engine  # type: ignore[misc]
    engine.dispose()


def _device(connection: sa.Connection) -> uuid.UUID:
    device = uuid.uuid4()
    connection.execute(
        sa.text(
            "INSERT INTO devices (id, endpoint_key, secret_hash, claim_hash, provisioned_at) "
            "VALUES (:id, :key, 'scrypt$x', :claim, now())"
        ),
        {"id": device, "key": device.bytes, "claim": device.bytes[::-1]},
    )
    connection.execute(
        sa.text(
            "INSERT INTO device_registrations (device_id, registered_at, refreshed_at, "
            "last_seen, online, source) VALUES (:id, now(), now(), now(), true, "
            "'device_registration')"
        ),
        {"id": device},
    )
    return device


def _zone(connection: sa.Connection, device: uuid.UUID, zone: str) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO device_time_zones (device_id, time_zone, set_at, set_by) "
            "VALUES (:id, :zone, now(), 'system:tests')"
        ),
        {"id": device, "zone": zone},
    )


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_the_zones_table_comes_and_goes_with_0038(scratch_engine: Engine) -> None:
    migrations.upgrade(scratch_engine, "0037")
    assert "device_time_zones" not in _tables(scratch_engine)
    migrations.upgrade(scratch_engine, "0038")
    with scratch_engine.begin() as connection:
        device = _device(connection)
        _zone(connection, device, "CET-1CEST,M3.5.0,M10.5.0/3")
    for bad in ("", "x" * 65):  # the database refuses what no zone can be
        with pytest.raises(IntegrityError), scratch_engine.begin() as connection:
            _zone(connection, _device(connection), bad)
    with pytest.raises(IntegrityError), scratch_engine.begin() as connection:
        _zone(connection, device, "Europe/Berlin")  # one zone per device
    with pytest.raises(IntegrityError), scratch_engine.begin() as connection:
        _zone(connection, uuid.uuid4(), "Europe/Berlin")  # registered devices only
    with scratch_engine.begin() as connection:
        connection.execute(
            sa.text("DELETE FROM device_registrations WHERE device_id = :id"), {"id": device}
        )
        left = connection.execute(sa.text("SELECT count(*) FROM device_time_zones")).scalar_one()
        assert left == 0  # gone with the registration record
        _zone(connection, _device(connection), "Asia/Tokyo")
    migrations.downgrade(scratch_engine, "0037")
    assert "device_time_zones" not in _tables(scratch_engine)
    migrations.upgrade(scratch_engine, "0038")
    assert "device_time_zones" in _tables(scratch_engine)
