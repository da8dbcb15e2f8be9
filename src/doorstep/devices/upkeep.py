"""What Doorstep keeps set up on every device, and where the controller finds a device.

:class:`AgentUpkeep` is two things for the controller hooks (decision 0027):

* **The set-up it keeps on each agent** (:meth:`AgentUpkeep.ensure`, on every first
  contact: a Connect Record, which also follows a factory reset, and a ``Boot!`` after
  a factory reset): the subscriptions the settings name
  (``device_subscriptions``: Boot!, Periodic!, OperationComplete of the Wi-Fi scan,
  ValueChange of the registration parameters, TransferComplete! of the firmware
  downloads of fleet operations, decision 0038, and OperationComplete of the
  diagnostics, decision 0041), owned by this controller's id and
  keyed by ``doorstep-…`` IDs so they are never duplicated; ``Periodic!`` at
  ``device_periodic_seconds`` (at most half the silence timeout, so an idle connected
  device stays online); and, for MQTT devices with ``device_last_will``, a last will
  on ``<controller topic>/<eid>/will`` that tells the controllers at once when the
  device's connection drops.  One run per device at a time; a failure is logged
  (keyed reference, exception type) and retried at the next contact.
* **The directory** (:meth:`AgentUpkeep.locate`, the controller's
  :class:`~doorstep.usp.controller.AgentDirectory`): the address and MQTT version the
  registry stored at the device's last Connect Record, and whether it is online.  A
  controller process that has not heard from the device since it started (a restart,
  or another process took its traffic) thus addresses a 3.1.1 agent with its own
  ``/reply-to=`` topic, so the answer returns to the process that asked; a WebSocket
  device is addressed by its MTP alone, which reaches its session wherever it is held
  (the relay between ``serve`` replicas, decision 0047); and a request to a device the
  registry knows is offline fails at once (503) instead of waiting for a timeout.

One set-up runs per agent at a time; a contact that arrives while it runs (the
agent reconnecting after a factory reset) makes exactly one more run follow it,
since the running one may have read the agent before it changed.
"""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.diagnostics_results import COMMANDS as DIAGNOSTICS_COMMANDS
from doorstep.devices.models import DeviceRegistration
from doorstep.devices.registry import RegistrationPaths
from doorstep.devices.wifi import SITE_SURVEY
from doorstep.usp.agent_setup import (
    BOOT,
    PERIODIC,
    LastWill,
    SetupPlan,
    SetupReport,
    WantedSubscription,
    ensure_agent_setup,
    will_topic,
)
from doorstep.usp.controller import MQTT, WEBSOCKET, AgentAddress, Controller, Located

log = logging.getLogger("doorstep.devices.upkeep")

REGISTRATION = "device.registration"
WIRELESS = "device.wireless_config"
MAINTENANCE = "device.maintenance"
DIAGNOSTICS = "device.diagnostics"
TRANSFER_COMPLETE = "Device.LocalAgent.TransferComplete!"
FACTORY_RESETS = frozenset({"FactoryReset", "LocalFactoryReset", "RemoteFactoryReset"})
"""``Boot!`` causes after which the agent has forgotten everything a controller set."""


def wanted_subscriptions(
    names: tuple[str, ...], paths: RegistrationPaths
) -> tuple[WantedSubscription, ...]:
    """The subscriptions of the setting ``device_subscriptions``, in its order."""
    every = {
        "boot": WantedSubscription("doorstep-boot", "Event", (BOOT,), REGISTRATION),
        "periodic": WantedSubscription(
            "doorstep-periodic", "Event", (PERIODIC,), REGISTRATION, notif_retry=False
        ),
        "operation_complete": WantedSubscription(
            "doorstep-operation-complete", "OperationComplete", (SITE_SURVEY,), WIRELESS
        ),
        "value_change": WantedSubscription(
            "doorstep-registration", "ValueChange", paths.all, REGISTRATION
        ),
        "transfer_complete": WantedSubscription(
            "doorstep-transfer-complete", "Event", (TRANSFER_COMPLETE,), MAINTENANCE
        ),
        "diagnostics": WantedSubscription(
            "doorstep-diagnostics",
            "OperationComplete",
            tuple(DIAGNOSTICS_COMMANDS.values()),
            DIAGNOSTICS,
        ),
    }
    return tuple(every[name] for name in dict.fromkeys(names))


class AgentUpkeep:
    """The set-up kept on each agent, and the controller's directory of devices."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self._runtime = runtime
        self._subscriptions = wanted_subscriptions(
            settings.device_subscriptions, RegistrationPaths.from_settings(settings)
        )
        periodic = "periodic" in settings.device_subscriptions
        half = settings.device_silence_timeout_seconds // 2
        self._interval = min(settings.device_periodic_seconds, half) if periodic else None
        self._will = settings.device_last_will
        self._timeout = settings.device_request_timeout_seconds
        self._running: dict[str, asyncio.Task[SetupReport]] = {}
        #: Endpoints that made contact again while their set-up was running: the run may
        #: have read the agent before it changed (a factory reset), so one more follows.
        self._again: set[str] = set()
        self._follow_ups: set[asyncio.Task[SetupReport | None]] = set()

    def plan_for(self, controller: Controller, endpoint_id: str) -> SetupPlan:
        """The plan for ``endpoint_id`` (its last will names its own topic)."""
        will = None
        if self._will:
            will = LastWill(will_topic(controller.config.mqtt_controller_topic, endpoint_id))
        return SetupPlan(REGISTRATION, self._subscriptions, self._interval, will)

    async def ensure(
        self, controller: Controller, endpoint_id: str, address: AgentAddress | None
    ) -> SetupReport | None:
        """Make the agent hold the plan; None when it failed (logged, retried next contact)."""
        running = self._running.get(endpoint_id)
        if running is not None and not running.done():
            self._again.add(endpoint_id)
        else:
            mqtt = address is None or address.mtp == MQTT
            running = asyncio.get_running_loop().create_task(
                ensure_agent_setup(
                    controller,
                    endpoint_id,
                    self.plan_for(controller, endpoint_id),
                    mqtt=mqtt,
                    timeout=self._timeout,
                )
            )
            self._running[endpoint_id] = running
            running.add_done_callback(
                lambda task: self._forget(controller, endpoint_id, address, task)
            )
        try:
            report = await asyncio.shield(running)
        except Exception as exc:
            log.info(
                "device set-up not ensured: %s",
                type(exc).__name__,
                extra={"endpoint": controller.ref(endpoint_id)},
            )
            return None
        if report.changed or report.refused:
            log.info(
                "device set-up ensured",
                extra={
                    "endpoint": controller.ref(endpoint_id),
                    "added": ",".join(report.added),
                    "removed": ",".join(report.removed),
                    "refused": ",".join(report.refused),
                    "settings": ",".join(report.settings),
                },
            )
        return report

    def _forget(
        self,
        controller: Controller,
        endpoint_id: str,
        address: AgentAddress | None,
        task: asyncio.Task[SetupReport],
    ) -> None:
        """Drop a finished run; run once more if the agent made contact during it."""
        if self._running.get(endpoint_id) is task:
            del self._running[endpoint_id]
        if endpoint_id in self._again:
            self._again.discard(endpoint_id)
            follow_up = asyncio.get_running_loop().create_task(
                self.ensure(controller, endpoint_id, address)
            )
            self._follow_ups.add(follow_up)
            follow_up.add_done_callback(self._follow_ups.discard)

    # -- the directory (AgentDirectory) -------------------------------------------------

    async def locate(self, endpoint_id: str) -> Located | None:
        """The stored address and online state of ``endpoint_id`` (WebSocket: the MTP only)."""
        return await asyncio.to_thread(self._locate, endpoint_id)

    def _locate(self, endpoint_id: str) -> Located | None:
        table = DeviceRegistration
        query = sa.select(table.mtp, table.mqtt_topic, table.mqtt_v5, table.online).where(
            table.endpoint_id == endpoint_id
        )
        with self._runtime.sessions() as session:
            row = session.execute(query).first()
        if row is None:
            return None
        mtp, topic, v5, online = row
        address = None
        if mtp == MQTT and topic:
            address = AgentAddress(MQTT, topic, v5 is not False)
        elif mtp == WEBSOCKET:  # its session, here or in the replica holding it (0047)
            address = AgentAddress(WEBSOCKET)
        return Located(address, bool(online))
