"""Reboots of a simulated device, and what it says when it is back.

:func:`restart` (``Device.Reboot()``, ``FactoryReset()``, firmware activation): after
``timing.reboot`` the work under way ends, a factory reset forgets what controllers
set (the firmware images stay, as on a real device) and a strict agent forgets its
non-persistent subscriptions; then :func:`boot` chooses the image that runs
(``_images.boot``, drawn per boot from the fleet's seed) and the session drops.  The
device stays dark for ``timing.reboot`` (plus ``timing.activate`` when it switched
images) and comes back with, in this order: ``Boot!`` (the cause, the command key,
FirmwareUpdated), the ValueChange of SoftwareVersion when it changed, the
OperationComplete of the Activate() that caused the reboot (success only if its image
now runs), and a 7022 failure for every other command the reboot interrupted.  When the
draw says the device never returns, it stays off (as after ``power_off()``) until
``power_on()``, which boots it again (Cause LocalReboot, never "never returns").
"""

from __future__ import annotations

import asyncio

from doorstep.usp._notify import ValueChange
from doorstep.usp._types import CommandFailure, OutputArgs
from doorstep.usp.agent_sim import _images, _tables
from doorstep.usp.agent_sim._async import finish, interrupted
from doorstep.usp.agent_sim._conditions import draw
from doorstep.usp.agent_sim._device import SimDevice
from doorstep.usp.agent_sim.datamodel import DataModel, build_values
from doorstep.usp.codes import ErrorCode

FIRMWARE_LENIENT_ID = "firmware"
"""Subscription id of firmware notifications a lenient agent sends without a subscriber."""


async def restart(
    device: SimDevice,
    cause: str,
    command_key: str,
    factory: bool,
    *,
    activation: tuple[str, str] | None = None,
) -> None:
    """Drop the session after ``timing.reboot`` and boot again with ``cause``.

    ``activation`` is the Request row and image of the Activate() that asked for it.
    """
    await asyncio.sleep(device.delay(device.timing.reboot))
    device.cancel_jobs()
    if factory:
        fresh = build_values(device.profile, device.controller_id)
        _images.keep_images(device.model.values, fresh)
        device.model = DataModel(fresh)
    elif device.strict:
        values = device.model.values
        for sub in list(_tables.subscriptions(values)):
            if values.get(sub.path + "Persistent") not in {"true", "1"}:
                for path in [p for p in values if p.startswith(sub.path)]:
                    del values[path]
    back = boot(device, cause, command_key, activation=activation)
    device.abrupt = device.strict or not back
    if not back:
        device.powered.clear()
    device.reboot.set()


def boot(
    device: SimDevice,
    cause: str,
    command_key: str,
    *,
    activation: tuple[str, str] | None = None,
    may_stay_off: bool = True,
) -> bool:
    """Choose the image, queue what follows ``Boot!``; False if the device stays off."""
    conditions = device.conditions
    values = device.model.values
    stamp = conditions.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    outcome = _images.boot(
        values,
        draw(conditions.seed, device.endpoint_id, "boot", device.sessions),
        never_returns=conditions.never_returns if may_stay_off else 0.0,
        activation_failure=conditions.activation_failure,
        log_line=f"{stamp} the image did not boot (simulated failure); the previous image runs",
    )
    if outcome.stays_off:
        return False
    if outcome.updated:
        version = values[_images.SOFTWARE_VERSION]
        change = ValueChange(_images.SOFTWARE_VERSION, version)
        device.queue("ValueChange", _images.SOFTWARE_VERSION, change, "")
    if activation is not None:
        request, image = activation
        result: OutputArgs | CommandFailure = OutputArgs({})
        if values.get(_images.ACTIVE_IMAGE) != image[:-1]:
            reason = "the image did not boot; the previous image runs"
            result = CommandFailure(ErrorCode.COMMAND_FAILURE, reason)
        finish(device, request, result, FIRMWARE_LENIENT_ID, after_boot=True)
    interrupted(device, "")
    dark = device.delay(device.timing.activate) if outcome.tried else 0.0
    device.booted(cause, command_key, firmware_updated=outcome.updated, dark=dark)
    return True
