"""Who may reach which device, and for what purpose.

* :func:`owned_device` — the device ``device_id`` as its owner sees it, or
  :class:`DeviceNotFoundError` (also for a device bound to someone else: the caller
  learns nothing about devices that are not theirs, CPE-I.iii.R5), with what its
  model and firmware do not support (:mod:`.capabilities`).
* :func:`require_function` — the function exists for the product and the device's
  data model offers it; otherwise a problem, audited as a refusal.
* :func:`use` — the purpose gate for one use by a subscriber of their own device:
  every element checked, the use audited once, by id.
* :func:`sending` — a change is about to leave for the device: its action goes on
  record at once (outcome ``sent``, committed in a transaction of its own), so a
  process killed before the request's transaction commits (the device may have
  applied the change) never leaves the change off the audit trail.  The request's
  own record (``ok``, or ``failed`` with the device's error) follows as before.
* :func:`require_consent` — an optional function with nothing stored (the Wi-Fi
  scan): the consent ledger decides, refusals are audited as the gate's are.
* :func:`system_use` — the same for Doorstep acting on its own (registration from a
  device's report): through the gate with the owner as subject when the device is
  bound; otherwise only the declaration is checked, since there is no person yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import (
    USE_ACTION,
    AuditEntry,
    commit_entry,
    subject_actor,
    system_actor,
)
from doorstep.audit.services import record
from doorstep.core.errors import PurposeRefusedError
from doorstep.devices.exceptions import (
    DeviceNotFoundError,
    FunctionUnsupportedError,
    ProductFunctionError,
)
from doorstep.devices.models import (
    DeviceBinding,
    DeviceCapability,
    DeviceRegistration,
    ProductType,
)
from doorstep.privacy.purposes import GateRefusedError, PurposeGate
from doorstep.usp.controller import DeviceOfflineError

SYSTEM_ACTOR = system_actor("devices")
DetailValue = str | int | bool | None

_FUNCTIONS = frozenset({"pppoe", "wifi", "wifi_scan", "status", "reboot"})
#: What each product offers (CPE-I.iii.0).  The reference policy lists the same
#: functions for routers and home gateways (CPE-I.iii.G); a pack for products that
#: differ narrows a set here, and requests for a missing function are refused.
PRODUCT_FUNCTIONS: Mapping[ProductType, frozenset[str]] = {
    ProductType.ROUTER: _FUNCTIONS,
    ProductType.GATEWAY: _FUNCTIONS,
}


@dataclass(frozen=True, slots=True)
class OwnedDevice:
    """A device bound to the caller: its ids, how to reach it, what product it is."""

    device_id: uuid.UUID
    binding_id: uuid.UUID
    subject_id: uuid.UUID
    endpoint_id: str | None
    product_type: ProductType | None
    online: bool
    unsupported: Mapping[str, str] | None = None
    """Function -> the TR-181 path its model lacks; None while not discovered."""

    def endpoint(self) -> str:
        """The endpoint id to send requests to, or DeviceOfflineError if it never registered."""
        if self.endpoint_id is None:
            raise DeviceOfflineError("the device has not connected since it was bound")
        return self.endpoint_id


def require_function(
    owned: OwnedDevice, function: str, *, action: str | None = None, purpose: str | None = None
) -> None:
    """ProductFunctionError unless the device's product offers ``function``;
    FunctionUnsupportedError when its model's data model lacks it.

    A device whose product class was not read yet counts as a router; one whose
    model was not discovered yet is offered every function.  With ``action`` the
    unsupported case carries its audit record (outcome ``refused``), which
    ``audited_transaction`` writes after the rollback.
    """
    missing = (owned.unsupported or {}).get(function)
    if missing is not None:
        exc = FunctionUnsupportedError(function, missing)
        if action is not None:
            entry = AuditEntry(
                action=action,
                actor=subject_actor(owned.subject_id),
                subject_id=owned.subject_id,
                purpose=purpose,
                outcome="refused",
                details={"device": str(owned.device_id), "error": exc.code, "function": function},
            )
            setattr(exc, "audit_entry", entry)  # noqa: B010 - read by audited_transaction
        raise exc
    product = owned.product_type or ProductType.ROUTER
    if function not in PRODUCT_FUNCTIONS[product]:
        raise ProductFunctionError(
            f"{function} is not available for a {product.value}",
            errors=[{"field": function, "rule": f"not defined for product type {product.value}"}],
        )


def owner_of(session: Session, device_id: uuid.UUID) -> uuid.UUID | None:
    """The subject the device is bound to now, or None."""
    return session.execute(
        sa.select(DeviceBinding.subject_id).where(
            DeviceBinding.device_id == device_id, DeviceBinding.unbound_at.is_(None)
        )
    ).scalar_one_or_none()


def owned_device(
    session: Session, subject_id: uuid.UUID, device_id: uuid.UUID, *, lock: bool = False
) -> OwnedDevice:
    """The device if it is bound to ``subject_id`` now; DeviceNotFoundError otherwise.

    ``lock`` takes the binding row FOR UPDATE, so an unbind waits for (or is seen by)
    a configuration that relies on the binding.
    """
    query = (
        sa.select(
            DeviceBinding.id,
            DeviceRegistration.endpoint_id,
            DeviceRegistration.product_type,
            DeviceRegistration.online,
            DeviceCapability.unsupported,
        )
        .select_from(DeviceBinding)
        .outerjoin(DeviceRegistration, DeviceRegistration.device_id == DeviceBinding.device_id)
        .outerjoin(
            DeviceCapability,
            sa.and_(
                DeviceCapability.model == DeviceRegistration.model,
                DeviceCapability.firmware_version
                == sa.func.coalesce(DeviceRegistration.firmware_version, ""),
            ),
        )
        .where(
            DeviceBinding.device_id == device_id,
            DeviceBinding.subject_id == subject_id,
            DeviceBinding.unbound_at.is_(None),
        )
    )
    if lock:
        query = query.with_for_update(of=DeviceBinding)
    row = session.execute(query).one_or_none()
    if row is None:
        raise DeviceNotFoundError("no such device is bound to your account")
    return OwnedDevice(
        device_id,
        row.id,
        subject_id,
        row.endpoint_id,
        row.product_type,
        bool(row.online),
        row.unsupported,
    )


def use(
    session: Session,
    gate: PurposeGate,
    subject_id: uuid.UUID,
    elements: Sequence[str],
    purpose: str,
    *,
    action: str,
    details: Mapping[str, DetailValue] | None = None,
) -> None:
    """Check every element for ``purpose`` (refusals raise and are audited), audit the use."""
    access = gate.for_subject(session, subject_id, actor=subject_actor(subject_id))
    for element in elements:
        access.check(element, purpose)
    _audit(
        session,
        action=action,
        actor=subject_actor(subject_id),
        subject_id=subject_id,
        purpose=purpose,
        elements=elements,
        details=details,
    )


def sending(
    session: Session,
    *,
    action: str,
    subject_id: uuid.UUID,
    purpose: str,
    device_id: uuid.UUID,
) -> None:
    """Put ``action`` on record as ``sent`` now, before its change leaves for the device.

    Committed in a transaction of its own (:func:`~doorstep.audit.entries.commit_entry`):
    the trail then holds every change a device may have applied, also when the process
    dies before the request's transaction commits.  Never a success: only the
    request's own record says that, once the device answered.  It takes a second
    pooled connection for a moment; we accept that (at an exhausted pool it waits as
    any request does) because committing the request's own transaction early would
    give up the lock that keeps a PPPoE change and its stored copy in step.
    """
    entry = AuditEntry(
        action=action,
        actor=subject_actor(subject_id),
        subject_id=subject_id,
        purpose=purpose,
        outcome="sent",
        details={"device": str(device_id)},
    )
    commit_entry(session, entry)


def system_use(
    session: Session,
    gate: PurposeGate,
    elements: Sequence[str],
    purpose: str,
    *,
    subject_id: uuid.UUID | None,
    details: Mapping[str, DetailValue] | None = None,
    action: str = "devices.registration_stored",
) -> None:
    """A use by Doorstep itself: gated for the owner if bound, declaration-checked if not."""
    if subject_id is not None:
        access = gate.for_subject(session, subject_id, actor=SYSTEM_ACTOR)
        for element in elements:
            access.check(element, purpose)
    else:
        for element in elements:
            if gate.basis(element, purpose) is None:
                raise PurposeRefusedError(
                    f"use of {element} for purpose {purpose} refused: purpose_not_declared",
                    element=element,
                    purpose=purpose,
                    reason="purpose_not_declared",
                )
    _audit(
        session,
        action=action,
        actor=SYSTEM_ACTOR,
        subject_id=subject_id,
        purpose=purpose,
        elements=elements,
        details=details,
    )


def require_consent(
    session: Session, gate: PurposeGate, subject_id: uuid.UUID, purpose: str, *, element: str
) -> str:
    """Refuse (audited, like the gate) unless the optional function ``purpose`` is on.

    For an optional function whose data is never stored (the Wi-Fi scan's nearby
    networks): no column declares it, so the gate has no element to check; the
    ledger decides.  Returns the id of the grant relied on (the evidence).
    """
    from doorstep.privacy.consent.models import ConsentAction
    from doorstep.privacy.consent.services import is_enabled, latest

    decision = latest(session, subject_id, purpose)
    if decision is not None and is_enabled(session, subject_id, purpose, terms=gate.terms):
        return str(decision.id)
    reasons = {ConsentAction.REFUSE: "consent_refused", ConsentAction.WITHDRAW: "consent_withdrawn"}
    reason = "no_consent"
    if decision is not None:
        reason = reasons.get(decision.action, "restricted")
    entry = AuditEntry(
        action=USE_ACTION,
        actor=subject_actor(subject_id),
        subject_id=subject_id,
        purpose=purpose,
        element=element,
        outcome="refused",
        details={"reason": reason},
    )
    entry.write(session)
    raise GateRefusedError(entry, element=element, purpose=purpose, reason=reason)


def _audit(
    session: Session,
    *,
    action: str,
    actor: str,
    subject_id: uuid.UUID | None,
    purpose: str,
    elements: Sequence[str],
    details: Mapping[str, DetailValue] | None,
) -> None:
    tables = sorted({element.partition(".")[0] for element in elements})
    record(
        session,
        action=action,
        actor=actor,
        subject_id=subject_id,
        purpose=purpose,
        element=tables[0] if len(tables) == 1 else None,
        details={"elements": len(elements), **(details or {})},
    )
