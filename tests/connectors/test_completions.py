"""Completion events schedule deletion in connected systems (issue 18 item 5).

A pack of the test's own declares a shop on the real PostgreSQL (orders and
payments found by order number), access logs on the real MariaDB (found by
account id) and after-sales tickets (manual), each with ``completions:``.  A
closed record is recorded through the console API (or the service); the fake
clock moves past the rule's period; :func:`carry_out_due` — what the periodic
job runs — erases the record's rows in the system, keeps a held subject's
record (and reports it), and hands a manual system's record to the desk.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings
from doorstep.privacy.connectors.completions.carry import carry_out_due
from doorstep.privacy.connectors.completions.models import CompletionEvent
from doorstep.privacy.connectors.completions.record import Closing, record
from doorstep.privacy.holds import services as holds
from doorstep.services import Services
from doorstep.staff.services import add_staff
from doorstep.staff.signin import issue_link
from doorstep.wiring import build_services
from tests.accounts.conftest import bearer
from tests.conftest import database_url_of
from tests.connectors.conftest import pg_declared, run_sql, systems_yaml, write_pack
from tests.requests.conftest import new_subject

PATH = "/api/v1/console/systems/{}/completions"
SHOP_SCHEMA = (
    "DROP TABLE IF EXISTS orders, payments",
    "CREATE TABLE orders (order_number text PRIMARY KEY, email text, account_ref text, "
    "name text, address text)",
    "CREATE TABLE payments (order_number text, email text, card_token text)",
)
LOGS_SCHEMA = (
    "DROP TABLE IF EXISTS access_log",
    "CREATE TABLE access_log (account_ref varchar(64), query varchar(200))",
)


def _pack_text(shop: str, logs: str) -> str:
    """The orchestration tests' systems.yaml, with order numbers and ``completions:``."""
    text = systems_yaml(shop, "http://127.0.0.1:9/", logs)
    edits = {
        "    identifiers: [email, account_id]\n    timeout_seconds: 5\n": (
            "    identifiers: [email, account_id, order_number]\n    timeout_seconds: 5\n"
            "    completions:\n"
            "      order: {identifier: order_number, retention: order_record}\n"
        ),
        "keys: {{email: email, account_id: account_ref}}".replace("{{", "{").replace("}}", "}"): (
            "keys: {email: email, account_id: account_ref, order_number: order_number}"
        ),
        "      payments:\n        keys: {email: email}": (
            "      payments:\n        keys: {email: email, order_number: order_number}"
        ),
        "    identifiers: [email]\n    due_days: 7\n": (
            "    identifiers: [email]\n    due_days: 7\n"
            "    completions:\n      ticket: {retention: after_sales_ticket}\n"
        ),
        "    identifiers: [account_id]\n    timeout_seconds: 5\n": (
            "    identifiers: [account_id]\n    timeout_seconds: 5\n"
            "    completions:\n"
            "      account: {identifier: account_id, retention: until_deregistration}\n"
        ),
    }
    for old, new in edits.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


@pytest.fixture
def shop(shop_url: str) -> str:
    run_sql(shop_url, *SHOP_SCHEMA)
    return pg_declared(shop_url)


@pytest.fixture
def logs(logs_url: str) -> str:
    run_sql(logs_url, *LOGS_SCHEMA)
    return logs_url.replace("mysql+pymysql://", "mysql://", 1)


@pytest.fixture
def c_runtime(
    settings: Settings,
    runtime: Runtime,
    sessions: sessionmaker[Session],
    clock: FakeClock,
    tmp_path: Path,
    shop: str,
    logs: str,
) -> Runtime:
    pack = write_pack(tmp_path / "pack", _pack_text(shop, logs))
    configured = load_settings(
        env="test",
        database_url=database_url_of(settings),
        data_dir=settings.data_dir,
        policy_pack=pack,
        requests_systems_attempts=2,
    )
    return Runtime(
        settings=configured,
        database_url=runtime.database_url,
        engine=runtime.engine,
        sessions=sessions,
        clock=clock,
    )


@pytest.fixture
def services(c_runtime: Runtime) -> Services:
    return build_services(c_runtime)


@pytest.fixture
def client(c_runtime: Runtime, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(c_runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def _officer(client: TestClient, db: Session, clock: FakeClock) -> dict[str, str]:
    staff = add_staff(db, role="privacy_officer", clock=clock)
    made = client.post(
        "/api/v1/console/sessions", json={"token": issue_link(db, staff.id, clock=clock)}
    )
    assert made.status_code == 201, made.text
    return bearer(made.json()["access_token"])


def _order(shop: str, number: str, email: str) -> None:
    run_sql(
        shop,
        f"INSERT INTO orders VALUES ('{number}', '{email}', 'acc-{number}', 'Ada', '1 Main St')",
        f"INSERT INTO payments VALUES ('{number}', '{email}', 'tok_{number}')",
    )


def _shop_rows(shop: str, number: str) -> tuple[tuple[object, ...] | None, int]:
    engine = sa.create_engine(shop.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        order = connection.execute(
            sa.text("SELECT email, name, address FROM orders WHERE order_number = :n"),
            {"n": number},
        ).first()
        payments = connection.execute(
            sa.text("SELECT count(*) FROM payments WHERE order_number = :n"), {"n": number}
        ).scalar_one()
    engine.dispose()
    return (tuple(order) if order is not None else None), int(payments)


def _event(db: Session, event_id: str) -> CompletionEvent:
    db.expire_all()
    row = db.get(CompletionEvent, uuid.UUID(event_id))
    assert row is not None
    return row


@pytest.mark.clause("CORP-5.4")
def test_a_closed_orders_rows_are_erased_in_the_shop_once_its_rule_has_run(
    client: TestClient,
    db: Session,
    clock: FakeClock,
    services: Services,
    sessions: sessionmaker[Session],
    shop: str,
) -> None:
    """Business done (the order's after-sales period closed) -> deleted when its rule says."""
    officer = _officer(client, db, clock)
    _order(shop, "A-100", "ada@example.org")
    _order(shop, "A-200", "ada@example.org")
    made = client.post(
        PATH.format("shop"), json={"kind": "order", "record_id": "A-100"}, headers=officer
    )
    assert made.status_code == 201, made.text
    event = made.json()
    assert event["state"] == "scheduled" and event["rule"] == "order_record"
    period = services.pack.retention["order_record"].period
    # one hour before the rule's period ends: nothing happens
    clock.advance(period - timedelta(hours=1))
    assert carry_out_due(services, sessions).total == 0
    assert _shop_rows(shop, "A-100") == (("ada@example.org", "Ada", "1 Main St"), 1)
    # one hour after: the order is anonymised (erase: anonymise), its payment deleted
    clock.advance(timedelta(hours=2))
    assert carry_out_due(services, sessions).states == {"done": 1}
    assert _shop_rows(shop, "A-100") == ((None, None, None), 0)
    assert _shop_rows(shop, "A-200") == (("ada@example.org", "Ada", "1 Main St"), 1)
    done = _event(db, event["id"])
    assert done.state == "done" and done.rows == 2 and done.done_at == clock.now()
    # idempotent: a second run takes nothing
    assert carry_out_due(services, sessions).total == 0


def test_a_shop_account_closed_erases_its_rows_in_mariadb_at_once(
    db: Session, clock: FakeClock, services: Services, sessions: sessionmaker[Session], logs: str
) -> None:
    run_sql(
        logs.replace("mysql://", "mysql+pymysql://", 1),
        "INSERT INTO access_log VALUES ('acc-1', 'router reset'), ('acc-2', 'wifi')",
    )
    row = record(
        db,
        clock,
        services.pack,
        services.runtime.settings,
        Closing("access_logs", "account", "acc-1"),
        actor="system:cli",
    )
    db.commit()
    assert row.due_at == clock.now()  # until_deregistration: P0D
    assert carry_out_due(services, sessions).states == {"done": 1}
    engine = sa.create_engine(logs.replace("mysql://", "mysql+pymysql://", 1))
    with engine.connect() as connection:
        left = connection.execute(sa.text("SELECT account_ref FROM access_log")).scalars().all()
    engine.dispose()
    assert left == ["acc-2"]


@pytest.mark.clause("CPE-IV.1.b")
def test_a_held_subjects_record_is_kept_and_reported_until_the_hold_is_released(
    client: TestClient,
    db: Session,
    clock: FakeClock,
    services: Services,
    sessions: sessionmaker[Session],
    shop: str,
) -> None:
    """Service completed -> deletion scheduled, unless a legal hold applies (then logged)."""
    officer = _officer(client, db, clock)
    held_subject, free_subject = new_subject(db), new_subject(db)
    _order(shop, "H-1", "held@example.org")
    _order(shop, "F-1", "free@example.org")
    hold = holds.place(
        db,
        clock,
        holds.check(
            sa.MetaData(),
            subject_id=held_subject,
            element=None,
            basis="TAX_RETENTION",
            authority="Abgabenordnung 147",
            reference="AO-147",
        ),
        actor="system:cli",
    )
    db.commit()
    for number, subject in (("H-1", held_subject), ("F-1", free_subject)):
        made = client.post(
            PATH.format("shop"),
            json={"kind": "order", "record_id": number, "subject_id": str(subject)},
            headers=officer,
        )
        assert made.status_code == 201, made.text
    clock.advance(services.pack.retention["order_record"].period + timedelta(hours=1))
    assert carry_out_due(services, sessions).states == {"done": 1, "held": 1}
    assert _shop_rows(shop, "F-1") == ((None, None, None), 0)
    assert _shop_rows(shop, "H-1") == (("held@example.org", "Ada", "1 Main St"), 1)
    officer = _officer(client, db, clock)  # the console session of ten years ago has ended
    report = client.get(PATH.format("shop"), params={"state": "held"}, headers=officer)
    assert report.status_code == 200
    assert [(item["record_id"], item["reason"]) for item in report.json()] == [
        ("H-1", "legal_hold")
    ]
    logged = (
        db.execute(sa.text("SELECT details FROM audit_events WHERE action = 'completion.held'"))
        .scalars()
        .all()
    )
    assert len(logged) == 1 and logged[0]["bases"] == "TAX_RETENTION"
    # the next runs keep it while the hold stands; after the release it goes
    assert carry_out_due(services, sessions).states == {"held": 1}
    holds.release(db, clock, hold.id, actor="system:cli")
    db.commit()
    assert carry_out_due(services, sessions).states == {"done": 1}
    assert _shop_rows(shop, "H-1") == ((None, None, None), 0)


def test_a_closed_ticket_goes_to_the_desk_which_confirms_it(
    client: TestClient,
    db: Session,
    clock: FakeClock,
    services: Services,
    sessions: sessionmaker[Session],
) -> None:
    officer = _officer(client, db, clock)
    made = client.post(
        PATH.format("tickets"), json={"kind": "ticket", "record_id": "AS-2041"}, headers=officer
    )
    assert made.status_code == 201, made.text
    clock.advance(services.pack.retention["after_sales_ticket"].period + timedelta(hours=1))
    assert carry_out_due(services, sessions).states == {"manual": 1}
    officer = _officer(client, db, clock)
    waiting = client.get(PATH.format("tickets"), params={"state": "manual"}, headers=officer)
    assert [item["record_id"] for item in waiting.json()] == ["AS-2041"]
    event_id = made.json()["id"]
    bad = client.post(
        PATH.format("tickets") + f"/{event_id}/done",
        json={"evidence": "two words"},
        headers=officer,
    )
    assert bad.status_code == 422 and _event(db, event_id).state == "manual"
    done = client.post(
        PATH.format("tickets") + f"/{event_id}/done",
        json={"evidence": "AS-2041-DEL"},
        headers=officer,
    )
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "done" and done.json()["evidence"] == "AS-2041-DEL"
    again = client.post(
        PATH.format("tickets") + f"/{event_id}/done", json={"evidence": "X"}, headers=officer
    )
    assert again.status_code == 409


def test_bad_input_is_refused_with_nothing_stored(
    client: TestClient, db: Session, clock: FakeClock, services: Services
) -> None:
    officer = _officer(client, db, clock)
    cases = [
        ("nowhere", {"kind": "order", "record_id": "A-1"}, 404),
        ("shop", {"kind": "ticket", "record_id": "A-1"}, 422),  # not a kind of the shop
        ("shop", {"kind": "order", "record_id": "two words"}, 422),
        ("shop", {"kind": "order", "record_id": "A-1", "at": "2999-01-01T00:00:00+00:00"}, 422),
        ("shop", {"kind": "order", "record_id": "A-1", "at": "2020-01-01T00:00:00"}, 422),
        ("shop", {"kind": "order", "record_id": "A-1", "subject_id": str(uuid.uuid4())}, 422),
        ("shop", {"kind": "order", "record_id": "A-1", "extra": 1}, 422),
    ]
    for system, body, status in cases:
        answer = client.post(PATH.format(system), json=body, headers=officer)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert db.scalar(sa.select(sa.func.count()).select_from(CompletionEvent)) == 0
    first = client.post(
        PATH.format("shop"), json={"kind": "order", "record_id": "A-1"}, headers=officer
    )
    assert first.status_code == 201
    twice = client.post(
        PATH.format("shop"), json={"kind": "order", "record_id": "A-1"}, headers=officer
    )
    assert twice.status_code == 409
    assert db.scalar(sa.select(sa.func.count()).select_from(CompletionEvent)) == 1
    with pytest.raises(NotFoundError):
        record(
            db,
            clock,
            services.pack,
            services.runtime.settings,
            Closing("nowhere", "order", "A-2"),
            actor="system:cli",
        )
    with pytest.raises(InvalidInputError):
        record(
            db,
            clock,
            services.pack,
            services.runtime.settings,
            Closing("tickets", "order", "A-2"),
            actor="system:cli",
        )
    with pytest.raises(ConflictError):
        record(
            db,
            clock,
            services.pack,
            services.runtime.settings,
            Closing("shop", "order", "A-1"),
            actor="system:cli",
        )


def test_an_unreachable_system_is_retried_then_failed_with_its_reason(
    db: Session, clock: FakeClock, services: Services, sessions: sessionmaker[Session], shop: str
) -> None:
    record(
        db,
        clock,
        services.pack,
        services.runtime.settings,
        Closing("shop", "order", "B-1"),
        actor="system:cli",
    )
    db.commit()
    clock.advance(services.pack.retention["order_record"].period + timedelta(hours=1))
    run_sql(shop.replace("postgresql://", "postgresql+psycopg://", 1), "DROP TABLE payments")
    assert carry_out_due(services, sessions).states == {"scheduled": 1}
    assert carry_out_due(services, sessions).total == 0  # backing off
    clock.advance(timedelta(minutes=5))
    assert carry_out_due(services, sessions).states == {"failed": 1}
    row = db.scalars(sa.select(CompletionEvent)).one()
    assert row.reason == "schema" and row.attempts == 2
