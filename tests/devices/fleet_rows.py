"""Rows of a small fleet for the fleet tests: registered devices, owners, restrictions.

Set-based and direct (``INSERT``), shaped as the registry writes them: the tests of
the fleet list, groups and bulk actions need many devices with chosen models and
versions, not the whole onboarding of each.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session


def add_devices(
    session: Session,
    count: int,
    *,
    now: datetime,
    model: str = "Doorstep Router 9",
    firmware: str | None = "1.0.0",
    product: str = "router",
    online: bool = True,
) -> list[uuid.UUID]:
    """``count`` provisioned devices with a registration record; their ids in id order."""
    ids = sorted(uuid.uuid4() for _ in range(count))
    session.execute(
        sa.text(
            "INSERT INTO devices (id, endpoint_key, secret_hash, claim_hash, provisioned_at) "
            "VALUES (:id, :key, 'scrypt$test', :claim, :now)"
        ),
        [
            {"id": i, "key": secrets.token_bytes(32), "claim": secrets.token_bytes(32), "now": now}
            for i in ids
        ],
    )
    session.execute(
        sa.text(
            "INSERT INTO device_registrations (device_id, endpoint_id, mtp, model, "
            "firmware_version, serial_number, product_type, registered_at, refreshed_at, "
            "last_seen, online, source) VALUES (:id, :eid, 'mqtt', :model, :fw, :sn, "
            "CAST(:product AS device_product_type), :now, :now, :now, :online, "
            "'device_registration')"
        ),
        [
            {
                "id": i,
                "eid": f"os::test-{i.hex}",
                "model": model,
                "fw": firmware,
                "sn": f"SN{i.hex[:10]}",
                "product": product,
                "now": now,
                "online": online,
            }
            for i in ids
        ],
    )
    session.flush()
    return ids


def bind(session: Session, device_id: uuid.UUID, *, now: datetime) -> uuid.UUID:
    """A new subscriber who owns ``device_id``; their subject id."""
    subject = uuid.uuid4()
    session.execute(
        sa.text("INSERT INTO subjects (id, kind, created_at) VALUES (:id, 'subscriber', :at)"),
        {"id": subject, "at": now},
    )
    session.execute(
        sa.text(
            "INSERT INTO device_bindings (id, device_id, subject_id, method, bound_at) "
            "VALUES (:id, :device, :subject, 'manual', :at)"
        ),
        {"id": uuid.uuid4(), "device": device_id, "subject": subject, "at": now},
    )
    return subject


def restrict(session: Session, subject_id: uuid.UUID, purpose: str, *, now: datetime) -> None:
    """A restriction of processing in force for ``subject_id`` and ``purpose``."""
    session.execute(
        sa.text(
            "INSERT INTO restrictions (id, subject_id, purpose, reason, since) "
            "VALUES (:id, :subject, :purpose, 'objection', :at)"
        ),
        {"id": uuid.uuid4(), "subject": subject_id, "purpose": purpose, "at": now},
    )
