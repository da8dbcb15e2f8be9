"""The simulated agent's firmware images, Download(), Activate() and reboot timing.

Over real Mosquitto (MQTT 5), a controller sends what a fleet engine sends (built with
``doorstep.usp.messages``) to a strict simulated agent, and reads what a TR-369 agent
answers: the image table, OperateResp with a Request row, OperationComplete,
TransferComplete!, Boot! with FirmwareUpdated and the ValueChange of SoftwareVersion.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from doorstep.core.clock import FakeClock
from doorstep.usp import (
    AsyncRequest,
    CommandFailure,
    ErrorCode,
    OutputArgs,
    UspErrorResponse,
)
from doorstep.usp.agent_sim import SimConditions, SimTiming, make_agents
from doorstep.usp.controller import Controller
from tests.usp_net.conftest import needs_mosquitto, run
from tests.usp_net.helpers import RecordingHooks, until
from tests.usp_net.simulated import (
    changes,
    completions,
    connected,
    events,
    order,
    request_rows,
    strict_agent,
    subscribe,
)

IMAGE = "Device.DeviceInfo.FirmwareImage."
DOWNLOAD = IMAGE + "2.Download()"
ACTIVATE = IMAGE + "2.Activate()"
VERSION = "Device.DeviceInfo.SoftwareVersion"
URL = "https://firmware.example/dr-1000/fw-2.1.0.bin"
SUM = hashlib.sha256(URL.encode()).hexdigest()


async def _watch(controller: Controller, eid: str) -> None:
    """The subscriptions a fleet engine makes before it updates firmware."""
    ops = (IMAGE + "*.Download()", IMAGE + "*.Activate()")
    await subscribe(controller, eid, "ops", "OperationComplete", *ops)
    await subscribe(controller, eid, "transfer", "Event", "Device.LocalAgent.TransferComplete!")
    await subscribe(controller, eid, "boot", "Event", "Device.Boot!")
    await subscribe(controller, eid, "version", "ValueChange", VERSION)


async def _refusal(controller: Controller, eid: str, command: str, args: dict[str, str]) -> int:
    """The err_code of the CommandFailure an OperateResp carries for ``command``."""
    answer = await controller.operate(eid, command, args)
    result = answer.operation_results[0].result
    assert isinstance(result, CommandFailure), command
    return result.err_code


@needs_mosquitto
def test_the_image_table_is_read_set_and_announced(broker: int) -> None:
    agent = strict_agent()
    eid = agent.endpoint_id
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(agent, hooks, broker) as controller:
            info = await controller.get(eid, ["Device.DeviceInfo."])
            values = info.values
            assert values[IMAGE + "1.Status"] == "Active"
            assert values[IMAGE + "1.Version"] == agent.profile.software_version
            assert values[IMAGE + "1.Available"] == "true"
            assert values[IMAGE + "2.Status"] == "NoImage"
            assert values[IMAGE + "2.Available"] == "false"
            assert values["Device.DeviceInfo.ActiveFirmwareImage"] == IMAGE + "1"
            assert values["Device.DeviceInfo.BootFirmwareImage"] == IMAGE + "1"

            for path, value, code in (
                (IMAGE + "1.Available", "false", ErrorCode.VALUE_CONFLICT),  # it runs
                ("Device.DeviceInfo.BootFirmwareImage", IMAGE + "2", ErrorCode.VALUE_CONFLICT),
                ("Device.DeviceInfo.BootFirmwareImage", IMAGE + "9", ErrorCode.INVALID_VALUE),
                (IMAGE + "1.Status", "NoImage", ErrorCode.NOT_WRITABLE),
            ):
                with pytest.raises(UspErrorResponse) as refused:
                    await controller.set(eid, {path: value})
                assert refused.value.error.param_errs[0].err_code == code, path
            await controller.set(eid, {IMAGE + "2.Alias": "spare-bank"})

            answer = await controller.get_supported_dm(eid, [IMAGE + "{i}.", "Device.LocalAgent."])
            objects = {o.supported_obj_path: o for r in answer.req_obj_results
                       for o in r.supported_objs}  # fmt: skip
            table = objects[IMAGE + "{i}."]
            assert table.is_multi_instance
            commands = {c.command_name: c for c in table.supported_commands}
            assert commands["Download()"].input_arg_names == (
                "URL", "AutoActivate", "Username", "Password", "FileSize",
                "CheckSumAlgorithm", "CheckSum",
            )  # fmt: skip
            assert "TimeWindow.{i}.Start" in commands["Activate()"].input_arg_names
            params = {p.param_name for p in table.supported_params}
            assert {"Alias", "Name", "Version", "Available", "Status", "BootFailureLog"} <= params
            local = {e.event_name: e for e in objects["Device.LocalAgent."].supported_events}
            assert local["TransferComplete!"].arg_names[:3] == (
                "Command",
                "CommandKey",
                "Requestor",
            )

    run(scenario())


@needs_mosquitto
def test_download_then_activate_runs_the_new_version(broker: int) -> None:
    clock = FakeClock(datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC))
    agent = strict_agent(SimConditions(clock=clock), download=0.5)
    eid = agent.endpoint_id
    old = agent.profile.software_version
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(agent, hooks, broker) as controller:
            await _watch(controller, eid)
            args = {"URL": URL, "CheckSumAlgorithm": "SHA-256", "CheckSum": SUM.upper(),
                    "Username": "fw", "Password": "secret", "AutoActivate": "false"}  # fmt: skip
            answer = await controller.operate(eid, DOWNLOAD, args, command_key="op-1")
            request = answer.operation_results[0].result
            assert isinstance(request, AsyncRequest)
            row = await controller.get(eid, [request.req_obj_path])
            assert row.values[request.req_obj_path + "Command"] == DOWNLOAD
            assert row.values[request.req_obj_path + "CommandKey"] == "op-1"
            assert row.values[request.req_obj_path + "Status"] == "Active"
            downloading = await controller.get(eid, [IMAGE + "2.Status"])
            assert downloading.values == {IMAGE + "2.Status": "Downloading"}

            await until(lambda: events(hooks, eid, "TransferComplete!"), timeout=30)
            done = completions(hooks, eid, "Download()")
            assert [(d.obj_path, d.command_key, d.result) for d in done] == [
                (IMAGE + "2.", "op-1", OutputArgs({}))
            ]
            transfer = events(hooks, eid, "TransferComplete!")[0]
            assert transfer.obj_path == "Device.LocalAgent."
            assert transfer.params == {
                "Command": DOWNLOAD, "CommandKey": "op-1", "Requestor": agent.controller_id,
                "TransferType": "Download", "Affected": IMAGE + "2.", "TransferURL": URL,
                "FaultCode": "0", "FaultString": "",
                "StartTime": "2026-05-04T03:02:01Z", "CompleteTime": "2026-05-04T03:02:01Z",
            }  # fmt: skip
            assert order(hooks, eid) == ["Download()", "TransferComplete!"]
            image = (await controller.get(eid, [IMAGE + "2."])).values
            assert image[IMAGE + "2.Status"] == "Available"
            assert image[IMAGE + "2.Version"] == "2.1.0"
            assert image[IMAGE + "2.Name"] == "fw-2.1.0.bin"
            assert image[IMAGE + "2.Available"] == "true"
            assert not request_rows(agent)  # the row went with the command
            assert (await controller.get(eid, VERSION)).values[VERSION] == old

            sessions = agent.sessions
            await controller.operate(eid, ACTIVATE, command_key="op-2")
            await until(lambda: completions(hooks, eid, "Activate()"), timeout=30)
            assert agent.sessions == sessions + 1  # it rebooted
            boot = events(hooks, eid, "Boot!")[-1]
            assert boot.params["Cause"] == "RemoteReboot"
            assert boot.params["CommandKey"] == "op-2"
            assert boot.params["FirmwareUpdated"] == "true"
            assert [(c.param_path, c.param_value) for c in changes(hooks, eid)] == [
                (VERSION, "2.1.0")
            ]
            activated = completions(hooks, eid, "Activate()")[0]
            assert (activated.command_key, activated.result) == ("op-2", OutputArgs({}))
            assert order(hooks, eid)[2:] == ["Boot!", "ValueChange", "Activate()"]
            after = (await controller.get(eid, ["Device.DeviceInfo."])).values
            assert after[VERSION] == "2.1.0"
            assert after["Device.DeviceInfo.ActiveFirmwareImage"] == IMAGE + "2"
            assert after[IMAGE + "2.Status"] == "Active"
            assert after[IMAGE + "1.Status"] == "Available"

    run(scenario())


@needs_mosquitto
def test_a_checksum_mismatch_fails_validation(broker: int) -> None:
    agent = strict_agent()
    eid = agent.endpoint_id
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(agent, hooks, broker) as controller:
            await _watch(controller, eid)
            wrong = hashlib.sha256(b"another image").hexdigest()
            await controller.operate(eid, DOWNLOAD, {"URL": URL, "CheckSum": wrong},
                                     command_key="op-3")  # fmt: skip
            await until(lambda: events(hooks, eid, "TransferComplete!"), timeout=30)
            failed = completions(hooks, eid, "Download()")[0].result
            assert isinstance(failed, CommandFailure)
            assert failed.err_code == ErrorCode.COMMAND_FAILURE
            transfer = events(hooks, eid, "TransferComplete!")[0].params
            assert transfer["FaultCode"] == "7022"
            assert "checksum mismatch" in transfer["FaultString"]
            image = (await controller.get(eid, [IMAGE + "2."])).values
            assert image[IMAGE + "2.Status"] == "ValidationFailed"
            assert (image[IMAGE + "2.Available"], image[IMAGE + "2.Version"]) == ("false", "")

    run(scenario())


@needs_mosquitto
def test_the_failure_rate_makes_downloads_fail_in_transfer(broker: int) -> None:
    agent = strict_agent(SimConditions(download_failure=1.0))
    eid = agent.endpoint_id
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(agent, hooks, broker) as controller:
            await _watch(controller, eid)
            await controller.operate(eid, DOWNLOAD, {"URL": URL, "CheckSum": SUM})
            await until(lambda: events(hooks, eid, "TransferComplete!"), timeout=30)
            transfer = events(hooks, eid, "TransferComplete!")[0].params
            assert transfer["FaultCode"] == "7022"
            assert transfer["FaultString"].startswith("transfer failed")
            status = await controller.get(eid, IMAGE + "2.Status")
            assert status.values[IMAGE + "2.Status"] == "DownloadFailed"
            assert isinstance(completions(hooks, eid, "Download()")[0].result, CommandFailure)

    run(scenario())


@needs_mosquitto
def test_bad_or_impossible_commands_are_refused_at_once(broker: int) -> None:
    agent = strict_agent(download=2.0)
    eid = agent.endpoint_id
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(agent, hooks, broker) as controller:

            async def refusal(command: str, args: dict[str, str]) -> int:
                return await _refusal(controller, eid, command, args)

            assert await refusal(DOWNLOAD, {}) == ErrorCode.INVALID_ARGUMENTS
            assert await refusal(DOWNLOAD, {"URL": "not a url"}) == ErrorCode.INVALID_ARGUMENTS
            bad_sum = {"URL": URL, "CheckSum": SUM, "CheckSumAlgorithm": "MD5"}
            assert await refusal(DOWNLOAD, bad_sum) == ErrorCode.INVALID_ARGUMENTS
            running = {"URL": URL}
            assert await refusal(IMAGE + "1.Download()", running) == ErrorCode.COMMAND_FAILURE
            assert await refusal(ACTIVATE, {}) == ErrorCode.COMMAND_FAILURE  # NoImage
            assert not request_rows(agent)  # nothing was started
            started = await controller.operate(eid, DOWNLOAD, {"URL": URL})
            assert isinstance(started.operation_results[0].result, AsyncRequest)
            assert await refusal(DOWNLOAD, {"URL": URL}) == ErrorCode.RESOURCES_EXCEEDED
            with pytest.raises(UspErrorResponse) as missing:
                await controller.operate(eid, IMAGE + "7.Download()", {"URL": URL})
            assert missing.value.error.err_code == ErrorCode.INVALID_PATH

    run(scenario())


@needs_mosquitto
def test_a_failed_activation_comes_back_on_the_old_image(broker: int) -> None:
    agent = strict_agent(SimConditions(activation_failure=1.0))
    eid = agent.endpoint_id
    old = agent.profile.software_version
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(agent, hooks, broker) as controller:
            await _watch(controller, eid)
            args = {"URL": URL, "CheckSum": SUM, "AutoActivate": "true"}
            await controller.operate(eid, DOWNLOAD, args, command_key="op-4")
            await until(lambda: events(hooks, eid, "Boot!"), timeout=30)
            boot = events(hooks, eid, "Boot!")[0].params
            assert (boot["CommandKey"], boot["FirmwareUpdated"]) == ("op-4", "false")
            assert not changes(hooks, eid)
            info = (await controller.get(eid, ["Device.DeviceInfo."])).values
            assert info[VERSION] == old
            assert info["Device.DeviceInfo.ActiveFirmwareImage"] == IMAGE + "1"
            assert info[IMAGE + "2.Status"] == "ActivationFailed"
            assert "did not boot" in info[IMAGE + "2.BootFailureLog"]
            assert info[IMAGE + "1.Status"] == "Active"

    run(scenario())


@needs_mosquitto
def test_a_device_that_never_returns_stays_offline_until_power_comes_back(broker: int) -> None:
    agent = strict_agent(SimConditions(never_returns=1.0), download=0.05)
    eid = agent.endpoint_id
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(agent, hooks, broker) as controller:
            await _watch(controller, eid)
            await controller.operate(eid, DOWNLOAD, {"URL": URL, "CheckSum": SUM})
            await until(lambda: completions(hooks, eid, "Download()"), timeout=30)
            sessions = agent.sessions
            await controller.operate(eid, ACTIVATE, command_key="op-5")
            await until(lambda: not agent.powered.is_set(), timeout=30)
            await asyncio.sleep(1.0)  # twenty reboot times: it would be back by now
            assert agent.sessions == sessions
            assert not events(hooks, eid, "Boot!")
            assert not completions(hooks, eid, "Activate()")

            agent.power_on()  # a technician power-cycles it
            await until(lambda: completions(hooks, eid, "Activate()"), timeout=30)
            boot = events(hooks, eid, "Boot!")[0].params
            assert (boot["Cause"], boot["FirmwareUpdated"]) == ("LocalReboot", "false")
            failed = completions(hooks, eid, "Activate()")[0]
            assert failed.command_key == "op-5"
            assert isinstance(failed.result, CommandFailure)
            assert failed.result.err_code == ErrorCode.COMMAND_FAILURE
            status = await controller.get(eid, IMAGE + "2.Status")
            assert status.values[IMAGE + "2.Status"] == "ActivationFailed"

    run(scenario())


@needs_mosquitto
def test_a_reboot_interrupts_a_download(broker: int) -> None:
    agent = strict_agent(download=30.0)
    eid = agent.endpoint_id
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(agent, hooks, broker) as controller:
            await _watch(controller, eid)
            await controller.operate(eid, DOWNLOAD, {"URL": URL}, command_key="op-6")
            await controller.operate(eid, "Device.Reboot()", command_key="op-7")
            await until(lambda: completions(hooks, eid, "Download()"), timeout=30)
            assert order(hooks, eid) == ["Boot!", "Download()"]
            assert events(hooks, eid, "Boot!")[0].params["CommandKey"] == "op-7"
            failed = completions(hooks, eid, "Download()")[0]
            assert failed.command_key == "op-6"
            assert failed.result == CommandFailure(ErrorCode.COMMAND_FAILURE,
                                                   "interrupted by a reboot")  # fmt: skip
            status = await controller.get(eid, IMAGE + "2.Status")
            assert status.values[IMAGE + "2.Status"] == "DownloadFailed"
            assert not request_rows(agent)
            await asyncio.sleep(0.3)
            assert not events(hooks, eid, "TransferComplete!")  # the download is over

    run(scenario())


def test_reboot_timing_has_a_spread_of_its_own_per_device() -> None:
    timing = SimTiming(reboot=1.0, download=10.0, jitter=0.5)
    conditions = SimConditions(seed=7)
    agents = make_agents(40, controller_id="self::c", batch="ABC", timing=timing,
                         conditions=conditions)  # fmt: skip
    factors = [agent.delay(1.0) for agent in agents]
    assert all(0.5 <= f <= 1.5 for f in factors)
    assert len(set(factors)) > 30  # a factor per device
    assert agents[3].delay(10.0) == pytest.approx(10 * factors[3])  # one factor, every delay
    assert agents[3].downtime() == pytest.approx(factors[3])
    again = make_agents(40, controller_id="self::c", batch="ABC", timing=timing,
                        conditions=conditions)  # fmt: skip
    assert [agent.delay(1.0) for agent in again] == factors  # the seed decides
    steady = make_agents(3, controller_id="self::c", timing=SimTiming(reboot=0.3))
    assert {agent.downtime() for agent in steady} == {0.3}


@pytest.mark.parametrize(
    "options",
    [
        ["--activation-failure-rate", "0.7", "--never-returns-rate", "0.5"],
        ["--download-failure-rate", "1.5"],
        ["--jitter", "-0.1"],
    ],
)
def test_impossible_rates_are_a_clear_cli_error_and_write_nothing(
    options: list[str], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from doorstep.usp.agent_sim.cli import app

    credentials = tmp_path / "credentials.json"
    env = {"DOORSTEP_USP_MQTT_URL": "mqtt://127.0.0.1:9"}
    args = ["--count", "1", "--duration", "1", "--credentials-file", str(credentials), *options]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert not credentials.exists()


def test_the_version_comes_from_the_table_or_the_file_name() -> None:
    from doorstep.usp.agent_sim._images import version_of

    table = {"https://cdn.example/blob?id=7": "4.0.0", "gold.img": "3.9.9"}
    assert version_of("https://firmware.example/dr-1000/fw-2.1.0.bin", {}) == "2.1.0"
    assert version_of("ftp://f.example/DR-1000_3.0.1-rc2.img", {}) == "3.0.1-rc2"
    assert version_of("https://cdn.example/blob?id=7", table) == "4.0.0"
    assert version_of("https://f.example/images/gold.img", table) == "3.9.9"
    assert version_of("https://f.example/images/gold.img", {}) == ""  # no version: invalid
    assert version_of("https://f.example/fw-2.1.0.bin?token=1.2.3", {}) == "2.1.0"
