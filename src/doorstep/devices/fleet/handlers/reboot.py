"""``reboot``: ``Device.Reboot()``, confirmed by the device's ``Boot!`` naming our command key.

Start: ``Reboot()`` with the operation's id as CommandKey (a refusal fails with the
device's code), then wait.  The ``Boot!`` whose CommandKey is ours ends it
``succeeded``; a check that finds the device's uptime shorter than the time since the
command does too (the Boot! was lost).  No word before the deadline: ``device_timeout``.
"""

from __future__ import annotations

from doorstep.devices.fleet.handlers._answers import boot_of, command_failure, rebooted_since
from doorstep.devices.fleet.handlers.base import (
    Outcome,
    Run,
    Wait,
    failed,
    register_handler,
    succeeded,
)
from doorstep.devices.fleet.operations import OperationKind, Reason
from doorstep.usp import Notification

COMMAND = "Device.Reboot()"
STEP = "reboot"


class RebootHandler:
    """Reboot the device and wait for it to come back."""

    async def start(self, run: Run) -> Outcome:
        """Send ``Reboot()``; wait for the Boot!."""
        await run.sending(STEP)
        refused = command_failure(await run.operate(COMMAND))
        if refused is not None:
            return failed(Reason.DEVICE_ERROR, usp_code=refused.err_code, fault=refused.err_msg)
        return Wait(STEP)

    async def resume(self, run: Run, event: Notification) -> Outcome | None:
        """Our Boot! ends it."""
        return succeeded() if boot_of(event, run.command_key) else None

    async def check(self, run: Run) -> Outcome | None:
        """Booted since the command (a lost Boot!): succeeded."""
        return succeeded() if await rebooted_since(run, run.op.step_at) else None


register_handler(OperationKind.REBOOT, RebootHandler())
