"""Fixtures of the requests tests: a request context on the test's fake clock."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.thirdparty.models import AccountIdentity
from doorstep.audit.services import flush_events
from doorstep.core.clock import Clock
from doorstep.core.runtime import Runtime
from doorstep.keys.services import KeyService
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.restrictions.services import restrict
from doorstep.privacy.subjects.models import Subject, SubjectKind
from doorstep.wiring import Services, build_services
from tests.packs import reference_pack

STAFF = "staff:" + str(uuid.UUID(int=7))


@pytest.fixture
def services(runtime: Runtime) -> Services:
    """The shared services of the test runtime (file keyring in tmp, fake clock)."""
    return build_services(runtime)


@pytest.fixture
def ctx(services: Services) -> RequestContext:
    """The state machine's context on the fake clock and test settings, with the services."""
    return RequestContext.of(services)


def new_subject(session: Session) -> uuid.UUID:
    """A new subscriber subject, flushed."""
    subject = Subject(kind=SubjectKind.SUBSCRIBER)
    session.add(subject)
    session.flush()
    return subject.id


def verified(
    db: Session, ctx: RequestContext, subject: uuid.UUID, kind: str, **fields: Any
) -> uuid.UUID:
    """A request of ``kind`` opened by the app for ``subject``, identity proven; its id."""
    row = svc.open_request(
        db, ctx, subject_id=subject, kind=kind, channel="app", actor=STAFF, **fields
    )
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    return row.id


def actions(session: Session, subject_id: uuid.UUID) -> list[str]:
    """The audit actions recorded for the subject, oldest first."""
    flush_events(session)
    rows = session.execute(
        sa.text("SELECT action FROM audit_events WHERE subject_id = :s ORDER BY id"),
        {"s": subject_id},
    )
    return [row.action for row in rows]


@pytest.fixture
def keys(services: Services) -> KeyService:
    """The key service of the test runtime (file keyring in tmp)."""
    return services.keys


def new_account(db: Session, keys: KeyService, clock: Clock, token: str) -> uuid.UUID:
    """A subject with an active account, a linked provider (encrypted token), a restriction."""
    subject = new_subject(db)
    db.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, password_hash, created_at, source) "
            "VALUES (:id, 'active', :email, 'x', :now, 'app_signup')"
        ),
        {"id": subject, "email": f"{subject.hex[:12]}@example.org", "now": clock.now()},
    )
    db.add(
        AccountIdentity(
            id=uuid.uuid4(),
            account_id=subject,
            provider="example",
            provider_subject=f"nick-{token}",
            access_token=keys.encrypt(
                db, subject, token, context="account_identities.access_token"
            ),
            scope="openid",
            share_with=[],
            linked_at=clock.now(),
            source="third_party_signin",
        )
    )
    restrict(
        db,
        subject_id=subject,
        purpose="account.profile",
        reason="objection",
        clock=clock,
        actor=STAFF,
        pack=reference_pack(),
    )
    db.flush()
    return subject


def bound_device(
    db: Session,
    keys: KeyService,
    clock: Clock,
    subject: uuid.UUID,
    *,
    serial: str | None = None,
    model: str = "ZXHN H196A",
) -> uuid.UUID:
    """A device bound to ``subject`` with its registration record and PPPoE credentials."""
    device = uuid.uuid4()
    binding = uuid.uuid4()
    now = clock.now()
    db.execute(
        sa.text(
            "INSERT INTO devices (id, endpoint_key, secret_hash, claim_hash, provisioned_at) "
            "VALUES (:id, :key, 'x', :claim, :now)"
        ),
        {"id": device, "key": device.bytes, "claim": binding.bytes, "now": now},
    )
    db.execute(
        sa.text(
            "INSERT INTO device_registrations (device_id, endpoint_id, model, serial_number, "
            "registered_at, refreshed_at, last_seen, online, source) "
            "VALUES (:id, :endpoint, :model, :serial, :now, :now, :now, true, "
            "'device_registration')"
        ),
        {
            "id": device,
            "endpoint": f"os::{device.hex}",
            "model": model,
            "serial": serial,
            "now": now,
        },
    )
    db.execute(
        sa.text(
            "INSERT INTO device_bindings (id, device_id, subject_id, method, bound_at) "
            "VALUES (:id, :device, :subject, 'manual', :now)"
        ),
        {"id": binding, "device": device, "subject": subject, "now": now},
    )
    secret = {
        name: keys.encrypt(db, subject, f"{name}-of-{subject}", context=f"device_pppoe.{name}")
        for name in ("username", "password")
    }
    db.execute(
        sa.text(
            "INSERT INTO device_pppoe (binding_id, interface, username, password, set_at) "
            "VALUES (:binding, 1, :username, :password, :now)"
        ),
        {"binding": binding, "now": now, **secret},
    )
    return device


def bind_again(db: Session, clock: Clock, device: uuid.UUID, subject: uuid.UUID) -> None:
    """Bind an unbound ``device`` to another ``subject``."""
    db.execute(
        sa.text(
            "INSERT INTO device_bindings (id, device_id, subject_id, method, bound_at) "
            "VALUES (:id, :device, :subject, 'manual', :now)"
        ),
        {"id": uuid.uuid4(), "device": device, "subject": subject, "now": clock.now()},
    )


def refuse_erasure_of(db: Session, subject_id: uuid.UUID) -> None:
    """Make the database refuse to delete the subject's linked sign-in (a trigger of this
    transaction's session that raises): its erasure fails, as a real constraint would."""
    db.execute(
        sa.text(
            "CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused'; END $$"
        )
    )
    db.execute(
        sa.text(
            "CREATE TRIGGER refuse BEFORE DELETE ON account_identities FOR EACH ROW "
            f"WHEN (OLD.account_id = '{subject_id}') EXECUTE FUNCTION pg_temp.refuse()"
        )
    )
