"""Least privilege, as a table in code: which role may read what, for which purpose.

A role may read an element of the data map only for a purpose its grants name,
only for the data subjects they name, and only when the element's category
falls under one of their categories (``user.contact`` covers
``user.contact.email``).  Nothing grants credentials (:data:`NEVER_READABLE`).
The purpose gate still decides afterwards: a role's grant never widens what the
data map declares, it only narrows it.

=================  =====================  =========================================
role               purpose                may read
=================  =====================  =========================================
support            customer.support       customers' device, contact, account data
support            device.maintenance     customers' device data (the fleet list) and
                                          their devices' time zones (decision 0045)
support            device.diagnostics     results of the diagnostics support ran
privacy_officer    privacy.rights         every customer category (requests)
privacy_officer    consent.management     customers' consent ledger
admin              staff.administration   staff records (employees) only
=================  =====================  =========================================

Actions other than reading are listed in :data:`ACTIONS`: only an admin manages
staff, and an admin reads no subscriber data; only a privacy officer places and
releases legal holds (support may not: a hold overrides erasure, decision 0021);
support and admin run fleet operations (firmware, restarts, bulk parameters: decision
0038), which touch no subscriber data; only support runs diagnostics on a subscriber's
device (``run_diagnostics``, on a ticket or with consent: decision 0041).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.taxonomy import data_categories, data_subjects
from doorstep.staff.models import StaffRole
from doorstep.vocabulary.declarations import PersonalData


class StaffAction(StrEnum):
    """What staff may do besides reading personal data."""

    MANAGE_STAFF = "manage_staff"
    MANAGE_RESTRICTIONS = "manage_restrictions"
    ISSUE_RECEIPTS = "issue_receipts"
    #: See the request queue (ids, kinds, states, deadlines; no personal-data values).
    VIEW_REQUESTS = "view_requests"
    #: Approve, refuse or extend data-subject requests.
    DECIDE_REQUESTS = "decide_requests"
    #: See the record of processing, the data map and the retention plan and report.
    VIEW_RECORDS = "view_records"
    #: Verify the audit trail.
    VERIFY_AUDIT = "verify_audit"
    #: Add controls to the controls register, record their evidence, publish
    #: assessments (seeing the register is ``view_records``).
    MANAGE_CONTROLS = "manage_controls"
    #: Publish a new version of the privacy policy (decision 0023).
    PUBLISH_POLICY = "publish_policy"
    #: Place, release and list legal holds (ids, grounds and references; no values).
    PLACE_HOLDS = "place_holds"
    #: Open, rate and work incidents, notify the affected, file regulator reports
    #: (ids, names and counts; no values).
    MANAGE_INCIDENTS = "manage_incidents"
    #: Fleet operations (decision 0038): add and remove firmware images, update, restart
    #: and set the bulk parameters of devices, run rollouts and bulk actions (ids,
    #: versions and outcomes; no subscriber data).
    MANAGE_FLEET = "manage_fleet"
    #: Run a diagnostic (ping, trace route, speed test) on a subscriber's device, on an
    #: after-sales ticket or with the owner's consent (decision 0041).
    RUN_DIAGNOSTICS = "run_diagnostics"


@dataclass(frozen=True, slots=True)
class ReadGrant:
    """Permission to read ``categories`` of ``subjects`` for ``purpose``."""

    purpose: str
    categories: tuple[str, ...]
    subjects: tuple[str, ...] = ("customer",)


#: Categories no staff role ever reads (passwords, credentials, biometrics).
NEVER_READABLE: tuple[str, ...] = ("user.authorization",)

READS: Mapping[StaffRole, tuple[ReadGrant, ...]] = MappingProxyType(
    {
        StaffRole.SUPPORT: (
            ReadGrant(
                "customer.support",
                ("user.device", "user.contact", "user.account", "user.unique_id.pseudonymous"),
            ),
            # the fleet list's model and firmware version (decision 0040), and the time
            # zone staff set for a device's maintenance windows (decision 0045)
            ReadGrant("device.maintenance", ("user.device", "user.location.imprecise")),
            # the results of the diagnostics support ran (decision 0041)
            ReadGrant("device.diagnostics", ("user.telemetry", "user.behavior")),
        ),
        StaffRole.PRIVACY_OFFICER: (
            ReadGrant("privacy.rights", ("user",)),
            ReadGrant(
                "consent.management", ("user.privacy_preferences", "user.unique_id.pseudonymous")
            ),
        ),
        StaffRole.ADMIN: (
            ReadGrant(
                "staff.administration",
                ("user.unique_id.pseudonymous", "user.job_title", "user.account"),
                subjects=("employee",),
            ),
        ),
    }
)

ACTIONS: Mapping[StaffRole, frozenset[StaffAction]] = MappingProxyType(
    {
        StaffRole.SUPPORT: frozenset(
            {StaffAction.VIEW_REQUESTS, StaffAction.MANAGE_FLEET, StaffAction.RUN_DIAGNOSTICS}
        ),
        StaffRole.PRIVACY_OFFICER: frozenset(
            {
                StaffAction.MANAGE_RESTRICTIONS,
                StaffAction.ISSUE_RECEIPTS,
                StaffAction.VIEW_REQUESTS,
                StaffAction.DECIDE_REQUESTS,
                StaffAction.VIEW_RECORDS,
                StaffAction.VERIFY_AUDIT,
                StaffAction.MANAGE_CONTROLS,
                StaffAction.PUBLISH_POLICY,
                StaffAction.PLACE_HOLDS,
                StaffAction.MANAGE_INCIDENTS,
            }
        ),
        StaffRole.ADMIN: frozenset(
            {
                StaffAction.MANAGE_STAFF,
                StaffAction.VIEW_RECORDS,
                StaffAction.VERIFY_AUDIT,
                StaffAction.MANAGE_CONTROLS,
                StaffAction.MANAGE_FLEET,
            }
        ),
    }
)


def _covers(granted: tuple[str, ...], category: str) -> bool:
    return any(category == key or category.startswith(key + ".") for key in granted)


def may_read(role: StaffRole, declaration: PersonalData, purpose: str) -> bool:
    """Whether ``role`` may read an element declared as ``declaration`` for ``purpose``."""
    if _covers(NEVER_READABLE, declaration.category):
        return False
    return any(
        grant.purpose == purpose
        and declaration.subject in grant.subjects
        and _covers(grant.categories, declaration.category)
        for grant in READS.get(role, ())
    )


def may(role: StaffRole, action: StaffAction) -> bool:
    """Whether ``role`` may perform ``action``."""
    return action in ACTIONS.get(role, frozenset())


def matrix_problems(pack: PolicyPack) -> list[str]:
    """Every purpose, category or subject of the matrix unknown to the pack or taxonomy."""
    found: list[str] = []
    for role in StaffRole:
        if role not in READS or role not in ACTIONS:
            found.append(f"staff role {role.value!r} has no row in the permission matrix")
    for role, grants in READS.items():
        for grant in grants:
            if grant.purpose not in pack.purposes:
                found.append(f"staff role {role.value!r}: unknown purpose {grant.purpose!r}")
            found.extend(
                f"staff role {role.value!r}: unknown data category {category!r}"
                for category in grant.categories
                if category not in data_categories()
            )
            found.extend(
                f"staff role {role.value!r}: unknown data subject {subject!r}"
                for subject in grant.subjects
                if subject not in data_subjects()
            )
    return found


def validate_matrix(pack: PolicyPack) -> None:
    """Raise :class:`ConfigurationError` naming every bad entry of the matrix."""
    found = matrix_problems(pack)
    if found:
        raise ConfigurationError(
            "staff permission matrix is invalid: " + "; ".join(found), problems=found
        )
