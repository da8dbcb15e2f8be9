"""Deregistration of an account under a legal hold: the service stops, the rest is erased, the
held element stays with its basis, and the release lets a worker finish (CPE-V.5.d)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.jobs.worker import run_worker
from doorstep.privacy.holds import services as holds
from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    activate,
    bearer,
    make_client,
    sign_in,
    unique_email,
    unique_phone,
)
from tests.holds.conftest import OFFICER, hold


@pytest.fixture
def app(committed: Runtime) -> Iterator[TestClient]:
    yield from make_client(committed)


def _drain(runtime: Runtime) -> None:
    asyncio.run(run_worker(runtime, wait=False, install_signal_handlers=False, concurrency=1))


def _account(runtime: Runtime, account_id: uuid.UUID) -> Any:
    with runtime.sessions() as db:
        return db.execute(
            sa.text("SELECT email, phone, password_hash, erased_at FROM accounts WHERE id = :i"),
            {"i": account_id},
        ).one()


@pytest.mark.clause("CPE-V.5.d")
def test_a_deregistered_account_under_a_hold_keeps_only_the_held_element_until_release(
    committed: Runtime, app: TestClient, clock: FakeClock
) -> None:
    email = unique_email()
    with committed.sessions() as db:
        account_id = activate(app, db, email=email, phone=unique_phone())
    with committed.sessions.begin() as db:
        placed = hold(db, clock, account_id, "accounts.email", basis="TAX_RETENTION").id
    token = sign_in(app, email).json()["access_token"]
    gone = app.post(
        f"{PREFIX}/me/deregistration", headers=bearer(token), json={"password": PASSWORD}
    )
    assert gone.status_code == 200, gone.text
    _drain(committed)
    # the service stops for the account
    assert sign_in(app, email).status_code >= 400
    assert app.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 401
    # non-held data is deleted, the held element stays with its recorded basis
    row = _account(committed, account_id)
    assert row.email == email and row.phone is None and row.password_hash is None
    assert row.erased_at is None
    with committed.sessions() as db:
        standing = holds.standing(db, account_id)
        assert [(h.element, h.basis) for h in standing] == [("accounts.email", "TAX_RETENTION")]
        erased = db.execute(
            sa.text(
                "SELECT details FROM audit_events WHERE action = 'account.erased' "
                "AND subject_id = :s"
            ),
            {"s": account_id},
        ).scalar_one()
        assert erased["partial"] is True and erased["held"] == "accounts.email"
    with committed.sessions.begin() as db:
        holds.release(db, clock, placed, actor=OFFICER)
    _drain(committed)
    row = _account(committed, account_id)
    assert row.email is None and row.erased_at is not None
