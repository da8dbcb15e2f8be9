"""``Device.DeviceInfo.FirmwareImage.{i}.Download()`` and ``Activate()`` of a simulated device.

Both are asynchronous (TR-181 2.15): the OperateResp names a Request row (``_async``).

**Download()** (inputs :data:`DOWNLOAD_ARGS`).  Refused in the OperateResp, with no
row: a missing or non-URL ``URL``, or an input that is not of its type (7004, as
OB-USP-Agent refuses bad inputs); a download already under way (7005); the image
that runs now (7022: a dual-bank device never overwrites its running bank).  Else the
image's ``Status`` is Downloading for ``timing.download``, then:

* the transfer fails (host under ``.invalid``, or the draw falls below
  ``download_failure``): Status DownloadFailed;
* the checksum of the "downloaded" bytes (``_images.image_bytes``: the URL's UTF-8
  text) differs from ``CheckSum`` (``CheckSumAlgorithm`` SHA-1 … SHA-512, SHA-256
  when absent), or the file has no version (``_images.version_of``): ValidationFailed;
* else Status Available, ``Available`` true, ``Version`` and ``Name`` (the file name).

Then, in this order (as OB-USP-Agent's vendor layers signal them): the
OperationComplete of the Download() (no output arguments; on failure a CommandFailure
7022, "Command failure", with the reason) to its OperationComplete subscribers, and
``Device.LocalAgent.TransferComplete!`` to its Event subscribers, where ``FaultCode``
is 0 or 7022 and ``FaultString`` the reason.  TR-369 has no code per transfer fault;
the image's Status tells DownloadFailed from ValidationFailed.  With ``AutoActivate``
true a successful image is activated at once (the Download()'s command key in
``Boot!``).

**Activate()** (inputs :data:`ACTIVATE_ARGS`): refused when the image is not
available (7022), a download is under way (7005), or a time window is malformed or
asks for confirmation (7004; only unattended windows are supported, and the first
window's ``Start`` is the delay).  Else ``BootFirmwareImage`` names the image and the
device reboots (``_restart``; ``Boot!`` Cause RemoteReboot with the command key).
"""

from __future__ import annotations

import asyncio
import hashlib
import string
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit

from doorstep.usp import messages
from doorstep.usp._requests import Operate
from doorstep.usp._types import CommandFailure, OutputArgs
from doorstep.usp.agent_sim import _images
from doorstep.usp.agent_sim._async import finish, number, open_request, refuse, started
from doorstep.usp.agent_sim._conditions import draw
from doorstep.usp.agent_sim._device import SimDevice
from doorstep.usp.agent_sim._events import transfer_complete
from doorstep.usp.agent_sim._restart import FIRMWARE_LENIENT_ID, restart
from doorstep.usp.agent_sim._schema import BOOLEANS
from doorstep.usp.codes import ErrorCode

DOWNLOAD_ARGS = (
    "URL",
    "AutoActivate",
    "Username",
    "Password",
    "FileSize",
    "CheckSumAlgorithm",
    "CheckSum",
)
ACTIVATE_ARGS = tuple(
    f"TimeWindow.{{i}}.{name}" for name in ("Start", "End", "Mode", "UserMessage", "MaxRetries")
)
CHECKSUMS = {
    "SHA-1": "sha1",
    "SHA-224": "sha224",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}
WINDOW_MODES = ("AnyTime", "Immediately", "WhenIdle", "ConfirmationNeeded")
TRANSFER_COMPLETE = "Device.LocalAgent.TransferComplete!"
_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "file"})
_HEX = frozenset(string.hexdigits)


def operate(device: SimDevice, request: Operate) -> object:
    """The OperateResp (or Error body) of a firmware image command."""
    command = request.command
    image, name = command[: command.rindex(".") + 1], command[command.rindex(".") + 1 :]
    if image + "Status" not in device.model.values or name not in {"Download()", "Activate()"}:
        return messages.error("-", ErrorCode.INVALID_PATH, "no such command").body
    if _images.busy(device.model.values):
        return refuse(command, ErrorCode.RESOURCES_EXCEEDED, "a firmware download is under way")
    if name == "Download()":
        return _start_download(device, request, image)
    return _start_activate(device, request, image)


def _start_download(device: SimDevice, request: Operate, image: str) -> object:
    command, args = request.command, request.input_args
    problem = _download_problem(args)
    if problem is not None:
        return refuse(command, ErrorCode.INVALID_ARGUMENTS, problem)
    values = device.model.values
    if values.get(_images.ACTIVE_IMAGE) == image[:-1]:
        return refuse(command, ErrorCode.COMMAND_FAILURE, "the running image cannot be replaced")
    row = open_request(device, command, request.command_key)
    values[image + "Status"] = "Downloading"
    values[image + "Available"] = "false"
    device.job(_download(device, row, image, dict(args)))
    return started(command, row)


def _download_problem(args: Mapping[str, str]) -> str | None:
    """Which input is wrong (by name, never its value), or None."""
    url = args.get("URL", "")
    parts = urlsplit(url)
    size = args.get("FileSize", "0")
    url_ok = 0 < len(url) <= 2048 and parts.scheme in _SCHEMES
    size_ok = size.isascii() and size.isdigit() and int(size) < 2**32
    checks = (
        (url_ok, "URL must be an http, https, ftp or file URL"),
        (parts.scheme == "file" or bool(parts.hostname), "URL must name a host"),
        (args.get("AutoActivate", "false") in BOOLEANS, "AutoActivate must be a boolean"),
        (size_ok, "FileSize must be an unsignedInt"),
        (args.get("CheckSumAlgorithm", "") in {"", *CHECKSUMS},
         "CheckSumAlgorithm must be one of SHA-1, SHA-224, SHA-256, SHA-384, SHA-512"),
        (set(args.get("CheckSum", "")) <= _HEX, "CheckSum must be hexadecimal"),
    )  # fmt: skip
    return next((reason for ok, reason in checks if not ok), None)


async def _download(device: SimDevice, row: str, image: str, args: dict[str, str]) -> None:
    """The download itself: wait, decide, tell (module docstring)."""
    clock = device.conditions.clock
    command = device.model.values[row + "Command"]
    command_key = device.model.values[row + "CommandKey"]
    start = _stamp(clock.now())
    await asyncio.sleep(device.delay(device.timing.download))
    fault = _fetch(device, row, image, args)
    result: OutputArgs | CommandFailure = OutputArgs({})
    if fault:
        result = CommandFailure(ErrorCode.COMMAND_FAILURE, fault)
    finish(device, row, result, FIRMWARE_LENIENT_ID)
    event = transfer_complete(
        {
            "Command": command,
            "CommandKey": command_key,
            "Requestor": device.controller_id,
            "TransferType": "Download",
            "Affected": image,
            "TransferURL": args["URL"],
            "FaultCode": str(int(ErrorCode.COMMAND_FAILURE) if fault else 0),
            "FaultString": fault,
            "StartTime": start,
            "CompleteTime": _stamp(clock.now()),
        }
    )
    device.deliver("Event", TRANSFER_COMPLETE, event, "transfer")
    if not fault and args.get("AutoActivate") in {"true", "1"}:
        device.model.values[_images.BOOT_IMAGE] = image[:-1]
        await restart(device, "RemoteReboot", command_key, False)


def _fetch(device: SimDevice, row: str, image: str, args: Mapping[str, str]) -> str:
    """Set the image's values after the transfer; the fault ("" when it succeeded)."""
    conditions = device.conditions
    values = device.model.values
    url = args["URL"]
    host = (urlsplit(url).hostname or "").lower()
    chance = draw(conditions.seed, device.endpoint_id, "download", number(row))
    if host == "invalid" or host.endswith(".invalid") or chance < conditions.download_failure:
        _images.empty(values, image, "DownloadFailed")
        return "transfer failed: the file server could not be reached"
    values[image + "Status"] = "Validating"
    checksum = args.get("CheckSum", "").lower()
    algorithm = CHECKSUMS[args.get("CheckSumAlgorithm") or "SHA-256"]
    if checksum and hashlib.new(algorithm, _images.image_bytes(url)).hexdigest() != checksum:
        _images.empty(values, image, "ValidationFailed")
        return "validation failed: checksum mismatch"
    version = _images.version_of(url, conditions.firmware_versions)
    if not version:
        _images.empty(values, image, "ValidationFailed")
        return "validation failed: not a firmware image (no version)"
    values[image + "Version"] = version
    values[image + "Name"] = _images.file_name(url) or version
    values[image + "Available"] = "true"
    values[image + "BootFailureLog"] = ""
    values[image + "Status"] = "Available"
    return ""


def _start_activate(device: SimDevice, request: Operate, image: str) -> object:
    command = request.command
    if not _images.bootable(device.model.values, image):
        return refuse(command, ErrorCode.COMMAND_FAILURE, "the image is not available")
    start = _window_start(request.input_args)
    if isinstance(start, str):
        return refuse(command, ErrorCode.INVALID_ARGUMENTS, start)
    row = open_request(device, command, request.command_key)
    device.job(_activate(device, row, image, request.command_key, start))
    return started(command, row)


def _window_start(args: Mapping[str, str]) -> int | str:
    """The delay (s) of the first time window (0 without one), or what is wrong."""
    keys = [key.split(".") for key in args if key.startswith("TimeWindow.")]
    if any(len(parts) != 3 or not parts[1].isdigit() for parts in keys):
        return "TimeWindow arguments must be TimeWindow.<n>.<name>"
    windows = sorted({int(parts[1]) for parts in keys})
    starts = []
    for index in windows:
        prefix = f"TimeWindow.{index}."
        start, end = args.get(prefix + "Start", ""), args.get(prefix + "End", "")
        if not (start.isdigit() and end.isdigit() and int(start) <= int(end)):
            return "TimeWindow Start and End must be seconds, Start not after End"
        mode = args.get(prefix + "Mode", "")
        if mode not in WINDOW_MODES:
            return "TimeWindow Mode must be AnyTime, Immediately, WhenIdle or ConfirmationNeeded"
        if mode == "ConfirmationNeeded":
            return "TimeWindow Mode ConfirmationNeeded is not supported"
        starts.append(int(start))
    return starts[0] if starts else 0


async def _activate(device: SimDevice, row: str, image: str, command_key: str, delay: int) -> None:
    """Boot ``image`` after ``delay`` seconds (the first time window's start)."""
    await asyncio.sleep(delay)
    device.model.values[_images.BOOT_IMAGE] = image[:-1]
    await restart(device, "RemoteReboot", command_key, False, activation=(row, image))


def _stamp(instant: datetime) -> str:
    """An ISO 8601 UTC timestamp, as TransferComplete! carries it."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
