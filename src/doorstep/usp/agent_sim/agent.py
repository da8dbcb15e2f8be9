"""One simulated USP agent (router or gateway), independent of the MTP.

The MTP side (``_mqtt``, ``_websocket``) connects, sends the Connect Record, calls
:meth:`SimAgent.session_started` with a function that sends a Msg, and hands every
received Record to :meth:`SimAgent.handle_record`, sending back what it returns.

Behaviour:

* Ignores Records not addressed to it or not from its controller (as OB-USP-Agent).
* Answers Get, Set, Operate, GetInstances and GetSupportedProtocol; other requests get
  Error 7001; a Record that is not usable gets nothing (dropped, as the spec says).
* After every boot it sends ``Boot!`` (Notify Event on ``Device.``); on its first
  session it also sends OnBoardRequest and repeats it until a NotifyResp comes.
* ``Device.Reboot()`` answers, then :attr:`reboot` is set: the MTP drops the session
  and reconnects, and the next session starts with ``Boot!`` Cause RemoteReboot and
  the Operate's ``command_key``.
* ``Device.WiFi.NeighboringWiFiDiagnostic()`` is asynchronous: the OperateResp names
  a ``Device.LocalAgent.Request.{i}.``; the results follow as Notify OperationComplete.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from doorstep.usp import messages
from doorstep.usp._msg import Msg
from doorstep.usp._notify import Event, Notify, NotifyResp, OnBoardRequest, OperationComplete
from doorstep.usp._requests import Get, GetInstances, GetSupportedProtocol, Operate, Set
from doorstep.usp._responses import (
    AsyncRequest,
    GetSupportedProtocolResp,
    OperateResp,
    OperationResult,
)
from doorstep.usp._types import CommandFailure, OutputArgs
from doorstep.usp.agent_sim.datamodel import DataModel, Profile, build_values
from doorstep.usp.codes import ErrorCode
from doorstep.usp.exceptions import UspDecodeError
from doorstep.usp.records import (
    DEFAULT_MAX_RECORD_SIZE,
    NoSessionContext,
    encode_record,
    parse_record,
    wrap,
)

log = logging.getLogger("doorstep.usp.agent_sim")

SendMsg = Callable[[Msg], Awaitable[None]]

REBOOT = "Device.Reboot()"
FACTORY_RESET = "Device.FactoryReset()"
SITE_SURVEY = "Device.WiFi.NeighboringWiFiDiagnostic()"
_REBOOT_CAUSES = ("LocalReboot", "RemoteReboot")


@dataclass(frozen=True, slots=True)
class SimTiming:
    """Delays of the simulated device, in seconds."""

    onboard_retry: float = 5.0
    site_survey: float = 0.2
    reboot: float = 0.2


class SimAgent:
    """The USP behaviour of one simulated device."""

    __slots__ = (
        "_boot_cause",
        "_boot_command_key",
        "_booted_at",
        "_ids",
        "_onboard_msg_id",
        "_requests",
        "_tasks",
        "claim_code",
        "controller_id",
        "model",
        "onboarded",
        "profile",
        "reboot",
        "secret",
        "sessions",
        "timing",
    )

    def __init__(
        self,
        profile: Profile,
        *,
        controller_id: str,
        secret: str,
        claim_code: str = "",
        timing: SimTiming | None = None,
    ) -> None:
        self.profile = profile
        self.controller_id = controller_id
        self.secret = secret
        """The device's own MTP secret (WebSocket upgrade / broker password)."""
        self.claim_code = claim_code
        """The claim secret printed on the label (:mod:`doorstep.usp.claims`)."""
        self.timing = timing or SimTiming()
        self.model = DataModel(build_values(profile))
        self.onboarded = asyncio.Event()
        self.reboot = asyncio.Event()
        """Set when the device must drop its session and come back (Reboot())."""
        self.sessions = 0
        self._booted_at = time.monotonic()
        self._boot_cause: str | None = "LocalReboot"
        self._boot_command_key = ""
        self._onboard_msg_id: str | None = None
        self._ids = itertools.count(1)
        self._requests = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def endpoint_id(self) -> str:
        """The agent's Endpoint ID."""
        return self.profile.endpoint_id

    def claim_payload(self) -> str:
        """The text of the QR code on the label: ``DOORSTEP1:<endpoint id>:<claim code>``."""
        from doorstep.usp.claims import encode_payload

        return encode_payload(self.endpoint_id, self.claim_code)

    def display_claim_code(self) -> str:
        """The claim code as printed on the label for typing (``ABCDE-FGHIJ-…``)."""
        from doorstep.usp.claims import display_claim_code

        return display_claim_code(self.claim_code)

    def encode(self, msg: Msg) -> bytes:
        """``msg`` in a Record from this agent to its controller."""
        return encode_record(wrap(msg, to_id=self.controller_id, from_id=self.endpoint_id))

    # -- sessions ---------------------------------------------------------------------

    def session_started(self, send: SendMsg) -> None:
        """The MTP is up and the Connect Record sent: Boot! after a boot, then onboarding."""
        self.sessions += 1
        self.reboot.clear()
        if self._boot_cause is not None:
            cause, key = self._boot_cause, self._boot_command_key
            self._boot_cause, self._boot_command_key = None, ""
            self._spawn(send(self._boot_event(cause, key)))
        if not self.onboarded.is_set():
            self._spawn(self._onboard(send))

    def session_ended(self) -> None:
        """The MTP session is gone: stop what was sending on it."""
        for task in list(self._tasks):
            task.cancel()

    def _boot_event(self, cause: str, command_key: str) -> Msg:
        params = {
            "CommandKey": command_key,
            "Cause": cause,
            "Reason": "Unknown",
            "FirmwareUpdated": "false",
            "ParameterMap": "{}",
        }
        event = Event("Device.", "Boot!", params)
        return Msg(self._msg_id("Event"), Notify("boot", event, send_resp=False))

    async def _onboard(self, send: SendMsg) -> None:
        if self._onboard_msg_id is None:
            self._onboard_msg_id = self._msg_id("OnBoardRequest")
        profile = self.profile
        body = OnBoardRequest(profile.oui, profile.product_class, profile.serial_number, ("1.3",))
        msg = Msg(self._onboard_msg_id, Notify("", body, send_resp=True))
        while not self.onboarded.is_set():
            await send(msg)
            try:
                await asyncio.wait_for(self.onboarded.wait(), self.timing.onboard_retry)
            except TimeoutError:
                continue

    # -- inbound ----------------------------------------------------------------------

    def handle_record(self, data: bytes, send: SendMsg) -> Msg | None:
        """The answer to one received Record, or None (dropped, or nothing to answer)."""
        try:
            record = parse_record(data, max_size=DEFAULT_MAX_RECORD_SIZE)
        except UspDecodeError:
            return None
        if record.to_id != self.endpoint_id or record.from_id != self.controller_id:
            return None
        if not isinstance(record.body, NoSessionContext):
            return None
        return self.answer(record.body.msg, send)

    def answer(self, msg: Msg, send: SendMsg) -> Msg | None:
        """The answer to a Msg from the controller."""
        body = msg.body
        uptime = int(time.monotonic() - self._booted_at)
        if isinstance(body, NotifyResp):
            if msg.msg_id == self._onboard_msg_id:
                self.onboarded.set()
            return None
        if not msg.is_request:
            return None
        reply: object
        if isinstance(body, Get):
            reply = self.model.get(body, uptime)
        elif isinstance(body, Set):
            reply = self.model.set(body)
        elif isinstance(body, GetInstances):
            reply = self.model.instances(body)
        elif isinstance(body, GetSupportedProtocol):
            reply = GetSupportedProtocolResp(("1.3",))
        elif isinstance(body, Operate):
            reply = self._operate(body, send)
            if not body.send_resp and isinstance(reply, OperateResp):
                return None
        else:
            return messages.error(msg.msg_id, ErrorCode.NOT_SUPPORTED, "not supported")
        return Msg(msg.msg_id, reply)  # type: ignore[arg-type]

    def _operate(self, request: Operate, send: SendMsg) -> object:
        command = request.command
        if command in {REBOOT, FACTORY_RESET}:
            cause = request.input_args.get("Cause", "RemoteReboot")
            allowed = _REBOOT_CAUSES if command == REBOOT else ("RemoteFactoryReset",)
            if command == FACTORY_RESET:
                cause = request.input_args.get("Cause", "RemoteFactoryReset")
            if cause not in allowed:
                failure = CommandFailure(ErrorCode.INVALID_COMMAND_ARGUMENTS, "invalid Cause")
                return OperateResp((OperationResult(command, failure),))
            self._spawn(self._restart(cause, request.command_key, command == FACTORY_RESET))
            return OperateResp((OperationResult(command, OutputArgs({})),))
        if command == SITE_SURVEY:
            path = f"Device.LocalAgent.Request.{next(self._requests)}."
            self._spawn(self._site_survey(request.command_key, send))
            return OperateResp((OperationResult(command, AsyncRequest(path)),))
        return messages.error("-", ErrorCode.INVALID_PATH, "no such command").body

    async def _restart(self, cause: str, command_key: str, factory: bool) -> None:
        await asyncio.sleep(self.timing.reboot)
        if factory:
            self.model = DataModel(build_values(self.profile))
        self._boot_cause, self._boot_command_key = cause, command_key
        self._booted_at = time.monotonic()
        self.reboot.set()

    async def _site_survey(self, command_key: str, send: SendMsg) -> None:
        await asyncio.sleep(self.timing.site_survey)
        args = {"Status": "Complete"}
        for index, (ssid, channel, signal) in enumerate(_NEIGHBOURS, start=1):
            prefix = f"Result.{index}."
            args.update(
                {
                    prefix + "Radio": "Device.WiFi.Radio.1",
                    prefix + "SSID": ssid,
                    prefix + "BSSID": f"02:5a:00:00:00:{index:02x}",
                    prefix + "Channel": str(channel),
                    prefix + "SignalStrength": str(signal),
                    prefix + "OperatingFrequencyBand": "2.4GHz" if channel < 36 else "5GHz",
                    prefix + "SecurityModeEnabled": "WPA2",
                }
            )
        done = OperationComplete("Device.WiFi.", "NeighboringWiFiDiagnostic()", command_key,
                                 OutputArgs(args))  # fmt: skip
        await send(Msg(self._msg_id("OperationComplete"), Notify("survey", done)))

    # -- helpers ----------------------------------------------------------------------

    def _msg_id(self, kind: str) -> str:
        return f"{kind}-{self.sessions}-{next(self._ids)}"

    def _spawn(self, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the session went away while sending
                log.debug("simulated agent task ended: %s", type(exc).__name__)

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


_NEIGHBOURS = (("neighbour-a", 1, -48), ("neighbour-b", 6, -71), ("neighbour-c", 44, -80))
