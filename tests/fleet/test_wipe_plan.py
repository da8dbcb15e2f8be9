"""What a removal plans from a router's own answers, on the simulator's data model
(decision 0042): pure functions, no network."""

from __future__ import annotations

import dataclasses
import re

from doorstep.devices.fleet.wipe_plan import (
    SUPPORTED_PATHS,
    TABLES,
    neutral_ssid,
    plan_of,
    ppp_updates,
    random_passphrase,
    wifi_updates,
)
from doorstep.usp import Delete, DeleteResp, ErrorMsg, GetInstances, GetSupportedDM
from doorstep.usp.agent_sim import make_agents
from doorstep.usp.agent_sim._supported import supported_dm
from doorstep.usp.agent_sim._tables import delete
from doorstep.usp.agent_sim.datamodel import DataModel, build_values
from doorstep.usp.codes import ErrorCode

HOSTS = "Device.Hosts.Host."


def _plan(**profile: object):  # type: ignore[no-untyped-def]
    made = dataclasses.replace(make_agents(1, controller_id="self::c")[0].profile, **profile)
    values = build_values(made)
    supported = supported_dm(
        values, GetSupportedDM(SUPPORTED_PATHS, first_level_only=True), made.omit, made.deletable
    )
    return plan_of(supported, DataModel(values).instances(GetInstances(TABLES))), values


def test_the_plan_follows_what_the_model_allows() -> None:
    plan, _ = _plan(deletable=(HOSTS,))
    assert plan.ppp == ("Device.PPP.Interface.1.",)
    assert plan.ssids == ("Device.WiFi.SSID.1.", "Device.WiFi.SSID.2.")
    assert plan.access_points == ("Device.WiFi.AccessPoint.1.", "Device.WiFi.AccessPoint.2.")
    assert plan.sae and plan.factory_reset and plan.hosts_deletable
    assert plan.hosts == tuple(f"{HOSTS}{i}." for i in range(1, len(plan.hosts) + 1))
    assert plan.hosts

    read_only, _ = _plan()  # TR-181's host table: a controller may not delete its entries
    assert not read_only.hosts_deletable and read_only.hosts == plan.hosts

    bare, _ = _plan(omit=("Device.Hosts.", "Device.WiFi."))
    assert not bare.hosts and not bare.has_wifi and bare.has_pppoe


def test_the_changes_empty_the_credentials_and_never_reuse_a_passphrase() -> None:
    plan, _ = _plan()
    assert ppp_updates(plan) == {
        "Device.PPP.Interface.1.Username": "",
        "Device.PPP.Interface.1.Password": "",
    }
    one, two = random_passphrase(), random_passphrase()
    assert one != two and re.fullmatch(r"[A-Za-z0-9_-]{24}", one)
    updates = wifi_updates(plan, "Doorstep-1A2B", one)
    assert updates["Device.WiFi.SSID.2.SSID"] == "Doorstep-1A2B"
    assert updates["Device.WiFi.AccessPoint.1.Security.SAEPassphrase"] == one
    assert neutral_ssid("Doorstep-", bytes.fromhex("1a2b3c")) == "Doorstep-1A2B"


def test_the_simulator_deletes_host_entries_only_where_its_model_allows() -> None:
    _, values = _plan()
    before = dict(values)
    refused = delete(values, Delete((f"{HOSTS}1.",)))
    assert isinstance(refused, ErrorMsg) and refused.err_code == ErrorCode.NOT_A_TABLE
    assert values == before

    deleted = delete(values, Delete((f"{HOSTS}*.",), allow_partial=True), (HOSTS,))
    assert isinstance(deleted, DeleteResp) and deleted.deleted_obj_results[0].ok
    assert not any(path.startswith(HOSTS) for path in values)
    assert values["Device.Hosts.HostNumberOfEntries"] == "0"
