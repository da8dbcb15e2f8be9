"""The vocabulary of fleet operations: kinds, states, origins and reason codes (decision 0038).

Kept apart from the table (:mod:`.operations`, which re-exports every name) so that
the modules that only speak of operations need not load the model.
"""

from __future__ import annotations

from enum import StrEnum


class OperationKind(StrEnum):
    """What an operation does on the device; each kind has one handler."""

    REBOOT = "reboot"
    SET_PARAMETERS = "set_parameters"
    FIRMWARE_UPDATE = "firmware_update"
    DIAGNOSTIC = "diagnostic"
    WIPE_SETTINGS = "wipe_settings"


class OperationState(StrEnum):
    """Where an operation stands (see the module's diagram)."""

    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: States of an operation not yet finished.
OPEN_STATES = (OperationState.QUEUED, OperationState.RUNNING, OperationState.WAITING)
#: States of an operation in flight: at most one per device.
ACTIVE_STATES = (OperationState.RUNNING, OperationState.WAITING)
#: Final states.
DONE_STATES = (OperationState.SUCCEEDED, OperationState.FAILED, OperationState.CANCELLED)


class OriginKind(StrEnum):
    """Where an operation comes from; ``origin_id`` is the id of that origin's row."""

    ROLLOUT = "rollout"
    BULK = "bulk"
    DIAGNOSTIC = "diagnostic"
    WIPE = "wipe"
    SINGLE = "single"


class Reason(StrEnum):
    """Reason codes an operation ends with (besides the device's own code and text)."""

    ALREADY_CURRENT = "already_current"
    """A firmware update found the device already on the target version (succeeded)."""
    DEVICE_ERROR = "device_error"
    """The device answered with an error: ``usp_code`` and ``fault`` are its own."""
    DEVICE_TIMEOUT = "device_timeout"
    """The deadline passed without the device's final word (it never came back)."""
    ACTIVATION_FAILED = "activation_failed"
    """The device came back after Activate() on its old firmware."""
    UNREACHABLE = "unreachable"
    """The device did not answer a request (offline, no session)."""
    NOT_APPLICABLE = "not_applicable"
    """The arguments do not apply to the device (image for another model, gone image)."""
    REFUSED = "refused"
    """A gate refused the request (purpose, path allow-list, restriction)."""
    CANCELLED = "cancelled"
    """Cancelled by an operator or its origin before it started."""
    INTERNAL_ERROR = "internal_error"
    """Doorstep failed while running it (``fault`` names the error's type)."""
