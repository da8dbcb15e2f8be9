"""The SQL connector against a real PostgreSQL shop and a real MariaDB access log.

Each test builds the system's own tables (with a column the pack does not
declare, which must never be read), then finds, exports and erases a subject
through the pack's declared mapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from doorstep.privacy.connectors.base import ConnectorError, ConnectorTimeout, Identifiers, Outcome
from doorstep.privacy.connectors.sql import SqlConnector, engine_url
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.datamap.systems import ConnectedSystem
from tests.connectors.conftest import pg_declared, run_sql, with_url

SHOP_TABLES = (
    "DROP TABLE IF EXISTS payments",
    "DROP TABLE IF EXISTS orders",
    "DROP TABLE IF EXISTS accounts",
    # the shop account's registration data (CORP-5.5); nobody here has one
    "CREATE TABLE accounts (account_ref text PRIMARY KEY, email text, username text, name text,"
    " phone text, password_hash text)",
    "CREATE TABLE orders (order_number text PRIMARY KEY, email text, phone text, account_ref text,"
    " name text, address text, postcode text, items text, internal_note text)",
    "CREATE TABLE payments (order_number text, email text, card_token text)",
    "INSERT INTO orders VALUES ('O-1', 'ann@example.org', '+491701', 'acc-1', 'Ann', 'Main St 1',"
    " '10115', 'router', 'vip customer'),"
    " ('O-2', 'ann@example.org', NULL, NULL, 'Ann', 'Main St 1', '10115', 'cable', 'x'),"
    " ('O-3', 'bob@example.org', '+491702', 'acc-2', 'Bob', 'Side St 2', '20095', 'gateway', 'y')",
    "INSERT INTO payments VALUES ('O-1', 'ann@example.org', 'tok_ann'),"
    " ('O-3', 'bob@example.org', 'tok_bob')",
)
LOG_TABLES = (
    "DROP TABLE IF EXISTS access_log",
    "CREATE TABLE access_log (id int AUTO_INCREMENT PRIMARY KEY, account_ref varchar(64),"
    " accessed_at datetime, query text, network_id varchar(64), ip_address varchar(64),"
    " user_agent text)",
    "INSERT INTO access_log (account_ref, accessed_at, query, network_id, ip_address,"
    " user_agent) VALUES"
    " ('acc-1', '2026-01-01 10:00:00', 'router manual', 'net-1', '192.0.2.1', 'ua-1'),"
    " ('acc-1', '2026-01-02 10:00:00', 'warranty', 'net-1', '192.0.2.1', 'ua-1'),"
    " ('acc-2', '2026-01-03 10:00:00', 'price', 'net-2', '192.0.2.2', 'ua-2')",
)
ANN = Identifiers.of(email="ann@example.org", account_id="acc-1")


@pytest.fixture
def shop(shop_url: str) -> Iterator[SqlConnector]:
    run_sql(shop_url, *SHOP_TABLES)
    connector = SqlConnector(
        with_url(default_pack().systems.systems["shop"], pg_declared(shop_url))
    )
    yield connector
    connector.close()


@pytest.fixture
def logs(logs_url: str) -> Iterator[SqlConnector]:
    run_sql(logs_url, *LOG_TABLES)
    declared = logs_url.replace("mysql+pymysql://", "mysql://", 1)
    connector = SqlConnector(with_url(default_pack().systems.systems["access_logs"], declared))
    yield connector
    connector.close()


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    import sqlalchemy as sa

    engine = sa.create_engine(
        url if url.startswith("mysql") else url.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.exec_driver_sql(query)]
    engine.dispose()
    return rows


def test_find_counts_the_subjects_rows_by_any_declared_identifier(shop: SqlConnector) -> None:
    assert shop.find(ANN).rows == 3  # two orders and one payment
    assert shop.find(Identifiers.of(order_number="O-3")).outcome is Outcome.FOUND
    assert shop.find(Identifiers.of(email="nobody@example.org")).outcome is Outcome.NOT_FOUND
    # an identifier kind the system does not declare is not used to look anyone up
    assert shop.find(Identifiers.of(account_id="acc-1")).rows == 1


@pytest.mark.clause("CORP-1.13")
def test_the_export_holds_the_declared_order_fields_and_nothing_else(shop: SqlConnector) -> None:
    """Order data is exactly name, address, phone, postcode and items: a column the
    shop has beside them (``internal_note``) is never read, and the processing
    activity lists exactly those fields."""
    part = shop.export(ANN)
    assert part.outcome is Outcome.EXPORTED
    assert part.data["orders.name"] == ["Ann", "Ann"]
    assert part.data["payments.card_token"] == ["tok_ann"]
    assert {key.split(".")[0] for key in part.data} == {"orders", "payments"}
    assert not any("internal_note" in key for key in part.data)
    assert "vip customer" not in repr(part.data)
    assert "Bob" not in repr(part.data)
    activity = default_pack().systems.activities["order.fulfilment"]
    assert set(activity.fields) == {"name", "address", "phone", "postcode", "products"}
    order_fields = {
        item.field
        for item in default_pack().systems.systems["shop"].elements.values()
        if "order.fulfilment" in item.purposes
    }
    assert order_fields == set(activity.fields)


def test_erase_anonymises_orders_deletes_payments_in_one_transaction(
    shop: SqlConnector, shop_url: str
) -> None:
    done = shop.erase(ANN)
    assert (done.outcome, done.rows) == (Outcome.ERASED, 3)
    orders = _rows(
        shop_url,
        "SELECT order_number, email, phone, account_ref, name, address, postcode, items,"
        " internal_note FROM orders ORDER BY 1",
    )
    assert orders[0] == ("O-1", None, None, None, None, None, None, None, "vip customer")
    assert orders[1] == ("O-2", None, None, None, None, None, None, None, "x")
    assert orders[2][4] == "Bob"
    assert _rows(shop_url, "SELECT order_number FROM payments") == [("O-3",)]
    again = shop.erase(ANN)  # idempotent: nothing left of Ann
    assert (again.outcome, again.rows) == (Outcome.NOT_FOUND, 0)


def test_a_failing_table_rolls_back_the_whole_system(shop: SqlConnector, shop_url: str) -> None:
    run_sql(shop_url, "DROP TABLE payments")  # orders is erased first, then payments fails
    with pytest.raises(ConnectorError) as failed:
        shop.erase(ANN)
    assert failed.value.reason == "schema"
    assert _rows(shop_url, "SELECT count(*) FROM orders WHERE email = 'ann@example.org'") == [(2,)]


def test_a_slow_statement_times_out(shop_url: str) -> None:
    run_sql(shop_url, *SHOP_TABLES)
    system = replace(
        default_pack().systems.systems["shop"], url=pg_declared(shop_url), timeout_seconds=0.2
    )
    slow = SqlConnector(system)
    import psycopg
    from sqlalchemy.engine import make_url

    locker = psycopg.connect(make_url(shop_url).render_as_string(hide_password=False))
    try:
        locker.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(ConnectorTimeout) as timed_out:
            slow.erase(ANN)
        assert timed_out.value.reason == "timeout"
    finally:
        locker.rollback()
        locker.close()
        slow.close()


def test_an_unreachable_system_says_so_without_its_password() -> None:
    system = ConnectedSystem(
        key="gone",
        name="gone",
        kind=default_pack().systems.systems["shop"].kind,
        description="",
        identifiers=default_pack().systems.systems["shop"].identifiers,
        elements=default_pack().systems.systems["shop"].elements,
        url="postgresql://shop@127.0.0.1:1/shop",
        tables=default_pack().systems.systems["shop"].tables,
        timeout_seconds=1,
    )
    connector = SqlConnector(system, password="s3cret-pw")
    with pytest.raises(ConnectorError) as failed:
        connector.find(ANN)
    assert failed.value.reason == "unreachable"
    assert "s3cret-pw" not in str(failed.value)
    assert "s3cret-pw" not in repr(engine_url(system, "s3cret-pw"))


@pytest.mark.clause("CORP-1.16")
def test_mariadb_access_log_holds_only_the_listed_fields_and_is_erased(
    logs: SqlConnector, logs_url: str
) -> None:
    """Access logs may hold only access time, query, network id and IP: those are the
    declared elements (the system's ``user_agent`` is never read), and erasure deletes
    the subject's entries in MariaDB."""
    part = logs.export(ANN)
    assert sorted(part.data) == [
        "access_log.accessed_at",
        "access_log.ip_address",
        "access_log.network_id",
        "access_log.query",
    ]
    assert part.data["access_log.query"] == ["router manual", "warranty"]
    assert "ua-1" not in repr(part.data)
    fields = {item.field for item in logs.system.elements.values()}
    assert fields == set(default_pack().systems.activities["service.access_log"].fields)
    assert (logs.erase(ANN).rows, logs.erase(ANN).rows) == (2, 0)
    assert _rows(logs_url, "SELECT account_ref FROM access_log") == [("acc-2",)]
