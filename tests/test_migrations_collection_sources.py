"""Migration 0031: existing rows get the collection point their code path implies, then
``source`` is NOT NULL; going down drops it and the inquiries staff recorded."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from doorstep.core import migrations
from doorstep.core.database import create_db_engine
from tests.conftest import _worker_id, fresh_database


@pytest.fixture
def scratch_engine(server_url: str) -> Engine:
    """An empty database of its own, migrated step by step by the test."""
    url = fresh_database(server_url, f"doorstep_test_{_worker_id()}_sources")
    engine = create_db_engine(url, pool_size=1)
    yield engine  # type: ignore[misc]
    engine.dispose()


def _subject(connection: sa.Connection) -> uuid.UUID:
    subject = uuid.uuid4()
    connection.execute(
        sa.text("INSERT INTO subjects (id, kind) VALUES (:id, 'subscriber')"), {"id": subject}
    )
    return subject


def _account(connection: sa.Connection, *, imported: bool) -> uuid.UUID:
    subject = _subject(connection)
    connection.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, password_hash, created_at, "
            "email_verified_at) VALUES (:id, 'active', :email, 'x', now(), "
            "CASE WHEN :imported THEN now() ELSE now() + interval '2 minutes' END)"
        ),
        {"id": subject, "email": f"{subject.hex[:12]}@example.org", "imported": imported},
    )
    return subject


def _answer(connection: sa.Connection, subject: uuid.UUID, channel: str) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO policy_acceptances (id, subject_id, version_id, kind, channel, "
            "occurred_at) VALUES (:id, :s, 'v1', 'acknowledge', :channel, now())"
        ),
        {"id": uuid.uuid4(), "s": subject, "channel": channel},
    )


def _inquiry(connection: sa.Connection, subject: uuid.UUID, channel: str) -> uuid.UUID:
    inquiry = uuid.uuid4()
    connection.execute(
        sa.text(
            "INSERT INTO inquiries (id, subject_id, channel, queue, body, received_at, due_at) "
            "VALUES (:id, :s, :channel, 'dpo', '\\x00', now(), now())"
        ),
        {"id": inquiry, "s": subject, "channel": channel},
    )
    return inquiry


def test_existing_rows_get_the_point_their_path_implies(scratch_engine: Engine) -> None:
    migrations.upgrade(scratch_engine, "0030")
    with scratch_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO policy_versions (id, effective_at, published_at, summary, "
                "classified_major, major, requires_acceptance, changes, facts, documents) "
                "VALUES ('v1', now(), now(), 's', false, false, false, '[]', '{}', '{}')"
            )
        )
        imported = _account(connection, imported=True)
        web = _account(connection, imported=False)
        _answer(connection, web, "web")
        app = _account(connection, imported=False)
        _answer(connection, app, "api")
        connection.execute(
            sa.text(
                "INSERT INTO account_identities (id, account_id, provider, provider_subject, "
                "access_token, scope, share_with, linked_at) "
                "VALUES (:id, :a, 'p', 'sub', '\\x00', 'openid', '{}', now())"
            ),
            {"id": uuid.uuid4(), "a": app},
        )
        device = uuid.uuid4()
        connection.execute(
            sa.text(
                "INSERT INTO devices (id, endpoint_key, secret_hash, claim_hash, provisioned_at) "
                "VALUES (:id, :key, 'scrypt$x', :claim, now())"
            ),
            {"id": device, "key": device.bytes, "claim": device.bytes[::-1]},
        )
        connection.execute(
            sa.text(
                "INSERT INTO device_registrations (device_id, registered_at, refreshed_at, "
                "last_seen, online) VALUES (:id, now(), now(), now(), true)"
            ),
            {"id": device},
        )
        asked = {channel: _inquiry(connection, app, channel) for channel in ("app", "web_form")}
        asked["email"] = _inquiry(connection, app, "email")

    migrations.upgrade(scratch_engine, "0031")
    with scratch_engine.connect() as connection:
        accounts = dict(connection.execute(sa.text("SELECT id, source FROM accounts")).all())
        assert accounts == {imported: "operator_import", web: "web_signup", app: "app_signup"}
        assert connection.execute(
            sa.text("SELECT source FROM account_identities")
        ).scalar_one() == ("third_party_signin")
        assert connection.execute(
            sa.text("SELECT source FROM device_registrations")
        ).scalar_one() == ("device_registration")
        inquiries = dict(connection.execute(sa.text("SELECT id, source FROM inquiries")).all())
        assert inquiries == {
            asked["app"]: "privacy_question_app",
            asked["web_form"]: "privacy_question_form",
            asked["email"]: "privacy_inbox",
        }
        columns = {
            (table, column["name"]): column["nullable"]
            for table in ("accounts", "account_identities", "device_registrations", "inquiries")
            for column in sa.inspect(connection).get_columns(table)
        }
        assert not any(nullable for (_, name), nullable in columns.items() if name == "source")

    with scratch_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO inquiries (id, subject_id, channel, queue, body, received_at, "
                "due_at, source) VALUES (:id, :s, 'staff', 'dpo', '\\x00', now(), now(), "
                "'hotline')"
            ),
            {"id": uuid.uuid4(), "s": app},
        )
    migrations.downgrade(scratch_engine, "0030")
    with scratch_engine.connect() as connection:
        left = set(connection.execute(sa.text("SELECT id FROM inquiries")).scalars())
        assert left == set(asked.values())  # the staff-recorded one is gone
        labels = connection.execute(
            sa.text(
                "SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum "
                "WHERE enumtypid = 'inquiry_channel'::regtype"
            )
        ).scalar_one()
        assert labels == ["app", "web_form", "email"]
        names = {column["name"] for column in sa.inspect(connection).get_columns("accounts")}
        assert "source" not in names
