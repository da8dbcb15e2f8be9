"""The USP Controller: talks to agents over MQTT and WebSocket, one API for both.

::

    controller = Controller(config, credentials=store, hooks=my_hooks, audit=sink)
    controller.attach(MqttTransport(controller))        # see doorstep.usp.mtp
    reply = await controller.get(endpoint_id, ["Device.DeviceInfo."])
    reply.params                                        # {"Device.DeviceInfo.": {...}}

* :meth:`Controller.request` sends a request Msg and returns the typed answer (read
  with :func:`doorstep.usp.messages.expect`): an Error Msg raises
  :class:`~doorstep.usp.exceptions.UspErrorResponse` with the device's codes
  unchanged; no answer within the timeout raises :class:`DeviceTimeoutError` (504);
  no route raises :class:`DeviceOfflineError` (503).  Answers are matched by
  ``(endpoint id, msg_id)``; every request gets a fresh msg_id from
  :meth:`Controller.next_msg_id` unless the caller built its own.
* Inbound Records are screened (:meth:`ControllerCore.receive`): oversized or garbage
  bytes, Records to another endpoint, a ``from_id`` other than the identity the MTP
  authenticated, and unknown endpoints are dropped and audited, with no effect on
  other agents.  Session-context Records are answered with a DisconnectRecord (7106).
  A Notify goes to ``hooks.on_event`` and is answered with a NotifyResp when it asks.
* :class:`ControllerHooks` is how the device domain learns of connections, events and
  traffic; :class:`NullHooks` is the default.
* The purpose gate per path (:mod:`doorstep.usp.paths`): with :attr:`Controller.paths`
  set (the device domain sets it from the pack's data map), every request names its
  ``purpose`` and a path the purpose does not declare is refused before anything is
  sent (:class:`~doorstep.usp.paths.PathRefusedError`, 403) and audited as
  ``usp.path_refused`` with the purpose and the path's shape.  Without it (a bare
  controller in the USP layer's own tests and tools) nothing is checked.
* Another process may carry a request: :meth:`Controller.awaiting` waits for the answer
  to a request relayed to this process, and :meth:`Controller.resolve` settles one of
  this process's requests with the answer (or error) another process relayed back
  (WebSocket sessions held by another ``serve`` replica, decision 0047).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, overload

from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.core.metrics import USP_ROUND_TRIP, USP_TIMEOUTS
from doorstep.usp import messages
from doorstep.usp._controller.audit import (
    AuditSink,
    NullAuditSink,
    Refusal,
    RuntimeAuditSink,
    endpoint_ref,
)
from doorstep.usp._controller.core import ControllerCore
from doorstep.usp._controller.errors import (
    DeviceCommunicationError,
    DeviceOfflineError,
    DeviceTimeoutError,
    MtpUnavailableError,
)
from doorstep.usp._controller.hooks import ControllerHooks, NullHooks
from doorstep.usp._controller.links import (
    MQTT,
    WEBSOCKET,
    AgentAddress,
    AgentDirectory,
    Located,
    Origin,
    Transport,
    Verdict,
)
from doorstep.usp._msg import Msg, Response
from doorstep.usp._requests import (
    Add,
    Delete,
    Get,
    GetInstances,
    GetSupportedDM,
    GetSupportedProtocol,
    Operate,
    Set,
    UpdateObject,
)
from doorstep.usp._responses import (
    AddResp,
    DeleteResp,
    GetInstancesResp,
    GetResp,
    GetSupportedProtocolResp,
    OperateResp,
    SetResp,
)
from doorstep.usp._supported_dm import GetSupportedDMResp
from doorstep.usp.paths import PathRefusedError, UspPathPolicy

__all__ = [
    "MQTT",
    "WEBSOCKET",
    "AgentAddress",
    "AgentDirectory",
    "AuditSink",
    "Controller",
    "ControllerHooks",
    "DeviceCommunicationError",
    "DeviceOfflineError",
    "DeviceTimeoutError",
    "Located",
    "MtpUnavailableError",
    "NullAuditSink",
    "NullHooks",
    "Origin",
    "Refusal",
    "RuntimeAuditSink",
    "Transport",
    "Verdict",
    "endpoint_ref",
]

T = TypeVar("T")

RESPONSE_FOR: Mapping[type[Any], type[Response]] = {
    Get: GetResp,
    Set: SetResp,
    Add: AddResp,
    Delete: DeleteResp,
    Operate: OperateResp,
    GetSupportedDM: GetSupportedDMResp,
    GetInstances: GetInstancesResp,
    GetSupportedProtocol: GetSupportedProtocolResp,
}
"""The answer each request a controller sends gets."""


class Controller(ControllerCore):
    """A USP Controller for one process: requests out, Records in, hooks to the domain."""

    _ids = itertools.count(1)
    paths: UspPathPolicy | None = None
    """The purpose gate per path; None checks nothing (see the module doc)."""

    @property
    def connected(self) -> int:
        """Agents that sent this process a Connect Record and have not left since."""
        return len(self._arrived)

    def next_msg_id(self) -> str:
        """A msg_id unique to this process: ``doorstep-<instance>-<n>``."""
        return f"doorstep-{self.instance}-{next(self._ids)}"

    def check_paths(self, endpoint_id: str, purpose: str | None, body: object) -> None:
        """Refuse (and audit) a request naming a path its purpose does not declare."""
        if self.paths is None:
            return
        try:
            self.paths.check(purpose, body)
        except PathRefusedError as exc:
            self.counters["paths_refused"] += 1
            self.audit.refused(
                Refusal(exc.reason, endpoint_id, "-", purpose=purpose or "", path=exc.path)
            )
            raise

    @overload
    async def request(
        self,
        endpoint_id: str,
        msg: Msg,
        expected: type[T],
        *,
        timeout: float | None = None,
        purpose: str | None = None,
    ) -> T: ...

    @overload
    async def request(
        self,
        endpoint_id: str,
        msg: Msg,
        *,
        timeout: float | None = None,
        purpose: str | None = None,
    ) -> Response: ...

    async def request(
        self,
        endpoint_id: str,
        msg: Msg,
        expected: type[Any] | None = None,
        *,
        timeout: float | None = None,
        purpose: str | None = None,
    ) -> Any:
        """Send ``msg`` to ``endpoint_id`` and return its answer as ``expected``.

        ``expected`` defaults to the response type of the request (GetResp for Get …).
        ``purpose`` is what the request is for (checked per path, see the module doc).
        Raises PathRefusedError, DeviceTimeoutError, DeviceOfflineError,
        MtpUnavailableError, UspErrorResponse (the device's Error Msg) or
        UnexpectedResponseError.
        """
        body = msg.body
        self.check_paths(endpoint_id, purpose, body)
        if isinstance(body, Operate) and not body.send_resp:
            raise InvalidInputError("an Operate without send_resp gets no answer; use send()")
        kind = expected or RESPONSE_FOR.get(type(body))
        if kind is None:
            raise InvalidInputError(f"{type(body).__name__} is not a request a controller sends")
        await self.reachable(endpoint_id)
        wait = self.config.request_timeout if timeout is None else timeout
        with self.awaiting(endpoint_id, msg.msg_id) as future:
            self.counters["requests"] += 1
            started = time.monotonic()
            try:
                async with asyncio.timeout(wait):
                    await self.send_msg(endpoint_id, msg, response=False)
                    reply = await future
            except TimeoutError:
                self.counters["requests_timed_out"] += 1
                USP_TIMEOUTS.labels(msg.msg_type.name).inc()
                raise DeviceTimeoutError(
                    f"no answer to {msg.msg_type.name} within {wait:g} s",
                    msg_type=msg.msg_type.name,
                    timeout_seconds=wait,
                ) from None
        USP_ROUND_TRIP.labels(msg.msg_type.name).observe(time.monotonic() - started)
        return messages.expect(reply, kind, msg_id=msg.msg_id)

    @contextlib.contextmanager
    def awaiting(self, endpoint_id: str, msg_id: str) -> Iterator[asyncio.Future[Msg]]:
        """A future for the answer to ``msg_id`` from ``endpoint_id``, pending in the block.

        Raises ConflictError when that msg_id is already in flight to the device.  Besides
        :meth:`request`, the replica holding an agent's WebSocket session waits here for
        the answers to requests another replica relays to it (decision 0047).
        """
        key = (endpoint_id, msg_id)
        if key in self._pending:
            raise ConflictError("this msg_id is already in flight to the device")
        future: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            yield future
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]

    def resolve(self, endpoint_id: str, msg_id: str, outcome: Msg | Exception) -> bool:
        """Settle the pending request ``msg_id`` with an answer or error another process got.

        The replica holding the agent's session relays its answer (or that the session
        is gone) back to the one that asked (decision 0047).  Only a response or an Error
        Msg answers; False when nothing waits for it.
        """
        future = self._pending.get((endpoint_id, msg_id))
        if future is None or future.done():
            self.counters["answers_unmatched"] += 1
            return False
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        elif outcome.is_response or outcome.is_error:
            future.set_result(outcome)
        else:
            return False
        return True

    async def send(self, endpoint_id: str, msg: Msg, *, purpose: str | None = None) -> None:
        """Send ``msg`` without waiting for an answer (an Operate without send_resp)."""
        self.check_paths(endpoint_id, purpose, msg.body)
        await self.send_msg(endpoint_id, msg, response=False)

    async def get(
        self,
        endpoint_id: str,
        paths: str | Iterable[str],
        *,
        max_depth: int = 0,
        timeout: float | None = None,
        purpose: str | None = None,
    ) -> GetResp:
        """Get the parameters under ``paths``; per-path errors stay in the answer."""
        msg = messages.get(self.next_msg_id(), paths, max_depth=max_depth)
        return await self.request(endpoint_id, msg, GetResp, timeout=timeout, purpose=purpose)

    async def set(
        self,
        endpoint_id: str,
        updates: Mapping[str, str] | Iterable[UpdateObject],
        *,
        allow_partial: bool = False,
        timeout: float | None = None,
        purpose: str | None = None,
    ) -> SetResp:
        """Set parameters (``{full path: value}``); all or nothing unless ``allow_partial``."""
        msg = messages.set(self.next_msg_id(), updates, allow_partial=allow_partial)
        return await self.request(endpoint_id, msg, SetResp, timeout=timeout, purpose=purpose)

    async def operate(
        self,
        endpoint_id: str,
        command: str,
        input_args: Mapping[str, str] | None = None,
        *,
        command_key: str = "",
        timeout: float | None = None,
        purpose: str | None = None,
    ) -> OperateResp:
        """Run ``command`` and return its OperateResp (sync output or async request path)."""
        msg = messages.operate(self.next_msg_id(), command, input_args, command_key=command_key)
        return await self.request(endpoint_id, msg, OperateResp, timeout=timeout, purpose=purpose)

    async def get_instances(
        self,
        endpoint_id: str,
        obj_paths: str | Iterable[str],
        *,
        first_level_only: bool = False,
        timeout: float | None = None,
        purpose: str | None = None,
    ) -> GetInstancesResp:
        """List the instances of the tables under ``obj_paths``."""
        msg = messages.get_instances(
            self.next_msg_id(), obj_paths, first_level_only=first_level_only
        )
        return await self.request(
            endpoint_id, msg, GetInstancesResp, timeout=timeout, purpose=purpose
        )

    async def get_supported_dm(
        self,
        endpoint_id: str,
        obj_paths: str | Iterable[str],
        *,
        first_level_only: bool = False,
        timeout: float | None = None,
    ) -> GetSupportedDMResp:
        """What the agent supports under ``obj_paths`` (no values: no purpose to name)."""
        msg = messages.get_supported_dm(
            self.next_msg_id(), obj_paths, first_level_only=first_level_only, events=False
        )
        return await self.request(endpoint_id, msg, GetSupportedDMResp, timeout=timeout)

    async def get_supported_protocol(
        self, endpoint_id: str, *, timeout: float | None = None
    ) -> GetSupportedProtocolResp:
        """Ask the agent which USP versions it speaks."""
        msg = messages.get_supported_protocol(self.next_msg_id())
        return await self.request(endpoint_id, msg, GetSupportedProtocolResp, timeout=timeout)
