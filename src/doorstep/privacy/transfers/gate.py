"""The transfer gate: a flow that leaves the subject's home country passes here first.

One call, :meth:`TransferGate.transfer`, decides a flow (a :class:`Flow`: whose
data, for which purpose, to which recipient in which country, which elements)
and, when it crosses a border, in this order:

1. **origin**: the subject's home country (``subject_regions``), else the pack's
   ``transfers.home`` (CPE-VIII.1, CORP-7.1); a flow to the same country is not a
   transfer and passes untouched, with nothing recorded;
2. **mechanism**: the subject's consent to transfers to that country, or an
   adequacy finding (the pack's list or a recorded one), a standard contract or
   binding rules in force for that recipient (CPE-VIII.2, CORP-7.4); none is a
   refusal (``no_mechanism``);
3. **de-identification** where the pack says so (``transfers.deidentify``,
   CPE-VIII.3): the payload goes through the de-identifier the caller's
   composition handed the gate (:mod:`doorstep.privacy.deidentify`, see
   :func:`deidentifier_of`), then every value is checked once more
   (:mod:`.identifiers`); a direct identifier left (the de-identifier missed it,
   failed, or none was handed and the caller sent raw data) or no payload at all
   is a refusal (``not_deidentified``): it fails closed;
4. **notice** (CORP-7.3): the subject is sent a notice naming the destination
   country, the recipient, the purpose, the data and the ground, through the
   notifier the composition handed the gate, before the payload is handed back;
   a subject who cannot be told is a refusal (``notice_undeliverable``);
5. **register**: one row of ``transfers`` and one audit event (ids and names).

A refusal writes its audit event, raises :class:`TransferRefusedError` (403
``transfer-refused``, naming the missing ground) carrying the entry, so
``audited_transaction`` keeps it after the rollback; nothing else changes.
:meth:`TransferGate.store` is the same check for a write of a subject's data to a
store region of the pack (CPE-IV.1.d, CPE-I.i.1.c).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NoReturn

from sqlalchemy.orm import Session

from doorstep.audit.entries import AuditEntry
from doorstep.core.clock import Clock
from doorstep.core.errors import PermissionDeniedError
from doorstep.core.metrics import TRANSFER_REFUSALS
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.deidentify import (
    PSEUDONYMISE_ALL,
    PseudonymKey,
    Scanner,
    deidentify_payload,
)
from doorstep.privacy.transfers.identifiers import direct_identifiers
from doorstep.privacy.transfers.mechanisms import Mechanism, country_code, home_of, in_force
from doorstep.privacy.transfers.models import MechanismKind, Transfer
from doorstep.privacy.transfers.policy import TransferPolicy, transfer_policy

Payload = Mapping[str, str]
#: ``payload -> the payload with identifiers replaced by pseudonyms`` (privacy.deidentify).
Deidentifier = Callable[[Payload], Payload]


def deidentifier_of(scanner: Scanner) -> Deidentifier:
    """The gate's de-identifier from a :class:`~doorstep.privacy.deidentify.Scanner`.

    Each field is scanned as the line ``name=value``, so that a value the field's
    name labels (``serial_number=…``) is recognised too; the label is then removed.
    """

    def deidentify(payload: Payload) -> Payload:
        cleaned = {}
        for name, value in payload.items():
            line = deidentify_payload(f"{name}={value}", scanner)
            cleaned[name] = line.removeprefix(f"{name}=")
        return cleaned

    return deidentify


def keyed_deidentifier(deployment_secret: str, *, generation: int = 1) -> Deidentifier:
    """The production de-identifier: every kind pseudonymised under the transfers' key.

    The key is derived from the deployment secret (recipient ``transfers``), so a
    pseudonym is stable across processes and restarts and changes with
    ``generation``.  The scanner is compiled on first use, not when the process
    starts; a scanner that cannot be built raises, and the gate refuses the flow.
    """
    built: list[Deidentifier] = []

    def deidentify(payload: Payload) -> Payload:
        if not built:
            key = PseudonymKey.derive(
                deployment_secret, recipient="transfers", generation=generation
            )
            built.append(deidentifier_of(Scanner(PSEUDONYMISE_ALL, key)))
        return built[0](payload)

    return deidentify


class RefusalReason(StrEnum):
    """The ground a refused transfer lacked; the ``missing`` field of the problem."""

    NO_MECHANISM = "no_mechanism"
    NOT_DEIDENTIFIED = "not_deidentified"
    NOTICE_UNDELIVERABLE = "notice_undeliverable"


class TransferRefusedError(PermissionDeniedError):
    """A flow across a border was refused; carries the audit entry already written."""

    code = "transfer-refused"
    title = "Transfer refused"

    def __init__(self, entry: AuditEntry, *, destination: str, missing: RefusalReason) -> None:
        super().__init__(
            f"transfer to {destination} refused: {missing.value}",
            destination=destination,
            missing=missing.value,
        )
        self.audit_entry = entry


@dataclass(frozen=True, slots=True)
class Flow:
    """A flow of data: whose, why, to whom, where, what (names, never values).

    ``recipient`` is a recipient key of the pack (or ``region:<key>`` for a store);
    ``subject_id`` is None for a data set that names no subject.
    """

    purpose: str
    recipient: str
    destination: str
    elements: tuple[str, ...]
    subject_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class TransferNotice:
    """What the subject is told before the transfer (CORP-7.3)."""

    subject_id: uuid.UUID
    destination: str
    recipient: str
    purpose: str
    elements: tuple[str, ...]
    mechanism: MechanismKind


#: ``(session, notice) -> outbox id of the message sent, or None if the subject cannot be told``.
Notifier = Callable[[Session, TransferNotice], uuid.UUID | None]


@dataclass(frozen=True, slots=True)
class Passed:
    """A flow the gate let through: the payload to send and its register row (None: domestic)."""

    payload: Payload | None
    transfer_id: uuid.UUID | None = None
    mechanism: MechanismKind | None = None
    deidentified: bool = False


@dataclass(frozen=True, slots=True)
class _Ground:
    kind: MechanismKind
    mechanism_id: uuid.UUID | None


@dataclass
class TransferGate:
    """The gate of one process: the pack's transfer policy and the composition's hooks."""

    policy: TransferPolicy
    deidentifier: Deidentifier | None = None
    notifier: Notifier | None = None

    @classmethod
    def from_pack(
        cls,
        pack: PolicyPack,
        *,
        deidentifier: Deidentifier | None = None,
        notifier: Notifier | None = None,
    ) -> TransferGate:
        """The gate of ``pack`` (its ``transfers:`` and ``regions:``)."""
        return cls(transfer_policy(pack), deidentifier=deidentifier, notifier=notifier)

    def transfer(
        self,
        session: Session,
        flow: Flow,
        *,
        clock: Clock,
        actor: str,
        payload: Payload | None = None,
    ) -> Passed:
        """Decide ``flow`` and, across a border, register it; see the module docstring."""
        return self._pass(session, flow, clock=clock, actor=actor, payload=payload, data=True)

    def _pass(
        self,
        session: Session,
        flow: Flow,
        *,
        clock: Clock,
        actor: str,
        payload: Payload | None,
        data: bool,
    ) -> Passed:
        destination = country_code(flow.destination, "destination")
        origin = home_of(session, flow.subject_id, self.policy.home)
        if destination == origin:
            return Passed(payload)
        ground = self._ground(session, flow, destination, clock)
        if ground is None:
            self._refuse(session, flow, destination, RefusalReason.NO_MECHANISM, actor)
        deidentified = data and self.policy.needs_deidentification(
            consented=ground.kind is MechanismKind.CONSENT
        )
        if deidentified:
            payload = self._deidentified(session, flow, destination, payload, actor)
        notice_id = self._notify(session, flow, destination, ground, actor)
        transfer_id = uuid.uuid4()
        session.add(
            Transfer(
                id=transfer_id,
                subject_id=flow.subject_id,
                origin=origin,
                destination=destination,
                recipient=flow.recipient,
                purpose=flow.purpose,
                elements=list(flow.elements),
                mechanism=ground.kind,
                mechanism_id=ground.mechanism_id,
                deidentified=deidentified,
                notice_id=notice_id,
                transferred_at=clock.now(),
            )
        )
        self._entry(flow, destination, actor, "ok", transfer=str(transfer_id)).write(session)
        return Passed(payload, transfer_id, ground.kind, deidentified)

    def store(
        self,
        session: Session,
        *,
        subject_id: uuid.UUID,
        region: str,
        purpose: str,
        elements: tuple[str, ...],
        clock: Clock,
        actor: str,
    ) -> Passed:
        """Check a write of the subject's ``elements`` to a store in ``region`` of the pack.

        The same as :meth:`transfer` but for de-identification: a store keeps the
        subject's data as it is, so a mechanism and the notice are what it needs.
        """
        flow = Flow(
            purpose, f"region:{region}", self.policy.country_of(region), elements, subject_id
        )
        return self._pass(session, flow, clock=clock, actor=actor, payload=None, data=False)

    def _ground(
        self, session: Session, flow: Flow, destination: str, clock: Clock
    ) -> _Ground | None:
        found: list[Mechanism] = in_force(
            session,
            country=destination,
            recipient=flow.recipient,
            subject_id=flow.subject_id,
            today=clock.now().date(),
        )
        if found:
            return _Ground(found[0].kind, found[0].id)
        if destination in self.policy.adequacy:
            return _Ground(MechanismKind.ADEQUACY, None)
        return None

    def _deidentified(
        self,
        session: Session,
        flow: Flow,
        destination: str,
        payload: Payload | None,
        actor: str,
    ) -> Payload:
        if payload is None:
            self._refuse(session, flow, destination, RefusalReason.NOT_DEIDENTIFIED, actor)
        cleaned = payload
        if self.deidentifier is not None:
            try:
                cleaned = self.deidentifier(payload)
            except Exception:  # a failing de-identifier leaves the raw payload: refused below
                cleaned = payload
        left = direct_identifiers(cleaned)
        if left:
            self._refuse(
                session,
                flow,
                destination,
                RefusalReason.NOT_DEIDENTIFIED,
                actor,
                kinds=".".join(sorted(set().union(*left.values()))),
            )
        return cleaned

    def _notify(
        self, session: Session, flow: Flow, destination: str, ground: _Ground, actor: str
    ) -> uuid.UUID | None:
        if flow.subject_id is None:
            return None
        notice = TransferNotice(
            flow.subject_id, destination, flow.recipient, flow.purpose, flow.elements, ground.kind
        )
        notice_id = self.notifier(session, notice) if self.notifier is not None else None
        if notice_id is None:
            self._refuse(session, flow, destination, RefusalReason.NOTICE_UNDELIVERABLE, actor)
        return notice_id

    def _entry(
        self, flow: Flow, destination: str, actor: str, outcome: str, **details: str
    ) -> AuditEntry:
        return AuditEntry(
            action="transfers.transfer",
            actor=actor,
            subject_id=flow.subject_id,
            purpose=flow.purpose,
            outcome=outcome,
            details={"destination": destination, "recipient": flow.recipient, **details},
        )

    def _refuse(
        self,
        session: Session,
        flow: Flow,
        destination: str,
        reason: RefusalReason,
        actor: str,
        **details: str,
    ) -> NoReturn:
        entry = self._entry(flow, destination, actor, "refused", reason=reason.value, **details)
        entry.write(session)
        TRANSFER_REFUSALS.labels(reason.value).inc()
        raise TransferRefusedError(entry, destination=destination, missing=reason)
