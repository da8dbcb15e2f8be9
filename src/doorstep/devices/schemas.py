"""Request and response bodies of the devices API (OpenAPI is generated from these).

Requests refuse unknown fields (``extra_forbidden``): a field the policy does not
let Doorstep collect is named in the problem, never stored (CPE-I.ii.2.a).  Secrets
(claim codes, PPPoE and Wi-Fi passwords) are plain strings here and go no further
than the service that hashes, seals or sends them; no response body carries one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class BindRequest(_Request):
    """Bind a device: the scanned QR payload (camera consent) or the typed claim code."""

    qr_payload: str | None = Field(
        default=None,
        max_length=256,
        description="The QR text, DOORSTEP1:<endpoint id>:<claim code>. Needs the consent "
        "device.qr_camera.",
    )
    claim_code: str | None = Field(
        default=None,
        max_length=64,
        description="The claim code printed on the label, typed by hand (always available).",
    )


class BindingOut(BaseModel):
    """The device now bound to the caller."""

    device_id: uuid.UUID
    method: Literal["qr", "manual"]
    bound_at: datetime


class FunctionOut(BaseModel):
    """One function of the device: offered or not, and why not."""

    name: Literal["pppoe", "wifi", "wifi_scan", "status", "reboot"]
    available: bool
    reason: str | None = Field(
        default=None,
        description="Why the function is missing: the TR-181 path the device's model lacks.",
    )


class DeviceOut(BaseModel):
    """A bound device as the device page shows it (registration record and state)."""

    device_id: uuid.UUID
    product_type: Literal["router", "gateway"] | None
    model: str | None
    firmware_version: str | None
    serial_number: str | None
    mac_address: str | None
    network_status: str | None
    ip_address: str | None
    online: bool
    last_seen: datetime | None
    bound_at: datetime
    bind_method: Literal["qr", "manual"]
    missing_fields: list[str] = Field(
        default_factory=list,
        description="Registration fields the device does not provide (why they are null).",
    )
    functions: list[FunctionOut] = Field(
        default_factory=list,
        description="What the app can do with the device; all offered until its model is known.",
    )


class DeviceList(BaseModel):
    """The caller's devices."""

    devices: list[DeviceOut]


class PppoeRequest(_Request):
    """Internet access by PPPoE: the account and password the ISP gave."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=64)
    interface: int = Field(default=1, ge=1, le=64, description="Device.PPP.Interface instance.")


class PppoeOut(BaseModel):
    """The PPPoE settings stored for the device: the account name, never the password."""

    username: str = Field(description="The PPPoE account name, decrypted for its owner.")
    password_set: bool = Field(
        description="Whether a password is stored; the password itself is never returned."
    )
    interface: int
    set_at: datetime | None = Field(description="When the credentials were set on the device.")


class WifiRequest(_Request):
    """The Wi-Fi network name and password, typed by hand (no permission needed)."""

    ssid: str = Field(min_length=1, max_length=32)
    passphrase: str = Field(min_length=8, max_length=63)
    index: int = Field(default=1, ge=1, le=16, description="Device.WiFi.SSID instance.")


class NetworkOut(BaseModel):
    """A nearby network the device saw (relayed, never stored)."""

    ssid: str
    bssid: str
    channel: int | None
    signal_strength: int | None
    band: str
    security: str


class ScanOut(BaseModel):
    """The device's scan of nearby networks."""

    networks: list[NetworkOut]


class TerminalOut(BaseModel):
    """A device connected to the router now."""

    host_name: str
    mac_address: str


class StatusOut(BaseModel):
    """Live status, read from the device just now (never stored)."""

    terminals: list[TerminalOut]


class CommandAccepted(BaseModel):
    """The device accepted the command."""

    status: Literal["accepted"] = "accepted"
