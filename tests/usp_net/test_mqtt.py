"""USP over MQTT 5 and 3.1.1 through a real Mosquitto: round trips, errors, time-outs."""

from __future__ import annotations

import pytest

from doorstep.usp import (
    AsyncRequest,
    ErrorCode,
    Event,
    OnBoardRequest,
    OperationComplete,
    OutputArgs,
    SetFailure,
    UspErrorResponse,
)
from doorstep.usp.controller import DeviceOfflineError, DeviceTimeoutError, NullAuditSink
from tests.usp_net.conftest import net_config, run
from tests.usp_net.helpers import (
    RecordingHooks,
    agents_for,
    fleet,
    mqtt_controller,
    mqtt_options,
    store_for,
    until,
)

VERSIONS = [pytest.param(True, id="mqtt5"), pytest.param(False, id="mqtt3.1.1")]


@pytest.mark.parametrize("v5", VERSIONS)
def test_get_set_operate_round_trips(broker: int, v5: bool) -> None:
    config = net_config(broker)
    agents = agents_for(config, 2)
    router, gateway = agents
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with (
            mqtt_controller(config, store_for(agents), hooks=hooks) as (controller, _),
            fleet(agents, mqtt_options(config, broker, v5=v5)),
        ):
            # First contact: Connect Record, Boot!, OnBoardRequest answered (the agents
            # stop retrying only on a NotifyResp with the same msg_id).
            await until(lambda: len(hooks.connected) == 2)
            assert {eid for eid, _ in hooks.connected} == {router.endpoint_id, gateway.endpoint_id}
            assert all(address.mqtt_v5 is v5 for _, address in hooks.connected)
            onboard = hooks.named(gateway.endpoint_id, OnBoardRequest)[0]
            assert (onboard.product_class, onboard.oui) == ("gateway", "02D00C")
            assert hooks.named(router.endpoint_id, Event, "Boot!")

            info = await controller.get(router.endpoint_id, ["Device.DeviceInfo."])
            values = info.params["Device.DeviceInfo."]
            assert values["SerialNumber"] == router.profile.serial_number
            assert values["ProductClass"] == "router"

            changed = await controller.set(
                router.endpoint_id,
                {
                    "Device.WiFi.SSID.1.SSID": "new-name",
                    "Device.WiFi.AccessPoint.1.Security.KeyPassphrase": "correct horse battery",
                },
            )
            assert not changed.failures
            updated = [
                inst.updated_params
                for r in changed.updated_obj_results
                for inst in getattr(r.oper_status, "updated_inst_results", ())
            ]
            assert {"KeyPassphrase": ""} in updated  # secured: never echoed back
            read = await controller.get(
                router.endpoint_id,
                ["Device.WiFi.SSID.1.SSID", "Device.WiFi.AccessPoint.1.Security.KeyPassphrase"],
            )
            assert read.values == {
                "Device.WiFi.SSID.1.SSID": "new-name",
                "Device.WiFi.AccessPoint.1.Security.KeyPassphrase": "",
            }

            survey = await controller.operate(
                gateway.endpoint_id, "Device.WiFi.NeighboringWiFiDiagnostic()", command_key="s1"
            )
            assert isinstance(survey.operation_results[0].result, AsyncRequest)
            await until(lambda: hooks.named(gateway.endpoint_id, OperationComplete))
            done = hooks.named(gateway.endpoint_id, OperationComplete)[0]
            assert done.command_key == "s1"
            assert isinstance(done.result, OutputArgs)
            assert done.result.output_args["Status"] == "Complete"

            boots = len(hooks.named(router.endpoint_id, Event, "Boot!"))
            reboot = await controller.operate(
                router.endpoint_id, "Device.Reboot()", command_key="r1"
            )
            assert isinstance(reboot.operation_results[0].result, OutputArgs)
            await until(lambda: len(hooks.named(router.endpoint_id, Event, "Boot!")) > boots)
            boot = hooks.named(router.endpoint_id, Event, "Boot!")[-1]
            assert (boot.params["Cause"], boot.params["CommandKey"]) == ("RemoteReboot", "r1")
            again = await controller.get(router.endpoint_id, "Device.DeviceInfo.UpTime")
            assert "Device.DeviceInfo.UpTime" in again.values
            assert router.endpoint_id in hooks.traffic

    run(scenario())


@pytest.mark.parametrize("v5", VERSIONS)
def test_a_rejected_set_returns_the_device_error_unchanged(broker: int, v5: bool) -> None:
    config = net_config(broker)
    agents = agents_for(config, 1)
    eid = agents[0].endpoint_id

    async def scenario() -> None:
        async with (
            mqtt_controller(config, store_for(agents)) as (controller, _),
            fleet(agents, mqtt_options(config, broker, v5=v5)),
        ):
            cases = {
                "Device.WiFi.SSID.1.SSID": ("x" * 33, ErrorCode.INVALID_VALUE),
                "Device.DeviceInfo.SerialNumber": ("X1", ErrorCode.NOT_WRITABLE),
                "Device.WiFi.SSID.1.Colour": ("blue", ErrorCode.UNSUPPORTED_PARAMETER),
                "Device.PPP.Interface.1.Enable": ("maybe", ErrorCode.INVALID_TYPE),
                "Device.WiFi.AccessPoint.1.Security.ModeEnabled": ("WEP", ErrorCode.INVALID_VALUE),
            }
            for path, (value, code) in cases.items():
                with pytest.raises(UspErrorResponse) as refused:
                    await controller.set(eid, {path: value})
                error = refused.value.error
                assert error.err_code == code
                assert [(p.param_path, p.err_code) for p in error.param_errs] == [(path, code)]
                assert refused.value.status == 502
                assert value not in str(refused.value.fields)  # the value stays out

            partial = await controller.set(
                eid,
                {"Device.WiFi.SSID.1.SSID": "ok-name", "Device.WiFi.SSID.2.SSID": "y" * 40},
                allow_partial=True,
            )
            failure = partial.failures["Device.WiFi.SSID.2."]
            assert isinstance(failure, SetFailure)
            assert failure.err_code == ErrorCode.INVALID_VALUE
            assert (await controller.get(eid, "Device.WiFi.SSID.1.SSID")).values == {
                "Device.WiFi.SSID.1.SSID": "ok-name"
            }

    run(scenario())


def test_requests_time_out_with_a_clear_error(broker: int) -> None:
    config = net_config(broker)
    silent = agents_for(config, 1)[0]  # known, but never connected

    async def scenario() -> None:
        async with mqtt_controller(config, store_for([silent])) as (controller, _):
            with pytest.raises(DeviceTimeoutError) as timed_out:
                await controller.get(silent.endpoint_id, "Device.", timeout=0.3)
            assert timed_out.value.status == 504
            assert timed_out.value.fields == {"msg_type": "GET", "timeout_seconds": 0.3}
            assert silent.endpoint_id not in timed_out.value.detail
            assert not controller._pending  # nothing left waiting
            assert controller.counters["requests_timed_out"] == 1

    run(scenario())


def test_no_route_when_the_transport_is_missing() -> None:
    from doorstep.usp.controller import Controller
    from doorstep.usp.credentials import InMemoryCredentialStore

    async def scenario() -> None:
        controller = Controller(net_config(1), credentials=InMemoryCredentialStore())
        with pytest.raises(DeviceOfflineError) as offline:
            await controller.get("os::02D00C-NOWHERE1", "Device.")
        assert offline.value.status == 503

    run(scenario())


def test_answers_are_matched_by_msg_id_under_concurrency(broker: int) -> None:
    config = net_config(broker)
    agents = agents_for(config, 3)

    async def scenario() -> None:
        import asyncio

        async with (
            mqtt_controller(config, store_for(agents), audit=NullAuditSink()) as (controller, _),
            fleet(agents, mqtt_options(config, broker)),
        ):
            calls = [
                controller.get(agents[i % 3].endpoint_id, "Device.DeviceInfo.SerialNumber")
                for i in range(60)
            ]
            replies = await asyncio.gather(*calls)
            for i, reply in enumerate(replies):
                serial = reply.values["Device.DeviceInfo.SerialNumber"]
                assert serial == agents[i % 3].profile.serial_number

    run(scenario())
