"""The demo's online shop: a database of its own on the demo's PostgreSQL server.

Its schema is the one the reference pack's ``shop`` system maps
(``systems.yaml``): ``orders`` (delivery name, address, postcode, phone, the
products; found by e-mail, phone, account or order number), ``payments``
(the payment provider's token, never a card number) and ``accounts`` (a shop
account's registration information, deleted at once when the account is
closed: CORP-5.5).  :func:`open_shop` creates the database and tables when
missing and gives the demo's subscriber one order, once; it answers the shop's
url as a pack declares it.
"""

from __future__ import annotations

import contextlib

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

DATABASE = "doorstep_shop"
ORDER_NUMBER = "DS-10001"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS orders (order_number text PRIMARY KEY, email text, phone text, "
    "account_ref text, name text, address text, postcode text, items text, "
    "after_sales_until date)",
    "CREATE TABLE IF NOT EXISTS payments (order_number text NOT NULL, email text, card_token text)",
    "CREATE TABLE IF NOT EXISTS accounts (account_ref text PRIMARY KEY, email text, "
    "username text, name text, phone text, password_hash text)",
)


def declared(url: str) -> tuple[str, str | None]:
    """``url`` as a pack declares it (no password) and the password, stored apart."""
    parsed = make_url(url)
    bare = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False), parsed.password


def open_shop(server_url: str, *, email: str, phone: str, database: str = DATABASE) -> str:
    """Create the shop beside ``server_url``'s database and seed one order; the shop's url.

    The url holds the server's password, if any: split it with :func:`declared`.
    """
    with psycopg.connect(server_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if exists.fetchone() is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = make_url(server_url).set(database=database).render_as_string(hide_password=False)
    with psycopg.connect(url) as shop, shop.transaction():
        for statement in _SCHEMA:
            shop.execute(statement)
        seeded = shop.execute(
            "INSERT INTO orders (order_number, email, phone, name, address, postcode, items, "
            "after_sales_until) VALUES (%s, %s, %s, %s, %s, %s, %s, "
            "current_date + 30) ON CONFLICT (order_number) DO NOTHING",
            (
                ORDER_NUMBER,
                email,
                phone,
                "Demo Subscriber",
                "1 Example Street",
                "10115",
                "Mesh Wi-Fi extender",
            ),
        )
        if seeded.rowcount:
            shop.execute(
                "INSERT INTO payments (order_number, email, card_token) VALUES (%s, %s, %s)",
                (ORDER_NUMBER, email, "tok_demo_4242"),
            )
    return url
