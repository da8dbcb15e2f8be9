"""What a simulated device reports: its ``Boot!`` event and its Wi-Fi site survey's output."""

from __future__ import annotations

from collections.abc import Iterable

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


def boot_event(cause: str, command_key: str) -> Event:
    """``Device.Boot!`` with the arguments OB-USP-Agent sends (TR181.md)."""
    params = {
        "CommandKey": command_key,
        "Cause": cause,
        "Reason": "Unknown",
        "FirmwareUpdated": "false",
        "ParameterMap": "{}",
    }
    return Event("Device.", "Boot!", params)
