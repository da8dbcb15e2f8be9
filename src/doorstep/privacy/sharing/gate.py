"""The sharing gate: every outbound flow of personal data to a recipient is checked here.

A flow names the recipient (a key of the pack's recipient registry), the
purpose, the subject and the payload (element name → value; an element is a
data-map ``table.column`` or one key of a JSON column, ``outbox.params.code``).
It is let through only on a ground (decision 0030):

* **processor contract** — a processor with an active agreement;
* **group necessity** — a group entity with an active agreement and a recorded
  necessity reason for the purpose (CORP-3.2);
* **partner necessity** — a business partner whose share is ``minimal_necessary``
  for after-sales maintenance or transport of goods (CORP-3.3, decision 0020);
* **consent** — the subject's explicit, latest decision for this recipient and
  purpose is a grant (CPE-III.1.a, III.2.a), with an active agreement;
* **legal demand** — a recorded demand naming this recipient, subject and
  purpose, with authority, legal reference, scope and approver (CPE-III.1.b,
  CORP-3.5).  Authorities receive nothing else; a public disclosure needs
  consent or a legal demand (CPE-III.3.a).

Every recipient but an authority or the public needs an agreement in force on
the day of the flow (CPE-III.1.c), and a flow for a purpose the recipient has
no share for is refused.  The payload is cut to the share's minimal set (or the
demand's scope) before it leaves (CORP-3.1); an element the caller marks
``required`` that would be cut refuses the flow instead.  A flow to a recipient
in another country then passes the transfer gate (CORP-3.7, :mod:`.crossing`):
refused there without a mechanism, or de-identified, noticed and registered.

:meth:`SharingGate.carrier` names the processor that carries an outbox channel
for a subject: several may carry one channel, one per country, and the one in
the subject's home country is chosen first (decision 0035).

:meth:`SharingGate.evaluate` is pure and fast (the bench measures it);
:meth:`SharingGate.release` reads the ground (one query), evaluates, and writes
the disclosure register (ids, elements and ground, never a value) and the
audit trail in the caller's transaction.  A refusal raises
:class:`SharingRefusedError` carrying its audit entry (``audited_transaction``
keeps it on record after the rollback); nothing else changes.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import NoReturn, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import AuditEntry
from doorstep.core.clock import Clock
from doorstep.core.errors import ConfigurationError
from doorstep.core.metrics import SHARING_REFUSALS, UNDECLARED
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.pack_recipients import (
    UNSIGNED_ROLES,
    RecipientPolicy,
    Role,
)
from doorstep.privacy.datamap.registry import personal_elements
from doorstep.privacy.sharing.crossing import cross, standing_notice
from doorstep.privacy.sharing.decisions import (
    Decision,
    Refusal,
    Refused,
    Release,
    SharingRefusedError,
    column_of,
    ground_of,
    needs_consent,
    passes,
)
from doorstep.privacy.sharing.grounds import DemandScope, consent_of, demand_scope
from doorstep.privacy.sharing.models import Disclosure, DisclosureBasis, Ground
from doorstep.privacy.transfers.gate import Flow, TransferGate
from doorstep.privacy.transfers.policy import transfer_policy

V = TypeVar("V")

#: Audit action of every flow the gate decided; ``outcome`` says ``ok`` or ``refused``.
ACTION = "sharing.flow"


@dataclass(frozen=True, slots=True)
class SharingGate:
    """The recipient registry in force, indexed once per process (:meth:`from_pack`)."""

    recipients: Mapping[str, RecipientPolicy]
    #: Per outbox channel, the processors that carry it, in the pack's order.
    channels: Mapping[str, tuple[str, ...]]
    #: The transfer gate a flow to a recipient in another country passes (CORP-3.7).
    transfers: TransferGate | None = None
    #: The pack's country of collection (``transfers.home``; empty when it names none).
    home: str = ""

    @classmethod
    def from_pack(
        cls, pack: PolicyPack, metadata: sa.MetaData, *, transfers: TransferGate | None = None
    ) -> SharingGate:
        """Index ``pack``'s registry; a share may name only elements of ``metadata``'s data map.

        ``transfers`` is the transfer gate a flow abroad passes (CORP-3.7); the
        sharing gate keeps a copy whose notifier tells a subject once per
        recipient, country, purpose and ground (:func:`.crossing.standing_notice`).
        """
        known = {element for element, _ in personal_elements(metadata)}
        problems = [
            f"recipients.{key}.shares.{share.purpose}: unknown element {element!r}"
            for key, policy in pack.sharing.items()
            for share in policy.shares.values()
            for element in sorted(share.elements)
            if column_of(element) not in known
        ]
        if problems:
            raise ConfigurationError("sharing gate: " + "; ".join(problems), problems=problems)
        channels: dict[str, tuple[str, ...]] = {}
        for key, policy in pack.sharing.items():
            if policy.channel:
                channels[policy.channel] = (*channels.get(policy.channel, ()), key)
        home = transfers.policy.home if transfers is not None else _pack_home(pack)
        if transfers is not None and transfers.notifier is not None:
            transfers = dataclasses.replace(transfers, notifier=standing_notice(transfers.notifier))
        return cls(
            MappingProxyType(dict(pack.sharing)), MappingProxyType(channels), transfers, home
        )

    def carrier(self, channel: str, home: str | None = None) -> str | None:
        """The processor that carries outbox ``channel`` for a subject whose home is ``home``.

        The one in ``home``, else the one in the pack's home country (a carrier
        without a country is counted there), else the first the pack declares
        (decision 0035); None when the operator's own infrastructure carries it.
        """
        keys = self.channels.get(channel, ())
        for country in (home, self.home):
            for key in keys if country else ():
                if (self.recipients[key].country.upper() or self.home) == country:
                    return key
        return keys[0] if keys else None

    def evaluate(
        self,
        recipient: str,
        purpose: str,
        *,
        today: date,
        consent: bool | None = None,
        demand: DemandScope | None = None,
    ) -> Decision:
        """Decide one flow from what is known (pure); raise ``Refused`` with the reason.

        ``consent``: the subject's latest decision for recipient and purpose (None:
        none recorded, False: withdrawn).  ``demand``: the scope of the legal demand
        the caller relies on.
        """
        policy = self.recipients.get(recipient)
        if policy is None:
            raise Refused(Refusal.UNKNOWN_RECIPIENT)
        role = policy.role
        if role not in UNSIGNED_ROLES:
            if policy.agreement is None:
                raise Refused(Refusal.NO_AGREEMENT)
            if not policy.agreement.active_on(today):
                raise Refused(Refusal.AGREEMENT_NOT_ACTIVE)
        if demand is not None and role in UNSIGNED_ROLES:
            if demand.recipient != recipient or demand.purpose != purpose:
                raise Refused(Refusal.DEMAND_MISMATCH)
            return Decision(Ground.LEGAL_DEMAND, demand.scope)
        if role is Role.AUTHORITY:
            raise Refused(Refusal.NO_LEGAL_DEMAND)
        share = policy.shares.get(purpose)
        if share is None:
            raise Refused(Refusal.PURPOSE_NOT_SHARED)
        return Decision(ground_of(policy, share, consent), share.elements)

    def check(
        self,
        recipient: str,
        purpose: str,
        *,
        today: date,
        consent: bool | None = None,
        demand: DemandScope | None = None,
    ) -> Refusal | None:
        """Why the flow would be refused, or None when it would pass (pure; records nothing)."""
        try:
            self.evaluate(recipient, purpose, today=today, consent=consent, demand=demand)
        except Refused as refused:
            return refused.reason
        return None

    def release(
        self,
        session: Session,
        *,
        subject_id: uuid.UUID,
        recipient: str,
        purpose: str,
        payload: Mapping[str, V],
        clock: Clock,
        actor: str,
        required: Collection[str] = (),
        demand_id: uuid.UUID | None = None,
    ) -> Release:
        """Check one flow, cut its payload, write the register; raise :class:`SharingRefusedError`.

        Consent is read only when the role and share need it; ``demand_id`` names the
        recorded legal demand the flow relies on.
        """
        now = clock.now()
        policy = self.recipients.get(recipient)
        consent: bool | None = None
        consent_id: uuid.UUID | None = None
        if policy is not None and demand_id is None and needs_consent(policy, purpose):
            consent, consent_id = consent_of(session, subject_id, recipient, purpose)
        demand = None
        if demand_id is not None:
            demand = demand_scope(session, demand_id, subject_id)
            if demand is None:
                self._refuse(
                    session,
                    subject_id=subject_id,
                    recipient=recipient,
                    purpose=purpose,
                    reason=Refusal.DEMAND_MISMATCH,
                    actor=actor,
                )
        try:
            decision = self.evaluate(
                recipient, purpose, today=now.date(), consent=consent, demand=demand
            )
        except Refused as refused:
            self._refuse(
                session,
                subject_id=subject_id,
                recipient=recipient,
                purpose=purpose,
                reason=refused.reason,
                actor=actor,
            )
        kept = {key: value for key, value in payload.items() if passes(key, decision.allowed)}
        withheld = tuple(sorted(key for key in payload if key not in kept))
        if any(key not in kept for key in required):
            self._refuse(
                session,
                subject_id=subject_id,
                recipient=recipient,
                purpose=purpose,
                reason=Refusal.ELEMENT_NOT_SHARED,
                actor=actor,
            )
        if self.transfers is not None and policy is not None and policy.country:
            # The seam with privacy.transfers (decision 0031, CORP-3.7): one call; a
            # domestic flow passes untouched, a transfer is refused, de-identified or
            # registered there (.crossing).
            crossing = tuple(sorted({column_of(key) for key in kept}))
            flow = Flow(purpose, recipient, policy.country, crossing, subject_id)
            crossed = cross(
                self.transfers, session, flow, kept, required=required, clock=clock, actor=actor
            )
            if crossed is None:
                self._refuse(
                    session,
                    subject_id=subject_id,
                    recipient=recipient,
                    purpose=purpose,
                    reason=Refusal.NOT_DEIDENTIFIABLE,
                    actor=actor,
                )
            kept = dict(crossed)  # type: ignore[arg-type]  # de-identified text
        ref = demand_id if decision.ground is Ground.LEGAL_DEMAND else consent_id
        elements = sorted({column_of(key) for key in kept})
        disclosure_id = _register(
            session,
            subject_id=subject_id,
            recipient=recipient,
            purpose=purpose,
            elements=elements,
            ground=decision.ground,
            ref=ref,
            now=now,
        )
        AuditEntry(
            action=ACTION,
            actor=actor,
            subject_id=subject_id,
            purpose=purpose,
            details={
                "recipient": recipient,
                "ground": decision.ground.value,
                "ground_ref": str(ref) if ref else None,
                "elements": len(elements),
                "withheld": len(withheld),
            },
        ).write(session)
        return Release(
            recipient, purpose, decision.ground, MappingProxyType(kept), withheld, disclosure_id
        )

    def _refuse(
        self,
        session: Session,
        *,
        subject_id: uuid.UUID,
        recipient: str,
        purpose: str,
        reason: Refusal,
        actor: str,
    ) -> NoReturn:
        entry = AuditEntry(
            action=ACTION,
            actor=actor,
            subject_id=subject_id,
            purpose=purpose,
            outcome="refused",
            details={"recipient": recipient, "reason": reason.value},
        )
        entry.write(session)
        label = recipient if recipient in self.recipients else UNDECLARED
        SHARING_REFUSALS.labels(label, reason.value).inc()
        raise SharingRefusedError(entry, recipient=recipient, purpose=purpose, reason=reason.value)


def _pack_home(pack: PolicyPack) -> str:
    """The pack's ``transfers.home``; empty for a pack that names no country at all."""
    try:
        return transfer_policy(pack).home
    except ConfigurationError:
        return ""


def _register(
    session: Session,
    *,
    subject_id: uuid.UUID,
    recipient: str,
    purpose: str,
    elements: list[str],
    ground: Ground,
    ref: uuid.UUID | None,
    now: datetime,
) -> uuid.UUID | None:
    """Write the register row, if the subject still exists (a message after erasure has none)."""
    basis = (
        DisclosureBasis.LEGAL_EXCEPTION
        if ground is Ground.LEGAL_DEMAND
        else DisclosureBasis.OPERATOR
    )
    row_id = uuid.uuid4()
    subjects = sa.table("subjects", sa.column("id"))
    values = sa.select(
        sa.literal(row_id, sa.Uuid()),
        sa.literal(subject_id, sa.Uuid()),
        sa.literal(recipient),
        sa.literal(purpose),
        sa.literal(elements, Disclosure.elements.type),
        sa.literal(basis, Disclosure.basis.type),
        sa.literal(now, Disclosure.disclosed_at.type),
        sa.literal(ground, Disclosure.ground.type),
        sa.literal(ref, sa.Uuid()),
    ).where(sa.exists().where(subjects.c.id == subject_id))
    return session.execute(
        sa.insert(Disclosure)
        .from_select(
            [
                "id",
                "subject_id",
                "recipient",
                "purpose",
                "elements",
                "basis",
                "disclosed_at",
                "ground",
                "ground_ref",
            ],
            values,
        )
        .returning(Disclosure.id)
    ).scalar_one_or_none()
