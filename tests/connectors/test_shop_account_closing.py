"""Closing a shop account deletes all of its registration information (CORP-5.5).

The reference pack's ``shop`` system, unchanged but for the installation's url
(the ``system_urls`` setting), pointed at the demo shop's own schema
(:func:`doorstep.demo_systems.shop.open_shop`) in a database of the test's own.
Closing the account is recorded as the shop's ``account`` completion event; once
its rule's period has passed, the periodic run (:func:`carry_out_due`) leaves
nothing of the account's registration row, and another account stays.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.clock import FakeClock
from doorstep.core.database import drop_databases
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings
from doorstep.demo_systems.shop import declared, open_shop
from doorstep.privacy.connectors.completions.carry import carry_out_due
from doorstep.privacy.connectors.completions.record import Closing, record
from doorstep.privacy.datamap.systems import Identifier
from doorstep.services import Services
from doorstep.wiring import build_services
from tests.conftest import database_url_of

REGISTERED = "until_deregistration"


@pytest.fixture
def shop(server_url: str) -> Iterator[str]:
    """The demo shop's schema in a database of the test's own (its libpq url)."""
    name = f"doorstep_test_shopacct_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    drop_databases(server_url, [name])
    try:
        yield open_shop(server_url, email="demo@example.org", phone="+4915100000001", database=name)
    finally:
        drop_databases(server_url, [name])


@pytest.fixture
def services(
    settings: Settings,
    runtime: Runtime,
    sessions: sessionmaker[Session],
    clock: FakeClock,
    shop: str,
) -> Services:
    bare, _password = declared(shop)
    configured = load_settings(
        env="test",
        database_url=database_url_of(settings),
        data_dir=settings.data_dir,
        system_urls={"shop": bare},
        requests_systems_attempts=2,
    )
    return build_services(
        Runtime(
            settings=configured,
            database_url=runtime.database_url,
            engine=runtime.engine,
            sessions=sessions,
            clock=clock,
        )
    )


def _register(shop: str, account: str, email: str) -> None:
    with psycopg.connect(shop, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO accounts (account_ref, email, username, name, phone, password_hash) "
            "VALUES (%s, %s, %s, 'Ada Lovelace', '+4915100000009', '$argon2id$x')",
            (account, email, f"user-{account}"),
        )


def _row(shop: str, account: str, columns: list[str]) -> tuple[object, ...] | None:
    query = sql.SQL("SELECT {} FROM accounts WHERE account_ref = %s").format(
        sql.SQL(", ").join(sql.Identifier(column) for column in columns)
    )
    with psycopg.connect(shop) as connection:
        found = connection.execute(query, (account,)).fetchone()
    return tuple(found) if found is not None else None


@pytest.mark.clause("CORP-5.5")
def test_closing_a_shop_account_deletes_every_registration_column_after_its_rule(
    db: Session,
    clock: FakeClock,
    services: Services,
    sessions: sessionmaker[Session],
    shop: str,
) -> None:
    system = services.pack.systems.systems["shop"]
    closing = system.completions["account"]
    assert closing.identifier is Identifier.ACCOUNT_ID and closing.retention == REGISTERED
    # every registration element of the shop sits in a table the account id reaches
    registration = [
        (table, column)
        for table in system.tables
        for column in table.columns
        if system.elements[f"{table.name}.{column}"].retention == REGISTERED
    ]
    assert registration, "the shop declares no registration information"
    assert all(Identifier.ACCOUNT_ID in table.keys for table, _ in registration)
    (name,) = {table.name for table, _ in registration}
    (accounts,) = [table for table in system.tables if table.name == name]
    columns = [*accounts.keys.values(), *accounts.columns]
    assert {"username", "name", "phone", "password_hash", "email"} <= set(columns)

    _register(shop, "acc-1", "ada@example.org")
    _register(shop, "acc-2", "grace@example.org")
    before = _row(shop, "acc-1", columns)
    assert before is not None and all(value is not None for value in before)

    record(
        db,
        clock,
        services.pack,
        services.runtime.settings,
        Closing("shop", "account", "acc-1"),
        actor="system:cli",
    )
    db.commit()
    clock.advance(services.pack.retention[REGISTERED].period + timedelta(seconds=1))
    assert carry_out_due(services, sessions).states == {"done": 1}

    assert _row(shop, "acc-1", columns) is None
    kept = _row(shop, "acc-2", columns)
    assert kept is not None and all(value is not None for value in kept)
    assert carry_out_due(services, sessions).total == 0
