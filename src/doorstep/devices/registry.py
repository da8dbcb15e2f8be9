"""The registration record: exactly what CPE-I.ii.1.a lets Doorstep keep about a device.

When a device connects, boots or asks to be onboarded, the controller hooks read
its registration through one USP Get of seven parameters (:class:`RegistrationPaths`):
model, firmware version, serial number and product class from ``DeviceInfo``, the
MAC of the WAN port, and the status and IPv4 address of the WAN IP interface.
:func:`read_registration` keeps those and nothing else — a parameter the device
adds to its answer is dropped, a value that breaks its type is stored as NULL —
and :func:`store_registration` writes them (each dropped parameter is counted as
schema drift, :mod:`doorstep.privacy.transfers.ingestion`, CPE-IV.3.a) with the
product type and the names of the fields the device does not provide
(``missing_fields``: a per-path error, a parameter absent from the answer, or an
empty value, e.g. the firmware version OB-USP-Agent leaves "" or the
``Device.Ethernet.`` objects it lacks), so a NULL says why it is NULL.  The Get names
each parameter, so the device is never even asked for hosts, SSIDs or anything
else it knows.

Each write is audited as a use of the registration elements for
``device.registration`` (:func:`.access.system_use`): through the purpose gate with
the owner as subject when the device is bound, as a declared system use otherwise.
A new record names its collection point, ``device_registration`` (CORP-1.1).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.core.settings import Settings
from doorstep.devices.access import owner_of, system_use
from doorstep.devices.models import (
    REGISTRATION_FIELDS,
    REGISTRATION_SOURCE,
    DeviceRegistration,
    ProductType,
)
from doorstep.privacy.datamap.record_sources import checked_source
from doorstep.privacy.purposes import PurposeGate
from doorstep.privacy.transfers.ingestion import record_drift
from doorstep.privacy.transfers.models import DriftSource
from doorstep.usp import GetResp
from doorstep.usp.controller import AgentAddress

PURPOSE = "device.registration"
ELEMENTS = tuple(f"device_registrations.{name}" for name in REGISTRATION_FIELDS)
INTERFACE_STATUS = frozenset(
    {"Up", "Down", "Unknown", "Dormant", "NotPresent", "LowerLayerDown", "Error"}
)
_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")
_PRINTABLE = re.compile(r"[\x20-\x7e]{1,64}")


@dataclass(frozen=True, slots=True)
class RegistrationPaths:
    """The seven TR-181 parameters a registration reads (WAN objects from settings)."""

    model: str = "Device.DeviceInfo.ModelName"
    firmware_version: str = "Device.DeviceInfo.SoftwareVersion"
    serial_number: str = "Device.DeviceInfo.SerialNumber"
    product_class: str = "Device.DeviceInfo.ProductClass"
    mac_address: str = "Device.Ethernet.Interface.1.MACAddress"
    network_status: str = "Device.IP.Interface.1.Status"
    ip_address: str = "Device.IP.Interface.1.IPv4Address.1.IPAddress"

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistrationPaths:
        """Paths with the WAN interfaces the operator configured."""
        ip, ethernet = settings.device_wan_ip_interface, settings.device_wan_ethernet_interface
        return cls(
            mac_address=ethernet + "MACAddress",
            network_status=ip + "Status",
            ip_address=ip + "IPv4Address.1.IPAddress",
        )

    @property
    def all(self) -> tuple[str, ...]:
        """Every path, for the Get."""
        return (
            self.model,
            self.firmware_version,
            self.serial_number,
            self.product_class,
            self.mac_address,
            self.network_status,
            self.ip_address,
        )


@dataclass(frozen=True, slots=True)
class Registration:
    """The six fields, validated, and the product type; nothing else can be expressed."""

    model: str | None
    firmware_version: str | None
    serial_number: str | None
    mac_address: str | None
    network_status: str | None
    ip_address: str | None
    product_type: ProductType
    missing: tuple[str, ...] = ()
    """Names of the six fields the device does not provide (error, absent or empty)."""
    undeclared: tuple[str, ...] = ()
    """Paths the device answered that the Get did not name: dropped, counted as drift."""

    def fields(self) -> dict[str, str | None]:
        """The six fields by column name."""
        return {name: getattr(self, name) for name in REGISTRATION_FIELDS}


def product_type_of(product_class: str | None, gateway_classes: tuple[str, ...]) -> ProductType:
    """Gateway when ``ProductClass`` is one of ``gateway_classes`` (any case), else router."""
    wanted = {name.casefold() for name in gateway_classes}
    return ProductType.GATEWAY if (product_class or "").casefold() in wanted else ProductType.ROUTER


def _text(value: str | None) -> str | None:
    return value if value is not None and _PRINTABLE.fullmatch(value) else None


def _mac(value: str | None) -> str | None:
    return value.lower() if value is not None and _MAC.fullmatch(value) else None


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def read_registration(
    answer: GetResp, paths: RegistrationPaths, gateway_classes: tuple[str, ...]
) -> Registration:
    """The registration in ``answer``; every parameter not in ``paths`` is ignored."""
    values = answer.values
    status = values.get(paths.network_status)
    failed = answer.failures
    field_paths = {
        "model": paths.model,
        "firmware_version": paths.firmware_version,
        "serial_number": paths.serial_number,
        "mac_address": paths.mac_address,
        "network_status": paths.network_status,
        "ip_address": paths.ip_address,
    }
    missing = tuple(
        name for name, path in field_paths.items() if path in failed or not values.get(path)
    )
    return Registration(
        model=_text(values.get(paths.model)),
        firmware_version=_text(values.get(paths.firmware_version)),
        serial_number=_text(values.get(paths.serial_number)),
        mac_address=_mac(values.get(paths.mac_address)),
        network_status=status if status in INTERFACE_STATUS else None,
        ip_address=_ip(values.get(paths.ip_address)),
        product_type=product_type_of(values.get(paths.product_class), gateway_classes),
        missing=missing,
        undeclared=tuple(sorted(set(values) - set(paths.all))),
    )


def _contact_values(
    endpoint_id: str, address: AgentAddress | None, now: datetime
) -> dict[str, object]:
    values: dict[str, object] = {
        "endpoint_id": endpoint_id,
        "last_seen": now,
        "online": True,
        "offline_since": None,
        "anonymised_at": None,
    }
    if address is not None:
        values.update(mtp=address.mtp, mqtt_topic=address.topic or None, mqtt_v5=address.mqtt_v5)
    return values


def record_contact(
    session: Session,
    device_id: uuid.UUID,
    *,
    endpoint_id: str,
    address: AgentAddress | None,
    now: datetime,
) -> None:
    """The device is online now (it connected): create its record or refresh its contact.

    Coming back clears ``offline_since`` (the two years start again) and, after an
    anonymisation, ``anonymised_at``: the returning device registers afresh.
    """
    values = _contact_values(endpoint_id, address, now)
    first = {"device_id": device_id, "registered_at": now, "refreshed_at": now, **values}
    _upsert(session, first, values)


def store_registration(
    session: Session,
    gate: PurposeGate,
    device_id: uuid.UUID,
    registration: Registration,
    *,
    endpoint_id: str,
    now: datetime,
) -> None:
    """Write the six fields and the product type (and the contact) in the caller's transaction."""
    system_use(
        session,
        gate,
        ELEMENTS,
        PURPOSE,
        subject_id=owner_of(session, device_id),
        details={"device": str(device_id), "product_type": registration.product_type.value},
    )
    record_drift(
        session,
        source=DriftSource.DEVICE,
        model=registration.model,
        purpose=PURPOSE,
        paths=registration.undeclared,
        now=now,
        actor="system:devices",
    )
    values = {
        **_contact_values(endpoint_id, None, now),
        **registration.fields(),
        "missing_fields": list(registration.missing),
        "product_type": registration.product_type,
        "refreshed_at": now,
    }
    _upsert(session, {"device_id": device_id, "registered_at": now, **values}, values)


def _upsert(session: Session, first: dict[str, Any], changes: dict[str, Any]) -> None:
    """Insert a device's record (``first``) or update it with ``changes``.

    PostgreSQL's ON CONFLICT checks only its arbiter (``device_id``): two first contacts
    of one device at once (the connect and the traffic hooks) can collide on the unique
    ``endpoint_id`` instead, and one would fail with a unique violation.  The savepoint
    keeps the caller's transaction; the retry then finds the committed row and updates it.
    """
    source = checked_source(DeviceRegistration.__table__, REGISTRATION_SOURCE)
    statement = insert(DeviceRegistration).values(**first, source=source)
    statement = statement.on_conflict_do_update(index_elements=["device_id"], set_=changes)
    try:
        with session.begin_nested():
            session.execute(statement)
    except IntegrityError:
        session.execute(statement)
