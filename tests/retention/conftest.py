"""Helpers of the retention tests: a devices-shaped scratch schema, rows of the real tables.

The engine's own tests run the device rules (``device_registration``,
``pppoe_credentials``) on scratch tables of a fixed, simple shape, bound the way
docs/retention.md tells an area to bind its own, created inside the test's
rolled-back transaction (or, for ``committed`` tests, dropped afterwards).  The
shipped devices tables are tested too (test_device_tables.py), but their shape
is the devices area's to change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from doorstep.core.runtime import Runtime
from doorstep.privacy.datamap.pack import PolicyPack, default_pack
from doorstep.privacy.retention import DELETE, Anonymise, Binding, retention_info
from doorstep.privacy.retention.sweep import SweepResult, run_sweeps
from doorstep.privacy.retention.targets import Target, targets
from doorstep.schema import metadata
from doorstep.vocabulary import LegalBasis, not_personal, personal

SCRATCH_DEVICES = "retention_test_devices"
SCRATCH_PPPOE = "retention_test_pppoe"


def _device(
    category: str, description: str, rule: str = "device_registration"
) -> dict[str, object]:
    return personal(
        category,
        purposes=["device.registration"],
        legal_basis=LegalBasis.CONTRACT,
        retention=rule,
        clauses=["CPE-I.ii.1.c"],
        description=description,
    )


#: The device registration binding, as the devices area will declare it.
DEVICE_REGISTRATION = Binding(
    "device_registration",
    Anonymise(
        {"serial_number": None, "mac": None, "ip": None, "account_id": None},
        marker="anonymised_at",
    ),
    trigger="last_seen",
    offset_setting="device_offline_after_seconds",
)


def device_schema() -> sa.MetaData:
    """Devices and their PPPoE credentials, declared and bound."""
    scratch = sa.MetaData()
    sa.Table(
        SCRATCH_DEVICES,
        scratch,
        sa.Column("id", sa.BigInteger, primary_key=True, info=not_personal("row id")),
        sa.Column("model", sa.Text, info=not_personal("product model")),
        sa.Column("serial_number", sa.Text, info=_device("user.device.device_id", "SN")),
        sa.Column("mac", sa.Text, info=_device("user.device.device_id", "MAC")),
        sa.Column("ip", sa.Text, info=_device("user.device.ip_address", "IP")),
        sa.Column("account_id", sa.Uuid, info=_device("user.unique_id.pseudonymous", "owner")),
        sa.Column("last_seen", sa.DateTime(timezone=True), info=not_personal("last contact")),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), info=not_personal("when")),
        info=retention_info(DEVICE_REGISTRATION),
    )
    sa.Table(
        SCRATCH_PPPOE,
        scratch,
        sa.Column("device_id", sa.BigInteger, primary_key=True, info=not_personal("device")),
        sa.Column(
            "username",
            sa.LargeBinary,
            info=_device("user.authorization.credentials", "PPPoE", "pppoe_credentials"),
        ),
        sa.Column(
            "password",
            sa.LargeBinary,
            info=_device("user.authorization.credentials", "PPPoE", "pppoe_credentials"),
        ),
        sa.Column("unbound_at", sa.DateTime(timezone=True), info=not_personal("unbind time")),
        info=retention_info(Binding("pppoe_credentials", DELETE, trigger="unbound_at")),
    )
    return scratch


@pytest.fixture
def pack() -> PolicyPack:
    """The shipped policy pack."""
    return default_pack()


@pytest.fixture
def devices(connection: sa.Connection) -> sa.MetaData:
    """The scratch device schema, created in the test's rolled-back transaction."""
    scratch = device_schema()
    scratch.create_all(connection)
    return scratch


@pytest.fixture
def committed_devices(committed: Runtime, engine: Engine) -> Iterator[sa.MetaData]:
    """The scratch device schema with real commits; dropped afterwards."""
    scratch = device_schema()
    scratch.drop_all(engine)
    scratch.create_all(engine)
    yield scratch
    scratch.drop_all(engine)


def scratch_targets(
    scratch: sa.MetaData, runtime: Runtime, rule: str | None = None
) -> list[Target]:
    """Targets of a scratch schema (none of the shipped tables' bindings)."""
    return targets(scratch, default_pack(), runtime.settings, rule=rule, extra={})


def schema_targets(runtime: Runtime, rule: str) -> list[Target]:
    """Targets of the real schema for ``rule``."""
    return targets(metadata, default_pack(), runtime.settings, rule=rule)


def sweep(runtime: Runtime, chosen: list[Target], batch_size: int = 100) -> list[SweepResult]:
    """Run the chosen targets now (the runtime's clock) with small batches."""
    return run_sweeps(runtime, chosen, batch_size=batch_size)


def add_device(
    db: Session | sa.Connection, scratch: sa.MetaData, device_id: int, last_seen: datetime | None
) -> None:
    """A device with every registration field filled."""
    db.execute(
        scratch.tables[SCRATCH_DEVICES]
        .insert()
        .values(
            id=device_id,
            model="ZXHN",
            serial_number=f"SN{device_id:08d}",
            mac=f"02:00:00:{device_id % 256:02x}:00:01",
            ip="198.51.100.7",
            account_id=uuid.uuid4(),
            last_seen=last_seen,
        )
    )


def add_account(
    db: Session, *, created: datetime, deregistered: datetime | None = None
) -> uuid.UUID:
    """A subject and its account (registration data filled), deregistered when given."""
    account_id = uuid.uuid4()
    db.execute(
        sa.text("INSERT INTO subjects (id, kind, created_at) VALUES (:id, 'subscriber', :at)"),
        {"id": account_id, "at": created},
    )
    db.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, phone, password_hash, email_verified_at, "
            "created_at, deregistered_at, deregistration_reason, source) VALUES (:id, :status, "
            ":email, :phone, 'argon2id$x', :at, :at, :gone, :reason, 'app_signup')"
        ),
        {
            "id": account_id,
            "status": "deregistered" if deregistered else "active",
            "email": f"{account_id.hex[:12]}@example.org",
            "phone": f"+49151{account_id.int % 10**8:08d}",
            "at": created,
            "gone": deregistered,
            "reason": "self_service" if deregistered else None,
        },
    )
    return account_id


def hours(n: float) -> timedelta:
    """``n`` hours."""
    return timedelta(hours=n)


@pytest.fixture
def tamper(db: Session) -> Callable[[str], None]:
    """Run SQL with the append-only triggers off, as a superuser could (rolled back after)."""

    def run(statement: str) -> None:
        db.execute(sa.text("SET LOCAL session_replication_role = replica"))
        db.execute(sa.text(statement))
        db.execute(sa.text("SET LOCAL session_replication_role = origin"))

    return run
