"""A simulated device's firmware images: ``Device.DeviceInfo.FirmwareImage.{i}.``.

Pure functions over a device's values (no agent, no I/O), used by the data model
(factory values, the Set rules) and by the firmware commands (``_firmware``):

* :func:`image_values`: two images as a dual-bank router ships: 1 ``Active`` with the
  profile's SoftwareVersion, 2 ``NoImage``; ``ActiveFirmwareImage`` and
  ``BootFirmwareImage`` reference image 1 (``Device.DeviceInfo.FirmwareImage.1``).
* :func:`conflict`: TR-181's rules a Set must keep: ``BootFirmwareImage`` names an
  existing image whose ``Available`` is true; ``Available`` cannot become false on
  the active image or the one ``BootFirmwareImage`` names (7014 otherwise).
* :func:`version_of` and :func:`image_bytes`: what the simulator "downloads".  The
  image is the UTF-8 bytes of its URL (so a test computes the checksum a Download()
  needs: ``sha256(url.encode()).hexdigest()``), and its version is the table's entry
  for the URL or its file name, else the first dotted number in the file name without
  its extension (``…/fw-2.1.0.bin`` -> ``2.1.0``, ``…/DR-1000_3.0.1-rc2.img`` ->
  ``3.0.1-rc2``).  No version means no firmware image (ValidationFailed).
* :func:`boot`: which image a (re)booting device runs.  ``BootFirmwareImage`` boots
  when it differs from the active image and is bootable; the draw decides the
  outcome (below ``never_returns``: the device stays off; below that plus
  ``activation_failure``: the image fails and the device falls back to its previous
  one, with ``Status`` ActivationFailed and ``BootFailureLog`` set; else it runs the
  new image and SoftwareVersion becomes its Version).  A failed image is not tried
  again until it is downloaded anew.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from doorstep.usp.codes import ErrorCode

FIRMWARE_TABLE = "Device.DeviceInfo.FirmwareImage."
ACTIVE_IMAGE = "Device.DeviceInfo.ActiveFirmwareImage"
BOOT_IMAGE = "Device.DeviceInfo.BootFirmwareImage"
SOFTWARE_VERSION = "Device.DeviceInfo.SoftwareVersion"
IMAGE_COUNT = 2
STATUSES = (
    "NoImage",
    "Active",
    "Downloading",
    "Validating",
    "Available",
    "DownloadFailed",
    "ValidationFailed",
    "InstallationFailed",
    "ActivationFailed",
)
BUSY = frozenset({"Downloading", "Validating"})
BOOTABLE = frozenset({"Active", "Available"})
_TRUE = frozenset({"true", "1"})
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)+(?:[-+~][0-9A-Za-z.]+)?")
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}$")


def image_path(index: int) -> str:
    """``Device.DeviceInfo.FirmwareImage.<index>.``."""
    return f"{FIRMWARE_TABLE}{index}."


_FIRST, _COUNT = image_path(1)[:-1], str(IMAGE_COUNT)
"""``Device.DeviceInfo.FirmwareImage.1`` and ``"2"``: strings shared by every device."""


def image_values(software_version: str) -> dict[str, str]:
    """The factory rows: image 1 runs ``software_version``, image 2 is empty."""
    first, second = image_path(1), image_path(2)
    return {
        "Device.DeviceInfo.FirmwareImageNumberOfEntries": _COUNT,
        ACTIVE_IMAGE: _FIRST,
        BOOT_IMAGE: _FIRST,
        first + "Alias": "cpe-1",
        first + "Name": f"firmware-{software_version}",
        first + "Version": software_version,
        first + "Available": "true",
        first + "Status": "Active",
        first + "BootFailureLog": "",
        second + "Alias": "cpe-2",
        second + "Name": "",
        second + "Version": "",
        second + "Available": "false",
        second + "Status": "NoImage",
        second + "BootFailureLog": "",
    }


def keep_images(old: Mapping[str, str], new: MutableMapping[str, str]) -> None:
    """A factory reset keeps the firmware: copy the image rows and the running version."""
    kept = {ACTIVE_IMAGE, BOOT_IMAGE, SOFTWARE_VERSION}
    for path, value in old.items():
        if (path.startswith(FIRMWARE_TABLE) or path in kept) and path in new:
            new[path] = value


def instance_of(reference: str) -> str | None:
    """``Device.DeviceInfo.FirmwareImage.2`` (or with a dot) -> ``…FirmwareImage.2.``."""
    if not reference.startswith(FIRMWARE_TABLE):
        return None
    number = reference[len(FIRMWARE_TABLE) :].rstrip(".")
    return image_path(int(number)) if number.isdigit() else None


def bootable(values: Mapping[str, str], image: str) -> bool:
    """Whether ``image`` (an instance path) holds an image the device may boot."""
    return values.get(image + "Available") in _TRUE and values.get(image + "Status") in BOOTABLE


def busy(values: Mapping[str, str]) -> bool:
    """Whether a download is under way into any image."""
    return any(values.get(image_path(i) + "Status") in BUSY for i in range(1, IMAGE_COUNT + 1))


def conflict(values: Mapping[str, str], path: str, value: str) -> tuple[int, str] | None:
    """The error of setting ``path`` to ``value`` given the other values, or None."""
    if path == BOOT_IMAGE:
        image = instance_of(value)
        if image is None or image + "Status" not in values:
            return ErrorCode.INVALID_VALUE, "not a firmware image of this device"
        if values.get(image + "Available") not in _TRUE:
            return ErrorCode.VALUE_CONFLICT, "the image is not available"
        return None
    if path.startswith(FIRMWARE_TABLE) and path.endswith(".Available") and value not in _TRUE:
        image = path[: -len("Available")]
        if image[:-1] in {values.get(ACTIVE_IMAGE), values.get(BOOT_IMAGE)}:
            return ErrorCode.VALUE_CONFLICT, "the image is active or set to boot"
    return None


def file_name(url: str) -> str:
    """The last path segment of ``url`` (no query), or ""."""
    return urlsplit(url).path.rsplit("/", 1)[-1]


def version_of(url: str, versions: Mapping[str, str]) -> str:
    """The version of the image at ``url`` (see the module docstring), or ""."""
    name = file_name(url)
    if url in versions:
        return versions[url]
    if name in versions:
        return versions[name]
    found = _VERSION.search(_EXTENSION.sub("", name))
    return found.group(0) if found else ""


def image_bytes(url: str) -> bytes:
    """The bytes the simulator "downloads" from ``url``: its own UTF-8 text."""
    return url.encode("utf-8")


@dataclass(frozen=True, slots=True)
class Boot:
    """What a boot did: the image it tried, and whether it runs a new version."""

    tried: str | None = None
    """The instance path of the new image the device tried to boot, if any."""
    updated: bool = False
    """SoftwareVersion changed (``Boot!`` FirmwareUpdated)."""
    stays_off: bool = False
    """The device did not come back (``never_returns``)."""


def boot(
    values: MutableMapping[str, str],
    chance: float,
    *,
    never_returns: float,
    activation_failure: float,
    log_line: str,
) -> Boot:
    """Boot the device whose values are ``values`` (see the module docstring).

    ``chance`` is the device's draw in [0, 1) for this boot; ``log_line`` is what a
    failed image leaves in its ``BootFailureLog``.  Downloads the boot interrupted
    end as DownloadFailed.
    """
    for index in range(1, IMAGE_COUNT + 1):
        image = image_path(index)
        if values.get(image + "Status") in BUSY:
            empty(values, image, "DownloadFailed")
    target = instance_of(values.get(BOOT_IMAGE, ""))
    active = values.get(ACTIVE_IMAGE, "")
    if target is None or target[:-1] == active or not bootable(values, target):
        return Boot()
    if chance < never_returns + activation_failure:
        values[target + "Status"] = "ActivationFailed"
        values[target + "BootFailureLog"] = log_line
        return Boot(tried=target, stays_off=chance < never_returns)
    old = instance_of(active)
    if old is not None and old + "Status" in values:
        values[old + "Status"] = "Available"
    values[target + "Status"] = "Active"
    values[target + "BootFailureLog"] = ""
    values[ACTIVE_IMAGE] = target[:-1]
    before = values.get(SOFTWARE_VERSION)
    values[SOFTWARE_VERSION] = values[target + "Version"]
    return Boot(tried=target, updated=before != values[SOFTWARE_VERSION])


def empty(values: MutableMapping[str, str], image: str, status: str) -> None:
    """``image`` holds nothing usable any more: ``status`` says why."""
    values[image + "Status"] = status
    values[image + "Available"] = "false"
    values[image + "Version"] = ""
    values[image + "Name"] = ""
