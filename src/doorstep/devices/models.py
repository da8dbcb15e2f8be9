"""Tables of the devices area; every column declares what it holds (the data map).

* ``devices``: one row per provisioned router or gateway: how it proves itself
  (hash of its MTP secret), how it is claimed (keyed hash of its claim secret),
  where it is reached, and the per-device claim lockout.  Written at manufacture
  (``doorstep devices provision`` / ``import``), before any person is involved.
* ``device_registrations``: what the policy calls the registration record
  (CPE-I.ii.1.a): exactly model, firmware version, serial number, MAC address,
  network status and IP address, plus system metadata (product type, times, online
  state).  :data:`REGISTRATION_FIELDS` and :data:`REGISTRATION_METADATA` name every
  column; a test pins that nothing else is stored.
* ``device_bindings`` (:mod:`._binding_models`): the append-only bind/unbind ledger
  whose open row is the current owner; ``device_pppoe``: the owner's encrypted PPPoE
  credentials; ``device_claim_limits``: failed claims per subscriber.
* ``device_relay_replicas`` and ``device_session_holders`` (:mod:`._holder_models`):
  which ``serve`` replica holds each device's WebSocket session (decision 0047).

Live status (connected hosts) and Wi-Fi scans have no table at all: they are
relayed from the device to the app and never stored (CPE-I.iii.R4, R6).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.devices._binding_models import (
    BindingEnd,
    BindMethod,
    DeviceBinding,
    DeviceClaimLimit,
    DevicePppoe,
)
from doorstep.devices._capability_models import DeviceCapability
from doorstep.devices._declare import (
    MAINTENANCE_PURPOSES,
    REACH_PURPOSES,
    REGISTRATION_RULE,
    registration,
)
from doorstep.devices._holder_models import RelayReplica, SessionHolder
from doorstep.privacy.datamap.record_sources import source_column_info
from doorstep.privacy.retention.binding import Anonymise, Binding, Coarsen, retention_info
from doorstep.vocabulary import not_personal

__all__ = [
    "ANONYMISED",
    "REGISTRATION_FIELDS",
    "REGISTRATION_METADATA",
    "REGISTRATION_SOURCE",
    "BindMethod",
    "BindingEnd",
    "Device",
    "DeviceBinding",
    "DeviceCapability",
    "DeviceClaimLimit",
    "DevicePppoe",
    "DeviceRegistration",
    "ProductType",
    "RelayReplica",
    "SessionHolder",
]


class ProductType(StrEnum):
    """The product a device is (CPE-I.iii: router or home gateway), from its ProductClass."""

    ROUTER = "router"
    GATEWAY = "gateway"


class Device(Base):
    """A provisioned unit of the operator's inventory: how it proves itself and is claimed."""

    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal(
            "random id of a unit of the operator's inventory; what links it to a person is "
            "in device_registrations and device_bindings"
        ),
    )
    endpoint_key: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        unique=True,
        info=not_personal(
            "HMAC-SHA256, under the installation's secret key, of the unit's USP endpoint id: "
            "finds the unit when it signs in, also after its registration was anonymised; "
            "names hardware, never a person, and is useless without the key"
        ),
    )
    secret_hash: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal(
            "scrypt hash of the device's own transport secret, provisioned at manufacture; "
            "a credential of the device, derived from nothing about a person"
        ),
    )
    claim_hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        unique=True,
        info=not_personal(
            "SHA-256 of the random claim secret printed on the device label; "
            "derived from nothing about a person"
        ),
    )
    provisioned_at: Mapped[datetime] = mapped_column(
        info=not_personal("when the operator provisioned the device, before any person used it"),
    )
    claim_failures: Mapped[int] = mapped_column(
        server_default="0", info=not_personal("count of wrong claim codes for this device")
    )
    claim_window_start: Mapped[datetime | None] = mapped_column(
        info=not_personal("start of the window the device's claim failures are counted in")
    )
    claim_locked_until: Mapped[datetime | None] = mapped_column(
        info=not_personal("binding this device is refused until then (brute-force lockout)")
    )


#: The six fields of the registration record (CPE-I.ii.1.a), in the policy's order.
REGISTRATION_FIELDS = (
    "model",
    "firmware_version",
    "serial_number",
    "mac_address",
    "network_status",
    "ip_address",
)
#: Every other column of ``device_registrations``: system metadata only (which unit,
#: how it is reached, its product type, times and online state).
REGISTRATION_METADATA = (
    "device_id",
    "endpoint_id",
    "mtp",
    "mqtt_topic",
    "mqtt_v5",
    "product_type",
    "missing_fields",
    "registered_at",
    "refreshed_at",
    "last_seen",
    "online",
    "offline_since",
    "anonymised_at",
    "source",
)
#: The collection point of every registration record (CORP-1.1): the device's own USP agent.
REGISTRATION_SOURCE = "device_registration"

_MONTH = "date_trunc('month', {})"

#: What anonymisation leaves (CPE-I.ii.1.c): no identifier (serial number, MAC, IP,
#: endpoint id and the topic that contains it), the other fields NULL, times coarsened
#: to the month.  The open binding (the link to an account) is ended by the devices
#: sweep (:func:`doorstep.devices.presence.end_anonymised_bindings`).
ANONYMISED = Anonymise(
    {
        **dict.fromkeys(REGISTRATION_FIELDS),
        "endpoint_id": None,
        "mqtt_topic": None,
        "registered_at": Coarsen(_MONTH.format("registered_at")),
        "refreshed_at": Coarsen(_MONTH.format("refreshed_at")),
        "last_seen": Coarsen(_MONTH.format("last_seen")),
        "offline_since": Coarsen(_MONTH.format("offline_since")),
    },
    marker="anonymised_at",
)


class DeviceRegistration(Base):
    """The registration record of a device: the six fields and system metadata, nothing else.

    Written from the device's own answers on connect, Boot! and OnBoardRequest
    (:mod:`doorstep.devices.registry`).  ``offline_since`` is the retention trigger: NULL
    while the device is online; set to the last contact when it falls silent.
    """

    __tablename__ = "device_registrations"

    device_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("devices.id"),
        primary_key=True,
        info=not_personal(
            "the inventory id of the unit the record describes (see devices.id)", export=True
        ),
    )
    endpoint_id: Mapped[str | None] = mapped_column(
        sa.Text,
        unique=True,
        info=registration(
            "user.device.device_id",
            "The device's USP endpoint id, which contains its serial number.",
            purposes=REACH_PURPOSES,
        ),
    )
    mtp: Mapped[str | None] = mapped_column(
        sa.Text,
        info=not_personal("mqtt or websocket: which transport the device last used", export=True),
    )
    mqtt_topic: Mapped[str | None] = mapped_column(
        sa.Text,
        info=registration(
            "user.device.device_id",
            "The MQTT topic the device listens on (it contains the endpoint id).",
            purposes=REACH_PURPOSES,
        ),
    )
    mqtt_v5: Mapped[bool] = mapped_column(
        server_default=sa.true(),
        info=not_personal("whether the device speaks MQTT 5", export=True),
    )
    # Model and firmware version (only these two) also serve fleet maintenance: the
    # fleet list, groups and firmware rollouts select by them (decision 0040).
    model: Mapped[str | None] = mapped_column(
        sa.Text,
        info=registration(
            "user.device",
            "The device model (DeviceInfo.ModelName).",
            purposes=MAINTENANCE_PURPOSES,
        ),
    )
    firmware_version: Mapped[str | None] = mapped_column(
        sa.Text,
        info=registration(
            "user.device",
            "The firmware version (DeviceInfo.SoftwareVersion).",
            purposes=MAINTENANCE_PURPOSES,
        ),
    )
    serial_number: Mapped[str | None] = mapped_column(
        sa.Text, info=registration("user.device.device_id", "The device's serial number.")
    )
    mac_address: Mapped[str | None] = mapped_column(
        sa.Text, info=registration("user.device.device_id", "The MAC address of its WAN port.")
    )
    network_status: Mapped[str | None] = mapped_column(
        sa.Text,
        info=registration("user.device", "Whether its Internet interface is up (Up, Down …)."),
    )
    ip_address: Mapped[str | None] = mapped_column(
        sa.Text,
        info=registration("user.device.ip_address", "The IP address of its Internet interface."),
    )
    product_type: Mapped[ProductType | None] = mapped_column(
        enum_type(ProductType, "device_product_type"),
        info=not_personal(
            "router or gateway (unknown until read): one of two product names", export=True
        ),
    )
    missing_fields: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text),
        server_default="{}",
        info=not_personal(
            "names of the registration fields the device does not provide (no values)",
            export=True,
        ),
    )
    registered_at: Mapped[datetime] = mapped_column(
        info=registration("user.device", "When the device first registered.")
    )
    refreshed_at: Mapped[datetime] = mapped_column(
        info=registration("user.device", "When the record was last read from the device.")
    )
    last_seen: Mapped[datetime] = mapped_column(
        info=registration("user.device", "When the device last sent anything.")
    )
    online: Mapped[bool] = mapped_column(
        info=not_personal(
            "whether the unit is connected now; a flag without the identifiers", export=True
        )
    )
    offline_since: Mapped[datetime | None] = mapped_column(
        info=registration(
            "user.device",
            "Since when the device is offline: its retention period counts from here.",
        )
    )
    anonymised_at: Mapped[datetime | None] = mapped_column(
        info=not_personal(
            "when the record was anonymised (only its non-identifying part remains)", export=True
        )
    )
    source: Mapped[str] = mapped_column(sa.Text, info=source_column_info(REGISTRATION_SOURCE))

    __table_args__ = (
        sa.Index(
            "ix_device_registrations_offline_since",
            "offline_since",
            postgresql_where=sa.text("anonymised_at IS NULL"),
        ),
        sa.Index(
            "ix_device_registrations_online_last_seen",
            "last_seen",
            postgresql_where=sa.text("online"),
        ),
        {
            "info": retention_info(
                Binding(
                    REGISTRATION_RULE,
                    ANONYMISED,
                    trigger="offline_since",
                    offset_setting="device_offline_after_seconds",
                )
            )
        },
    )
