"""Errors of the USP controller and its MTPs.

Messages and fields hold no Endpoint ID (an ``os::`` ID embeds the serial number,
often the WAN MAC), no topic and no parameter value: only message types, seconds
and USP codes.

Hierarchy::

    DoorstepError
    └── DeviceCommunicationError       the device could not be reached or answered
        ├── DeviceTimeoutError         504: no answer within the timeout
        ├── DeviceOfflineError         503: no MTP address for the device in this process
        └── MtpUnavailableError        503: the MTP itself is down (broker unreachable)
"""

from __future__ import annotations

from doorstep.core.errors import DoorstepError


class DeviceCommunicationError(DoorstepError):
    """A request could not be completed with the device."""

    code = "device-communication-error"
    status = 502
    title = "The device could not be reached"


class DeviceTimeoutError(DeviceCommunicationError):
    """The device did not answer a request in time (``msg_type``, ``timeout_seconds``)."""

    code = "device-timeout"
    status = 504
    title = "The device did not answer in time"


class DeviceOfflineError(DeviceCommunicationError):
    """No MTP connection or address is known for the device here."""

    code = "device-offline"
    status = 503
    title = "The device is not connected"


class MtpUnavailableError(DeviceCommunicationError):
    """The transport is down (e.g. the MQTT broker is unreachable); retry later."""

    code = "usp-transport-unavailable"
    status = 503
    title = "The device transport is unavailable"
