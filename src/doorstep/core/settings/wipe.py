"""Settings of the removal of a subscriber's settings from a router (decision 0042)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class WipeMode(StrEnum):
    """How a router is cleared of its owner's settings."""

    PARAMETERS = "parameters"
    """PPPoE account and password emptied, Wi-Fi set to a neutral name and a random
    password, the host table's entries deleted where the model allows it."""
    FACTORY_RESET = "factory_reset"
    """``Device.FactoryReset()``: the router returns to the defaults its maker set
    (those parameters when the model lacks the command)."""


class WipeSettings(BaseModel):
    """How Doorstep clears a router that leaves its owner, and how long it waits for it."""

    wipe_mode: WipeMode = Field(
        default=WipeMode.PARAMETERS,
        description="parameters (empty PPPoE, neutral Wi-Fi name and a random password, "
        "host table deleted where the model allows it) or factory_reset "
        "(Device.FactoryReset(); parameters for a model without it).",
    )
    wipe_deadline_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="How long a removal waits for an offline router to come back before it "
        "fails (unreachable) and is reported to staff.",
    )
    wipe_ssid_prefix: str = Field(
        default="Doorstep-",
        min_length=1,
        max_length=24,
        pattern=r"^[A-Za-z0-9 _.-]+$",
        description="The neutral Wi-Fi name a cleared router gets: this prefix and four "
        "characters of a keyed hash of the unit (never its serial number).",
    )
