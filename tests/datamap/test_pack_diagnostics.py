"""The pack's ``diagnostics:`` section: which results are stored, under which rule (0041)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import DEFAULT_PACK, load_pack
from doorstep.privacy.datamap.pack_diagnostics import read_diagnostics
from doorstep.privacy.datamap.pack_entries import RetentionRule, Trigger

RULES = {
    "diagnostic_result": RetentionRule("diagnostic_result", Trigger.CREATED, timedelta(days=7), ""),
    "device_operation": RetentionRule(
        "device_operation", Trigger.REQUEST_CLOSED, timedelta(days=365), ""
    ),
}


def test_the_shipped_packs_store_pings_and_speed_tests_and_relay_trace_routes() -> None:
    for folder in (DEFAULT_PACK, DEFAULT_PACK.parent / "example-isp"):
        policy = load_pack(folder).diagnostics
        for kind in ("ping", "download", "upload"):
            assert policy.rule(kind) == "diagnostic_result", (folder.name, kind)
        assert not policy.stores("traceroute")


def test_a_pack_without_the_section_stores_nothing() -> None:
    policy = read_diagnostics({}, RULES)
    assert not any(policy.stores(kind) for kind in ("ping", "traceroute", "download", "upload"))


def test_a_kind_left_out_is_not_stored() -> None:
    policy = read_diagnostics(
        {"diagnostics": {"ping": {"store": True, "retention": "diagnostic_result"}}}, RULES
    )
    assert policy.stores("ping") and not policy.stores("upload")


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ([], "must be a mapping"),
        ({"whois": {"store": False}}, "unknown kind 'whois'"),
        ({"ping": {"store": "yes"}}, "store must be true or false"),
        ({"ping": {"store": True}}, "must name a rule"),
        ({"ping": {"store": True, "retention": "nowhere"}}, "must name a rule"),
        ({"ping": {"store": True, "retention": "device_operation"}}, "must count from 'created'"),
        ({"ping": {"store": False, "retention": "diagnostic_result"}}, "has no retention rule"),
        ({"ping": {"store": True, "retention": "diagnostic_result", "days": 3}}, "mapping of"),
    ],
)
def test_a_bad_section_stops_the_pack(section: Any, says: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        read_diagnostics({"diagnostics": section}, RULES)
    assert says in refused.value.detail
