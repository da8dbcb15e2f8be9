"""The shipped devices tables, as the devices area bound them, one hour either side of the cutoff.

Rows are written with plain SQL (the devices area's own services are tested
there); what is checked here is that the bindings on the real tables do what
the rules promise.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from tests.retention.conftest import add_account, hours, schema_targets, sweep

T = datetime(2026, 4, 1, 9, tzinfo=UTC)


def _device(db: Session, *, offline_since: datetime | None) -> uuid.UUID:
    device = uuid.uuid4()
    db.execute(
        sa.text(
            "INSERT INTO devices (id, endpoint_key, secret_hash, claim_hash, provisioned_at) "
            "VALUES (:id, :k, 'scrypt$x', :c, :t)"
        ),
        {"id": device, "k": device.bytes, "c": uuid.uuid4().bytes, "t": T - timedelta(days=900)},
    )
    db.execute(
        sa.text(
            "INSERT INTO device_registrations (device_id, endpoint_id, model, serial_number, "
            "mac_address, ip_address, registered_at, refreshed_at, last_seen, online, "
            "offline_since, source) VALUES (:id, :ep, 'ZXHN H298A', :sn, '02:00:00:00:00:01', "
            "'198.51.100.7', :reg, :reg, :seen, :online, :off, 'device_registration')"
        ),
        {
            "id": device,
            "ep": f"os::000000-{device.hex[:12]}",
            "sn": device.hex[:12],
            "reg": T - timedelta(days=800),
            "seen": offline_since or T,
            "online": offline_since is None,
            "off": offline_since,
        },
    )
    return device


@pytest.mark.clause("CPE-I.ii.1.c")
def test_the_registration_record_is_anonymised_two_years_after_offline(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    if "device_registrations" not in sa.inspect(db.connection()).get_table_names():
        pytest.skip("the devices area is not in this tree")
    gone = _device(db, offline_since=T)
    online = _device(db, offline_since=None)
    db.commit()
    chosen = schema_targets(runtime, "device_registration")
    row = (
        "SELECT serial_number, mac_address, ip_address, endpoint_id, anonymised_at "
        "FROM device_registrations WHERE device_id = :id"
    )

    def anonymised() -> bool:
        return db.execute(sa.text(row), {"id": gone}).one()[4] is not None

    clock.set(T + timedelta(days=730) - hours(1))
    sweep(runtime, chosen)
    assert not anonymised()
    clock.set(T + timedelta(days=730) + hours(1))
    sweep(runtime, chosen)
    assert db.execute(sa.text(row), {"id": gone}).one()[:4] == (None, None, None, None)
    assert db.execute(sa.text(row), {"id": online}).one()[4] is None


@pytest.mark.clause("CPE-I.iii.R2")
def test_pppoe_credentials_left_under_an_ended_binding_are_deleted(
    db: Session, runtime: Runtime, clock: FakeClock
) -> None:
    if "device_pppoe" not in sa.inspect(db.connection()).get_table_names():
        pytest.skip("the devices area is not in this tree")
    owner = add_account(db, created=T - timedelta(days=30))
    bindings = []
    for ended in (T, None):
        device = _device(db, offline_since=None)
        binding = uuid.uuid4()
        db.execute(
            sa.text(
                "INSERT INTO device_bindings (id, device_id, subject_id, method, bound_at, "
                "unbound_at, end_reason) VALUES (:id, :d, :s, 'qr', :b, :u, :why)"
            ),
            {
                "id": binding,
                "d": device,
                "s": owner,
                "b": T - timedelta(days=10),
                "u": ended,
                "why": "unbound" if ended else None,
            },
        )
        db.execute(
            sa.text(
                "INSERT INTO device_pppoe (binding_id, interface, username, password, set_at) "
                "VALUES (:id, 1, '\\x01', '\\x02', :t)"
            ),
            {"id": binding, "t": T - timedelta(days=9)},
        )
        bindings.append(binding)
    db.commit()
    chosen = schema_targets(runtime, "pppoe_credentials")

    def left(binding: uuid.UUID) -> int:
        query = "SELECT count(*) FROM device_pppoe WHERE binding_id = :id"
        return int(db.execute(sa.text(query), {"id": binding}).scalar_one())

    clock.set(T - hours(1))
    sweep(runtime, chosen)
    assert left(bindings[0]) == 1
    clock.set(T + hours(1))
    sweep(runtime, chosen)
    assert (left(bindings[0]), left(bindings[1])) == (0, 1)
