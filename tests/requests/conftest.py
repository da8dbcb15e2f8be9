"""Fixtures of the requests tests: a request context on the test's fake clock."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.models import AccountIdentity
from doorstep.audit.services import flush_events
from doorstep.core.clock import Clock, FakeClock
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings
from doorstep.keys.services import KeyService
from doorstep.privacy.purposes.services import restrict
from doorstep.privacy.requests.services import RequestContext
from doorstep.privacy.subjects.models import Subject, SubjectKind
from doorstep.wiring import build_services

STAFF = "staff:" + str(uuid.UUID(int=7))


@pytest.fixture
def ctx(clock: FakeClock, settings: Settings) -> RequestContext:
    """The state machine's context on the fake clock and test settings."""
    return RequestContext(clock=clock, settings=settings)


def new_subject(session: Session) -> uuid.UUID:
    """A new subscriber subject, flushed."""
    subject = Subject(kind=SubjectKind.SUBSCRIBER)
    session.add(subject)
    session.flush()
    return subject.id


def actions(session: Session, subject_id: uuid.UUID) -> list[str]:
    """The audit actions recorded for the subject, oldest first."""
    flush_events(session)
    rows = session.execute(
        sa.text("SELECT action FROM audit_events WHERE subject_id = :s ORDER BY id"),
        {"s": subject_id},
    )
    return [row.action for row in rows]


@pytest.fixture
def keys(runtime: Runtime) -> KeyService:
    """The key service of the test runtime (file keyring in tmp)."""
    return build_services(runtime).keys


def new_account(db: Session, keys: KeyService, clock: Clock, token: str) -> uuid.UUID:
    """A subject with an active account, a linked provider (encrypted token), a restriction."""
    subject = new_subject(db)
    db.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, password_hash, created_at) "
            "VALUES (:id, 'active', :email, 'x', :now)"
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
        )
    )
    restrict(
        db,
        subject_id=subject,
        purpose="account.profile",
        reason="objection",
        clock=clock,
        actor=STAFF,
    )
    db.flush()
    return subject
