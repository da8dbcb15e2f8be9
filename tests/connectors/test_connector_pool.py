"""The connector pool: a system's tasks share live connections, renewed on any change.

A real PostgreSQL shop and the loopback HTTP service: tasks of one system reuse one
pooled connection (SQL) or one client (HTTP) while each keeps its own idempotency
key; a credential set again, removed, or asked for by a keyring that cannot open it,
and a changed declaration, reach the very next task without breaking calls in
flight; another keyring that opens it shares the entry; a connection the system
dropped is replaced before use; the secret never shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.database import drop_databases, recreate_database
from doorstep.keys.keyring import FileKeyring, MemoryKeyring
from doorstep.privacy.connectors.base import ConnectorError, Identifiers, Outcome
from doorstep.privacy.connectors.build import connector_for
from doorstep.privacy.connectors.credentials import remove_secret, set_secret
from doorstep.privacy.connectors.pool import POOL, ConnectorPool
from doorstep.privacy.datamap.pack import load_pack
from doorstep.privacy.datamap.systems import ConnectedSystem
from tests.connectors.conftest import (
    SECRET,
    SHOP_SCHEMA,
    pg_declared,
    run_sql,
    systems_yaml,
    write_pack,
)
from tests.connectors.loopback import Service

NOW = 1_790_000_000
ADA = Identifiers.of(email="ada@example.org")
BOB = Identifiers.of(email="bob@example.org")


def _now() -> int:
    return NOW


@pytest.fixture
def pool() -> Iterator[ConnectorPool]:
    made = ConnectorPool()
    yield made
    made.clear()


@pytest.fixture
def systems(tmp_path: Path, shop_db: str, newsletter: Service) -> dict[str, ConnectedSystem]:
    pack = load_pack(write_pack(tmp_path / "pack", systems_yaml(shop_db, newsletter.url)))
    run_sql(
        shop_db,
        "INSERT INTO orders VALUES ('A-1', 'ada@example.org', 'acc-1', 'Ada', '1 Road'), "
        "('B-1', 'bob@example.org', 'acc-2', 'Bob', '2 Road')",
    )
    for who in ("ada@example.org", "bob@example.org"):
        newsletter.state.subscribers[who] = {"email": who, "opens": 1}
    return dict(pack.systems.systems)


def _backends(url: str) -> int:
    """Connections to the database of ``url`` other than this one."""
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_the_tasks_of_a_system_share_its_live_connections_and_keep_their_own_keys(
    db: Session,
    clock: FakeClock,
    systems: dict[str, ConnectedSystem],
    shop_db: str,
    newsletter: Service,
) -> None:
    keyring = MemoryKeyring()
    set_secret(db, keyring, clock, "newsletter", SECRET)
    try:
        first = connector_for(db, keyring, systems["shop"], task_key="t1", now=_now)
        assert first.erase(ADA).rows == 1
        first.close()
        second = connector_for(db, keyring, systems["shop"], task_key="t2", now=_now)
        assert second is first  # the process's one connector of the system
        assert second.erase(BOB).rows == 1
        second.close()
        assert _backends(shop_db) == 1  # one connection served both tasks and stays open
        one = connector_for(db, keyring, systems["newsletter"], task_key="t1", now=_now)
        two = connector_for(db, keyring, systems["newsletter"], task_key="t2", now=_now)
        assert one.erase(ADA).outcome is Outcome.ERASED
        one.close()  # leaves the shared client open for the other task
        assert two.erase(BOB).outcome is Outcome.ERASED
        two.close()
        assert one._client is two._client  # type: ignore[union-attr]
        assert newsletter.state.calls == [("erasure", "t1"), ("erasure", "t2")]
    finally:
        POOL.clear()
    assert _backends(shop_db) == 0


def test_a_credential_set_again_removed_or_opened_by_another_keyring_governs_the_next_task(
    db: Session,
    clock: FakeClock,
    systems: dict[str, ConnectedSystem],
    newsletter: Service,
    pool: ConnectorPool,
) -> None:
    keyring = MemoryKeyring()
    news = systems["newsletter"]
    set_secret(db, keyring, clock, "newsletter", SECRET)
    first = pool.connector(db, keyring, news, task_key="t1", now=_now)
    assert first.erase(ADA).outcome is Outcome.ERASED
    newsletter.state.secret = "rotated-newsletter-secret"
    set_secret(db, keyring, clock, "newsletter", "rotated-newsletter-secret")
    second = pool.connector(db, keyring, news, task_key="t2", now=_now)
    assert second.erase(BOB).outcome is Outcome.ERASED  # signed with the new secret
    assert newsletter.state.bad_signatures == 0
    assert "rotated" not in repr(pool._entries) and "rotated" not in repr(second)
    with pytest.raises(ConnectorError) as other:
        pool.connector(db, MemoryKeyring(), news, task_key="t3", now=_now)
    assert other.value.reason == "credentials"  # never the secret another keyring opened
    assert remove_secret(db, "newsletter")
    with pytest.raises(ConnectorError) as removed:
        pool.connector(db, keyring, news, task_key="t4", now=_now)
    assert removed.value.reason == "credentials"
    assert "rotated" not in str(removed.value)


def test_another_keyring_that_opens_the_credential_shares_the_entry_and_calls_in_flight_end(
    db: Session,
    clock: FakeClock,
    tmp_path: Path,
    systems: dict[str, ConnectedSystem],
    newsletter: Service,
    pool: ConnectorPool,
) -> None:
    # each Services of a process has its keyring object: the first jobs of a worker,
    # started at once, may hold different ones over the same keyring file
    first, second = FileKeyring(tmp_path / "keyring.json"), FileKeyring(tmp_path / "keyring.json")
    news = systems["newsletter"]
    set_secret(db, first, clock, "newsletter", SECRET)
    one = pool.connector(db, first, news, task_key="t1", now=_now)
    two = pool.connector(db, second, news, task_key="t2", now=_now)
    assert one._client is two._client  # type: ignore[union-attr]
    # the declaration changes while both tasks are still to call: a new entry, and the
    # old client is not closed under them
    three = pool.connector(db, first, replace(news, timeout_seconds=2), task_key="t3", now=_now)
    assert three._client is not one._client  # type: ignore[union-attr]
    assert one.erase(ADA).outcome is Outcome.ERASED
    assert two.erase(BOB).outcome is Outcome.ERASED
    assert newsletter.state.calls == [("erasure", "t1"), ("erasure", "t2")]


def test_a_changed_declaration_reaches_its_new_address_and_releases_the_old_connections(
    db: Session,
    systems: dict[str, ConnectedSystem],
    shop_db: str,
    server_url: str,
    pool: ConnectorPool,
) -> None:
    keyring = MemoryKeyring()
    shop = systems["shop"]
    assert pool.connector(db, keyring, shop, task_key="t1", now=_now).erase(ADA).rows == 1
    assert _backends(shop_db) == 1
    moved = recreate_database(server_url, "doorstep_test_pool_moved_shop")
    try:
        run_sql(
            moved,
            *SHOP_SCHEMA,
            "INSERT INTO orders VALUES ('C-1', 'bob@example.org', 'acc-2', 'Bob', '2 Road')",
        )
        elsewhere = replace(shop, url=pg_declared(moved))
        connector = pool.connector(db, keyring, elsewhere, task_key="t2", now=_now)
        assert connector.erase(BOB).rows == 1  # the moved shop's order
        assert _backends(shop_db) == 0 and _backends(moved) == 1
        with psycopg.connect(shop_db) as old:
            row = old.execute("SELECT name FROM orders WHERE order_number = 'B-1'").fetchone()
        assert row == ("Bob",)  # the old address was not reached
        slower = replace(elsewhere, timeout_seconds=7)
        assert pool.connector(db, keyring, slower, task_key="t3", now=_now) is not connector
    finally:
        pool.clear()
        drop_databases(server_url, ["doorstep_test_pool_moved_shop"])


def test_a_pooled_connection_the_system_dropped_is_replaced_before_use(
    db: Session, systems: dict[str, ConnectedSystem], shop_db: str, pool: ConnectorPool
) -> None:
    keyring = MemoryKeyring()
    shop = systems["shop"]
    assert pool.connector(db, keyring, shop, task_key="t1", now=_now).erase(ADA).rows == 1
    with psycopg.connect(shop_db, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    assert pool.connector(db, keyring, shop, task_key="t2", now=_now).erase(BOB).rows == 1
