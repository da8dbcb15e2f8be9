"""Typed USP responses (GetSupportedDMResp is in ``_supported_dm``) and the Error Msg.

Each response keeps the structure of the wire message, so nothing an agent said is
lost, and adds read helpers for the common questions: :attr:`GetResp.params`
(``{resolved object path: {parameter: value}}``), :attr:`SetResp.failures` and the
like.  Error codes are plain ints (see :mod:`doorstep.usp.codes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from doorstep.usp._types import (
    CommandFailure,
    MsgType,
    OperationFailure,
    OutputArgs,
    ParameterError,
)


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    """One object a requested path resolved to; ``result_params`` keys are relative to it."""

    resolved_path: str
    result_params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GetPathResult:
    """The answer for one requested path of a Get; ``err_code`` 0 means success."""

    requested_path: str
    err_code: int = 0
    err_msg: str = ""
    resolved_path_results: tuple[ResolvedPath, ...] = ()


@dataclass(frozen=True, slots=True)
class GetResp:
    """The answer to a Get."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.GET_RESP
    req_path_results: tuple[GetPathResult, ...]

    @property
    def params(self) -> dict[str, dict[str, str]]:
        """``{resolved object path: {relative parameter name: value}}`` of every success."""
        out: dict[str, dict[str, str]] = {}
        for result in self.req_path_results:
            for resolved in result.resolved_path_results:
                out.setdefault(resolved.resolved_path, {}).update(resolved.result_params)
        return out

    @property
    def values(self) -> dict[str, str]:
        """``{full parameter path: value}``, e.g. ``Device.DeviceInfo.SerialNumber``."""
        return {
            resolved.resolved_path + name: value
            for result in self.req_path_results
            for resolved in result.resolved_path_results
            for name, value in resolved.result_params.items()
        }

    @property
    def failures(self) -> dict[str, int]:
        """``{requested path: err_code}`` of the paths that failed."""
        return {r.requested_path: r.err_code for r in self.req_path_results if r.err_code}


@dataclass(frozen=True, slots=True)
class UpdatedInstance:
    """An instance a Set changed: the parameters set, and those that failed (partial)."""

    affected_path: str
    param_errs: tuple[ParameterError, ...] = ()
    updated_params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SetSuccess:
    """A requested path of a Set that succeeded."""

    updated_inst_results: tuple[UpdatedInstance, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdatedInstanceFailure:
    """An instance a Set could not change, and why, per parameter."""

    affected_path: str
    param_errs: tuple[ParameterError, ...] = ()


@dataclass(frozen=True, slots=True)
class SetFailure:
    """A requested path of a Set that failed (only with ``allow_partial``)."""

    err_code: int
    err_msg: str = ""
    updated_inst_failures: tuple[UpdatedInstanceFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdatedObjectResult:
    """The outcome of one object of a Set."""

    requested_path: str
    oper_status: SetSuccess | SetFailure

    @property
    def ok(self) -> bool:
        """Whether this object was updated."""
        return isinstance(self.oper_status, SetSuccess)


@dataclass(frozen=True, slots=True)
class SetResp:
    """The answer to a Set."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.SET_RESP
    updated_obj_results: tuple[UpdatedObjectResult, ...]

    @property
    def failures(self) -> dict[str, SetFailure]:
        """``{requested path: failure}`` of the objects that were not updated."""
        return {
            r.requested_path: r.oper_status
            for r in self.updated_obj_results
            if isinstance(r.oper_status, SetFailure)
        }


@dataclass(frozen=True, slots=True)
class AddSuccess:
    """The instance an Add created, its unique keys, and optional parameters that failed."""

    instantiated_path: str
    param_errs: tuple[ParameterError, ...] = ()
    unique_keys: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CreatedObjectResult:
    """The outcome of one object of an Add."""

    requested_path: str
    oper_status: AddSuccess | OperationFailure

    @property
    def ok(self) -> bool:
        """Whether the instance was created."""
        return isinstance(self.oper_status, AddSuccess)


@dataclass(frozen=True, slots=True)
class AddResp:
    """The answer to an Add."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.ADD_RESP
    created_obj_results: tuple[CreatedObjectResult, ...]

    @property
    def created(self) -> tuple[str, ...]:
        """The instance paths created, in request order."""
        return tuple(
            r.oper_status.instantiated_path
            for r in self.created_obj_results
            if isinstance(r.oper_status, AddSuccess)
        )


@dataclass(frozen=True, slots=True)
class UnaffectedPathError:
    """An instance a Delete could not remove."""

    unaffected_path: str
    err_code: int
    err_msg: str = ""


@dataclass(frozen=True, slots=True)
class DeleteSuccess:
    """The instances a Delete removed, and those it could not (partial)."""

    affected_paths: tuple[str, ...] = ()
    unaffected_path_errs: tuple[UnaffectedPathError, ...] = ()


@dataclass(frozen=True, slots=True)
class DeletedObjectResult:
    """The outcome of one path of a Delete."""

    requested_path: str
    oper_status: DeleteSuccess | OperationFailure

    @property
    def ok(self) -> bool:
        """Whether the path was deleted."""
        return isinstance(self.oper_status, DeleteSuccess)


@dataclass(frozen=True, slots=True)
class DeleteResp:
    """The answer to a Delete."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.DELETE_RESP
    deleted_obj_results: tuple[DeletedObjectResult, ...]


@dataclass(frozen=True, slots=True)
class AsyncRequest:
    """An asynchronous command started; its result comes later in a Notify OperationComplete.

    ``req_obj_path`` is the ``Device.LocalAgent.Request.{i}`` instance created for it.
    """

    req_obj_path: str


@dataclass(frozen=True, slots=True)
class OperationResult:
    """The outcome of one command of an Operate."""

    executed_command: str
    result: AsyncRequest | OutputArgs | CommandFailure


@dataclass(frozen=True, slots=True)
class OperateResp:
    """The answer to an Operate (sent only when the request asked with ``send_resp``)."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.OPERATE_RESP
    operation_results: tuple[OperationResult, ...]


@dataclass(frozen=True, slots=True)
class CurrInstance:
    """One instance of a table and its unique keys (relative names)."""

    instantiated_obj_path: str
    unique_keys: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InstancesPathResult:
    """The answer for one requested path of a GetInstances; ``err_code`` 0 means success."""

    requested_path: str
    err_code: int = 0
    err_msg: str = ""
    curr_insts: tuple[CurrInstance, ...] = ()


@dataclass(frozen=True, slots=True)
class GetInstancesResp:
    """The answer to a GetInstances."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.GET_INSTANCES_RESP
    req_path_results: tuple[InstancesPathResult, ...]

    @property
    def instances(self) -> tuple[str, ...]:
        """Every instance path, in answer order."""
        return tuple(
            inst.instantiated_obj_path for r in self.req_path_results for inst in r.curr_insts
        )


@dataclass(frozen=True, slots=True)
class GetSupportedProtocolResp:
    """The USP versions the agent supports, e.g. ``("1.0", "1.1", "1.2", "1.3")``."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.GET_SUPPORTED_PROTO_RESP
    agent_supported_protocol_versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParamError:
    """One parameter an Error Msg blames (``param_path`` is a full path)."""

    param_path: str
    err_code: int
    err_msg: str = ""


@dataclass(frozen=True, slots=True)
class ErrorMsg:
    """A USP Error Msg: the request failed as a whole; ``param_errs`` say where."""

    MSG_TYPE: ClassVar[MsgType] = MsgType.ERROR
    err_code: int
    err_msg: str = ""
    param_errs: tuple[ParamError, ...] = ()
