"""``firmware_update``: install an image by ``FirmwareImage.{i}.Download()`` and ``Activate()``.

Arguments: ``{"image_id": "<uuid>"}`` (:mod:`doorstep.devices.fleet.images`).

1. **Start.**  Read SoftwareVersion, ModelName, ActiveFirmwareImage and the image
   table.  Already on the target version: ``succeeded``/``already_current``.  An image
   that is gone, or not for this model or current version: ``failed``/
   ``not_applicable``.  Else pick an image slot that is not the active one and send
   ``Download()`` with the URL, FileSize, ``CheckSumAlgorithm`` SHA-256, CheckSum and
   ``AutoActivate`` false; a refusal fails with the device's code.
2. **Downloaded.**  The ``TransferComplete!`` naming our CommandKey (or the
   OperationComplete of the Download()): a FaultCode (or CommandFailure) fails the
   operation with the device's code and FaultString (a checksum mismatch, a failed
   transfer); success moves it to the step ``downloaded`` (:class:`Proceed`: the
   resume runs in the notification's hook and sends nothing), and the check that
   follows at once reads the slot and sends ``Activate()``, after the NotifyResp.  A
   check at ``download`` that finds the slot ``Available`` with the target version
   (the notification was lost) does the same.  The read first means the device
   answered in this very turn before its Activate() is committed as sent: a broker
   that is away makes the check fail with nothing sent, and a later one activates.
3. **Activated.**  The device reboots; its ``Boot!`` (or the ValueChange of
   SoftwareVersion, or a check) is followed by a read of SoftwareVersion: the target
   version ends it ``succeeded``; the old one after a reboot ``activation_failed``,
   with the image's BootFailureLog as the fault.  A device that never comes back
   fails ``device_timeout`` at the deadline (the sweep).

Checks (``fleet_check_seconds``, and when the device connects) read the same state
from the device — the slot's Status and Version, the uptime — so a TransferComplete! or
Boot! lost to a broker or controller restart still ends the operation, and nothing is
sent twice: each message's step is committed before it is sent.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from doorstep.devices.fleet.handlers._answers import (
    UPTIME,
    boot_of,
    command_failure,
    completion_of,
    rebooted_since,
)
from doorstep.devices.fleet.handlers.base import (
    Done,
    Outcome,
    Proceed,
    Run,
    Wait,
    failed,
    register_handler,
    succeeded,
)
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.images import download_url, not_applicable
from doorstep.devices.fleet.operations import OperationKind, OperationState, Reason
from doorstep.usp import (
    CommandFailure,
    Event,
    Notification,
    OperationComplete,
    OutputArgs,
    ValueChange,
)

INFO = "Device.DeviceInfo."
VERSION = INFO + "SoftwareVersion"
MODEL = INFO + "ModelName"
ACTIVE = INFO + "ActiveFirmwareImage"
TABLE = INFO + "FirmwareImage."
DOWNLOAD, DOWNLOADED, ACTIVATE = "download", "downloaded", "activate"
FAILED_STATUSES = frozenset({"DownloadFailed", "ValidationFailed", "InstallationFailed"})
_ROW = re.compile(r"^Device\.DeviceInfo\.FirmwareImage\.(\d+)\.(\w+)$")


@dataclass(frozen=True, slots=True)
class Target:
    """What the update installs, read from the image row."""

    version: str
    url: str
    size: int
    sha256: str
    image: FirmwareImage


def _rows(values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``{"Device.DeviceInfo.FirmwareImage.2.": {"Status": …}}`` of a Get's values."""
    rows: dict[str, dict[str, str]] = {}
    for path, value in values.items():
        match = _ROW.fullmatch(path)
        if match:
            rows.setdefault(f"{TABLE}{match.group(1)}.", {})[match.group(2)] = value
    return rows


def pick_slot(values: Mapping[str, str]) -> str | None:
    """An image slot that is not the active one (the lowest such instance), or None."""
    active = values.get(ACTIVE, "").rstrip(".") + "."
    free = [slot for slot in _rows(values) if slot != active]
    return min(free, key=lambda slot: int(slot.rstrip(".").rsplit(".", 1)[1]), default=None)


def _refusal(target: Target, values: Mapping[str, str], slot: str | None) -> Outcome | None:
    """The end of an update that need not or cannot start on this device, or None."""
    current = values.get(VERSION)
    if current == target.version:
        return succeeded(Reason.ALREADY_CURRENT, version=current)
    why = not_applicable(target.image, values.get(MODEL), current)
    if why is None and slot is None:
        why = "no inactive image slot"
    return None if why is None else failed(Reason.NOT_APPLICABLE, fault=why, version=current)


class FirmwareHandler:
    """Download, activate, confirm by the version the device comes back with."""

    async def start(self, run: Run) -> Outcome:
        """Check the device, pick a slot, send Download()."""
        target = await self._target(run)
        if target is None:
            return failed(Reason.NOT_APPLICABLE, fault="the firmware image was removed")
        values = (await run.get([VERSION, MODEL, ACTIVE, TABLE])).values
        current = values.get(VERSION)
        slot = pick_slot(values)
        refused = _refusal(target, values, slot)
        if refused is not None or slot is None:
            return refused or failed(Reason.NOT_APPLICABLE)
        await run.sending(DOWNLOAD, slot=slot, from_version=current, to_version=target.version)
        answer = await run.operate(
            slot + "Download()",
            {
                "URL": target.url,
                "AutoActivate": "false",
                "FileSize": str(target.size),
                "CheckSumAlgorithm": "SHA-256",
                "CheckSum": target.sha256,
            },
        )
        failure = command_failure(answer)
        if failure is not None:
            return failed(Reason.DEVICE_ERROR, usp_code=failure.err_code, fault=failure.err_msg)
        started = answer.operation_results[0].result if answer.operation_results else None
        if isinstance(started, OutputArgs):  # a device that downloaded at once
            return await self._activate(run, slot)
        return Wait(DOWNLOAD)

    async def resume(self, run: Run, event: Notification) -> Outcome | None:
        """The end of the download, or the device back after the activation."""
        slot = str(run.op.result.get("slot", ""))
        if run.op.step == DOWNLOAD:
            return await self._downloaded(run, event)
        if run.op.step != ACTIVATE:
            return None
        done = completion_of(event, run.command_key, "Activate()")
        if done is not None and isinstance(done.result, CommandFailure):
            return await self._not_activated(run, slot, done.result)
        target = str(run.op.result.get("to_version", ""))
        if isinstance(event, ValueChange):
            return succeeded(version=target) if event.param_value == target else None
        if boot_of(event) is None and done is None:
            return None
        return await self._confirm(run, slot, booted=boot_of(event) is not None)

    async def _not_activated(self, run: Run, slot: str, failure: CommandFailure) -> Outcome | None:
        """The device says the Activate() failed: the version it runs, its code and log."""
        confirmed = await self._confirm(run, slot, booted=True)
        if confirmed is None or confirmed.state is OperationState.SUCCEEDED:
            return confirmed
        return failed(
            Reason.ACTIVATION_FAILED,
            usp_code=failure.err_code,
            fault=confirmed.fault or failure.err_msg,
            **confirmed.result,
        )

    async def check(self, run: Run) -> Outcome | None:
        """Ask the device: the slot's Status after a download, the version after a boot.

        The slot ``Available`` with the target version (``downloaded``: the device said
        so) sends Activate(), only once the device answered this turn's read.
        """
        slot = str(run.op.result.get("slot", ""))
        if run.op.step in (DOWNLOAD, DOWNLOADED):
            row = _rows((await run.get([slot])).values).get(slot, {})
            status = row.get("Status", "")
            if status in FAILED_STATUSES:
                return failed(Reason.DEVICE_ERROR, fault=status)
            target = str(run.op.result.get("to_version", ""))
            if status == "Available" and row.get("Version") == target:
                return await self._activate(run, slot)
            return None
        booted = await rebooted_since(run, run.op.step_at)
        return await self._confirm(run, slot, booted=booted)

    async def _downloaded(self, run: Run, event: Notification) -> Outcome | None:
        """The end of our download: its failure, or on to ``downloaded`` (sends nothing)."""
        if isinstance(event, Event) and event.event_name == "TransferComplete!":
            params = event.params
            if params.get("CommandKey") != run.command_key:
                return None
            code = params.get("FaultCode", "0")
            if code not in {"", "0"}:
                usp_code = int(code) if code.isdigit() else None
                fault = params.get("FaultString") or code
                return failed(Reason.DEVICE_ERROR, usp_code=usp_code, fault=fault)
            return Proceed(DOWNLOADED)
        done = completion_of(event, run.command_key, "Download()")
        if not isinstance(done, OperationComplete):
            return None
        if isinstance(done.result, CommandFailure):
            return failed(
                Reason.DEVICE_ERROR, usp_code=done.result.err_code, fault=done.result.err_msg
            )
        return Proceed(DOWNLOADED)

    async def _activate(self, run: Run, slot: str) -> Outcome:
        await run.sending(ACTIVATE)
        refused = command_failure(await run.operate(slot + "Activate()"))
        if refused is not None:
            return failed(Reason.DEVICE_ERROR, usp_code=refused.err_code, fault=refused.err_msg)
        return Wait(ACTIVATE)

    async def _confirm(self, run: Run, slot: str, *, booted: bool) -> Done | None:
        """The version the device runs now decides (after a boot: either way)."""
        values = (await run.get([VERSION, UPTIME, slot])).values
        current = values.get(VERSION)
        if current == run.op.result.get("to_version"):
            return succeeded(version=current)
        if not booted:
            return None
        log = values.get(slot + "BootFailureLog") or values.get(slot + "Status")
        return failed(Reason.ACTIVATION_FAILED, fault=log or None, version=current)

    async def _target(self, run: Run) -> Target | None:
        raw = run.op.args.get("image_id")
        try:
            image_id = uuid.UUID(str(raw))
        except ValueError:
            return None
        settings = run.runtime.settings

        def load(session: Session) -> Target | None:
            image = session.get(FirmwareImage, image_id)
            if image is None:
                return None
            session.expunge(image)
            return Target(
                image.version, download_url(settings, image), image.size, image.sha256, image
            )

        return await run.read(load)


register_handler(OperationKind.FIRMWARE_UPDATE, FirmwareHandler())
