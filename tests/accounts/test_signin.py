"""Sign-in: opaque hashed tokens, rotation, sign-out, lockouts and rate limits with a clear
429, re-hashing, and the CurrentSubscriber dependency other areas use."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.auth import CurrentSubscriber, Subscriber
from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    activate,
    bearer,
    sign_in,
    sign_up,
    unique_email,
    unique_phone,
    with_settings,
)


def test_sign_in_returns_opaque_tokens_stored_only_as_sha256(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    response = sign_in(client, email)
    assert response.status_code == 201, response.text
    body = response.json()
    access, refresh = body["access_token"], body["refresh_token"]
    assert access.startswith("dsa_") and len(access) >= 4 + 43  # 256 random bits
    row = db.execute(sa.text("SELECT * FROM account_sessions")).one()
    assert bytes(row.token_hash) == hashlib.sha256(access.encode()).digest()
    assert bytes(row.refresh_hash) == hashlib.sha256(refresh.encode()).digest()
    assert row.account_id == account_id
    assert client.get(f"{PREFIX}/me", headers=bearer(access)).json()["email"] == email


def test_a_wrong_password_and_an_unknown_identifier_answer_the_same(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    wrong = sign_in(client, email, "not-the-password-at-all")
    unknown = sign_in(client, unique_email(), "not-the-password-at-all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.json()["type"] == unknown.json()["type"]


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_family(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    first = sign_in(client, email).json()
    second = client.post(
        f"{PREFIX}/sessions/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200
    new = second.json()
    assert client.get(f"{PREFIX}/me", headers=bearer(first["access_token"])).status_code == 401
    assert client.get(f"{PREFIX}/me", headers=bearer(new["access_token"])).status_code == 200
    # someone replays the old refresh token: the whole family is revoked
    replay = client.post(
        f"{PREFIX}/sessions/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 401
    assert client.get(f"{PREFIX}/me", headers=bearer(new["access_token"])).status_code == 401
    reasons = {r.end_reason for r in db.execute(sa.text("SELECT end_reason FROM account_sessions"))}
    assert reasons == {"rotated", "reuse_detected"}


def test_tokens_expire(client: TestClient, db: Session, clock: FakeClock) -> None:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    body = sign_in(client, email).json()
    clock.advance(timedelta(hours=1))
    assert client.get(f"{PREFIX}/me", headers=bearer(body["access_token"])).status_code == 401
    refreshed = client.post(
        f"{PREFIX}/sessions/refresh", json={"refresh_token": body["refresh_token"]}
    )
    assert refreshed.status_code == 200
    clock.advance(timedelta(days=30, seconds=1))
    late = client.post(
        f"{PREFIX}/sessions/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}
    )
    assert late.status_code == 401


@pytest.mark.clause("CPE-IV.1.c")
def test_sign_out_revokes_the_session_and_deletes_nothing(client: TestClient, db: Session) -> None:
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    ended = client.delete(f"{PREFIX}/sessions/current", headers=bearer(token))
    assert ended.status_code == 204
    assert ended.content == b"" and "content-type" not in ended.headers
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 401
    row = db.execute(sa.text("SELECT * FROM accounts WHERE id = :i"), {"i": account_id}).one()
    assert (row.email, row.status) == (email, "active") and row.password_hash


def test_missing_or_malformed_bearer_is_401_with_www_authenticate(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, bearer("dsa_nonsense")):
        response = client.get(f"{PREFIX}/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_current_subscriber_is_usable_by_other_areas(runtime: Runtime, db: Session) -> None:
    app = create_app(runtime)
    router = APIRouter()

    @router.get("/_whoami")
    def whoami(subscriber: CurrentSubscriber) -> dict[str, str]:
        assert isinstance(subscriber, Subscriber)
        return {"subject": str(subscriber.subject_id), "session": str(subscriber.session_id)}

    app.include_router(router)
    with TestClient(app) as test_client:
        email = unique_email()
        account_id = activate(test_client, db, email=email, phone=unique_phone())
        body = sign_in(test_client, email).json()
        me = test_client.get("/_whoami", headers=bearer(body["access_token"])).json()
    assert me == {"subject": str(account_id), "session": body["session_id"]}
    with pytest.raises(AttributeError):
        Subscriber(uuid.uuid4(), uuid.uuid4()).subject_id = uuid.uuid4()  # type: ignore[misc]


def test_an_identifier_locks_out_after_repeated_failures_with_retry_after(
    client: TestClient, db: Session, clock: FakeClock
) -> None:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    for _ in range(5):
        assert sign_in(client, email, "wrong-password-xyz").status_code == 401
    locked = sign_in(client, email)  # even the right password waits
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    body = locked.json()
    assert body["retry_after"] == 900 and locked.headers["retry-after"] == "900"
    assert body["scope"] == "identifier"
    clock.advance(timedelta(seconds=900))
    assert sign_in(client, email).status_code == 201


def test_unknown_identifiers_lock_out_the_same_way(client: TestClient) -> None:
    ghost = unique_email()
    statuses = [sign_in(client, ghost, "whatever-password").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


def test_a_client_address_is_rate_limited_and_stored_only_as_a_keyed_hash(
    runtime: Runtime, db: Session
) -> None:
    limited = with_settings(runtime, account_address_max_attempts=3)
    with TestClient(create_app(limited)) as test_client:
        statuses = [
            sign_in(test_client, unique_email(), "pw-pw-pw-pw-pw").status_code for _ in range(4)
        ]
    assert statuses == [401, 401, 401, 429]
    buckets = [
        bytes(r.bucket) for r in db.execute(sa.text("SELECT bucket FROM account_rate_limits"))
    ]
    assert buckets and all(len(b) == 32 and b"testclient" not in b for b in buckets)
    dump = db.execute(
        sa.text("SELECT string_agg(bucket::text, ',') FROM account_rate_limits")
    ).scalar()
    assert "testclient" not in str(dump)


def test_sign_in_rehashes_a_password_made_with_weaker_parameters(
    runtime: Runtime, db: Session
) -> None:
    from argon2 import PasswordHasher

    with TestClient(create_app(runtime)) as test_client:
        email = unique_email()
        account_id = activate(test_client, db, email=email, phone=unique_phone())
        old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
        db.execute(
            sa.text("UPDATE accounts SET password_hash = :h WHERE id = :i"),
            {"h": old, "i": account_id},
        )
        assert sign_in(test_client, email).status_code == 201
    stored = db.execute(
        sa.text("SELECT password_hash FROM accounts WHERE id = :i"), {"i": account_id}
    ).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_a_pending_account_cannot_sign_in(client: TestClient) -> None:
    email = unique_email()
    made = sign_up(client, email=email, phone=unique_phone(), password=PASSWORD, age=30)
    assert made.status_code == 202, made.text
    response = sign_in(client, email)
    assert response.status_code == 403 and response.json()["reason"] == "verification_required"
