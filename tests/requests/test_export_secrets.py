"""Exports follow the data map's export decisions: no secret leaves, rows carry ids and times."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts import admin
from doorstep.accounts.context import AccountContext
from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.keys.services import KeyService
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.export import build, collect, left_out
from doorstep.privacy.requests.export_fields import fields
from doorstep.privacy.requests.linkage import personal_tables
from doorstep.schema import metadata
from doorstep.wiring import Services
from tests.requests.conftest import STAFF, bound_device, new_account, verified

PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
#: Key columns whose value is itself a secret: a flow's key is the hash of its state.
SECRET_KEYS = {"account_oidc_flows.state_hash"}


def _digest(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def _with_credentials(
    db: Session, keys: KeyService, subject: uuid.UUID, clock: FakeClock
) -> list[bytes]:
    """Give the account a password hash, provider tokens, a session and one-time codes.

    Returns every secret value (as it would be written out) that no export may hold.
    """
    now = clock.now()
    session, verification = uuid.uuid4(), uuid.uuid4()
    db.execute(
        sa.text(
            "UPDATE accounts SET password_hash = :h, password_changed_at = :now WHERE id = :id"
        ),
        {"h": PASSWORD_HASH, "id": subject, "now": now},
    )
    sealed = {
        name: keys.encrypt(
            db, subject, f"{name}-of-{subject}", context=f"account_identities.{name}"
        )
        for name in ("access_token", "refresh_token")
    }
    db.execute(
        sa.text(
            "UPDATE account_identities SET access_token = :access_token, "
            "refresh_token = :refresh_token WHERE account_id = :id"
        ),
        {"id": subject, **sealed},
    )
    db.execute(
        sa.text(
            "INSERT INTO account_sessions (id, account_id, family_id, token_hash, refresh_hash, "
            "created_at, expires_at, refresh_expires_at) "
            "VALUES (:id, :a, :id, :t, :r, :now, :now, :now)"
        ),
        {"id": session, "a": subject, "t": _digest("access"), "r": _digest("refresh"), "now": now},
    )
    db.execute(
        sa.text(
            "INSERT INTO account_verifications (id, account_id, kind, code_hash, created_at, "
            "expires_at) VALUES (:id, :a, 'verify_email', :c, :now, :now)"
        ),
        {"id": verification, "a": subject, "c": _digest("code"), "now": now},
    )
    db.execute(
        sa.text(
            "INSERT INTO outbox (id, subject_id, channel, template, locale, email, params, "
            "status, created_at) VALUES (:id, :s, 'email', 'account.verify_email', 'en', "
            "'a@example.org', CAST(:p AS jsonb), 'queued', :now)"
        ),
        {"id": uuid.uuid4(), "s": subject, "p": json.dumps({"code": "918273"}), "now": now},
    )
    return [
        PASSWORD_HASH.encode(),
        b"918273",
        f"password-of-{subject}".encode(),
        f"access_token-of-{subject}".encode(),
        f"refresh_token-of-{subject}".encode(),
        *(
            form
            for label in ("access", "refresh", "code", "proof")
            for form in (_digest(label).hex().encode(), _digest(label))
        ),
    ]


def _texts(archive: bytes) -> bytes:
    """The ZIP as stored and every member decompressed, one byte string to search."""
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return archive + b"".join(opened.read(name) for name in opened.namelist())


def test_no_password_hash_token_hash_code_or_pppoe_password_reaches_the_export(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    bound_device(db, keys, clock, mine)
    secrets = _with_credentials(db, keys, mine, clock)
    request_id = verified(db, ctx, mine, "access")
    db.execute(
        sa.text("UPDATE subject_requests SET proof_hash = :p WHERE id = :id"),
        {"p": _digest("proof"), "id": request_id},
    )
    made = build(db, keys, metadata, ctx.policy, mine, now=clock.now())
    everything = _texts(made.archive)
    assert [secret for secret in secrets if secret in everything] == []
    tables = made.data["tables"]
    (account,) = tables["accounts"]
    day = clock.now().date()
    assert account["password_hash"] == f"A password is set, last changed on {day}."
    (pppoe,) = tables["device_pppoe"]
    assert pppoe["password"] == f"A PPPoE password is stored, set on {day}."
    assert pppoe["username"] == f"username-of-{mine}"  # not a secret: it is shown back
    assert "token_hash" not in tables["account_sessions"][0]
    assert "refresh_hash" not in tables["account_sessions"][0]
    assert "code_hash" not in tables["account_verifications"][0]
    assert "params" not in tables["outbox"][0]
    (identity,) = tables["account_identities"]
    assert identity["refresh_token"] == "A refresh token from the provider is held."
    assert "proof_hash" not in tables["subject_requests"][0]
    readme = zipfile.ZipFile(io.BytesIO(made.archive)).read("README.md").decode()
    assert "- **password_hash** — " in readme and "- **proof_hash** — " in readme


@pytest.mark.clause("CORP-4.4")
def test_export_rows_carry_the_ids_and_times_that_join_them(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    device = bound_device(db, keys, clock, mine)
    clock.advance(timedelta(minutes=5))
    request_id = verified(db, ctx, mine, "access")
    flush_events(db)
    tables = build(db, keys, metadata, ctx.policy, mine, now=clock.now()).data["tables"]

    events = tables["audit_events"]
    assert events and all(event["id"] and event["at"] and event["action"] for event in events)
    assert {"request.received", "request.in_progress"} <= {event["action"] for event in events}
    (request,) = tables["subject_requests"]
    assert request["id"] == str(request_id) == str(svc.get(db, request_id).id)
    assert request["jurisdiction"]
    (registration,) = tables["device_registrations"]
    (binding,) = tables["device_bindings"]
    (pppoe,) = tables["device_pppoe"]
    assert registration["device_id"] == binding["device_id"] == str(device)
    assert pppoe["binding_id"] == binding["id"]
    assert tables["restrictions"][0]["id"]
    assert tables["subjects"][0]["kind"] == "subscriber"


def test_every_exported_table_keeps_its_keys_foreign_keys_and_times() -> None:
    missing = []
    skipped = set(left_out(metadata))
    for table in personal_tables(metadata):
        if str(table.name) in skipped:
            continue
        shown = {field.name for field in fields(table)}
        for column in table.columns:
            element = f"{table.name}.{column.name}"
            needed = (
                column.primary_key
                or bool(column.foreign_keys)
                or isinstance(column.type, sa.DateTime)
            )
            if needed and column.name not in shown and element not in SECRET_KEYS:
                missing.append(element)
    assert missing == []


def test_a_prepared_export_of_a_subject_is_the_one_verified_request_built(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    """The ZIP handed out through a request holds the same sentences as :func:`build`."""
    from doorstep.privacy.requests.downloads import fetch, prepare

    mine = new_account(db, keys, clock, "token-of-A")
    bound_device(db, keys, clock, mine)
    request_id = verified(db, ctx, mine, "access")
    prepare(db, ctx, request_id, actor=STAFF)
    archive = fetch(db, ctx, svc.get(db, request_id), actor=STAFF)
    data = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("data.json"))
    assert data["tables"]["device_pppoe"][0]["password"].startswith("A PPPoE password")
    assert f"password-of-{mine}".encode() not in _texts(archive)


def test_the_password_sentence_dates_the_last_change(
    db: Session,
    ctx: RequestContext,
    keys: KeyService,
    clock: FakeClock,
    services: Services,
) -> None:
    accounts = AccountContext.of(services)
    created = clock.now().date()
    mine = admin.create_verified(
        db, accounts, email="owner@example.org", phone=None, password="first-Pw-9x", actor=STAFF
    )

    def said() -> str:
        (account,) = collect(db, keys, metadata, mine)["accounts"]
        return str(account["password_hash"])

    assert said() == f"A password is set, last changed on {created}."
    clock.advance(timedelta(days=3))
    admin.set_password(db, accounts, mine, "second-Pw-9x", actor=STAFF)
    db.flush()
    assert said() == f"A password is set, last changed on {clock.now().date()}."
