"""Fixtures of the sharing tests: a pack whose registry has one recipient of every role."""

from __future__ import annotations

import dataclasses
from datetime import date
from types import MappingProxyType

import pytest

from doorstep.privacy.datamap.pack import Destination, PolicyPack, default_pack
from doorstep.privacy.datamap.pack_recipients import (
    Agreement,
    AgreementType,
    Necessity,
    RecipientPolicy,
    Role,
    Share,
)
from doorstep.privacy.sharing.gate import SharingGate
from doorstep.schema import metadata
from tests.notify.conftest import smtp

__all__ = ["smtp"]

SIGNED = date(2020, 1, 1)
ACTIVE = Agreement(AgreementType.DATA_SHARING, "AGR-1", SIGNED)
PROFILE = frozenset({"accounts.email", "accounts.phone"})
SUPPORT = "customer.support"


def share(elements: frozenset[str] = PROFILE, **fields: object) -> dict[str, Share]:
    """One share for customer.support."""
    return {SUPPORT: Share(SUPPORT, elements, **fields)}  # type: ignore[arg-type]


REGISTRY = {
    "vendor_x": RecipientPolicy("vendor_x", Role.INDEPENDENT_CONTROLLER, "CN", ACTIVE, "", share()),
    "partner": RecipientPolicy(
        "partner",
        Role.BUSINESS_PARTNER,
        "CN",
        ACTIVE,
        "",
        share(
            frozenset({"accounts.phone", "device_registrations.serial_number"}),
            minimal_necessary=True,
            necessity=Necessity.AFTER_SALES,
        ),
    ),
    "subsidiary": RecipientPolicy("subsidiary", Role.GROUP_ENTITY, "CN", ACTIVE, "", share()),
    "sister": RecipientPolicy(
        "sister", Role.GROUP_ENTITY, "CN", ACTIVE, "", share(reason="runs our support desk")
    ),
    "unsigned": RecipientPolicy("unsigned", Role.PROCESSOR, "CN", None, "", share()),
    "lapsed": RecipientPolicy(
        "lapsed",
        Role.PROCESSOR,
        "CN",
        Agreement(AgreementType.DATA_PROCESSING, "DPA-0", SIGNED, date(2021, 1, 1)),
        "",
        share(),
    ),
    "processor": RecipientPolicy(
        "processor",
        Role.PROCESSOR,
        "CN",
        Agreement(AgreementType.DATA_PROCESSING, "DPA-1", SIGNED),
        "",
        share(),
    ),
    "authorities": RecipientPolicy("authorities", Role.AUTHORITY, "CN"),
    "public": RecipientPolicy("public", Role.PUBLIC, "CN", shares=MappingProxyType(share())),
}


def make_pack(registry: dict[str, RecipientPolicy]) -> PolicyPack:
    """The reference pack with ``registry`` as its recipients."""
    base = default_pack()
    return dataclasses.replace(
        base,
        recipients={**base.recipients, **{key: key for key in registry}},
        recipient_details={
            **base.recipient_details,
            **{key: Destination(key, key, contact=f"privacy@{key}.example") for key in registry},
        },
        sharing=MappingProxyType({**base.sharing, **registry}),
    )


PACK = make_pack(REGISTRY)


@pytest.fixture
def gate() -> SharingGate:
    """The sharing gate of :data:`PACK`."""
    return SharingGate.from_pack(PACK, metadata)
