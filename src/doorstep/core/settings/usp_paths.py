"""Settings of per-path results and data-model discovery (decision 0028, docs/devices.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class UspPathSettings(BaseModel):
    """Whether Doorstep asks a new model and firmware what it supports."""

    device_discovery: bool = Field(
        default=True,
        description="On the first contact of a unit of a model and firmware not seen before, "
        "ask it (GetSupportedDM) which of Doorstep's functions it supports; the app then "
        "offers only those. Off: every function is offered until a device refuses it.",
    )
