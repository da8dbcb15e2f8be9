"""The controller's hooks into the device registry (implements ``ControllerHooks``).

* **Connect Record** (``on_agent_connected``): the device is online; its record is
  created or its contact refreshed (address, ``last_seen``; ``offline_since``
  cleared), then its registration is read (:meth:`DeviceHooks.refresh`) and its
  set-up kept.  A read or set-up that finds no answer in time (a storm of
  reconnections after a broker restart keeps a controller busy) is tried again, up to
  :data:`FIRST_CONTACT_ATTEMPTS` times, so every device that came back is registered
  again; a device that refuses, or left, is not.
* **Boot! and OnBoardRequest** (``on_event``): the registration is read again.  The
  hook returns only once it is stored, so the NotifyResp that ends an OnBoardRequest's
  retries is sent only then (a failed read makes the device ask again).
* **OperationComplete** (``on_event``): handed to the waiter of the Wi-Fi scan in this
  process (:class:`~doorstep.devices.remote.Completions`); never stored or logged.
* **Fleet operations** (decision 0038): TransferComplete!, an OperationComplete no
  waiter here took, Boot! (after its registration read) and ValueChange go to the
  process's :class:`~doorstep.devices.fleet.executor.FleetExecutor` (``fleet``), which
  resumes the device's waiting operation; a Connect Record makes that operation due
  for a check.  The NotifyResp follows once the executor recorded the outcome, or
  handed the notification to a turn of this process already running for the device
  (:mod:`~doorstep.devices.fleet.handover`).
* **Traffic** (``on_agent_traffic``, at most once per device per
  ``traffic_hook_interval``): ``last_seen`` and online again.
* **Disconnect** (a WebSocket session ends, a DisconnectRecord): offline from now.
* **Discovery**: after a registration read whose model and firmware have no
  capabilities yet, one GetSupportedDM tells which functions the model supports
  (:mod:`~doorstep.devices.capabilities`); a failure is logged and retried at the
  next read.  :meth:`DeviceHooks.attach` also gives the controller the pack's
  purpose gate per path (:mod:`doorstep.usp.paths`): every request the devices
  area sends names its purpose.

Connect, Boot! and OnBoardRequest usually arrive together; reads of one device are
coalesced (one in flight; Boot! and OnBoardRequest do not repeat a read that finished
within :data:`COALESCE_SECONDS`; a new session always reads).  Database
work runs on worker threads, each in its own short transaction.  Log lines name a
device by its keyed reference (``ep:…``), never by endpoint id.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from doorstep.audit.entries import audited_transaction
from doorstep.core.runtime import Runtime
from doorstep.devices import capabilities, presence
from doorstep.devices.fleet.executor import FleetExecutor
from doorstep.devices.inventory import find_device_id, installation_key
from doorstep.devices.registry import (
    PURPOSE,
    Registration,
    RegistrationPaths,
    read_registration,
    record_contact,
    store_registration,
)
from doorstep.devices.remote import Completions
from doorstep.devices.upkeep import FACTORY_RESETS, AgentUpkeep
from doorstep.privacy.datamap.chosen import chosen_pack
from doorstep.privacy.purposes import PurposeGate
from doorstep.usp import (
    Event,
    GetSupportedDMResp,
    Notify,
    OnBoardRequest,
    OperationComplete,
    ValueChange,
)
from doorstep.usp.controller import (
    AgentAddress,
    Controller,
    DeviceTimeoutError,
    MtpUnavailableError,
    endpoint_ref,
)
from doorstep.usp.paths import UspPathPolicy

log = logging.getLogger("doorstep.devices.hooks")

COALESCE_SECONDS = 5.0
"""A registration read within this many seconds is not repeated (connect + Boot! + onboard)."""
FIRST_CONTACT_ATTEMPTS = 3
"""Tries of a new session's registration read and set-up when they find no answer in time."""
_MAX_TRACKED = 100_000


class DeviceHooks:
    """Controller hooks that keep the device registry; :meth:`attach` the controller first."""

    def __init__(self, runtime: Runtime, gate: PurposeGate) -> None:
        settings = runtime.settings
        self._runtime = runtime
        self._gate = gate
        self._key = installation_key(settings)
        self._paths = RegistrationPaths.from_settings(settings)
        self._gateways = settings.device_gateway_product_classes
        self._timeout = settings.device_request_timeout_seconds
        self._discovery = settings.device_discovery
        self.paths = UspPathPolicy(chosen_pack(settings).usp_paths)
        """The purpose gate per path of the pack in force, given to the controller."""
        self.controller: Controller | None = None
        self.upkeep = AgentUpkeep(runtime)
        """Subscriptions, Periodic! and last will on each agent; the controller's directory."""
        self.completions = Completions()
        self.fleet: FleetExecutor | None = (
            FleetExecutor(runtime) if settings.fleet_executor else None
        )
        """Runs the queue of device operations (started by the process: :mod:`.mount`)."""
        self._reading: dict[str, asyncio.Task[None]] = {}
        self._read_at: dict[str, float] = {}

    def attach(self, controller: Controller) -> None:
        """The controller whose agents these hooks serve (and which reads registrations)."""
        self.controller = controller
        controller.paths = self.paths
        controller.directory = self.upkeep

    def _ref(self, endpoint_id: str) -> str:
        return endpoint_ref(endpoint_id, self._key)

    # -- hooks --------------------------------------------------------------------------

    async def on_agent_connected(self, endpoint_id: str, mtp: AgentAddress) -> None:
        """Online now; then read the registration and keep the set-up (failures logged).

        Each is tried again after a timeout (module docstring), a second or two
        (jittered) later, a little more each time.
        """
        if await asyncio.to_thread(self._contact, endpoint_id, mtp):
            await self._read_new_session(endpoint_id)
            await self._keep_setup(endpoint_id, mtp)
            if self.fleet is not None:
                await self.fleet.on_contact(endpoint_id)

    async def _read_new_session(self, endpoint_id: str) -> None:
        for attempt in range(1, FIRST_CONTACT_ATTEMPTS + 1):
            try:
                await self.refresh(endpoint_id, force=True)
                return
            except (DeviceTimeoutError, MtpUnavailableError):  # busy: try again
                await _pause(attempt)
            except Exception:  # logged by refresh; a refusal or a departure is final
                return

    async def _keep_setup(self, endpoint_id: str, mtp: AgentAddress) -> None:
        """The subscriptions, Periodic! and last will (:class:`AgentUpkeep`)."""
        for attempt in range(1, FIRST_CONTACT_ATTEMPTS + 1):
            if self.controller is None:
                return
            if await self.upkeep.ensure(self.controller, endpoint_id, mtp) is not None:
                return
            await _pause(attempt)

    async def on_agent_disconnected(self, endpoint_id: str, mtp: AgentAddress) -> None:
        """Offline from now."""
        await asyncio.to_thread(self._offline, endpoint_id)

    async def on_event(self, endpoint_id: str, notify: Notify) -> None:
        """Boot!/OnBoardRequest: read the registration; OperationComplete: to its waiter.

        Then the fleet executor hears what may settle an operation (module docstring).
        """
        body = notify.notification
        if isinstance(body, OperationComplete):
            if not self.completions.resolve(endpoint_id, body) and self.fleet is not None:
                await self.fleet.on_event(endpoint_id, body)
            return
        if isinstance(body, OnBoardRequest) or (
            isinstance(body, Event) and body.event_name == "Boot!"
        ):
            await self.refresh(endpoint_id)
            cause = body.params.get("Cause", "") if isinstance(body, Event) else ""
            if cause in FACTORY_RESETS and self.controller is not None:
                known = self.controller.agents.get(endpoint_id)
                await self.upkeep.ensure(self.controller, endpoint_id, known)
        elif isinstance(body, ValueChange):  # a subscribed registration parameter changed
            await self.refresh(endpoint_id, force=True)
        if self.fleet is not None:  # TransferComplete!, Boot!, SoftwareVersion changed
            await self.fleet.on_event(endpoint_id, body)

    async def on_agent_traffic(self, endpoint_id: str) -> None:
        """The device sent something: online, ``last_seen`` now."""
        await asyncio.to_thread(self._contact, endpoint_id, None)

    # -- registration -------------------------------------------------------------------

    async def refresh(self, endpoint_id: str, *, quiet: bool = False, force: bool = False) -> None:
        """Read and store the registration of ``endpoint_id`` (coalesced, see module doc).

        ``force`` (a new session) reads even if a read finished moments ago; a read in
        flight is always joined rather than repeated.
        """
        running = self._reading.get(endpoint_id)
        if running is None or running.done():
            last = self._read_at.get(endpoint_id)
            recent = last is not None and time.monotonic() - last < COALESCE_SECONDS
            if recent and not force:
                return
            running = asyncio.get_running_loop().create_task(self._read(endpoint_id))
            self._reading[endpoint_id] = running
            running.add_done_callback(lambda task: self._forget(endpoint_id, task))
        try:
            await asyncio.shield(running)
        except Exception as exc:
            log.info(
                "device registration not read: %s",
                type(exc).__name__,
                extra={"endpoint": self._ref(endpoint_id)},
            )
            if not quiet:
                raise

    def _forget(self, endpoint_id: str, task: asyncio.Task[None]) -> None:
        if self._reading.get(endpoint_id) is task:
            del self._reading[endpoint_id]

    async def _read(self, endpoint_id: str) -> None:
        if self.controller is None:
            raise RuntimeError("DeviceHooks.attach() was not called")
        answer = await self.controller.get(
            endpoint_id, list(self._paths.all), timeout=self._timeout, purpose=PURPOSE
        )
        registration = read_registration(answer, self._paths, self._gateways)
        await asyncio.to_thread(self._store, endpoint_id, registration)
        await self._discover(endpoint_id, registration)
        if len(self._read_at) >= _MAX_TRACKED:
            self._read_at.clear()
        self._read_at[endpoint_id] = time.monotonic()

    async def _discover(self, endpoint_id: str, registration: Registration) -> None:
        """Ask the device's model and firmware what it supports, once per pair."""
        key = capabilities.capability_key(registration.model, registration.firmware_version)
        if not self._discovery or key is None or self.controller is None:
            return
        if await asyncio.to_thread(self._known, key):
            return
        try:
            answer = await self.controller.get_supported_dm(
                endpoint_id,
                capabilities.DISCOVERY_PATHS,
                first_level_only=True,
                timeout=self._timeout,
            )
        except Exception as exc:  # the functions stay offered; the next read tries again
            log.info(
                "device data model not discovered: %s",
                type(exc).__name__,
                extra={"endpoint": self._ref(endpoint_id)},
            )
            return
        await asyncio.to_thread(self._store_capabilities, key, answer)

    # -- database (worker threads) ------------------------------------------------------

    def _known(self, key: tuple[str, str]) -> bool:
        with self._runtime.sessions.begin() as session:
            return capabilities.known(session, key)

    def _store_capabilities(self, key: tuple[str, str], answer: GetSupportedDMResp) -> None:
        with self._runtime.sessions.begin() as session:
            capabilities.store_capabilities(session, key, answer, now=self._runtime.clock.now())

    def _contact(self, endpoint_id: str, address: AgentAddress | None) -> bool:
        with self._runtime.sessions.begin() as session:
            device_id = find_device_id(session, key=self._key, endpoint_id=endpoint_id)
            if device_id is None:
                return False
            record_contact(
                session,
                device_id,
                endpoint_id=endpoint_id,
                address=address,
                now=self._runtime.clock.now(),
            )
            return True

    def _offline(self, endpoint_id: str) -> None:
        with self._runtime.sessions.begin() as session:
            presence.went_offline(session, endpoint_id, now=self._runtime.clock.now())

    def _store(self, endpoint_id: str, registration: Registration) -> None:
        # a refusal of the gate (a restriction in force) keeps its audit record
        with audited_transaction(self._runtime.sessions) as session:
            device_id = find_device_id(session, key=self._key, endpoint_id=endpoint_id)
            if device_id is None:
                return
            store_registration(
                session,
                self._gate,
                device_id,
                registration,
                endpoint_id=endpoint_id,
                now=self._runtime.clock.now(),
            )


async def _pause(attempt: int) -> None:
    """Before the try after ``attempt``: a second or two more each time; none after the last."""
    if attempt < FIRST_CONTACT_ATTEMPTS:
        await asyncio.sleep(attempt * random.uniform(1.0, 2.0))  # noqa: S311 - jitter
