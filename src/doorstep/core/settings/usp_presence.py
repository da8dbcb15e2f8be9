"""Settings of the agent set-up Doorstep keeps and of presence (decision 0027, docs/devices.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

Subscription = Literal[
    "boot", "periodic", "operation_complete", "value_change", "transfer_complete", "diagnostics"
]


class UspPresenceSettings(BaseModel):
    """Which subscriptions Doorstep keeps on every agent, Periodic!, and the last will."""

    device_subscriptions: Annotated[tuple[Subscription, ...], NoDecode] = Field(
        default=(
            "boot",
            "periodic",
            "operation_complete",
            "value_change",
            "transfer_complete",
            "diagnostics",
        ),
        description="Subscriptions Doorstep keeps on every agent (comma-separated): boot "
        "(Device.Boot!: re-read the registration), periodic (Device.LocalAgent.Periodic!: "
        "an idle connected device stays online), operation_complete (the results of the "
        "commands Doorstep starts, e.g. the Wi-Fi scan), value_change (the registration "
        "parameters: a firmware or address change updates the record), transfer_complete "
        "(Device.LocalAgent.TransferComplete!: a firmware download ended), diagnostics "
        "(OperationComplete of Device.IP.Diagnostics. ping, trace route and speed tests). "
        "One left out is "
        "deleted from the agents at their next first contact.",
    )
    device_periodic_seconds: int = Field(
        default=300,
        ge=30,
        description="Interval of the agents' Periodic! event; Doorstep uses at most half of "
        "device_silence_timeout_seconds, so a connected device is never silent that long.",
    )
    device_last_will: bool = Field(
        default=True,
        description="Provision an MQTT last will on each agent's MQTT client, so the broker "
        "tells Doorstep at once when the agent's connection drops.",
    )

    @field_validator("device_subscriptions", mode="before")
    @classmethod
    def _split_subscriptions(cls, value: object) -> object:
        """The environment gives one comma-separated string; code may pass a sequence."""
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value
