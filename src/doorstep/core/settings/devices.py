"""Settings of devices and the USP controller (decision 0013, docs/devices.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DeviceSettings(BaseModel):
    """Presence, claims, request timeouts and the TR-181 objects Doorstep reads."""

    device_silence_timeout_seconds: int = Field(
        default=900,
        ge=60,
        description="A device that sends nothing for this long is marked offline (X-15).",
    )
    device_claim_max_failures: int = Field(
        default=5, ge=1, description="Wrong device codes per subscriber before a lockout."
    )
    device_claim_device_max_failures: int = Field(
        default=10,
        ge=1,
        description="Wrong scanned codes for one device, from anyone, before the device is "
        "locked; its lock refuses only claimants who already failed, never a first attempt.",
    )
    device_claim_lockout_seconds: int = Field(
        default=900, ge=1, description="Device-code lockout, and the window failures count in."
    )
    device_request_timeout_seconds: float = Field(
        default=15.0, gt=0, description="How long an app request waits for the device's answer."
    )
    device_scan_timeout_seconds: float = Field(
        default=30.0, gt=0, description="How long a Wi-Fi scan waits for the device's results."
    )
    device_gateway_product_classes: tuple[str, ...] = Field(
        default=("gateway", "homegateway", "home-gateway", "hgw"),
        description="DeviceInfo.ProductClass values (any case) of home gateways; others: router.",
    )
    device_wan_ip_interface: str = Field(
        default="Device.IP.Interface.1.", description="TR-181 object of the WAN IP interface."
    )
    device_wan_ethernet_interface: str = Field(
        default="Device.Ethernet.Interface.1.", description="TR-181 object of the WAN port."
    )
    device_serve_mqtt: bool = Field(
        default=False, description="serve also joins the MQTT broker, to reach MQTT devices."
    )
    device_relay: bool = Field(
        default=True,
        description="Every serve replica reaches the WebSocket devices connected to the others "
        "through PostgreSQL LISTEN/NOTIFY (decision 0047); off: only its own (503 otherwise).",
    )
    device_relay_lease_seconds: float = Field(
        default=30.0,
        ge=3,
        description="A replica's claim on the WebSocket sessions it holds, renewed every third "
        "of it; a replica gone this long (twice, for the registry) drops its devices.",
    )
