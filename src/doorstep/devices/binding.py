"""Binding a device to an account by its claim secret (CPE-I.ii.2), and unbinding it.

Two ways to prove holding the device, both needing the claim secret from its label
(:mod:`.claims`):

* **QR** — the app scans the label and sends the payload ``DOORSTEP1:<endpoint
  id>:<secret>``.  The camera is an optional function: the use goes through the
  purpose gate as ``device.qr_camera``, allowed only while the subscriber's consent
  is live (CPE-I.ii.2.c, CPE-V.4.a); a refusal names the manual path.
* **Manual** — the subscriber types the claim code; always available (CPE-V.4.b).

Wrong codes count toward the lockout (:mod:`._limits`): per claimant, and per device
for scanned payloads; a device's lock never refuses a claimant who has not failed, so
strangers guessing cannot block the owner.  The first account to bind
owns the device: a partial unique index allows one open binding per device, so of two
concurrent claims exactly one wins and the other gets 409.  Binding again to the same
account changes nothing.  Unbinding ends the open ledger row and deletes the PPPoE
credentials of that binding in the same transaction (CPE-I.iii.R2); both are audited
by id.  :func:`bound_device_ids` is the accounts area's ``BoundDevices`` hook
(deregistration is refused while a device is bound, CPE-V.5.c).
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.audit.entries import subject_actor
from doorstep.audit.services import record
from doorstep.core.errors import InvalidInputError
from doorstep.devices import _limits
from doorstep.devices.access import SYSTEM_ACTOR, owned_device, use
from doorstep.devices.exceptions import ClaimRejectedError, DeviceAlreadyBoundError
from doorstep.devices.inventory import endpoint_key
from doorstep.devices.models import (
    BindingEnd,
    BindMethod,
    Device,
    DeviceBinding,
    DevicePppoe,
    DeviceRegistration,
)
from doorstep.privacy.policies import answers
from doorstep.privacy.policies.answers import Policy
from doorstep.privacy.purposes import PurposeGate
from doorstep.usp.claims import claim_digest, normalise_claim_code, parse_payload

BIND_PURPOSE = "device.binding"
CAMERA_PURPOSE = "device.qr_camera"
LEDGER_ELEMENTS = ("device_bindings.device_id", "device_bindings.subject_id")
CAMERA_ELEMENT = "device_registrations.endpoint_id"


@dataclass(frozen=True, slots=True)
class Claim:
    """What the app sent: exactly one of a scanned QR payload or a typed claim code."""

    qr_payload: str | None = None
    claim_code: str | None = None


@dataclass(frozen=True, slots=True)
class Bound:
    """A binding as its owner sees it."""

    device_id: uuid.UUID
    binding_id: uuid.UUID
    method: BindMethod
    bound_at: datetime
    created: bool


def bind(
    session: Session,
    gate: PurposeGate,
    limits: _limits.Limits,
    *,
    key: bytes,
    subject_id: uuid.UUID,
    claim: Claim,
    now: datetime,
    policy: Policy | None = None,
    channel: str = "app",
) -> Bound:
    """Bind the claimed device to ``subject_id`` (see the module docstring).

    With ``policy`` (the pack in force), the subject's first binding records an
    acknowledgement of the policy version in force on ``channel`` before the
    binding row (CPE-0.5): the binding page and the app show the policy.

    Raises InvalidInputError (malformed input, not counted), PurposeRefusedError
    (QR without camera consent), ClaimLockedError, ClaimRejectedError (counted),
    DeviceAlreadyBoundError.  The caller must commit after ClaimRejectedError and
    ClaimLockedError too: the failure counters are part of the answer.
    """
    if (claim.qr_payload is None) == (claim.claim_code is None):
        raise InvalidInputError(
            "send either the scanned QR payload or the typed claim code",
            errors=[{"field": "qr_payload", "rule": "exactly one of qr_payload, claim_code"}],
        )
    failures = _limits.check_subscriber(session, limits, subject_id, now)
    device_id: uuid.UUID | None
    if claim.qr_payload is not None:
        payload = parse_payload(claim.qr_payload)
        use(
            session,
            gate,
            subject_id,
            [CAMERA_ELEMENT],
            CAMERA_PURPOSE,
            action="devices.qr_scanned",
        )
        method, digest = BindMethod.QR, claim_digest(payload.claim_code)
        row = session.execute(
            sa.select(Device.id, Device.claim_hash).where(
                Device.endpoint_key == endpoint_key(key, payload.endpoint_id)
            )
        ).one_or_none()
        device_id = None if row is None else row.id
        if device_id is not None:
            _limits.check_device(session, device_id, now, claimant_failures=failures)
        matched = row is not None and hmac.compare_digest(row.claim_hash, digest)
    else:
        assert claim.claim_code is not None
        method, digest = BindMethod.MANUAL, claim_digest(normalise_claim_code(claim.claim_code))
        # Found only by the right code, which no device lock refuses (see ``_limits``).
        device_id = session.execute(
            sa.select(Device.id).where(Device.claim_hash == digest)
        ).scalar_one_or_none()
        matched = device_id is not None
    if not matched or device_id is None:
        left = _limits.count_failure(session, limits, subject_id, device_id, now)
        record(
            session,
            action="devices.claim_failed",
            actor=subject_actor(subject_id),
            subject_id=subject_id,
            outcome="refused",
            details={"method": method.value, "attempts_left": left},
        )
        raise ClaimRejectedError(
            "the device code is not right", attempts_left=left, method=method.value
        )
    _limits.clear(session, subject_id, device_id)
    return _open_binding(
        session,
        gate=gate,
        subject_id=subject_id,
        device_id=device_id,
        method=method,
        now=now,
        policy=policy,
        channel=channel,
    )


def _open_binding(
    session: Session,
    *,
    gate: PurposeGate,
    subject_id: uuid.UUID,
    device_id: uuid.UUID,
    method: BindMethod,
    now: datetime,
    policy: Policy | None = None,
    channel: str = "app",
) -> Bound:
    current = session.execute(
        sa.select(DeviceBinding).where(
            DeviceBinding.device_id == device_id, DeviceBinding.unbound_at.is_(None)
        )
    ).scalar_one_or_none()
    if current is not None:
        if current.subject_id != subject_id:
            raise DeviceAlreadyBoundError("the device is bound to another account")
        return Bound(device_id, current.id, current.method, current.bound_at, created=False)
    use(
        session,
        gate,
        subject_id,
        LEDGER_ELEMENTS,
        BIND_PURPOSE,
        action="devices.bound",
        details={"device": str(device_id), "method": method.value},
    )
    if policy is not None and not session.scalar(
        sa.select(sa.exists().where(DeviceBinding.subject_id == subject_id))
    ):
        _acknowledge_first_binding(session, policy, subject_id, channel, now)
    binding = DeviceBinding(
        id=uuid.uuid4(), device_id=device_id, subject_id=subject_id, method=method, bound_at=now
    )
    try:
        with session.begin_nested():
            session.add(binding)
    except IntegrityError:  # another account's claim committed first: it owns the device
        raise DeviceAlreadyBoundError("the device is bound to another account") from None
    return Bound(device_id, binding.id, method, now, created=True)


@dataclass(frozen=True, slots=True)
class _At:
    """The binding's instant as a clock, so the acknowledgement carries the same time."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant


def _acknowledge_first_binding(
    session: Session, policy: Policy, subject_id: uuid.UUID, channel: str, now: datetime
) -> None:
    """Record the acknowledgement of the version in force that a first binding carries."""
    clock = _At(now)
    shown = answers.version_to_acknowledge(session, policy, clock).id
    answers.acknowledge(
        session, subject_id=subject_id, shown=shown, channel=channel, policy=policy, clock=clock
    )


def unbind(
    session: Session,
    gate: PurposeGate,
    *,
    subject_id: uuid.UUID,
    device_id: uuid.UUID,
    now: datetime,
) -> None:
    """End the subscriber's binding of the device and delete its PPPoE credentials."""
    owned = owned_device(session, subject_id, device_id, lock=True)
    use(
        session,
        gate,
        subject_id,
        LEDGER_ELEMENTS,
        BIND_PURPOSE,
        action="devices.unbound",
        details={"device": str(device_id), "reason": BindingEnd.UNBOUND.value},
    )
    end_binding(session, owned.binding_id, BindingEnd.UNBOUND, now)


def end_binding(session: Session, binding_id: uuid.UUID, reason: BindingEnd, now: datetime) -> bool:
    """Close the ledger row and delete the binding's PPPoE credentials; whether any existed."""
    result = session.execute(sa.delete(DevicePppoe).where(DevicePppoe.binding_id == binding_id))
    deleted = int(getattr(result, "rowcount", 0))
    session.execute(
        sa.update(DeviceBinding)
        .where(DeviceBinding.id == binding_id, DeviceBinding.unbound_at.is_(None))
        .values(unbound_at=now, end_reason=reason)
    )
    return bool(deleted)


def end_anonymised_bindings(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """End the bindings of devices whose registration was anonymised (the account link).

    The retention sweep anonymises the registration record two years after the
    device went offline (CPE-I.ii.1.c); the link to the account is part of it.  Rows
    locked elsewhere are skipped and taken by the next run.
    """
    rows = session.execute(
        sa.select(DeviceBinding.id, DeviceBinding.subject_id, DeviceBinding.device_id)
        .join(DeviceRegistration, DeviceRegistration.device_id == DeviceBinding.device_id)
        .where(DeviceBinding.unbound_at.is_(None), DeviceRegistration.anonymised_at.is_not(None))
        .limit(limit)
        .with_for_update(of=DeviceBinding, skip_locked=True)
    ).all()
    for row in rows:
        end_binding(session, row.id, BindingEnd.ANONYMISED, now)
        record(
            session,
            action="devices.unbound",
            actor=SYSTEM_ACTOR,
            subject_id=row.subject_id,
            purpose=BIND_PURPOSE,
            details={"device": str(row.device_id), "reason": BindingEnd.ANONYMISED.value},
        )
    return len(rows)


def bound_device_ids(session: Session, subject_id: uuid.UUID, /) -> Sequence[str]:
    """The ids of the devices bound to the account now (the ``BoundDevices`` hook)."""
    return [
        str(device_id)
        for device_id in session.execute(
            sa.select(DeviceBinding.device_id)
            .where(DeviceBinding.subject_id == subject_id, DeviceBinding.unbound_at.is_(None))
            .order_by(DeviceBinding.bound_at)
        ).scalars()
    ]
