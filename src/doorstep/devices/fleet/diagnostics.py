"""Start a diagnostic on a device, on a ground the pack allows (decision 0041, issue 19 item 5).

:func:`start_run` is the one way a run begins — the app API, the privacy center, the
console, ``doorstep diagnostics run`` and a bulk action all call it::

    run_id = start_run(session, device_id, "ping", {"host": "example.org"},
                       ground=Ground.owner(), actor=subject_actor(subject_id),
                       context=Context.of(services))

It checks, in this order, and refuses with an RFC 9457 problem, nothing stored or
queued, every refusal audited:

1. **the request**: the kind is one of :class:`DiagnosticKind`; a ping or trace route
   takes a ``host`` (letters, digits, ``. - :``, at most 253), a speed test none; no
   other input (422);
2. **the ground**:

   * a subscriber (``subject:<id>``) runs on a device bound to them, ground ``owner``
     (any other device is a 404: they learn nothing of devices not theirs);
   * a staff member (``staff:<id>``) needs the permission ``run_diagnostics``
     (:data:`ACTION`, checked by the caller's :class:`StaffCheck`: the staff area's, which
     the devices area may not import) **and** either an after-sales ticket — its
     reference, an id of the ticketing system of the form :data:`TICKET_FORM`, recorded
     and audited (Doorstep keeps no ticket table) — or the owner's consent
     ``device.diagnostics_by_staff`` (the ledger decides; the grant relied on is
     recorded); anything else is :class:`GroundRefusedError` (403);

3. **the purpose gate**, for the owner when the device is bound: the device is reached
   under ``device.diagnostics``, the host and the result are used under the run's
   purpose (``device.diagnostics``; ``device.diagnostics_by_staff`` on consent), so a
   restriction of processing or a withdrawn consent refuses (403, audited by the gate);
4. **the pack** keeps the kind's result under the rule the results column declares, or
   not at all (:mod:`doorstep.privacy.datamap.pack_diagnostics`).

Then one ``diagnostic_runs`` row and one ``diagnostic`` operation (origin
``diagnostic``, its id the run's, arguments ``{"run_id": …}`` only) are added in the
caller's transaction, and the start is audited (``devices.diagnostic_started``: ids,
kind, ground, ticket reference or consent event; never the host).

Importing this module registers the ``diagnostic`` handler and origin
(:mod:`.diagnostics_handler`, :mod:`.diagnostics_origin`) in the process, as the fleet
core's module lists do for every executor and the sweep.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import AuditEntry
from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import (
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from doorstep.core.logging import scrub
from doorstep.core.settings import Settings
from doorstep.devices.access import owned_device, owner_of
from doorstep.devices.fleet import diagnostics_handler as _handler  # noqa: F401 (registers it)
from doorstep.devices.fleet import diagnostics_origin as _origin  # noqa: F401 (registers it)
from doorstep.devices.fleet.diagnostics_models import (
    PURPOSE,
    RULE,
    STAFF_CONSENT_PURPOSE,
    DiagnosticKind,
    DiagnosticRun,
    GroundKind,
    RunState,
)
from doorstep.devices.fleet.diagnostics_results import check_host
from doorstep.devices.fleet.operations import (
    DeviceOperation,
    OperationKind,
    OriginKind,
    queue_operations,
)
from doorstep.devices.models import Device
from doorstep.privacy.datamap.pack_diagnostics import DiagnosticsPolicy
from doorstep.privacy.purposes import PurposeGate

ACTION = "run_diagnostics"
"""The staff permission a staff run needs (``doorstep.staff.permissions``)."""
STARTED = "devices.diagnostic_started"
REFUSED = "devices.diagnostic_refused"
ENDPOINT = "device_registrations.endpoint_id"
INPUTS = "diagnostic_runs.inputs"
RESULT = "diagnostic_runs.result"
#: An after-sales ticket's reference: an id of the ticketing system, never free text.
TICKET_FORM = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}"
_TICKET = re.compile(TICKET_FORM)
_STAFF = re.compile(r"staff:([0-9a-f-]{36})")
_SUBJECT = re.compile(r"subject:([0-9a-f-]{36})")


class StaffCheck(Protocol):
    """The staff member may do ``action`` (else a refusal is raised, audited); their actor."""

    def __call__(self, session: Session, staff_id: uuid.UUID, action: str, /) -> str: ...


def no_staff(session: Session, staff_id: uuid.UUID, action: str, /) -> str:
    """The check where no staff area is installed: every staff run is refused."""
    raise PermissionDeniedError(f"{action} refused: no staff area", action=action)


@dataclass(frozen=True, slots=True)
class Context:
    """What starting a run needs of the process: gate, pack policy, settings, clock."""

    gate: PurposeGate
    policy: DiagnosticsPolicy
    settings: Settings
    clock: Clock
    staff_check: StaffCheck = no_staff

    @classmethod
    def of(cls, services: Any, staff_check: StaffCheck | None = None) -> Context:
        """The context of a process's :class:`~doorstep.services.Services`."""
        return cls(
            services.gate,
            services.pack.diagnostics,
            services.runtime.settings,
            services.runtime.clock,
            staff_check or services.staff_action,
        )


@dataclass(frozen=True, slots=True)
class Ground:
    """Why a run is allowed: the owner's own, a ticket (its reference), or consent."""

    kind: GroundKind
    ticket: str | None = None

    @classmethod
    def owner(cls) -> Ground:
        """The device's owner asks."""
        return cls(GroundKind.OWNER)

    @classmethod
    def on_ticket(cls, reference: str) -> Ground:
        """Staff asks on the after-sales ticket ``reference``."""
        return cls(GroundKind.TICKET, reference)

    @classmethod
    def by_consent(cls) -> Ground:
        """Staff asks with the owner's consent ``device.diagnostics_by_staff``."""
        return cls(GroundKind.CONSENT)


class GroundRefusedError(PermissionDeniedError):
    """The run has no ground: staff without a ticket or consent, a consent with no owner."""

    code = "diagnostic-ground-refused"
    title = "No ground for this diagnostic"


def _refusal(
    error: Exception, reason: str, actor: str, device_id: uuid.UUID, owner: uuid.UUID | None
) -> Exception:
    """``error`` carrying its audit record (written after the rollback)."""
    entry = AuditEntry(
        action=REFUSED,
        actor=actor,
        subject_id=owner,
        purpose=PURPOSE,
        outcome="refused",
        details={"device": str(device_id), "reason": reason},
    )
    setattr(error, "audit_entry", entry)  # noqa: B010 - read by audited_transaction
    return error


def check_request(kind: object, inputs: Mapping[str, Any]) -> tuple[DiagnosticKind, str | None]:
    """The kind and host of a request, or InvalidInputError naming the field."""
    try:
        known = DiagnosticKind(str(kind))
    except ValueError:
        raise InvalidInputError.of(
            "kind", "diagnostic_kind", "the kind is ping, traceroute, download or upload"
        ) from None
    extra = sorted(set(inputs) - {"host"})
    if extra:
        raise InvalidInputError.of(extra[0], "not_allowed", "a diagnostic takes a host only")
    return known, check_host(known, inputs.get("host"))


def _ticket(reference: str | None) -> str:
    ticket = (reference or "").strip()
    if not _TICKET.fullmatch(ticket) or scrub(ticket) != ticket:
        raise InvalidInputError.of(
            "ticket", "ticket_reference", "the ticket reference is the ticketing system's id"
        )
    return ticket


def _ground(
    session: Session, device_id: uuid.UUID, ground: Ground, actor: str, context: Context
) -> tuple[uuid.UUID | None, str, str | None]:
    """The owner, the purpose and the ticket of an allowed run (see the module docstring)."""
    subject = _SUBJECT.fullmatch(actor)
    if subject is not None:
        owned = owned_device(session, uuid.UUID(subject.group(1)), device_id).subject_id
        if ground.kind is not GroundKind.OWNER:
            error = GroundRefusedError("a subscriber runs diagnostics on their own device")
            raise _refusal(error, "not_owner_ground", actor, device_id, owned)
        return owned, PURPOSE, None
    return _staff_ground(session, device_id, ground, actor, context)


def _staff_ground(
    session: Session, device_id: uuid.UUID, ground: Ground, actor: str, context: Context
) -> tuple[uuid.UUID | None, str, str | None]:
    staff = _STAFF.fullmatch(actor)
    owner = owner_of(session, device_id)
    if staff is None:
        error = GroundRefusedError("diagnostics are asked by a subscriber or staff")
        raise _refusal(error, "actor", actor, device_id, owner)
    context.staff_check(session, uuid.UUID(staff.group(1)), ACTION)
    kind = ground.kind
    if kind is GroundKind.TICKET:
        try:
            return owner, PURPOSE, _ticket(ground.ticket)
        except InvalidInputError as exc:
            raise _refusal(exc, "ticket_reference", actor, device_id, owner) from None
    if kind is GroundKind.CONSENT and owner is not None:
        return owner, STAFF_CONSENT_PURPOSE, None
    reason = "unbound" if kind is GroundKind.CONSENT else "no_ticket_or_consent"
    detail = "staff runs a diagnostic on an after-sales ticket or with the owner's consent"
    raise _refusal(GroundRefusedError(detail, reason=reason), reason, actor, device_id, owner)


def _gate(
    session: Session, gate: PurposeGate, owner: uuid.UUID | None, purpose: str, actor: str
) -> str | None:
    """Check the uses for the owner (audited refusals); the consent event relied on."""
    uses = ((ENDPOINT, PURPOSE), (INPUTS, purpose), (RESULT, purpose))
    if owner is None:  # not bound: no person's choices to apply; the declarations must hold
        for element, use in uses:
            if gate.basis(element, use) is None:
                raise ConfigurationError(f"{element} is not declared for {use}")
        return None
    access = gate.for_subject(session, owner, actor=actor)
    for element, use in uses:
        access.check(element, use)
    grant = access.snapshot.grants.get(purpose) if purpose == STAFF_CONSENT_PURPOSE else None
    return str(grant) if grant is not None else None


def _stores(policy: DiagnosticsPolicy, kind: DiagnosticKind) -> bool:
    rule = policy.rule(kind.value)
    if rule is not None and rule != RULE:
        raise ConfigurationError(
            f"the policy pack keeps {kind.value} results under rule {rule!r}, but they are "
            f"declared under {RULE!r}"
        )
    return rule is not None


def start_run(
    session: Session,
    device_id: uuid.UUID,
    kind: object,
    inputs: Mapping[str, Any],
    *,
    ground: Ground,
    actor: str,
    context: Context,
) -> uuid.UUID:
    """Check and queue one run (see the module docstring); its id."""
    known, host = check_request(kind, inputs)
    store = _stores(context.policy, known)
    if session.get(Device, device_id) is None:
        raise NotFoundError("no such device")
    owner, purpose, ticket = _ground(session, device_id, ground, actor, context)
    consent_event = _gate(session, context.gate, owner, purpose, actor)
    now = context.clock.now()
    run = DiagnosticRun(
        id=uuid.uuid4(),
        device_id=device_id,
        subject_id=owner,
        asked_by="subscriber" if _SUBJECT.fullmatch(actor) else actor,
        ground=ground.kind,
        ground_ref=ticket or consent_event,
        purpose=purpose,
        kind=known,
        inputs={"host": host} if host is not None else {},
        store=store,
        state=RunState.QUEUED,
        created_at=now,
    )
    session.add(run)
    session.flush()
    queue_operations(
        session,
        [device_id],
        OperationKind.DIAGNOSTIC,
        {"run_id": str(run.id)},
        purpose=PURPOSE,
        actor=actor,
        origin_kind=OriginKind.DIAGNOSTIC,
        origin_id=run.id,
        deadline_seconds=context.settings.diagnostics_deadline_seconds,
        clock=context.clock,
    )
    run.operation_id = _operation_id(session, run.id)
    record(
        session,
        action=STARTED,
        actor=actor,
        subject_id=owner,
        purpose=purpose,
        details={
            "run": str(run.id),
            "device": str(device_id),
            "kind": known.value,
            "ground": ground.kind.value,
            "ticket": ticket,
            "consent_event": consent_event,
            "stored": store,
        },
    )
    return run.id


def _operation_id(session: Session, run_id: uuid.UUID) -> uuid.UUID | None:
    query = sa.select(DeviceOperation.id).where(DeviceOperation.origin_id == run_id)
    return session.scalar(query)
