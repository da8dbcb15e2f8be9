"""Fixtures of the consent API tests: the whole app on the test's rolled-back
transaction, and signed-in subscribers (tokens) made directly in the database."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.sessions import tokens
from doorstep.accounts.sessions.models import AccountSession
from doorstep.core.runtime import Runtime
from tests.accounts.conftest import make_client
from tests.devices.conftest import add_subscriber, bearer

PREFIX = "/api/v1/accounts/me/consents"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app (reference pack) on the test's rolled-back transaction."""
    yield from make_client(runtime)


def subscriber(
    db: Session, runtime: Runtime, *, language: str = "en"
) -> tuple[uuid.UUID, dict[str, str]]:
    """An active account reading ``language`` with a live session: (id, auth headers)."""
    subject, token = add_subscriber(db, runtime)
    db.execute(
        sa.text("UPDATE accounts SET language = :language WHERE id = :id"),
        {"language": language, "id": subject},
    )
    db.flush()
    return subject, bearer(token)


def item(listing: httpx.Response, purpose: str) -> dict[str, Any]:
    """One purpose's entry of GET /me/consents."""
    assert listing.status_code == 200, listing.text
    (found,) = [entry for entry in listing.json()["consents"] if entry["purpose"] == purpose]
    return found


def grant(
    client: TestClient, auth: dict[str, str], purpose: str, key: str, notice_hash: str
) -> httpx.Response:
    """POST …/{purpose}/grant with an Idempotency-Key."""
    return client.post(
        f"{PREFIX}/{purpose}/grant",
        json={"notice_hash": notice_hash},
        headers={**auth, "Idempotency-Key": key},
    )


def withdraw(client: TestClient, auth: dict[str, str], purpose: str, key: str) -> httpx.Response:
    """POST …/{purpose}/withdraw with an Idempotency-Key."""
    return client.post(f"{PREFIX}/{purpose}/withdraw", headers={**auth, "Idempotency-Key": key})


def ledger(db: Session, subject: uuid.UUID) -> list[tuple[str, str, str]]:
    """The subject's ledger: (purpose, action, channel), oldest first."""
    rows = db.execute(
        sa.text(
            "SELECT purpose, action::text, channel::text FROM consent_events "
            "WHERE subject_id = :s ORDER BY seq"
        ),
        {"s": subject},
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def keys(db: Session, subject: uuid.UUID) -> int:
    """How many idempotency keys the subject has."""
    return int(
        db.execute(
            sa.text("SELECT count(*) FROM consent_request_keys WHERE subject_id = :s"),
            {"s": subject},
        ).scalar_one()
    )


def signed_in(db: Session, runtime: Runtime, subject: uuid.UUID) -> dict[str, str]:
    """Auth headers of a new session of ``subject`` (after the clock moved on)."""
    token = tokens.ACCESS_PREFIX + secrets.token_urlsafe(32)
    now = runtime.clock.now()
    db.add(
        AccountSession(
            id=uuid.uuid4(),
            account_id=subject,
            family_id=uuid.uuid4(),
            token_hash=tokens.digest(token),
            refresh_hash=tokens.digest("r" + token),
            created_at=now,
            expires_at=now + timedelta(hours=1),
            refresh_expires_at=now + timedelta(hours=2),
        )
    )
    db.flush()
    return bearer(token)
