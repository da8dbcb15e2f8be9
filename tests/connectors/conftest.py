"""Fixtures of the connector tests: a real PostgreSQL and a real MariaDB "other system".

* ``shop_url`` — a database of its own on the test PostgreSQL server (the one of
  ``DOORSTEP_TEST_DATABASE_URL`` or the embedded one), standing for the
  operator's shop, created and dropped per test process;
* ``logs_url`` — a database of its own on the MariaDB server of
  ``DOORSTEP_TEST_MARIADB_URL`` (default: root on 127.0.0.1:3306, as on this
  machine kind and in CI, which starts the server when it is down).  Without a
  reachable server the tests skip, which fails the run under ``CI=true``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.clock import FakeClock
from doorstep.core.database import drop_databases, recreate_database
from doorstep.core.runtime import Runtime
from doorstep.core.settings import Settings, load_settings
from doorstep.privacy.connectors.credentials import set_secret
from doorstep.privacy.datamap.systems import ConnectedSystem
from doorstep.privacy.requests.context import RequestContext
from doorstep.wiring import build_services
from tests.conftest import database_url_of
from tests.connectors.loopback import Newsletter, Service

MARIADB_URL = os.environ.get(
    "DOORSTEP_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)


def _name(kind: str) -> str:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:8] or f"p{os.getpid()}"
    return f"doorstep_test_{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{kind}"


@pytest.fixture(scope="session")
def shop_url(server_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database standing for the shop (libpq URL)."""
    name = _name("shop")
    url = recreate_database(server_url, name)
    yield url
    drop_databases(server_url, [name])


@pytest.fixture(scope="session")
def logs_url() -> Iterator[str]:
    """A fresh MariaDB database standing for the access-log system (SQLAlchemy URL)."""
    admin = sa.create_engine(MARIADB_URL, poolclass=sa.pool.NullPool)
    try:
        with admin.connect():
            pass
    except sa.exc.OperationalError:
        pytest.skip(f"no MariaDB at {make_url(MARIADB_URL).render_as_string(hide_password=True)}")
    name = _name("logs")
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        connection.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    url = make_url(MARIADB_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
    admin.dispose()


def pg_declared(url: str) -> str:
    """A libpq URL as a pack declares it (``postgresql://…``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def run_sql(url: str, *statements: str) -> None:
    """Run ``statements`` on the system's database (its own schema, as the operator has it)."""
    if url.startswith("mysql"):
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
        engine.dispose()
        return
    with psycopg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    ) as connection:
        for statement in statements:
            connection.execute(statement)  # type: ignore[call-overload]


def with_url(system: ConnectedSystem, url: str) -> ConnectedSystem:
    """The pack's system pointed at a test database (the declaration a test pack would hold)."""
    from dataclasses import replace

    return replace(system, url=url)


# --- orchestration: a pack whose systems are the test's own, a loopback HTTP service ---------

SECRET = "newsletter-signing-secret-for-tests"
SHOP_SCHEMA = (
    "DROP TABLE IF EXISTS orders, payments",
    "CREATE TABLE orders (order_number text PRIMARY KEY, email text, account_ref text, "
    "name text, address text)",
    "CREATE TABLE payments (order_number text, email text, card_token text)",
)


#: The systems of :func:`systems_yaml` that requests reach (the stand-ins are not live).
TEST_SYSTEMS = ("shop", "newsletter", "tickets", "archive")


def systems_yaml(shop: str, newsletter: str, logs: str | None = None) -> str:
    """A systems.yaml with the test's shop (PostgreSQL), newsletter (HTTP), tickets (manual),
    an archive found by order number only (so every retention rule of the pack is bound)
    and, when given, access logs (MariaDB)."""
    text = f"""
systems:
  shop:
    name: Online shop
    kind: sql
    url: {shop}
    description: Orders and payment tokens.
    identifiers: [email, account_id]
    timeout_seconds: 5
    tables:
      orders:
        keys: {{email: email, account_id: account_ref}}
        erase: anonymise
        columns:
          name: {{field: name, category: user.name, purposes: [order.fulfilment],
                 legal_basis: contract, retention: order_record, clauses: [CORP-1.13]}}
          address: {{field: address, category: user.contact.address.street,
                    purposes: [order.fulfilment], legal_basis: contract,
                    retention: order_record, clauses: [CORP-1.13]}}
      payments:
        keys: {{email: email}}
        erase: delete
        columns:
          card_token: {{field: payment_token, category: user.financial.credit_card,
                       purposes: [order.payment], legal_basis: contract,
                       retention: order_record, tokenised: true, clauses: [CORP-1.21]}}
  newsletter:
    name: Newsletter service
    kind: http
    url: {newsletter}
    description: The mailing service.
    identifiers: [email]
    timeout_seconds: 1
    elements:
      subscriber.email: {{field: email, category: user.contact.email, purposes: [newsletter],
                          legal_basis: consent, retention: until_erasure, clauses: [CORP-2.5]}}
      subscriber.opens: {{field: opens, category: user.behavior, purposes: [newsletter],
                          legal_basis: consent, retention: until_erasure, clauses: [CORP-2.5]}}
  tickets:
    name: After-sales tickets
    kind: manual
    description: Searched by hand.
    identifiers: [email]
    due_days: 7
    elements:
      ticket.name: {{field: name, category: user.name, purposes: [after_sales.service],
                     legal_basis: contract, retention: after_sales_ticket, clauses: [CORP-1.14]}}
  archive:
    name: Paper archive
    kind: manual
    description: Found by order number only (requests know none, so never asked here).
    identifiers: [order_number]
    elements:
      archive.query: {{field: search_query, category: user.behavior.search_history,
                       purposes: [service.access_log], legal_basis: legitimate_interests,
                       retention: access_log, clauses: [CORP-1.16]}}
      archive.lead: {{field: email, category: user.contact.email, purposes: [acquired.contacts],
                      legal_basis: legitimate_interests, retention: acquired_data,
                      clauses: [CORP-1.17]}}
      archive.resume: {{field: resume, category: user.workplace, subject: job_applicant,
                        purposes: [recruitment], legal_basis: contract,
                        retention: job_application, clauses: [CORP-1.19]}}
"""
    # The reference pack's collection points (CORP-1.1) name these systems; the test's
    # stand-ins hold one element each and are never live (not in requests_systems).
    text += """
  cloud_backup:
    name: Cloud backup
    kind: manual
    description: Stand-in of the reference pack's cloud backup.
    identifiers: [email]
    elements:
      backup.contacts: {field: contacts, category: user.contact, purposes: [cloud.backup],
                        legal_basis: consent, retention: until_erasure, clauses: [CORP-1.18]}
  careers:
    name: Job applications
    kind: manual
    description: Stand-in of the reference pack's recruitment tool.
    identifiers: [email]
    elements:
      application.resume: {field: resume, category: user.workplace, subject: job_applicant,
                           purposes: [recruitment], legal_basis: contract,
                           retention: job_application, clauses: [CORP-1.19]}
"""
    if not logs:
        text += """
  access_logs:
    name: Service access log
    kind: manual
    description: Stand-in of the reference pack's access log.
    identifiers: [account_id]
    elements:
      log.query: {field: search_query, category: user.behavior.search_history,
                  purposes: [service.access_log], legal_basis: legitimate_interests,
                  retention: access_log, clauses: [CORP-1.16]}
"""
    if logs:
        text += f"""
  access_logs:
    name: Service access log
    kind: sql
    url: {logs}
    description: Who used the services.
    identifiers: [account_id]
    timeout_seconds: 5
    tables:
      access_log:
        keys: {{account_id: account_ref}}
        erase: delete
        columns:
          query: {{field: search_query, category: user.behavior.search_history,
                  purposes: [service.access_log], legal_basis: legitimate_interests,
                  retention: access_log, clauses: [CORP-1.16]}}
"""
    return text


def write_pack(dest: Path, text: str) -> Path:
    """A copy of the reference pack at ``dest`` with ``text`` as its systems.yaml."""
    import shutil

    from doorstep.privacy.datamap.pack import DEFAULT_PACK

    shutil.copytree(DEFAULT_PACK, dest)
    (dest / "systems.yaml").write_text(text, encoding="utf-8")
    # The test's archive is a connected system the reference pack's register of
    # collection points (CORP-1.1) does not know: register it beside the others.
    if "\n  archive:\n" not in text:
        return dest
    datamap = dest / "datamap.yaml"
    marker = "\n# The corporate policy's purposes (CORP-1.2"
    point = (
        "  archive:\n    kind: connected_system\n    system: archive\n"
        "    description: The test's paper archive.\n"
        "    purposes: [service.access_log, acquired.contacts, recruitment]\n"
        '    notice: {section: "CORP 1. Collection and Use of Personal Information", '
        "path: /policy}\n"
    )
    original = datamap.read_text(encoding="utf-8")
    assert marker in original, "the reference pack's datamap.yaml changed its layout"
    datamap.write_text(original.replace(marker, "\n" + point + marker, 1), encoding="utf-8")
    return dest


@pytest.fixture
def newsletter() -> Iterator[Service]:
    """The loopback newsletter service, started for the test."""
    service = Service(Newsletter(secret=SECRET))
    yield service
    service.stop()


@pytest.fixture
def shop_db(shop_url: str) -> str:
    """The shop's database with its tables empty (a pack's ``postgresql://`` url)."""
    run_sql(shop_url, *SHOP_SCHEMA)
    return pg_declared(shop_url)


@pytest.fixture
def pack_dir(tmp_path: Path, shop_db: str, newsletter: Service) -> Path:
    """The reference pack with the test's three systems."""
    return write_pack(tmp_path / "pack", systems_yaml(shop_db, newsletter.url))


@pytest.fixture
def sys_settings(settings: Settings, pack_dir: Path) -> Settings:
    """Test settings under that pack, requests reaching the test's systems, two attempts each."""
    return load_settings(
        env="test",
        database_url=database_url_of(settings),
        data_dir=settings.data_dir,
        policy_pack=pack_dir,
        requests_systems=TEST_SYSTEMS,
        requests_systems_attempts=2,
    )


@pytest.fixture
def sys_runtime(
    sys_settings: Settings, runtime: Runtime, sessions: sessionmaker[Session], clock: FakeClock
) -> Runtime:
    """A runtime under that pack (sessions in the rolled-back transaction)."""
    return Runtime(
        settings=sys_settings,
        database_url=runtime.database_url,
        engine=runtime.engine,
        sessions=sessions,
        clock=clock,
    )


@pytest.fixture
def sys_ctx(sys_runtime: Runtime, db: Session, clock: FakeClock) -> RequestContext:
    """The request context of that runtime's services; the newsletter's secret is stored."""
    services = build_services(sys_runtime)
    set_secret(db, services.keys.keyring, clock, "newsletter", SECRET)
    return RequestContext.of(services)
