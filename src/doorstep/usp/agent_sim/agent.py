"""One simulated USP agent (router or gateway), independent of the MTP.

The MTP side (``_mqtt``, ``_websocket``) connects, sends the Connect Record, calls
:meth:`SimAgent.session_started` with a function that sends a Msg, and hands every
received Record to :meth:`SimAgent.handle_record`, sending back what it returns.

Behaviour:

* Ignores Records not addressed to it or not from its controller (as OB-USP-Agent).
* Answers Get, Set, Add and Delete (the ``Device.LocalAgent.Subscription.`` table, and
  for Delete the tables of ``Profile.deletable``),
  Operate, GetInstances and GetSupportedProtocol; other requests get Error 7001; a
  Record that is not usable gets nothing (dropped, as the spec says).  A path the
  model lacks (``Profile.omit``) is a per-path error 7026 in a Get.
* After every boot it sends ``Boot!`` (Notify Event on ``Device.``); on its first
  session it also sends OnBoardRequest and repeats it until a NotifyResp comes.
* ``Device.Reboot()`` answers, then :attr:`reboot` is set: the MTP drops the session
  and reconnects, and the next session starts with ``Boot!`` Cause RemoteReboot and
  the Operate's ``command_key`` (``_restart``).  The commands, among them the
  asynchronous site survey, firmware Download()/Activate() and IP diagnostics, live in
  ``_commands`` and the modules it dispatches to.
* ``Periodic!`` and ValueChange (:meth:`SimAgent.change`) go only to subscribers.
* :attr:`SimAgent.sets_applied` counts, per msg_id, the Sets it applied (in whole or in
  part): the proof for fault tests that no request was applied twice, whatever the
  MTP or the controller did (the simulator never drops a repeated msg_id itself).
* Work that outlives a session runs as a *job* (:meth:`SimAgent.job`): a broker outage
  does not stop it, a reboot or a power cut does; what it reports while the device is
  offline waits for the next session.  Delays: :class:`SimTiming` (scaled per device
  by ``jitter``); clock, seed and failure rates: :class:`SimConditions`.

**Strict mode** (``strict=True``, ``--strict``) is a real agent (OB-USP-Agent 11.0.4)
where the default is lenient for the demo: Boot! and OperationComplete only to a
matching subscription (its ID; ``send_resp`` = NotifRetry), no OnBoardRequest, and a
reboot drops the connection uncleanly (a provisioned last will fires, ``_will``) and
deletes the non-persistent subscriptions.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import time

from doorstep.usp import messages
from doorstep.usp._msg import Msg
from doorstep.usp._notify import (
    Event,
    Notify,
    NotifyResp,
    OnBoardRequest,
    ValueChange,
)
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
from doorstep.usp._responses import OperateResp, SetResp, SetSuccess
from doorstep.usp.agent_sim import _restart, _tables
from doorstep.usp.agent_sim._commands import operate
from doorstep.usp.agent_sim._conditions import (
    DEFAULT_CONDITIONS,
    SimConditions,
    SimTiming,
    spread,
)
from doorstep.usp.agent_sim._events import POWER_ON, BootRecord, boot_event
from doorstep.usp.agent_sim._outbound import Outbound, Pending, SendMsg
from doorstep.usp.agent_sim._supported import supported_dm
from doorstep.usp.agent_sim._will import MQTT_CLIENT, LastWill, last_will_of
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

BOOT = "Device.Boot!"
PERIODIC = "Device.LocalAgent.Periodic!"
CONTROLLER = "Device.LocalAgent.Controller.1."


class SimAgent(Outbound):
    """The USP behaviour of one simulated device (sending and background work: ``Outbound``)."""

    __slots__ = (
        "_boot",
        "_booted_at",
        "_ids",
        "_onboard_msg_id",
        "_requests",
        "_send",
        "_tasks",
        "_ticker",
        "abrupt",
        "claim_code",
        "conditions",
        "controller_id",
        "model",
        "onboarded",
        "powered",
        "profile",
        "reboot",
        "secret",
        "sessions",
        "sets_applied",
        "strict",
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
        strict: bool = False,
        conditions: SimConditions | None = None,
    ) -> None:
        self.profile = profile
        self.strict = strict
        """Behave like a real agent (see the module docstring)."""
        self.controller_id = controller_id
        self.secret = secret
        """The device's own MTP secret (WebSocket upgrade / broker password)."""
        self.claim_code = claim_code
        """The claim secret printed on the label (:mod:`doorstep.usp.claims`)."""
        self.timing = timing or SimTiming()
        self.conditions = conditions or DEFAULT_CONDITIONS
        """Clock, seed and failure rates (shared by a fleet)."""
        self.model = DataModel(build_values(profile, controller_id))
        self.onboarded = asyncio.Event()
        self.reboot = asyncio.Event()
        """Set when the device must drop its session and come back (Reboot() …)."""
        self.abrupt = False
        """End the session without a goodbye (no DISCONNECT: the broker sends the will)."""
        self.powered = asyncio.Event()
        """Cleared by :meth:`power_off`: the device stays away until :meth:`power_on`."""
        self.powered.set()
        self._send: SendMsg | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.sessions = 0
        self.sets_applied: collections.Counter[str] = collections.Counter()
        """How many times a Set of each msg_id was applied (see the module docstring)."""
        self._booted_at = time.monotonic()
        self._boot: BootRecord | None = POWER_ON
        self._pending: list[Pending] | None = None
        self._onboard_msg_id: str | None = None
        self._ids = itertools.count(1)
        self._requests = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._jobs: set[asyncio.Task[None]] | None = None

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
        self.abrupt = False
        self._send = send
        boot, self._boot = self._boot, None
        if boot is not None:
            body = boot_event(boot.cause, boot.command_key, boot.firmware_updated)
            self.notify("Event", BOOT, body, "boot")
        self.flush()
        if not self.onboarded.is_set() and not self.strict:
            self.spawn(self._onboard(send))
        self._restart_ticker()

    def session_ended(self) -> None:
        """The MTP session is gone: stop what was sending on it."""
        self._send = None
        for task in list(self._tasks):
            task.cancel()

    def last_will(self) -> LastWill | None:
        """The last will of the MQTT connection, if a controller provisioned one."""
        return last_will_of(self.model.values)

    def power_off(self) -> None:
        """The device loses power: its connection drops without a goodbye; it stays away."""
        self.cancel_jobs()
        self.powered.clear()
        self.abrupt = True
        self.reboot.set()

    def power_on(self) -> None:
        """Power comes back: the device boots (``Boot!`` Cause LocalReboot) and reconnects.

        It boots as a reboot does (``_restart.boot``: a changed BootFirmwareImage is
        tried, commands cut off by the power loss fail), but never stays off again.
        """
        _restart.boot(self, "LocalReboot", "", may_stay_off=False)
        self.powered.set()

    def factory_reset(self) -> None:
        """Someone holds the reset button: the device forgets what any controller set,
        drops its connection and boots (``Boot!`` Cause LocalFactoryReset)."""
        self.spawn(_restart.restart(self, "LocalFactoryReset", "", factory=True))

    def change(self, path: str, value: str) -> None:
        """The device itself changes ``path`` (a firmware upgrade, a new WAN address):
        subscribers of a ValueChange on it are told."""
        before = self.model.values.get(path)
        self.model.values[path] = value
        if before != value:
            self._value_changed({path: value})

    def booted(
        self, cause: str, command_key: str, *, firmware_updated: bool = False, dark: float = 0.0
    ) -> None:
        """The device booted: its next session starts with ``Boot!`` naming ``cause``
        (after ``dark`` seconds more than a reboot takes)."""
        self._boot = BootRecord(cause, command_key, firmware_updated, dark)
        self._booted_at = time.monotonic()

    def downtime(self) -> float:
        """How long the device stays dark after its session dropped for a reboot."""
        extra = self._boot.dark if self._boot is not None else 0.0
        return self.delay(self.timing.reboot) + extra

    def delay(self, seconds: float) -> float:
        """``seconds`` scaled by this device's own jitter factor (``SimTiming.jitter``)."""
        return seconds * spread(self.conditions.seed, self.endpoint_id, self.timing.jitter)

    def _value_changed(self, changes: dict[str, str]) -> None:
        for path, value in changes.items():
            self.notify("ValueChange", path, ValueChange(path, value), "")

    def _restart_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        raw = self.model.values.get(CONTROLLER + "PeriodicNotifInterval", "")
        if self._send is not None and raw.isdigit() and int(raw) > 0:
            self._ticker = self.spawn(self._periodic(int(raw)))

    async def _periodic(self, interval: int) -> None:
        """``Periodic!`` every PeriodicNotifInterval seconds, for its subscribers."""
        while True:
            await asyncio.sleep(interval)
            self.notify("Event", PERIODIC, Event("Device.LocalAgent.", "Periodic!"), "")

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
            reply = self._set(body)
            if _applied(reply):
                self.sets_applied[msg.msg_id] += 1
        elif isinstance(body, Add | Delete | GetInstances | GetSupportedProtocol):
            reply = _tables.answer(self.model, body, self.profile.deletable)
        elif isinstance(body, GetSupportedDM):
            reply = supported_dm(self.model.values, body, self.profile.omit, self.profile.deletable)
        elif isinstance(body, Operate):
            reply = operate(self, body)
            if not body.send_resp and isinstance(reply, OperateResp):
                return None
        else:
            return messages.error(msg.msg_id, ErrorCode.NOT_SUPPORTED, "not supported")
        return Msg(msg.msg_id, reply)  # type: ignore[arg-type]

    def _set(self, request: Set) -> object:
        before = dict(self.model.values)
        reply = self.model.set(request)
        changed = {p: v for p, v in self.model.values.items() if before.get(p) != v}
        self._value_changed(changed)
        if CONTROLLER + "PeriodicNotifInterval" in changed:
            self._restart_ticker()
        if any(path.startswith(MQTT_CLIENT) for path in changed):
            self.spawn(self._reconnect())  # new MQTT settings apply to a new connection
        return reply

    async def _reconnect(self) -> None:
        await asyncio.sleep(self.delay(self.timing.reboot))
        self.reboot.set()

    # -- helpers ----------------------------------------------------------------------

    def next_request(self) -> int:
        """The instance number of the next ``Device.LocalAgent.Request.{i}.``."""
        return next(self._requests)


def _applied(reply: object) -> bool:
    """Whether a Set's answer says something was applied (an ErrorMsg applied nothing)."""
    return isinstance(reply, SetResp) and any(
        isinstance(result.oper_status, SetSuccess) for result in reply.updated_obj_results
    )
