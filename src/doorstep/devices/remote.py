"""How the devices services reach a device: the process's USP controller, app timeouts.

:class:`DeviceLink` wraps :class:`~doorstep.usp.controller.Controller` for the API:

* Get, Set and Operate with ``device_request_timeout_seconds`` (DeviceTimeoutError
  504, DeviceOfflineError 503, MtpUnavailableError 503 pass through unchanged), each
  naming its purpose, which the controller checks per path (decision 0028);
* a Get keeps each path's error in its answer (``GetResp.failures``) for the caller
  to read: a device that lacks an object is not a device with nothing in it;
* a USP Error Msg, a failed Set or a failed command becomes
  :class:`~doorstep.devices.exceptions.DeviceRefusedError` with the device's code
  unchanged and the refused parameters named, never their values; a Set the device
  applied in part (``allow_partial``, or parameters it skipped) becomes
  :class:`~doorstep.devices.exceptions.DevicePartlyAppliedError` naming what was and
  was not applied (:func:`set_outcome`);
* :meth:`DeviceLink.run_async` runs an asynchronous command (the Wi-Fi site survey):
  it registers a waiter for the command key *before* sending the Operate, then waits
  up to ``device_scan_timeout_seconds`` for the Notify OperationComplete that the
  controller hooks hand to :class:`Completions`.  The output stays in memory.

In ``serve`` the controller is the one the WebSocket endpoint runs (and the MQTT
transport, with ``device_serve_mqtt``); see decision 0013.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from doorstep.devices.exceptions import DevicePartlyAppliedError, DeviceRefusedError
from doorstep.usp import (
    AsyncRequest,
    CommandFailure,
    GetResp,
    OperateResp,
    OperationComplete,
    OutputArgs,
    SetFailure,
    SetResp,
    SetSuccess,
    UspErrorResponse,
)
from doorstep.usp.controller import Controller, DeviceTimeoutError

Deliver = Callable[[OperationComplete], None]
_PRUNE_AT = 256
"""Forwards kept before the lapsed ones are dropped."""


class Completions:
    """Waiters for asynchronous commands, keyed by (endpoint id, command key).

    A command relayed from another ``serve`` replica has its waiter there: :meth:`forward`
    hands its OperationComplete to the relay instead (decision 0047).
    """

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str], asyncio.Future[OperationComplete]] = {}
        self._forwards: dict[tuple[str, str], tuple[Deliver, float]] = {}

    def expect(self, endpoint_id: str, command_key: str) -> asyncio.Future[OperationComplete]:
        """A future resolved by :meth:`resolve` for this endpoint and command key."""
        future: asyncio.Future[OperationComplete] = asyncio.get_running_loop().create_future()
        self._waiting[(endpoint_id, command_key)] = future
        return future

    def discard(self, endpoint_id: str, command_key: str) -> None:
        """Stop waiting (timeout, error or done)."""
        self._waiting.pop((endpoint_id, command_key), None)

    def forward(
        self,
        endpoint_id: str,
        command_key: str,
        deliver: Deliver,
        *,
        ttl: float,
    ) -> None:
        """Hand the OperationComplete of this command to ``deliver`` within ``ttl`` seconds."""
        now = time.monotonic()
        if len(self._forwards) >= _PRUNE_AT:
            for key, (_deliver, until) in list(self._forwards.items()):
                if until < now:
                    del self._forwards[key]
        self._forwards[(endpoint_id, command_key)] = (deliver, now + ttl)

    def resolve(self, endpoint_id: str, done: OperationComplete) -> bool:
        """Hand an OperationComplete to its waiter; False when nobody waits for it."""
        key = (endpoint_id, done.command_key)
        future = self._waiting.pop(key, None)
        if future is None or future.done():
            forward = self._forwards.pop(key, None)
            if forward is None or forward[1] < time.monotonic():
                return False
            forward[0](done)
            return True
        future.set_result(done)
        return True


def _refused(exc: UspErrorResponse) -> DeviceRefusedError:
    return DeviceRefusedError(exc.error.err_code, list(exc.fields.get("param_errors", [])))


def _param_name(path: str) -> str:
    name = path.rpartition(".")[2]
    return "" if any(ch in name for ch in '[]"=<>!') else name


def set_outcome(updates: Mapping[str, str], answer: SetResp) -> None:
    """Raise unless every parameter of ``updates`` was applied, naming what was and wasn't.

    Nothing applied: :class:`DeviceRefusedError`; some applied:
    :class:`DevicePartlyAppliedError`.  Parameters are named by their last segment.
    """
    refused: list[dict[str, object]] = []
    for result in answer.updated_obj_results:
        status = result.oper_status
        if isinstance(status, SetFailure):
            errors = [
                (instance.affected_path + e.param, e.err_code)
                for instance in status.updated_inst_failures
                for e in instance.param_errs
            ]
            if not errors:  # the object as a whole: every parameter asked of it
                errors = [
                    (path, status.err_code)
                    for path in updates
                    if path.startswith(result.requested_path)
                ]
            refused += [{"param": _param_name(p), "usp_code": code} for p, code in errors]
        elif isinstance(status, SetSuccess):
            refused += [
                {"param": _param_name(e.param), "usp_code": e.err_code}
                for instance in status.updated_inst_results
                for e in instance.param_errs
            ]
    if not refused:
        return
    names = {str(r["param"]) for r in refused}
    applied = [_param_name(p) for p in updates if _param_name(p) not in names]
    code = int(str(refused[0]["usp_code"]))
    if applied:
        raise DevicePartlyAppliedError(code, refused, applied)
    raise DeviceRefusedError(code, refused)


@dataclass
class DeviceLink:
    """The requests the devices API sends, with its timeouts and error mapping."""

    controller: Controller
    completions: Completions
    timeout: float = 15.0
    async_timeout: float = 30.0

    async def get(self, endpoint_id: str, paths: list[str], *, purpose: str) -> GetResp:
        """A Get of ``paths``; per-path failures stay in the answer (``failures``)."""
        try:
            return await self.controller.get(
                endpoint_id, paths, timeout=self.timeout, purpose=purpose
            )
        except UspErrorResponse as exc:
            raise _refused(exc) from None

    async def set(
        self,
        endpoint_id: str,
        updates: Mapping[str, str],
        *,
        purpose: str,
        allow_partial: bool = False,
    ) -> SetResp:
        """A Set: returns only when every parameter was applied (see :func:`set_outcome`).

        Without ``allow_partial`` the device applies all or nothing, so a refusal is a
        :class:`DeviceRefusedError` with nothing applied.
        """
        try:
            answer = await self.controller.set(
                endpoint_id,
                updates,
                allow_partial=allow_partial,
                timeout=self.timeout,
                purpose=purpose,
            )
        except UspErrorResponse as exc:
            raise _refused(exc) from None
        set_outcome(updates, answer)
        return answer

    async def operate(
        self,
        endpoint_id: str,
        command: str,
        args: Mapping[str, str] | None = None,
        *,
        purpose: str,
    ) -> OperateResp:
        """A synchronous command; a CommandFailure raises DeviceRefusedError."""
        try:
            answer = await self.controller.operate(
                endpoint_id, command, args, timeout=self.timeout, purpose=purpose
            )
        except UspErrorResponse as exc:
            raise _refused(exc) from None
        for result in answer.operation_results:
            if isinstance(result.result, CommandFailure):
                raise DeviceRefusedError(result.result.err_code)
        return answer

    async def run_async(self, endpoint_id: str, command: str, *, purpose: str) -> Mapping[str, str]:
        """Run an asynchronous command and return its output arguments (in memory only)."""
        key = "doorstep-" + secrets.token_hex(8)
        waiter = self.completions.expect(endpoint_id, key)
        try:
            try:
                answer = await self.controller.operate(
                    endpoint_id, command, command_key=key, timeout=self.timeout, purpose=purpose
                )
            except UspErrorResponse as exc:
                raise _refused(exc) from None
            started = answer.operation_results[0].result if answer.operation_results else None
            if isinstance(started, CommandFailure):
                raise DeviceRefusedError(started.err_code)
            if isinstance(started, OutputArgs):  # a device that answered synchronously
                return started.output_args
            if not isinstance(started, AsyncRequest):
                raise DeviceRefusedError(7000)
            try:
                async with asyncio.timeout(self.async_timeout):
                    done = await waiter
            except TimeoutError:
                raise DeviceTimeoutError(
                    f"no result of the command within {self.async_timeout:g} s",
                    msg_type="OPERATE",
                    timeout_seconds=self.async_timeout,
                ) from None
        finally:
            self.completions.discard(endpoint_id, key)
        if isinstance(done.result, CommandFailure):
            raise DeviceRefusedError(done.result.err_code)
        return done.result.output_args
