"""Typed -> wire: a :class:`~doorstep.usp._msg.Msg` into a serialized ``usp.Msg``.

Every oneof member is marked set even when its message is empty (``SetInParent``),
so an empty body or status still says which one it is.  A value protobuf cannot
hold (an int outside fixed32, a string that is not valid Unicode) raises
:class:`UspEncodeError` without echoing the value.
"""

from __future__ import annotations

import doorstep.usp._notify as n
import doorstep.usp._register as g
import doorstep.usp._requests as q
import doorstep.usp._responses as r
import doorstep.usp._supported_dm as d
import doorstep.usp._types as t
from doorstep.usp._msg import REQUEST_TYPES, Body, Msg, Request
from doorstep.usp.exceptions import UspEncodeError
from doorstep.usp.proto import usp_msg_pb2 as pb


def encode_msg(msg: Msg) -> bytes:
    """Serialize ``msg``; raise :class:`UspEncodeError` for a value the wire cannot hold."""
    try:
        return msg_to_pb(msg).SerializeToString()
    except (ValueError, TypeError, UnicodeError):
        raise UspEncodeError(f"a field of {type(msg.body).__name__} cannot be encoded") from None


def msg_to_pb(msg: Msg) -> pb.Msg:
    """Build the protobuf ``usp.Msg`` of ``msg``."""
    if not msg.msg_id:
        raise UspEncodeError("a Msg needs a msg_id")
    out = pb.Msg()
    out.header.msg_id = msg.msg_id
    out.header.msg_type = pb.Header.MsgType.ValueType(int(msg.body.MSG_TYPE))
    _body(out.body, msg.body)
    return out


def _body(out: pb.Body, body: Body) -> None:
    if isinstance(body, r.ErrorMsg):
        out.error.SetInParent()
        out.error.err_code = body.err_code
        out.error.err_msg = body.err_msg
        for e in body.param_errs:
            out.error.param_errs.add(
                param_path=e.param_path, err_code=e.err_code, err_msg=e.err_msg
            )
    elif isinstance(body, REQUEST_TYPES):
        _request(out.request, body)
    else:
        _response(out.response, body)


def _request(out: pb.Request, body: Request) -> None:  # noqa: PLR0912 - one branch per type
    match body:
        case q.Get():
            out.get.SetInParent()
            out.get.param_paths.extend(body.param_paths)
            out.get.max_depth = body.max_depth
        case q.Set():
            out.set.SetInParent()
            out.set.allow_partial = body.allow_partial
            for u in body.update_objs:
                obj = out.set.update_objs.add(obj_path=u.obj_path)
                for s in u.param_settings:
                    obj.param_settings.add(param=s.param, value=s.value, required=s.required)
        case q.Add():
            out.add.SetInParent()
            out.add.allow_partial = body.allow_partial
            for c in body.create_objs:
                new = out.add.create_objs.add(obj_path=c.obj_path)
                for s in c.param_settings:
                    new.param_settings.add(param=s.param, value=s.value, required=s.required)
        case q.Delete():
            out.delete.SetInParent()
            out.delete.allow_partial = body.allow_partial
            out.delete.obj_paths.extend(body.obj_paths)
        case q.Operate():
            out.operate.SetInParent()
            out.operate.command = body.command
            out.operate.command_key = body.command_key
            out.operate.send_resp = body.send_resp
            out.operate.input_args.update(body.input_args)
        case n.Notify():
            _notify(out.notify, body)
        case q.GetSupportedDM():
            out.get_supported_dm.SetInParent()
            out.get_supported_dm.MergeFrom(
                pb.GetSupportedDM(
                    obj_paths=body.obj_paths,
                    first_level_only=body.first_level_only,
                    return_commands=body.return_commands,
                    return_events=body.return_events,
                    return_params=body.return_params,
                    return_unique_key_sets=body.return_unique_key_sets,
                )
            )
        case q.GetInstances():
            out.get_instances.SetInParent()
            out.get_instances.obj_paths.extend(body.obj_paths)
            out.get_instances.first_level_only = body.first_level_only
        case q.GetSupportedProtocol():
            out.get_supported_protocol.SetInParent()
            out.get_supported_protocol.controller_supported_protocol_versions = ",".join(
                body.controller_supported_protocol_versions
            )
        case g.Register():
            out.register.SetInParent()
            out.register.allow_partial = body.allow_partial
            for path in body.reg_paths:
                out.register.reg_paths.add(path=path)
        case g.Deregister():
            out.deregister.SetInParent()
            out.deregister.paths.extend(body.paths)


def _response(out: pb.Response, body: Body) -> None:
    match body:
        case r.GetResp():
            _get_resp(out.get_resp, body)
        case r.SetResp():
            _set_resp(out.set_resp, body)
        case r.AddResp():
            _add_resp(out.add_resp, body)
        case r.DeleteResp():
            _delete_resp(out.delete_resp, body)
        case r.OperateResp():
            _operate_resp(out.operate_resp, body)
        case n.NotifyResp():
            out.notify_resp.SetInParent()
            out.notify_resp.subscription_id = body.subscription_id
        case d.GetSupportedDMResp():
            _gsdm_resp(out.get_supported_dm_resp, body)
        case r.GetInstancesResp():
            _instances_resp(out.get_instances_resp, body)
        case r.GetSupportedProtocolResp():
            out.get_supported_protocol_resp.SetInParent()
            out.get_supported_protocol_resp.agent_supported_protocol_versions = ",".join(
                body.agent_supported_protocol_versions
            )
        case g.RegisterResp():
            _register_resp(out.register_resp, body)
        case g.DeregisterResp():
            _deregister_resp(out.deregister_resp, body)
        case _:  # pragma: no cover - the Body union is exhausted above
            raise UspEncodeError(f"not a USP message body: {type(body).__name__}")


def _notify(out: pb.Notify, body: n.Notify) -> None:
    out.SetInParent()
    out.subscription_id = body.subscription_id
    out.send_resp = body.send_resp
    note = body.notification
    match note:
        case n.Event():
            out.event.SetInParent()
            out.event.obj_path = note.obj_path
            out.event.event_name = note.event_name
            out.event.params.update(note.params)
        case n.ValueChange():
            out.value_change.SetInParent()
            out.value_change.param_path = note.param_path
            out.value_change.param_value = note.param_value
        case n.ObjectCreation():
            out.obj_creation.SetInParent()
            out.obj_creation.obj_path = note.obj_path
            out.obj_creation.unique_keys.update(note.unique_keys)
        case n.ObjectDeletion():
            out.obj_deletion.SetInParent()
            out.obj_deletion.obj_path = note.obj_path
        case n.OperationComplete():
            c = out.oper_complete
            c.SetInParent()
            c.obj_path = note.obj_path
            c.command_name = note.command_name
            c.command_key = note.command_key
            if isinstance(note.result, t.OutputArgs):
                c.req_output_args.SetInParent()
                c.req_output_args.output_args.update(note.result.output_args)
            else:
                c.cmd_failure.SetInParent()
                c.cmd_failure.err_code = note.result.err_code
                c.cmd_failure.err_msg = note.result.err_msg
        case n.OnBoardRequest():
            o = out.on_board_req
            o.SetInParent()
            o.oui = note.oui
            o.product_class = note.product_class
            o.serial_number = note.serial_number
            o.agent_supported_protocol_versions = ",".join(note.agent_supported_protocol_versions)


def _get_resp(out: pb.GetResp, body: r.GetResp) -> None:
    out.SetInParent()
    for x in body.req_path_results:
        item = out.req_path_results.add(
            requested_path=x.requested_path, err_code=x.err_code, err_msg=x.err_msg
        )
        for y in x.resolved_path_results:
            resolved = item.resolved_path_results.add(resolved_path=y.resolved_path)
            resolved.result_params.update(y.result_params)


def _set_resp(out: pb.SetResp, body: r.SetResp) -> None:
    out.SetInParent()
    for x in body.updated_obj_results:
        item = out.updated_obj_results.add(requested_path=x.requested_path)
        status = x.oper_status
        if isinstance(status, r.SetSuccess):
            ok = item.oper_status.oper_success
            ok.SetInParent()
            for i in status.updated_inst_results:
                inst = ok.updated_inst_results.add(affected_path=i.affected_path)
                for e in i.param_errs:
                    inst.param_errs.add(param=e.param, err_code=e.err_code, err_msg=e.err_msg)
                inst.updated_params.update(i.updated_params)
        else:
            bad = item.oper_status.oper_failure
            bad.SetInParent()
            bad.err_code = status.err_code
            bad.err_msg = status.err_msg
            for f in status.updated_inst_failures:
                fail = bad.updated_inst_failures.add(affected_path=f.affected_path)
                for e in f.param_errs:
                    fail.param_errs.add(param=e.param, err_code=e.err_code, err_msg=e.err_msg)


def _add_resp(out: pb.AddResp, body: r.AddResp) -> None:
    out.SetInParent()
    for x in body.created_obj_results:
        item = out.created_obj_results.add(requested_path=x.requested_path)
        status = x.oper_status
        if isinstance(status, r.AddSuccess):
            ok = item.oper_status.oper_success
            ok.SetInParent()
            ok.instantiated_path = status.instantiated_path
            for e in status.param_errs:
                ok.param_errs.add(param=e.param, err_code=e.err_code, err_msg=e.err_msg)
            ok.unique_keys.update(status.unique_keys)
        else:
            item.oper_status.oper_failure.SetInParent()
            item.oper_status.oper_failure.err_code = status.err_code
            item.oper_status.oper_failure.err_msg = status.err_msg


def _delete_resp(out: pb.DeleteResp, body: r.DeleteResp) -> None:
    out.SetInParent()
    for x in body.deleted_obj_results:
        item = out.deleted_obj_results.add(requested_path=x.requested_path)
        status = x.oper_status
        if isinstance(status, r.DeleteSuccess):
            ok = item.oper_status.oper_success
            ok.SetInParent()
            ok.affected_paths.extend(status.affected_paths)
            for e in status.unaffected_path_errs:
                ok.unaffected_path_errs.add(
                    unaffected_path=e.unaffected_path, err_code=e.err_code, err_msg=e.err_msg
                )
        else:
            item.oper_status.oper_failure.SetInParent()
            item.oper_status.oper_failure.err_code = status.err_code
            item.oper_status.oper_failure.err_msg = status.err_msg


def _operate_resp(out: pb.OperateResp, body: r.OperateResp) -> None:
    out.SetInParent()
    for x in body.operation_results:
        item = out.operation_results.add(executed_command=x.executed_command)
        result = x.result
        if isinstance(result, r.AsyncRequest):
            item.req_obj_path = result.req_obj_path
        elif isinstance(result, t.OutputArgs):
            item.req_output_args.SetInParent()
            item.req_output_args.output_args.update(result.output_args)
        else:
            item.cmd_failure.SetInParent()
            item.cmd_failure.err_code = result.err_code
            item.cmd_failure.err_msg = result.err_msg


def _gsdm_resp(out: pb.GetSupportedDMResp, body: d.GetSupportedDMResp) -> None:
    out.SetInParent()
    for x in body.req_obj_results:
        item = out.req_obj_results.add(
            req_obj_path=x.req_obj_path,
            err_code=x.err_code,
            err_msg=x.err_msg,
            data_model_inst_uri=x.data_model_inst_uri,
        )
        for o in x.supported_objs:
            obj = item.supported_objs.add(
                supported_obj_path=o.supported_obj_path,
                access=pb.GetSupportedDMResp.ObjAccessType.ValueType(int(o.access)),
                is_multi_instance=o.is_multi_instance,
                divergent_paths=o.divergent_paths,
            )
            for c in o.supported_commands:
                obj.supported_commands.add(
                    command_name=c.command_name,
                    input_arg_names=c.input_arg_names,
                    output_arg_names=c.output_arg_names,
                    command_type=pb.GetSupportedDMResp.CmdType.ValueType(int(c.command_type)),
                )
            for e in o.supported_events:
                obj.supported_events.add(event_name=e.event_name, arg_names=e.arg_names)
            for s in o.supported_params:
                obj.supported_params.add(
                    param_name=s.param_name,
                    access=pb.GetSupportedDMResp.ParamAccessType.ValueType(int(s.access)),
                    value_type=pb.GetSupportedDMResp.ParamValueType.ValueType(int(s.value_type)),
                    value_change=pb.GetSupportedDMResp.ValueChangeType.ValueType(
                        int(s.value_change)
                    ),
                )
            for keys in o.unique_key_sets:
                obj.unique_key_sets.add(key_names=keys)


def _instances_resp(out: pb.GetInstancesResp, body: r.GetInstancesResp) -> None:
    out.SetInParent()
    for x in body.req_path_results:
        item = out.req_path_results.add(
            requested_path=x.requested_path, err_code=x.err_code, err_msg=x.err_msg
        )
        for i in x.curr_insts:
            inst = item.curr_insts.add(instantiated_obj_path=i.instantiated_obj_path)
            inst.unique_keys.update(i.unique_keys)


def _register_resp(out: pb.RegisterResp, body: g.RegisterResp) -> None:
    out.SetInParent()
    for x in body.registered_path_results:
        item = out.registered_path_results.add(requested_path=x.requested_path)
        if isinstance(x.oper_status, g.RegisterSuccess):
            item.oper_status.oper_success.SetInParent()
            item.oper_status.oper_success.registered_path = x.oper_status.registered_path
        else:
            item.oper_status.oper_failure.SetInParent()
            item.oper_status.oper_failure.err_code = x.oper_status.err_code
            item.oper_status.oper_failure.err_msg = x.oper_status.err_msg


def _deregister_resp(out: pb.DeregisterResp, body: g.DeregisterResp) -> None:
    out.SetInParent()
    for x in body.deregistered_path_results:
        item = out.deregistered_path_results.add(requested_path=x.requested_path)
        if isinstance(x.oper_status, g.DeregisterSuccess):
            item.oper_status.oper_success.SetInParent()
            item.oper_status.oper_success.deregistered_path.extend(x.oper_status.deregistered_paths)
        else:
            item.oper_status.oper_failure.SetInParent()
            item.oper_status.oper_failure.err_code = x.oper_status.err_code
            item.oper_status.oper_failure.err_msg = x.oper_status.err_msg
