"""Msg builders, typed reading of answers, and the public surface of doorstep.usp."""

from __future__ import annotations

import types

import pytest

from doorstep import usp
from doorstep.usp import ErrorCode, MsgType, UspEncodeError, messages
from doorstep.usp.codes import describe
from doorstep.usp.proto import usp_msg_pb2


def wire(msg: usp.Msg) -> usp_msg_pb2.Msg:
    return usp_msg_pb2.Msg.FromString(usp.encode_msg(msg))


def test_get() -> None:
    msg = messages.get("m-1", ["Device.DeviceInfo.", "Device.LocalAgent.EndpointID"])
    assert msg.body == usp.Get(("Device.DeviceInfo.", "Device.LocalAgent.EndpointID"))
    assert msg.msg_type is MsgType.GET
    assert messages.get("m-2", "Device.", max_depth=1).body == usp.Get(("Device.",), 1)
    assert wire(msg).header.msg_type == usp_msg_pb2.Header.GET


def test_set_groups_parameters_by_object() -> None:
    msg = messages.set(
        "m-1",
        {
            "Device.WiFi.SSID.1.SSID": "home",
            "Device.WiFi.AccessPoint.1.Security.KeyPassphrase": "secret-pass",
            "Device.WiFi.SSID.1.Enable": "true",
        },
    )
    assert msg.body == usp.Set(
        (
            usp.UpdateObject(
                "Device.WiFi.SSID.1.",
                (usp.ParamSetting("SSID", "home", True), usp.ParamSetting("Enable", "true", True)),
            ),
            usp.UpdateObject(
                "Device.WiFi.AccessPoint.1.Security.",
                (usp.ParamSetting("KeyPassphrase", "secret-pass", True),),
            ),
        ),
        allow_partial=False,
    )
    explicit = messages.set("m-2", [usp.UpdateObject("Device.X.", ())], allow_partial=True)
    assert explicit.body == usp.Set((usp.UpdateObject("Device.X.", ()),), True)


@pytest.mark.parametrize("path", ["Device.", "SSID", ".SSID"])
def test_set_needs_parameter_paths(path: str) -> None:
    with pytest.raises(UspEncodeError):
        messages.set("m", {path: "x"})


def test_add_delete_operate() -> None:
    add = messages.add("m-1", {"Device.LocalAgent.Subscription.": {"ID": "boot-1"}})
    assert add.body == usp.Add(
        (
            usp.CreateObject(
                "Device.LocalAgent.Subscription.", (usp.ParamSetting("ID", "boot-1", True),)
            ),
        )
    )
    assert messages.delete("m-2", "Device.X.1.").body == usp.Delete(("Device.X.1.",))
    reboot = messages.operate("m-3", "Device.Reboot()", {"Cause": "RemoteReboot"}, command_key="k")
    assert reboot.body == usp.Operate("Device.Reboot()", "k", True, {"Cause": "RemoteReboot"})
    assert wire(reboot).body.request.operate.input_args["Cause"] == "RemoteReboot"


def test_discovery_requests() -> None:
    gsdm = messages.get_supported_dm("m-1", "Device.", first_level_only=True)
    assert gsdm.body == usp.GetSupportedDM(("Device.",), True, True, True, True, True)
    assert messages.get_instances("m-2", "Device.Hosts.Host.").body == usp.GetInstances(
        ("Device.Hosts.Host.",)
    )
    proto = messages.get_supported_protocol("m-3")
    assert wire(
        proto
    ).body.request.get_supported_protocol.controller_supported_protocol_versions == ("1.3,1.4")


def test_empty_bodies_still_say_what_they_are() -> None:
    for body in (usp.Get(()), usp.GetResp(()), usp.NotifyResp(""), usp.ErrorMsg(0)):
        msg = usp.Msg("x", body)
        assert usp.decode_msg(usp.encode_msg(msg)) == msg


def test_answer_notify() -> None:
    boot = usp.Msg("n-1", usp.Notify("boot-1", usp.Event("Device.", "Boot!"), send_resp=True))
    assert messages.answer_notify(boot) == usp.Msg("n-1", usp.NotifyResp("boot-1"))
    quiet = usp.Msg("n-2", usp.Notify("boot-1", usp.Event("Device.", "Boot!")))
    assert messages.answer_notify(quiet) is None
    onboard = usp.Msg(
        "OnBoardRequest-2026-11-22T20:44:49Z-1",
        usp.Notify("", usp.OnBoardRequest("012345", "USP Agent", "000", ("1.3",)), True),
    )
    assert messages.answer_notify(onboard) == usp.Msg(onboard.msg_id, usp.NotifyResp(""))
    with pytest.raises(usp.UnexpectedResponseError):
        messages.answer_notify(messages.get("m", "Device."))


def test_on_board_request_versions_are_a_comma_list() -> None:
    notify = usp_msg_pb2.Notify(
        send_resp=True,
        on_board_req=usp_msg_pb2.Notify.OnBoardRequest(
            oui="012345", agent_supported_protocol_versions="1.0,1.1, 1.2,1.3"
        ),
    )
    msg = usp_msg_pb2.Msg(
        header=usp_msg_pb2.Header(msg_id="o", msg_type=usp_msg_pb2.Header.NOTIFY),
        body=usp_msg_pb2.Body(request=usp_msg_pb2.Request(notify=notify)),
    )
    body = usp.decode_msg(msg.SerializeToString()).body
    assert isinstance(body, usp.Notify)
    assert isinstance(body.notification, usp.OnBoardRequest)
    assert body.notification.agent_supported_protocol_versions == ("1.0", "1.1", "1.2", "1.3")


def test_expect_returns_the_typed_answer() -> None:
    reply = usp.Msg("m-1", usp.GetResp(()))
    assert usp.expect(reply, usp.GetResp, msg_id="m-1") == usp.GetResp(())
    with pytest.raises(usp.UnexpectedResponseError):
        usp.expect(reply, usp.GetResp, msg_id="m-2")
    with pytest.raises(usp.UnexpectedResponseError) as caught:
        usp.expect(reply, usp.SetResp)
    assert caught.value.status == 502


def test_expect_raises_the_error_msg_without_its_texts() -> None:
    error = messages.error(
        "m-1",
        ErrorCode.INVALID_VALUE,
        "value 'Alice-Home' refused",
        [usp.ParamError("Device.WiFi.SSID.1.SSID", 7012, "'Alice-Home' too long")],
    )
    with pytest.raises(usp.UspErrorResponse) as caught:
        usp.expect(error, usp.SetResp, msg_id="m-1")
    assert caught.value.error == error.body
    assert caught.value.fields == {
        "usp_code": 7012,
        "param_errors": [{"param": "SSID", "usp_code": 7012}],
    }
    assert "Alice" not in str(caught.value)


def test_set_resp_success_and_failure() -> None:
    resp = usp.SetResp(
        (
            usp.UpdatedObjectResult(
                "Device.WiFi.SSID.1.",
                usp.SetSuccess((usp.UpdatedInstance("Device.WiFi.SSID.1.", (), {"SSID": "home"}),)),
            ),
            usp.UpdatedObjectResult(
                "Device.WiFi.Radio.9.",
                usp.SetFailure(
                    ErrorCode.OBJECT_DOES_NOT_EXIST,
                    "",
                    (
                        usp.UpdatedInstanceFailure(
                            "Device.WiFi.Radio.9.", (usp.ParameterError("Channel", 7016),)
                        ),
                    ),
                ),
            ),
        )
    )
    decoded = usp.decode_msg(usp.encode_msg(usp.Msg("m", resp))).body
    assert decoded == resp
    assert isinstance(decoded, usp.SetResp)
    assert [r.ok for r in decoded.updated_obj_results] == [True, False]
    failure = decoded.failures["Device.WiFi.Radio.9."]
    assert failure.err_code == ErrorCode.OBJECT_DOES_NOT_EXIST
    assert failure.updated_inst_failures[0].param_errs[0].param == "Channel"


def test_other_response_helpers() -> None:
    add = usp.AddResp(
        (
            usp.CreatedObjectResult(
                "Device.LocalAgent.Subscription.",
                usp.AddSuccess("Device.LocalAgent.Subscription.2.", (), {"ID": "v"}),
            ),
            usp.CreatedObjectResult("Device.X.", usp.OperationFailure(7019)),
        )
    )
    assert add.created == ("Device.LocalAgent.Subscription.2.",)
    assert [r.ok for r in add.created_obj_results] == [True, False]
    inst = usp.GetInstancesResp(
        (usp.InstancesPathResult("Device.Hosts.Host.", 0, "", (usp.CurrInstance("H.1."),)),)
    )
    assert inst.instances == ("H.1.",)
    get = usp.GetResp((usp.GetPathResult("Device.WiFi.", 7026, "no such path"),))
    assert get.failures == {"Device.WiFi.": 7026}
    assert get.params == {}
    delete = usp.DeleteResp((usp.DeletedObjectResult("D.1.", usp.DeleteSuccess(("D.1.",))),))
    assert delete.deleted_obj_results[0].ok


def test_async_operate_and_its_completion() -> None:
    started = usp.OperateResp(
        (usp.OperationResult("Device.X.Scan()", usp.AsyncRequest("Device.LocalAgent.Request.1.")),)
    )
    done = usp.Notify(
        "sub-op",
        usp.OperationComplete(
            "Device.X.", "Scan()", "k", usp.OutputArgs({"Status": "Complete", "Result.1.SSID": "n"})
        ),
        send_resp=True,
    )
    for body in (started, done):
        assert usp.decode_msg(usp.encode_msg(usp.Msg("m", body))).body == body


def test_unknown_enum_values_of_a_newer_agent_read_as_unknown() -> None:
    obj = usp_msg_pb2.GetSupportedDMResp.SupportedObjectResult(
        supported_obj_path="Device.",
        access=99,  # type: ignore[arg-type]
        supported_params=[
            usp_msg_pb2.GetSupportedDMResp.SupportedParamResult(
                param_name="X",
                value_type=42,  # type: ignore[arg-type]
            )
        ],
    )
    resp = usp_msg_pb2.GetSupportedDMResp(
        req_obj_results=[
            usp_msg_pb2.GetSupportedDMResp.RequestedObjectResult(
                req_obj_path="Device.", supported_objs=[obj]
            )
        ]
    )
    msg = usp_msg_pb2.Msg(
        header=usp_msg_pb2.Header(msg_id="g", msg_type=usp_msg_pb2.Header.GET_SUPPORTED_DM_RESP),
        body=usp_msg_pb2.Body(response=usp_msg_pb2.Response(get_supported_dm_resp=resp)),
    )
    body = usp.decode_msg(msg.SerializeToString()).body
    assert isinstance(body, usp.GetSupportedDMResp)
    supported = body.req_obj_results[0].supported_objs[0]
    assert supported.access is usp.ObjAccessType.OBJ_READ_ONLY
    assert supported.supported_params[0].value_type is usp.ParamValueType.PARAM_UNKNOWN


def test_values_the_wire_cannot_hold() -> None:
    with pytest.raises(UspEncodeError) as caught:
        usp.encode_msg(messages.error("m", 2**32))
    assert str(2**32) not in str(caught.value)
    with pytest.raises(UspEncodeError):
        usp.encode_msg(messages.get("m", "Device.\ud800"))
    with pytest.raises(UspEncodeError):
        usp.encode_msg(usp.Msg("", usp.Get(())))


def test_msg_kinds() -> None:
    assert messages.get("m", "Device.").is_request
    assert usp.Msg("m", usp.GetResp(())).is_response
    assert messages.error("m", 7000).is_error


def test_describe_codes() -> None:
    assert describe(7012) == "invalid value"
    assert describe(7106) == "session context not allowed"
    assert describe(7029) == "register or deregister failure"
    assert describe(7250) == "data-model defined error"
    assert describe(7850) == "vendor-specific error"
    assert describe(0) == "success"
    assert describe(42) == "unknown error"


def test_public_surface() -> None:
    """Everything public in doorstep.usp is in __all__ (subpackages aside), and exists."""
    # Submodules become package attributes when anything imports them (the controller,
    # the simulator); they are reached by their module path, not through __all__.
    submodules = {
        name
        for name, value in vars(usp).items()
        if isinstance(value, types.ModuleType) and name not in usp.__all__
    }
    public = {name for name in vars(usp) if not name.startswith("_")}
    assert set(usp.__all__) == public - submodules
    assert len(usp.__all__) == len(set(usp.__all__))


def test_error_fields_drop_search_expressions() -> None:
    error = usp.ErrorMsg(
        7016, "", (usp.ParamError('Device.Hosts.Host.[HostName=="Alice-iPad"]', 7016),)
    )
    assert usp.UspErrorResponse(error).fields["param_errors"] == [{"param": "", "usp_code": 7016}]
