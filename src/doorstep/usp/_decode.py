"""Wire -> typed: a serialized ``usp.Msg`` into a :class:`~doorstep.usp._msg.Msg`.

The bytes are parsed by the protobuf runtime (upb), then mapped field by field.
Anything that parses but cannot be a meaningful Msg is refused with
``UspDecodeError(7104, …)``: no header or msg_id, no body, a header msg_type that
disagrees with the body, or a result whose required oneof is unset.  Unknown
fields are ignored; unknown enum values of GetSupportedDMResp read as the enum's
zero member.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import TypeVar

from google.protobuf.message import DecodeError

import doorstep.usp._notify as n
import doorstep.usp._register as g
import doorstep.usp._requests as q
import doorstep.usp._responses as r
import doorstep.usp._supported_dm as d
import doorstep.usp._types as t
from doorstep.usp._msg import Body, Msg
from doorstep.usp.codes import RecordErrorCode
from doorstep.usp.exceptions import UspDecodeError
from doorstep.usp.proto import usp_msg_pb2 as pb

E = TypeVar("E", bound=IntEnum)


def decode_msg(data: bytes) -> Msg:
    """Decode a serialized Msg; raise :class:`UspDecodeError` (7100 or 7104) if it is not one."""
    try:
        message = pb.Msg.FromString(data)
    except DecodeError:
        raise UspDecodeError(RecordErrorCode.NOT_PARSED, "payload is not a USP Msg") from None
    return msg_from_pb(message)


def msg_from_pb(message: pb.Msg) -> Msg:
    """Map a parsed ``usp.Msg`` to its typed form, checking what a Msg must hold."""
    if not message.HasField("header") or not message.header.msg_id:
        raise _invalid("Msg has no msg_id")
    which = message.body.WhichOneof("msg_body")
    body: Body
    if which == "request":
        kind = message.body.request.WhichOneof("req_type")
        if kind is None:
            raise _invalid("Request has no request type")
        body = _REQUESTS[kind](message.body.request)
    elif which == "response":
        resp_kind = message.body.response.WhichOneof("resp_type")
        if resp_kind is None:
            raise _invalid("Response has no response type")
        body = _RESPONSES[resp_kind](message.body.response)
    elif which == "error":
        body = _error(message.body.error)
    else:
        raise _invalid("Msg has no body")
    if int(message.header.msg_type) != body.MSG_TYPE:
        raise _invalid("header msg_type does not match the body")
    return Msg(message.header.msg_id, body)


def _invalid(reason: str) -> UspDecodeError:
    return UspDecodeError(RecordErrorCode.INVALID_RECORD_VALUE, reason)


def _enum(cls: type[E], value: int) -> E:
    try:
        return cls(value)
    except ValueError:
        return cls(0)


def versions(text: str) -> tuple[str, ...]:
    """Split a comma list of USP versions ("1.0,1.1, 1.2") into a tuple."""
    return tuple(part for part in (p.strip() for p in text.split(",")) if part)


# --- requests ----------------------------------------------------------------------


def _settings(
    items: Iterable[pb.Set.UpdateParamSetting] | Iterable[pb.Add.CreateParamSetting],
) -> tuple[q.ParamSetting, ...]:
    return tuple(q.ParamSetting(s.param, s.value, s.required) for s in items)


def _set(p: pb.Set) -> q.Set:
    objs = tuple(q.UpdateObject(o.obj_path, _settings(o.param_settings)) for o in p.update_objs)
    return q.Set(objs, p.allow_partial)


def _add(p: pb.Add) -> q.Add:
    objs = tuple(q.CreateObject(o.obj_path, _settings(o.param_settings)) for o in p.create_objs)
    return q.Add(objs, p.allow_partial)


def _gsdm(p: pb.GetSupportedDM) -> q.GetSupportedDM:
    return q.GetSupportedDM(
        tuple(p.obj_paths),
        p.first_level_only,
        p.return_commands,
        p.return_events,
        p.return_params,
        p.return_unique_key_sets,
    )


def _notify(p: pb.Notify) -> n.Notify:
    kind = p.WhichOneof("notification")
    note: n.Notification
    if kind == "event":
        note = n.Event(p.event.obj_path, p.event.event_name, dict(p.event.params))
    elif kind == "value_change":
        note = n.ValueChange(p.value_change.param_path, p.value_change.param_value)
    elif kind == "obj_creation":
        note = n.ObjectCreation(p.obj_creation.obj_path, dict(p.obj_creation.unique_keys))
    elif kind == "obj_deletion":
        note = n.ObjectDeletion(p.obj_deletion.obj_path)
    elif kind == "oper_complete":
        c = p.oper_complete
        outcome = c.WhichOneof("operation_resp")
        if outcome is None:
            raise _invalid("OperationComplete has no result")
        result: t.OutputArgs | t.CommandFailure = (
            t.OutputArgs(dict(c.req_output_args.output_args))
            if outcome == "req_output_args"
            else t.CommandFailure(c.cmd_failure.err_code, c.cmd_failure.err_msg)
        )
        note = n.OperationComplete(c.obj_path, c.command_name, c.command_key, result)
    elif kind == "on_board_req":
        o = p.on_board_req
        note = n.OnBoardRequest(
            o.oui, o.product_class, o.serial_number, versions(o.agent_supported_protocol_versions)
        )
    else:
        raise _invalid("Notify has no notification")
    return n.Notify(p.subscription_id, note, p.send_resp)


_REQUESTS: dict[str, Callable[[pb.Request], Body]] = {
    "get": lambda p: q.Get(tuple(p.get.param_paths), p.get.max_depth),
    "get_supported_dm": lambda p: _gsdm(p.get_supported_dm),
    "get_instances": lambda p: q.GetInstances(
        tuple(p.get_instances.obj_paths), p.get_instances.first_level_only
    ),
    "set": lambda p: _set(p.set),
    "add": lambda p: _add(p.add),
    "delete": lambda p: q.Delete(tuple(p.delete.obj_paths), p.delete.allow_partial),
    "operate": lambda p: q.Operate(
        p.operate.command,
        p.operate.command_key,
        p.operate.send_resp,
        dict(p.operate.input_args),
    ),
    "notify": lambda p: _notify(p.notify),
    "get_supported_protocol": lambda p: q.GetSupportedProtocol(
        versions(p.get_supported_protocol.controller_supported_protocol_versions)
    ),
    "register": lambda p: g.Register(
        tuple(x.path for x in p.register.reg_paths), p.register.allow_partial
    ),
    "deregister": lambda p: g.Deregister(tuple(p.deregister.paths)),
}

# --- responses ---------------------------------------------------------------------


def _param_errs(
    items: Iterable[pb.SetResp.ParameterError] | Iterable[pb.AddResp.ParameterError],
) -> tuple[t.ParameterError, ...]:
    return tuple(t.ParameterError(e.param, e.err_code, e.err_msg) for e in items)


def _get_resp(p: pb.GetResp) -> r.GetResp:
    return r.GetResp(
        tuple(
            r.GetPathResult(
                x.requested_path,
                x.err_code,
                x.err_msg,
                tuple(
                    r.ResolvedPath(y.resolved_path, dict(y.result_params))
                    for y in x.resolved_path_results
                ),
            )
            for x in p.req_path_results
        )
    )


def _set_status(p: pb.SetResp.UpdatedObjectResult) -> r.SetSuccess | r.SetFailure:
    status = p.oper_status
    kind = status.WhichOneof("oper_status")
    if kind == "oper_success":
        return r.SetSuccess(
            tuple(
                r.UpdatedInstance(
                    i.affected_path, _param_errs(i.param_errs), dict(i.updated_params)
                )
                for i in status.oper_success.updated_inst_results
            )
        )
    if kind == "oper_failure":
        f = status.oper_failure
        failures = tuple(
            r.UpdatedInstanceFailure(i.affected_path, _param_errs(i.param_errs))
            for i in f.updated_inst_failures
        )
        return r.SetFailure(f.err_code, f.err_msg, failures)
    raise _invalid("SetResp result has no status")


def _add_status(p: pb.AddResp.CreatedObjectResult) -> r.AddSuccess | t.OperationFailure:
    status = p.oper_status
    kind = status.WhichOneof("oper_status")
    if kind == "oper_success":
        s = status.oper_success
        return r.AddSuccess(s.instantiated_path, _param_errs(s.param_errs), dict(s.unique_keys))
    if kind == "oper_failure":
        return t.OperationFailure(status.oper_failure.err_code, status.oper_failure.err_msg)
    raise _invalid("AddResp result has no status")


def _delete_status(p: pb.DeleteResp.DeletedObjectResult) -> r.DeleteSuccess | t.OperationFailure:
    status = p.oper_status
    kind = status.WhichOneof("oper_status")
    if kind == "oper_success":
        s = status.oper_success
        errs = tuple(
            r.UnaffectedPathError(e.unaffected_path, e.err_code, e.err_msg)
            for e in s.unaffected_path_errs
        )
        return r.DeleteSuccess(tuple(s.affected_paths), errs)
    if kind == "oper_failure":
        return t.OperationFailure(status.oper_failure.err_code, status.oper_failure.err_msg)
    raise _invalid("DeleteResp result has no status")


def _operation(p: pb.OperateResp.OperationResult) -> r.OperationResult:
    kind = p.WhichOneof("operation_resp")
    result: r.AsyncRequest | t.OutputArgs | t.CommandFailure
    if kind == "req_obj_path":
        result = r.AsyncRequest(p.req_obj_path)
    elif kind == "req_output_args":
        result = t.OutputArgs(dict(p.req_output_args.output_args))
    elif kind == "cmd_failure":
        result = t.CommandFailure(p.cmd_failure.err_code, p.cmd_failure.err_msg)
    else:
        raise _invalid("OperateResp result has no outcome")
    return r.OperationResult(p.executed_command, result)


def _supported_obj(p: pb.GetSupportedDMResp.SupportedObjectResult) -> d.SupportedObject:
    return d.SupportedObject(
        p.supported_obj_path,
        _enum(t.ObjAccessType, p.access),
        p.is_multi_instance,
        tuple(
            d.SupportedCommand(
                c.command_name,
                tuple(c.input_arg_names),
                tuple(c.output_arg_names),
                _enum(t.CmdType, c.command_type),
            )
            for c in p.supported_commands
        ),
        tuple(d.SupportedEvent(e.event_name, tuple(e.arg_names)) for e in p.supported_events),
        tuple(
            d.SupportedParam(
                s.param_name,
                _enum(t.ParamAccessType, s.access),
                _enum(t.ParamValueType, s.value_type),
                _enum(t.ValueChangeType, s.value_change),
            )
            for s in p.supported_params
        ),
        tuple(p.divergent_paths),
        tuple(tuple(k.key_names) for k in p.unique_key_sets),
    )


def _gsdm_resp(p: pb.GetSupportedDMResp) -> d.GetSupportedDMResp:
    return d.GetSupportedDMResp(
        tuple(
            d.RequestedObjectResult(
                x.req_obj_path,
                x.err_code,
                x.err_msg,
                x.data_model_inst_uri,
                tuple(_supported_obj(o) for o in x.supported_objs),
            )
            for x in p.req_obj_results
        )
    )


def _instances_resp(p: pb.GetInstancesResp) -> r.GetInstancesResp:
    return r.GetInstancesResp(
        tuple(
            r.InstancesPathResult(
                x.requested_path,
                x.err_code,
                x.err_msg,
                tuple(
                    r.CurrInstance(i.instantiated_obj_path, dict(i.unique_keys))
                    for i in x.curr_insts
                ),
            )
            for x in p.req_path_results
        )
    )


def _register_status(
    p: pb.RegisterResp.RegisteredPathResult,
) -> g.RegisterSuccess | t.OperationFailure:
    kind = p.oper_status.WhichOneof("oper_status")
    if kind == "oper_success":
        return g.RegisterSuccess(p.oper_status.oper_success.registered_path)
    if kind == "oper_failure":
        f = p.oper_status.oper_failure
        return t.OperationFailure(f.err_code, f.err_msg)
    raise _invalid("RegisterResp result has no status")


def _deregister_status(
    p: pb.DeregisterResp.DeregisteredPathResult,
) -> g.DeregisterSuccess | t.OperationFailure:
    kind = p.oper_status.WhichOneof("oper_status")
    if kind == "oper_success":
        return g.DeregisterSuccess(tuple(p.oper_status.oper_success.deregistered_path))
    if kind == "oper_failure":
        f = p.oper_status.oper_failure
        return t.OperationFailure(f.err_code, f.err_msg)
    raise _invalid("DeregisterResp result has no status")


_RESPONSES: dict[str, Callable[[pb.Response], Body]] = {
    "get_resp": lambda p: _get_resp(p.get_resp),
    "get_supported_dm_resp": lambda p: _gsdm_resp(p.get_supported_dm_resp),
    "get_instances_resp": lambda p: _instances_resp(p.get_instances_resp),
    "set_resp": lambda p: r.SetResp(
        tuple(
            r.UpdatedObjectResult(x.requested_path, _set_status(x))
            for x in p.set_resp.updated_obj_results
        )
    ),
    "add_resp": lambda p: r.AddResp(
        tuple(
            r.CreatedObjectResult(x.requested_path, _add_status(x))
            for x in p.add_resp.created_obj_results
        )
    ),
    "delete_resp": lambda p: r.DeleteResp(
        tuple(
            r.DeletedObjectResult(x.requested_path, _delete_status(x))
            for x in p.delete_resp.deleted_obj_results
        )
    ),
    "operate_resp": lambda p: r.OperateResp(
        tuple(_operation(x) for x in p.operate_resp.operation_results)
    ),
    "notify_resp": lambda p: n.NotifyResp(p.notify_resp.subscription_id),
    "get_supported_protocol_resp": lambda p: r.GetSupportedProtocolResp(
        versions(p.get_supported_protocol_resp.agent_supported_protocol_versions)
    ),
    "register_resp": lambda p: g.RegisterResp(
        tuple(
            g.RegisteredPathResult(x.requested_path, _register_status(x))
            for x in p.register_resp.registered_path_results
        )
    ),
    "deregister_resp": lambda p: g.DeregisterResp(
        tuple(
            g.DeregisteredPathResult(x.requested_path, _deregister_status(x))
            for x in p.deregister_resp.deregistered_path_results
        )
    ),
}


def _error(p: pb.Error) -> r.ErrorMsg:
    return r.ErrorMsg(
        p.err_code,
        p.err_msg,
        tuple(r.ParamError(e.param_path, e.err_code, e.err_msg) for e in p.param_errs),
    )
