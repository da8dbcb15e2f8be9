"""The purpose gate per TR-181 path: the pack declares paths per purpose, the controller
refuses the rest before anything is sent, and audits the refusal without values."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.packcheck.check import check_pack
from doorstep.privacy.datamap.pack import DEFAULT_PACK, default_pack
from doorstep.schema import metadata
from doorstep.usp import messages
from doorstep.usp.config import UspConfig
from doorstep.usp.controller import (
    Controller,
    DeviceOfflineError,
    NullAuditSink,
    RuntimeAuditSink,
)
from doorstep.usp.paths import PathRefusedError, UspPathPolicy, paths_of
from tests.usp_net.conftest import run
from tests.usp_net.helpers import store_for

EID = "os::012345-0A0B0C0D0E0F"
REG = "device.registration"


def _policy() -> UspPathPolicy:
    return UspPathPolicy(default_pack().usp_paths)


def test_the_reference_pack_declares_what_each_function_reaches() -> None:
    policy = _policy()
    assert policy.refused(REG, ["Device.DeviceInfo.SerialNumber"]) is None
    assert policy.refused("device.status_query", ["Device.Hosts.Host.*.HostName"]) is None
    assert policy.refused("device.product_functions", ["Device.Reboot()"]) is None
    assert policy.refused(REG, ["Device.Hosts.Host.*.HostName"]) == (
        "Device.Hosts.Host.*.HostName",
        "path_not_declared",
    )
    # the status purpose reaches the hosts, not the whole device
    assert policy.refused("device.status_query", ["Device."]) is not None
    assert policy.refused(None, ["Device.DeviceInfo."]) == ("Device.DeviceInfo.", "no_purpose")
    assert policy.refused("no.such.purpose", ["Device.DeviceInfo."]) is not None


def test_a_subscription_is_checked_on_the_paths_it_subscribes_to() -> None:
    add = messages.add(
        "m-1",
        {
            "Device.LocalAgent.Subscription.": {
                "NotifType": "ValueChange",
                "ReferenceList": "Device.DeviceInfo.SoftwareVersion,Device.Hosts.Host.",
            }
        },
    ).body
    assert "Device.Hosts.Host." in paths_of(add)
    with pytest.raises(PathRefusedError):
        _policy().check(REG, add)
    set_body = messages.set("m-2", {"Device.WiFi.SSID.1.SSID": "secret-name"}).body
    assert paths_of(set_body) == ("Device.WiFi.SSID.1.SSID",)  # names, never the value


@pytest.mark.clause("CPE-I.ii.1.a")
def test_the_controller_refuses_an_undeclared_path_before_sending_and_audits_it() -> None:
    async def scenario() -> None:
        audit = NullAuditSink()
        controller = Controller(UspConfig(), credentials=store_for([]), audit=audit)
        controller.paths = _policy()
        search = 'Device.Hosts.Host.[HostName=="alice-phone"].PhysAddress'
        for path in ("Device.Hosts.Host.*.HostName", search):
            with pytest.raises(PathRefusedError) as refused:
                await controller.get(EID, path, purpose=REG)
            assert refused.value.status == 403
            assert "alice" not in str(refused.value.fields)
        with pytest.raises(PathRefusedError):
            await controller.get(EID, "Device.DeviceInfo.", purpose=None)
        # a declared path goes on to the transport (none here: offline, not refused)
        with pytest.raises(DeviceOfflineError):
            await controller.get(EID, "Device.DeviceInfo.ModelName", purpose=REG, timeout=1)
        reasons = [(e.reason, e.purpose, e.path) for e in audit.events]
        assert reasons[:2] == [
            ("path_not_declared", REG, "Device.Hosts.Host.*.HostName"),
            ("path_not_declared", REG, "Device.Hosts.Host.[…].PhysAddress"),
        ]
        assert reasons[2][0] == "no_purpose"
        assert len(reasons) == 3
        assert controller.counters["paths_refused"] == 3
        await controller.aclose()

    run(scenario())


def test_a_path_refusal_is_written_to_the_audit_trail_without_values(committed: Runtime) -> None:
    async def scenario() -> None:
        audit = RuntimeAuditSink(committed)
        controller = Controller(UspConfig(), credentials=store_for([]), audit=audit)
        controller.paths = _policy()
        with pytest.raises(PathRefusedError):
            await controller.set(
                EID, {"Device.PPP.Interface.1.Password": "canary-pw-31"}, purpose=REG
            )
        await asyncio.wait_for(audit.drain(), 10)
        await audit.aclose()
        await controller.aclose()

    run(scenario())
    with committed.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT purpose, outcome, details::text FROM audit_events "
                "WHERE action = 'usp.path_refused'"
            )
        ).all()
    assert len(rows) == 1
    purpose, outcome, details = rows[0]
    assert (purpose, outcome) == (REG, "refused")
    assert "Device.PPP.Interface.1.Password" in details and "canary-pw-31" not in details
    assert EID not in details  # the endpoint is a keyed reference


def _pack_with(tmp_path: Path, section: str) -> Path:
    folder = tmp_path / "pack"
    folder.mkdir()
    for source in DEFAULT_PACK.iterdir():
        if source.is_file():
            (folder / source.name).write_bytes(source.read_bytes())
    datamap = folder / "datamap.yaml"
    text = datamap.read_text(encoding="utf-8")
    start, end = _section_span(text, "usp_paths")
    datamap.write_text(text[:start] + section + text[end:], encoding="utf-8")
    return folder


def _section_span(text: str, key: str) -> tuple[int, int]:
    """Where the top-level section ``key:`` starts and where the next top-level key does.

    Found by its key, whatever the order of the sections (the end of the text when it
    is the last one); comments and indented lines belong to the section they follow.
    """
    found = re.search(rf"^{re.escape(key)}:", text, flags=re.MULTILINE)
    assert found is not None, f"the pack's datamap.yaml has no {key}: section"
    following = re.compile(r"^[A-Za-z_]", flags=re.MULTILINE).search(text, found.end())
    return found.start(), following.start() if following else len(text)


@pytest.mark.parametrize(
    "text",
    [
        "purposes:\n  a: 1\nusp_paths:\n  p:\n    - Device.X.\n# next\nregions:\n  r: 1\n",
        "regions:\n  r: 1\npurposes:\n  a: 1\nusp_paths:\n  p:\n# note\n    - Device.X.\n",
    ],
    ids=["before-regions", "last"],
)
def test_the_usp_paths_section_is_found_by_its_key_in_any_order(text: str) -> None:
    start, end = _section_span(text, "usp_paths")
    replaced = text[:start] + "usp_paths: {}\n" + text[end:]
    assert "Device.X." not in replaced
    assert replaced.count("usp_paths:") == 1
    assert "regions:\n  r: 1\n" in replaced and "purposes:\n  a: 1\n" in replaced


@pytest.mark.parametrize(
    ("section", "needle", "message"),
    [
        (
            "usp_paths:\n  device.snooping:\n    - Device.Hosts.\n",
            "device.snooping:",
            "usp_paths names undeclared purpose 'device.snooping'",
        ),
        (
            "usp_paths:\n  device.status_query:\n    - Hosts.Host.\n",
            "device.status_query:",
            "'Hosts.Host.' is not a TR-181 path prefix",
        ),
        (
            "usp_paths:\n  device.status_query: Device.Hosts.\n",
            "device.status_query:",
            "must be a list of TR-181 paths",
        ),
    ],
)
def test_a_bad_usp_paths_section_is_named_with_file_and_line(
    tmp_path: Path, section: str, needle: str, message: str
) -> None:
    pack = _pack_with(tmp_path, section)
    lines = (pack / "datamap.yaml").read_text(encoding="utf-8").splitlines()
    section_at = lines.index("usp_paths:")
    line = next(i for i, text in enumerate(lines, start=1) if i > section_at and needle in text)
    found = [str(problem) for problem in check_pack(pack, metadata)]
    assert any(f"datamap.yaml:{line}:" in item and message in item for item in found), found
