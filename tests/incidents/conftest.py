"""Fixtures of the incidents tests: the context on the fake clock, subscribers and devices."""

from __future__ import annotations

import os
import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.runtime import Runtime
from doorstep.privacy.incidents.context import IncidentContext
from doorstep.wiring import Services, build_services

STAFF = "staff:" + str(uuid.UUID(int=16))
FIVE_PARTS = {
    "basic_situation": "A backup of the device registry was copied by an outsider.",
    "possible_impact": "Your router's serial number and IP address may be known to them.",
    "measures": "We closed the access, rotated the keys and informed the authority.",
    "self_protection_advice": "Change your Wi-Fi password and watch for unexpected e-mails.",
    "remedies": "Our support replaces affected routers free of charge on request.",
}


@pytest.fixture
def services(runtime: Runtime) -> Services:
    """The shared services of the test runtime."""
    return build_services(runtime)


@pytest.fixture
def ctx(services: Services) -> IncidentContext:
    """The incident context: the reference pack's rules, test settings, fake clock."""
    return IncidentContext.of(services)


def subscriber(
    db: Session,
    *,
    email: str | None = None,
    phone: str | None = None,
    language: str = "en",
    status: str = "active",
) -> uuid.UUID:
    """A subject with an account holding ``email`` and ``phone``; with neither, a subject
    without an account (one known from a letter)."""
    subject = uuid.uuid4()
    db.execute(
        sa.text("INSERT INTO subjects (id, kind) VALUES (:id, 'subscriber')"), {"id": subject}
    )
    if email is None and phone is None:
        return subject
    db.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, phone, password_hash, created_at, language, "
            "source) VALUES (:id, :status, :email, :phone, 'x', now(), :language, 'app_signup')"
        ),
        {"id": subject, "status": status, "email": email, "phone": phone, "language": language},
    )
    return subject


def device(
    db: Session,
    model: str,
    owner: uuid.UUID | None,
    bound_at: datetime,
    unbound_at: datetime | None = None,
) -> uuid.UUID:
    """A registered device of ``model``, bound to ``owner`` from ``bound_at`` to ``unbound_at``."""
    device_id = uuid.uuid4()
    db.execute(
        sa.text(
            "INSERT INTO devices (id, endpoint_key, secret_hash, claim_hash, provisioned_at) "
            "VALUES (:id, :key, 'x', :claim, :at)"
        ),
        {"id": device_id, "key": os.urandom(32), "claim": os.urandom(32), "at": bound_at},
    )
    db.execute(
        sa.text(
            "INSERT INTO device_registrations (device_id, model, registered_at, refreshed_at, "
            "last_seen, online, source) VALUES (:id, :model, :at, :at, :at, true, "
            "'device_registration')"
        ),
        {"id": device_id, "model": model, "at": bound_at},
    )
    if owner is not None:
        db.execute(
            sa.text(
                "INSERT INTO device_bindings (id, device_id, subject_id, method, bound_at, "
                "unbound_at, end_reason) VALUES (gen_random_uuid(), :d, :s, 'manual', :at, :until, "
                "CASE WHEN CAST(:until AS timestamptz) IS NULL THEN NULL "
                "ELSE 'unbound'::device_binding_end END)"
            ),
            {"d": device_id, "s": owner, "at": bound_at, "until": unbound_at},
        )
    return device_id


def log_of(db: Session, incident_id: uuid.UUID) -> list[str]:
    """The incident's log: its audit actions, oldest first."""
    flush_events(db)
    rows = db.execute(
        sa.text("SELECT action FROM audit_events WHERE details->>'incident' = :i ORDER BY id"),
        {"i": str(incident_id)},
    )
    return [row.action for row in rows]
