"""Shorthands for the data-map declarations of the devices tables.

Every column names the retention rule of the policy pack it lives under:

* ``device_registration``: the registration record (CPE-I.ii.1.a), anonymised two
  years after the device went offline (CPE-I.ii.1.c);
* ``pppoe_credentials``: PPPoE account and password, deleted at unbind (CPE-I.iii.R2);
* ``until_erasure``: the binding ledger (ids and times), kept as evidence until the
  subject is erased;
* ``rate_limit_window``: failed claim attempts per subscriber.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from doorstep.vocabulary import ExportDecision, LegalBasis, personal

REGISTRATION_RULE = "device_registration"
PPPOE_RULE = "pppoe_credentials"

#: Purposes registration data may be read for (CPE-I.ii.1.b): registration, the
#: product functions the subscriber asks for, after-sales support.
REGISTRATION_PURPOSES = (
    "device.registration",
    "device.product_functions",
    "customer.support",
    "privacy.rights",
)
#: Purposes the model and firmware version are read for: the above, and fleet
#: maintenance (after-sales service: the fleet list, groups, firmware rollouts; decision 0040).
MAINTENANCE_PURPOSES = (*REGISTRATION_PURPOSES, "device.maintenance")
#: Purposes the device's identity (its endpoint id) is used for: every function
#: that reaches the device (fleet operations included: decision 0038), and the
#: optional camera scan of its QR code (which carries the endpoint id).
REACH_PURPOSES = (
    *REGISTRATION_PURPOSES,
    "device.binding",
    "device.internet_access",
    "device.wireless_config",
    "device.status_query",
    "device.qr_camera",
    "device.maintenance",
    "device.diagnostics",
    "device.settings_removal",
)


def registration(
    category: str,
    description: str,
    *,
    purposes: Sequence[str] = REGISTRATION_PURPOSES,
    clauses: Sequence[str] = ("CPE-I.ii.1.a", "CPE-I.ii.1.c", "CPE-I.ii.2.a"),
) -> dict[str, Any]:
    """``info=`` of a registration column, anonymised two years after offline."""
    return personal(
        category,
        purposes=list(purposes),
        legal_basis=LegalBasis.CONTRACT,
        retention=REGISTRATION_RULE,
        clauses=list(clauses),
        description=description,
    )


def pppoe(
    category: str,
    description: str,
    *,
    secret: bool = False,
    export: ExportDecision | None = None,
) -> dict[str, Any]:
    """``info=`` of a PPPoE column, deleted when the device is unbound."""
    return personal(
        category,
        purposes=["device.internet_access", "privacy.rights"],
        legal_basis=LegalBasis.CONTRACT,
        retention=PPPOE_RULE,
        clauses=["CPE-I.iii.R1", "CPE-I.iii.R2", "CPE-I.iii.G"],
        secret=secret,
        description=description,
        export=export,
    )
