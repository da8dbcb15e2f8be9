"""The typed USP Msg: a ``msg_id`` and one body (a request, a response or an Error).

The header's ``msg_type`` is not stored: it follows from the body's class
(``MSG_TYPE``), so the two can never disagree when we encode, and a received Msg
whose header disagrees with its body is refused when decoded.
"""

from __future__ import annotations

from dataclasses import dataclass

from doorstep.usp._notify import Notify, NotifyResp
from doorstep.usp._register import Deregister, DeregisterResp, Register, RegisterResp
from doorstep.usp._requests import (
    Add,
    Delete,
    Get,
    GetInstances,
    GetSupportedDM,
    GetSupportedProtocol,
    Operate,
    Set,
)
from doorstep.usp._responses import (
    AddResp,
    DeleteResp,
    ErrorMsg,
    GetInstancesResp,
    GetResp,
    GetSupportedProtocolResp,
    OperateResp,
    SetResp,
)
from doorstep.usp._supported_dm import GetSupportedDMResp
from doorstep.usp._types import MsgType

Request = (
    Get
    | Set
    | Add
    | Delete
    | Operate
    | Notify
    | GetSupportedDM
    | GetInstances
    | GetSupportedProtocol
    | Register
    | Deregister
)
Response = (
    GetResp
    | SetResp
    | AddResp
    | DeleteResp
    | OperateResp
    | NotifyResp
    | GetSupportedDMResp
    | GetInstancesResp
    | GetSupportedProtocolResp
    | RegisterResp
    | DeregisterResp
)
Body = Request | Response | ErrorMsg

REQUEST_TYPES: tuple[type[Request], ...] = (
    Get,
    Set,
    Add,
    Delete,
    Operate,
    Notify,
    GetSupportedDM,
    GetInstances,
    GetSupportedProtocol,
    Register,
    Deregister,
)
RESPONSE_TYPES: tuple[type[Response], ...] = (
    GetResp,
    SetResp,
    AddResp,
    DeleteResp,
    OperateResp,
    NotifyResp,
    GetSupportedDMResp,
    GetInstancesResp,
    GetSupportedProtocolResp,
    RegisterResp,
    DeregisterResp,
)


@dataclass(frozen=True, slots=True)
class Msg:
    """One USP message.  ``msg_id`` is never empty; a response echoes its request's."""

    msg_id: str
    body: Body

    @property
    def msg_type(self) -> MsgType:
        """The header's message type, derived from the body."""
        return self.body.MSG_TYPE

    @property
    def is_request(self) -> bool:
        """Whether the body is a request (Notify included)."""
        return isinstance(self.body, REQUEST_TYPES)

    @property
    def is_response(self) -> bool:
        """Whether the body is a response (not an Error)."""
        return isinstance(self.body, RESPONSE_TYPES)

    @property
    def is_error(self) -> bool:
        """Whether the body is an Error Msg."""
        return isinstance(self.body, ErrorMsg)
