"""What a simulated device reports: ``Boot!``, ``TransferComplete!`` and its site survey."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from doorstep.usp._notify import Event


def survey_results(neighbours: Iterable[tuple[str, int, int]]) -> dict[str, str]:
    """The output arguments of a survey finding ``(ssid, channel, dBm)`` networks."""
    args = {"Status": "Complete"}
    for index, (ssid, channel, signal) in enumerate(neighbours, start=1):
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
    return args


@dataclass(frozen=True, slots=True)
class BootRecord:
    """A boot the device's next session announces with ``Boot!``."""

    cause: str
    command_key: str = ""
    firmware_updated: bool = False
    dark: float = 0.0
    """Seconds the device stays dark beyond the reboot time (switching images)."""


POWER_ON = BootRecord("LocalReboot")
"""The boot of a device that was just switched on (shared by every device)."""


def boot_event(cause: str, command_key: str, firmware_updated: bool = False) -> Event:
    """``Device.Boot!`` with the arguments OB-USP-Agent sends (TR181.md).

    ``firmware_updated``: SoftwareVersion differs from the last boot's (OB-USP-Agent
    compares the two the same way).
    """
    params = {
        "CommandKey": command_key,
        "Cause": cause,
        "Reason": "Unknown",
        "FirmwareUpdated": "true" if firmware_updated else "false",
        "ParameterMap": "{}",
    }
    return Event("Device.", "Boot!", params)


TRANSFER_COMPLETE_ARGS = (
    "Command",
    "CommandKey",
    "Requestor",
    "TransferType",
    "Affected",
    "TransferURL",
    "FaultCode",
    "FaultString",
    "StartTime",
    "CompleteTime",
)


def transfer_complete(args: Mapping[str, str]) -> Event:
    """``Device.LocalAgent.TransferComplete!`` with ``args`` (:data:`TRANSFER_COMPLETE_ARGS`)."""
    return Event("Device.LocalAgent.", "TransferComplete!", dict(args))
