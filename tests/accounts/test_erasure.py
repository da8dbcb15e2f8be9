"""Erasure after deregistration survives crashes: a job enqueued with the acceptance is run by
the next worker, and a job killed half-way (even after the key's tombstone) finishes on re-run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

import doorstep.accounts.deregistration.erasure as erasure
from doorstep.accounts.context import AccountContext
from doorstep.accounts.deregistration.erasure import erase_account, registration_columns
from doorstep.core.runtime import Runtime
from doorstep.jobs.worker import run_worker
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


class Killed(BaseException):
    """Stands for the worker process dying (not an Exception: nothing may catch it)."""


@pytest.fixture
def app(committed: Runtime) -> Iterator[TestClient]:
    yield from make_client(committed)


def _drain(runtime: Runtime) -> None:
    asyncio.run(run_worker(runtime, wait=False, install_signal_handlers=False, concurrency=2))


def _deregistered(runtime: Runtime, client: TestClient) -> uuid.UUID:
    email = unique_email()
    with runtime.sessions() as db:
        account_id = activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    response = client.post(
        f"{PREFIX}/me/deregistration", headers=bearer(token), json={"password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return account_id


def _row(runtime: Runtime, account_id: uuid.UUID) -> Any:
    with runtime.sessions() as db:
        return db.execute(sa.text("SELECT * FROM accounts WHERE id = :i"), {"i": account_id}).one()


def _jobs(runtime: Runtime) -> list[Any]:
    with runtime.sessions() as db:
        return list(
            db.execute(
                sa.text(
                    "SELECT status, args FROM procrastinate_jobs "
                    "WHERE task_name = 'accounts.erase' ORDER BY id"
                )
            )
        )


def _erased(runtime: Runtime, account_id: uuid.UUID) -> bool:
    row = _row(runtime, account_id)
    with runtime.sessions() as db:
        keys = db.execute(
            sa.text("SELECT count(*) FROM subject_keys WHERE subject_id = :i"), {"i": account_id}
        ).scalar_one()
        sessions = db.execute(
            sa.text("SELECT count(*) FROM account_sessions WHERE account_id = :i"),
            {"i": account_id},
        ).scalar_one()
    return (
        row.erased_at is not None
        and all(getattr(row, name) is None for name in registration_columns())
        and keys == 0
        and sessions == 0
    )


@pytest.mark.slow
def test_the_erasure_enqueued_with_the_acceptance_runs_when_a_worker_comes_back(
    committed: Runtime, app: TestClient
) -> None:
    account_id = _deregistered(committed, app)
    # "the process died right after the commit": no worker has run yet, the job waits
    assert [(job.status, job.args) for job in _jobs(committed)] == [
        ("todo", {"account_id": str(account_id)})
    ]
    assert _row(committed, account_id).email is not None
    _drain(committed)
    assert [job.status for job in _jobs(committed)] == ["succeeded"]
    assert _erased(committed, account_id)


@pytest.mark.slow
def test_an_erasure_killed_after_its_first_step_finishes_when_run_again(
    committed: Runtime, app: TestClient
) -> None:
    account_id = _deregistered(committed, app)
    ctx = AccountContext.for_runtime(committed)

    def die_after(step: str) -> None:
        if step == "providers":
            raise Killed

    with pytest.raises(Killed):
        erase_account(committed.sessions, ctx, account_id, after_step=die_after)
    assert not _erased(committed, account_id)
    assert _row(committed, account_id).email is not None
    _drain(committed)  # the job enqueued at acceptance picks up where it stopped
    assert _erased(committed, account_id)
    assert not erase_account(committed.sessions, ctx, account_id)  # idempotent: nothing left


@pytest.mark.slow
def test_an_erasure_killed_after_the_key_tombstone_finishes_when_run_again(
    committed: Runtime, app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = _deregistered(committed, app)
    ctx = AccountContext.for_runtime(committed)
    real_record = erasure.record

    def crash(*args: object, **kwargs: Any) -> None:
        raise Killed  # after KeyService.destroy wrote the tombstone, before the commit

    monkeypatch.setattr(erasure, "record", crash)
    with pytest.raises(Killed):
        erase_account(committed.sessions, ctx, account_id)
    assert ctx.keys.keyring.is_destroyed(account_id)  # the tombstone is out of reach of rollback
    assert _row(committed, account_id).email is not None  # ... but the transaction rolled back
    monkeypatch.setattr(erasure, "record", real_record)
    assert erase_account(committed.sessions, ctx, account_id)
    assert _erased(committed, account_id)
