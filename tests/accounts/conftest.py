"""Fixtures of the accounts tests: the app on the test's rolled-back transaction, codes from
the outbox, and a helper that takes an account from sign-up to active.

Codes are read from the notification outbox (the message's parameters) in these
tests; ``test_signup_smtp.py`` reads them from e-mail delivered over real SMTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.asgi import create_app
from doorstep.audit.services import flush_events
from doorstep.core.runtime import Runtime

PASSWORD = "violet-harbour-42-lantern"
PREFIX = "/api/v1/accounts"


def with_settings(runtime: Runtime, **changes: Any) -> Runtime:
    """The same runtime with some settings changed."""
    return replace(runtime, settings=runtime.settings.model_copy(update=changes))


@pytest.fixture
def ctx(runtime: Runtime) -> AccountContext:
    """The account services' context on the test runtime (file keyring in tmp)."""
    return AccountContext.for_runtime(runtime)


def make_client(runtime: Runtime) -> Iterator[TestClient]:
    """A TestClient of the whole app on ``runtime``."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's rolled-back transaction."""
    yield from make_client(runtime)


_counter = iter(range(10**6))


def unique_email() -> str:
    """An address unique to the run."""
    return f"user.{uuid.uuid4().hex[:10]}@example.org"


def unique_phone() -> str:
    """A valid German mobile number unique to the run (E.164)."""
    return f"+49151{next(_counter) % 10**5:05d}{uuid.uuid4().int % 1000:03d}"


def last_message(db: Session, template: str, **recipient: str) -> dict[str, Any]:
    """The newest outbox message of ``template`` to ``email=`` or ``phone=`` (params, subject)."""
    ((column, value),) = recipient.items()
    row = db.execute(
        sa.text(
            f"SELECT subject_id, params FROM outbox WHERE template = :template AND {column} = :v "
            "ORDER BY created_at DESC, ctid DESC LIMIT 1"
        ),
        {"template": template, "v": value},
    ).one_or_none()
    assert row is not None, f"no {template} message"
    return {"subject_id": row.subject_id, **(row.params or {})}


def count_messages(db: Session, template: str, **recipient: str) -> int:
    """How many outbox messages of ``template`` went to the recipient."""
    ((column, value),) = recipient.items()
    return int(
        db.execute(
            sa.text(f"SELECT count(*) FROM outbox WHERE template = :t AND {column} = :v"),
            {"t": template, "v": value},
        ).scalar_one()
    )


def policy_in_force(client: TestClient) -> str:
    """The id of the privacy policy version in force (what a sign-up acknowledges)."""
    return str(client.get("/api/v1/policy").json()["id"])


def sign_up(client: TestClient, **body: Any) -> Any:
    """POST /signup, acknowledging the policy in force unless ``policy_version`` is given.

    The subscriber agrees to its messages being carried abroad unless
    ``transfer_consent`` is given (decision 0035): a German number's home is DE,
    the reference pack's relays are in CN, and the gate asks for that consent;
    sign-up records it only where it is needed.
    """
    if "policy_version" not in body:
        body["policy_version"] = policy_in_force(client)
    elif body["policy_version"] is None:
        del body["policy_version"]
    body.setdefault("transfer_consent", True)
    return client.post(f"{PREFIX}/signup", json=body)


def activate(
    client: TestClient,
    db: Session,
    *,
    email: str | None = None,
    phone: str | None = None,
    password: str = PASSWORD,
    age: int = 30,
) -> uuid.UUID:
    """Sign up, prove every identifier from the outbox codes, return the account id."""
    body: dict[str, Any] = {"password": password, "age": age}
    if email:
        body["email"] = email
    if phone:
        body["phone"] = phone
    response = sign_up(client, **body)
    assert response.status_code == 202, response.text
    account_id = None
    for identifier, template, column in (
        (email, "account.verify_email", "email"),
        (phone, "account.verify_phone", "phone"),
    ):
        if identifier:
            message = last_message(db, template, **{column: identifier})
            account_id = message["subject_id"]
            verified = client.post(
                f"{PREFIX}/verification", json={"identifier": identifier, "code": message["code"]}
            )
            assert verified.status_code == 200, verified.text
    assert account_id is not None
    return uuid.UUID(str(account_id))


def sign_in(client: TestClient, identifier: str, password: str = PASSWORD) -> Any:
    """POST /sessions."""
    return client.post(f"{PREFIX}/sessions", json={"identifier": identifier, "password": password})


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a session token."""
    return {"Authorization": f"Bearer {token}"}


def audit_actions(db: Session, subject_id: uuid.UUID) -> list[str]:
    """Audit actions recorded about ``subject_id``, oldest first."""
    flush_events(db)
    return [
        row.action
        for row in db.execute(
            sa.text("SELECT action FROM audit_events WHERE subject_id = :s ORDER BY id"),
            {"s": subject_id},
        )
    ]
