"""Completion events from the shop come by themselves (CORP-5.4; issue 18, gap 3).

The reference pack's ``shop`` declares where its ``order`` completions are:
``source: {table: orders, key: order_number, at: after_sales_until, subject:
account_ref}``.  The test points that shop (``DOORSTEP_SYSTEM_URLS``) at the demo
shop's own schema in a PostgreSQL database of its own and runs the scan — what
the periodic job runs — with the fake clock: every order whose after-sales date
has come is recorded once, through the code path of the API and the CLI, its
deletion scheduled by ``order_record``; a later scan records only what closed
since; the deletion then anonymises the order in the shop.  A pack that points a
source anywhere its declaration does not reach is refused with the line.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.clock import FakeClock
from doorstep.core.database import drop_databases
from doorstep.core.errors import ConfigurationError
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings
from doorstep.demo_systems.shop import declared, open_shop
from doorstep.privacy.connectors.completions.carry import carry_out_due
from doorstep.privacy.connectors.completions.models import CompletionEvent, CompletionSourceState
from doorstep.privacy.connectors.completions.sources import ACTOR, scan_sources
from doorstep.privacy.datamap.pack import DEFAULT_PACK, default_pack, load_pack
from doorstep.privacy.datamap.systems import CompletionSource
from doorstep.services import Services
from doorstep.wiring import build_services
from tests.conftest import database_url_of
from tests.requests.conftest import new_subject

RULE = "order_record"


@pytest.fixture(scope="module")
def shop_server(server_url: str) -> Iterator[str]:
    """The demo shop's schema in a database of the module's own (its libpq url)."""
    name = f"doorstep_test_srcshop_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    drop_databases(server_url, [name])
    try:
        yield open_shop(server_url, email="demo@example.org", phone="+4915100000001", database=name)
    finally:
        drop_databases(server_url, [name])


@pytest.fixture
def shop(shop_server: str) -> str:
    """The shop with no orders."""
    with psycopg.connect(shop_server, autocommit=True) as connection:
        connection.execute("DELETE FROM orders")
        connection.execute("DELETE FROM payments")
    return shop_server


def build(
    settings: Settings,
    runtime: Runtime,
    sessions: sessionmaker[Session],
    clock: FakeClock,
    shop_url: str,
) -> Services:
    """The reference pack's services, its shop at ``shop_url``, live, two records a page."""
    bare, _password = declared(shop_url)
    configured = load_settings(
        env="test",
        database_url=database_url_of(settings),
        data_dir=settings.data_dir,
        system_urls={"shop": bare},
        requests_systems=("shop",),
        requests_systems_attempts=2,
        completion_sources_batch=2,
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


@pytest.fixture
def services(
    settings: Settings,
    runtime: Runtime,
    sessions: sessionmaker[Session],
    clock: FakeClock,
    shop: str,
) -> Services:
    return build(settings, runtime, sessions, clock, shop)


def order(shop: str, number: str, until: date | None, account: str | None = None) -> None:
    """An order of the shop whose after-sales period ends ``until`` (None: not set)."""
    with psycopg.connect(shop, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO orders (order_number, email, account_ref, name, address, postcode, "
            "items, after_sales_until) VALUES (%s, %s, %s, 'Ada', '1 Street', '10115', "
            "'Router', %s)",
            (number, f"{number.lower()}@example.org", account, until),
        )


def _events(db: Session) -> dict[str, CompletionEvent]:
    db.expire_all()
    rows = db.scalars(sa.select(CompletionEvent).where(CompletionEvent.system == "shop"))
    return {row.record_id: row for row in rows}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def test_the_reference_shop_declares_where_its_order_completions_come_from(shop: str) -> None:
    found = default_pack().systems.systems["shop"]
    assert found.completions["order"].source == CompletionSource(
        "orders", "order_number", "after_sales_until", "account_ref"
    )
    with psycopg.connect(shop) as connection:  # the demo shop's schema has the column
        kind = connection.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'orders' AND column_name = 'after_sales_until'"
        ).fetchone()
    assert kind == ("date",)


@pytest.mark.clause("CORP-5.4")
def test_closed_orders_are_recorded_once_by_the_scan_and_their_deletion_runs_by_the_rule(
    db: Session, clock: FakeClock, services: Services, sessions: sessionmaker[Session], shop: str
) -> None:
    today = clock.now().date()
    customer = new_subject(db)
    db.commit()
    order(shop, "O-1", today - timedelta(days=10), str(customer))
    order(shop, "O-2", today)
    order(shop, "O-3", today + timedelta(days=5))
    order(shop, "O-4", None)
    order(shop, "O-5", today - timedelta(days=3), "00000000-0000-4000-8000-000000000000")
    order(shop, "O-6", today - timedelta(days=1), "not-a-uuid")

    first = scan_sources(services, sessions)
    assert (first.recorded, first.refused, first.failed) == (4, 0, {})
    events = _events(db)
    assert set(events) == {"O-1", "O-2", "O-5", "O-6"}  # not the future one, not the unset one
    period = services.pack.retention[RULE].period
    one = events["O-1"]
    assert one.kind == "order" and one.rule == RULE and one.state == "scheduled"
    assert one.completed_at == _midnight(today - timedelta(days=10))
    assert one.due_at == one.completed_at + period
    assert one.subject_id == customer  # the shop's account id names a Doorstep subject
    assert events["O-5"].subject_id is None and events["O-6"].subject_id is None  # unknown
    assert {row.recorded_by for row in events.values()} == {ACTOR}
    audited = db.execute(
        sa.text("SELECT count(*) FROM audit_events WHERE action = 'completion.recorded'")
    ).scalar_one()
    assert audited == 4

    again = scan_sources(services, sessions)
    assert (again.recorded, again.refused) == (0, 0)
    assert len(_events(db)) == 4  # each record once

    clock.advance(timedelta(days=5))
    later = scan_sources(services, sessions)
    assert later.recorded == 1 and set(_events(db)) == {"O-1", "O-2", "O-3", "O-5", "O-6"}
    state = db.get(CompletionSourceState, ("shop", "order"), populate_existing=True)
    assert state is not None
    assert state.watermark == _midnight(today + timedelta(days=5))
    assert (state.recorded, state.refused, state.reason) == (5, 0, None)

    # the deletion it scheduled runs when the rule's period has passed
    clock.advance(period - timedelta(days=9))
    assert carry_out_due(services, sessions).states == {"done": 1}  # O-1 only, so far
    with psycopg.connect(shop) as connection:
        rows = dict(connection.execute("SELECT order_number, name FROM orders").fetchall())
    assert rows["O-1"] is None and rows["O-2"] == "Ada"  # anonymised; the others not yet


def test_a_key_that_is_no_reference_is_refused_and_the_scan_goes_on(
    db: Session, clock: FakeClock, services: Services, sessions: sessionmaker[Session], shop: str
) -> None:
    today = clock.now().date()
    order(shop, "BAD KEY", today - timedelta(days=2))
    order(shop, "O-7", today - timedelta(days=1))
    result = scan_sources(services, sessions)
    assert (result.recorded, result.refused) == (1, 1)
    assert set(_events(db)) == {"O-7"}
    state = db.get(CompletionSourceState, ("shop", "order"), populate_existing=True)
    assert state is not None and state.refused == 1


def test_an_unreachable_shop_records_nothing_and_says_why(
    db: Session,
    settings: Settings,
    runtime: Runtime,
    sessions: sessionmaker[Session],
    clock: FakeClock,
    server_url: str,
) -> None:
    gone = make_url(server_url).set(database="doorstep_test_no_such_shop")
    services = build(settings, runtime, sessions, clock, gone.render_as_string(False))
    result = scan_sources(services, sessions)
    assert result.failed == {"shop.order": "unreachable"} and result.recorded == 0
    state = db.get(CompletionSourceState, ("shop", "order"), populate_existing=True)
    assert state is not None and state.reason == "unreachable" and state.watermark is None
    assert _events(db) == {}


def test_a_shop_that_is_not_live_is_not_scanned(
    db: Session, clock: FakeClock, runtime: Runtime, sessions: sessionmaker[Session]
) -> None:
    services = build_services(runtime)  # requests_systems empty: no system is live
    assert scan_sources(services, sessions).sources == 0


def _pack_with(tmp_path: Path, old: str, new: str) -> Path:
    target = tmp_path / f"pack{len(list(tmp_path.iterdir()))}"
    shutil.copytree(DEFAULT_PACK, target)
    source = target / "systems.yaml"
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    source.write_text(text.replace(old, new), encoding="utf-8")
    return target


DECLARED = "source: {table: orders, key: order_number, at: after_sales_until, subject: account_ref}"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("source: {table: parcels, key: order_number, at: sent_on}", "not one the system maps"),
        (
            "source: {table: orders, key: email, at: after_sales_until}",
            "is not the key column of the completion's",
        ),
        ("source: {table: orders, key: order_number}", "source lacks at"),
        (
            "source: {table: orders, key: order_number, at: after_sales_until, subject: email}",
            "subject 'email' is not the key column of account_id in table 'orders'",
        ),
        ("source: {table: orders, key: order_number, at: 'x; drop'}", "is not a column name"),
        ("source: {table: orders, key: order_number, at: d, where: y}", "unknown key(s) where"),
    ],
)
def test_a_source_outside_the_systems_declaration_is_refused_with_its_line(
    tmp_path: Path, source: str, message: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load_pack(_pack_with(tmp_path, DECLARED, source))
    assert "systems.yaml:" in refused.value.detail and message in refused.value.detail


def test_only_an_sql_systems_completion_may_have_a_source(tmp_path: Path) -> None:
    old = "      ticket:\n        retention: after_sales_ticket\n"
    new = old + "        source: {table: tickets, key: id, at: closed_on}\n"
    with pytest.raises(ConfigurationError) as refused:
        load_pack(_pack_with(tmp_path, old, new))
    assert "only an sql system's completions may declare a source" in refused.value.detail
