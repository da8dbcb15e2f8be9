"""The demo's shop database and the ``system_urls`` setting that points the pack at it."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

import doorstep
from doorstep.core.database import drop_databases
from doorstep.core.errors import ConfigurationError
from doorstep.demo_systems.shop import ORDER_NUMBER, declared, open_shop
from doorstep.privacy.connectors.base import Identifiers, Outcome
from doorstep.privacy.connectors.sql import SqlConnector
from doorstep.privacy.datamap.pack import PolicyPack, load_pack
from doorstep.privacy.datamap.system_urls import with_urls


@pytest.fixture(scope="module")
def pack() -> PolicyPack:
    return load_pack(Path(doorstep.__file__).parent / "policy_pack" / "default")


def test_the_demo_shop_is_what_the_pack_maps(server_url: str, pack: PolicyPack) -> None:
    name = f"doorstep_test_shop_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    try:
        url = open_shop(server_url, email="demo@example.org", phone="+4915100000001", database=name)
        again = open_shop(
            server_url, email="demo@example.org", phone="+4915100000001", database=name
        )
        assert again == url  # a second start reuses the shop and its order
        bare, password = declared(url)
        shop = with_urls(pack, {"shop": bare}).systems.systems["shop"]
        connector = SqlConnector(shop, password=password)
        who = Identifiers.of(email="demo@example.org")
        exported = connector.export(who)
        assert exported.outcome is Outcome.EXPORTED
        assert exported.rows == 2  # the order and its payment, once each
        assert connector.find(Identifiers.of(order_number=ORDER_NUMBER)).outcome is Outcome.FOUND
        assert connector.erase(who).outcome is Outcome.ERASED
        assert connector.find(who).outcome is Outcome.NOT_FOUND
    finally:
        drop_databases(server_url, [name])


@pytest.mark.parametrize(
    ("urls", "says"),
    [
        ({"nowhere": "postgresql://h/db"}, "'nowhere' is not a declared"),
        ({"tickets": "http://127.0.0.1:1/"}, "'tickets' is not a declared"),
        ({"shop": "postgresql://u:secret@h/db"}, "holds a password"),
        ({"newsletter": "ftp://127.0.0.1/"}, "http:// or https://"),
    ],
)
def test_system_urls_never_add_a_system_nor_a_password(
    pack: PolicyPack, urls: dict[str, str], says: str
) -> None:
    with pytest.raises(ConfigurationError, match="system_urls") as refused:
        with_urls(pack, urls)
    assert says in str(refused.value)
    assert "secret" not in str(refused.value)


def test_system_urls_point_a_declared_system_elsewhere(pack: PolicyPack) -> None:
    moved = with_urls(pack, {"newsletter": "http://127.0.0.1:9999/"})
    assert moved.systems.systems["newsletter"].url == "http://127.0.0.1:9999/"
    assert moved.systems.systems["shop"] == pack.systems.systems["shop"]
    assert replace(moved, systems=pack.systems) == pack
