"""The subscriber's consent to its messages being carried abroad (CPE-VIII.2, decision 0035).

The outbox's e-mail, text messages and push notifications pass the sharing gate
and, when the processor that carries the channel for the subscriber
(:meth:`~doorstep.privacy.sharing.gate.SharingGate.carrier`) is in another
country than the subscriber's home, the transfer gate.  An address cannot be
de-identified, so such a delivery needs the subscriber's consent when no
mechanism of the operator covers (country, processor), or when the pack
de-identifies what leaves without consent (``transfers.deidentify:
without_consent``).  With ``always`` nothing can leave at all.

* :func:`destinations` — for a home country and channels, each processor abroad
  (a :class:`Destination`): country, the pack's description, whether a delivery
  needs the subscriber's consent, whether one can go at all;
* :func:`require_at_signup` — sign-up's check, before anything is stored or sent:
  a needed consent not given is :class:`TransferConsentRequiredError` (422 naming
  each destination, the notice of CORP-7.3), a carrier abroad under ``always`` is
  :class:`TransferImpossibleError` (403);
* :func:`grant` / :func:`withdraw` — a consent mechanism (``transfer_mechanisms``,
  kind ``consent``, naming the subject and the processor) recorded or revoked,
  audited by :mod:`doorstep.privacy.transfers.mechanisms`; a grant while one is in
  force records nothing, a withdrawal revokes every one for that processor;
* :func:`carriers_of` — a subscriber's processors abroad with their consent state
  (the API's ``/me/transfers`` and the privacy center's consents page).

The gate decides at each delivery, so a withdrawal stops the next message of
that channel (sign-in codes included).  Nothing here holds a personal-data value
beyond the subject's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import Clock
from doorstep.core.errors import InvalidInputError, PermissionDeniedError
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.pack_recipients import CHANNELS
from doorstep.privacy.sharing.gate import SharingGate
from doorstep.privacy.transfers.mechanisms import (
    Mechanism,
    add_mechanism,
    home_of,
    in_force,
    revoke_mechanism,
)
from doorstep.privacy.transfers.models import MechanismKind, TransferMechanism
from doorstep.privacy.transfers.notices import recipient_name
from doorstep.privacy.transfers.policy import Deidentify

#: The field of the sign-up body, and the rule its refusal names.
FIELD = "transfer_consent"
RULE = "transfer_consent_required"
#: The reference a consent given at sign-up carries.
SIGNUP = "signup"


@dataclass(frozen=True, slots=True)
class Destination:
    """A processor abroad that carries one of the subscriber's channels."""

    channel: str
    recipient: str
    country: str
    description: str
    #: A delivery needs the subscriber's consent (no operator mechanism, or no plain address).
    needs_consent: bool
    #: False when the pack de-identifies everything that leaves: no address can go.
    possible: bool = True

    def notice(self) -> dict[str, str]:
        """What the subscriber is told of it (CORP-7.3): no personal data."""
        return {
            "channel": self.channel,
            "country": self.country,
            "recipient": self.recipient,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class Carrier:
    """A destination with the subscriber's consent in force for it (None: none)."""

    destination: Destination
    consent: Mechanism | None

    @property
    def delivers(self) -> bool:
        """Whether the gate lets this channel's messages go now."""
        return self.destination.possible and (
            not self.destination.needs_consent or self.consent is not None
        )


class TransferConsentRequiredError(InvalidInputError):
    """Sign-up's messages would go abroad, and the subscriber has not agreed (nothing stored)."""

    code = "transfer-consent-required"
    title = "Transfer consent required"


class TransferImpossibleError(PermissionDeniedError):
    """The pack de-identifies everything that leaves: no code can reach the subscriber."""

    code = "transfer-impossible"
    title = "Messages cannot be carried abroad"


def destinations(
    session: Session,
    sharing: SharingGate,
    pack: PolicyPack,
    *,
    home: str,
    channels: Iterable[str],
    today: date,
) -> list[Destination]:
    """Each processor abroad carrying one of ``channels`` for a subscriber whose home is ``home``.

    Empty when the sharing gate holds no transfer gate (no flow is checked for
    borders then).
    """
    if sharing.transfers is None:
        return []
    policy = sharing.transfers.policy
    found = []
    for channel in dict.fromkeys(channels):
        key = sharing.carrier(channel, home)
        country = sharing.recipients[key].country.upper() if key is not None else ""
        if key is None or not country or country == home:
            continue
        # The operator's mechanisms only (subject None): a consent is what is asked here.
        covered = country in policy.adequacy or bool(
            in_force(session, country=country, recipient=key, subject_id=None, today=today)
        )
        found.append(
            Destination(
                channel,
                key,
                country,
                recipient_name(pack, key),
                needs_consent=not covered or policy.needs_deidentification(consented=False),
                possible=policy.deidentify is not Deidentify.ALWAYS,
            )
        )
    return found


def require_at_signup(
    session: Session,
    sharing: SharingGate | None,
    pack: PolicyPack,
    *,
    home: str,
    channels: Iterable[str],
    consent: bool,
    today: date,
) -> list[Destination]:
    """The destinations whose consent sign-up records; raise when sign-up cannot go on.

    Decided from the form alone (never from whether an identifier is taken).
    """
    if sharing is None:
        return []
    found = destinations(session, sharing, pack, home=home, channels=channels, today=today)
    impossible = [item.notice() for item in found if not item.possible]
    if impossible:
        raise TransferImpossibleError(
            "the messages of this sign-up would leave the country, and the policy pack "
            "lets no address leave",
            reason="deidentify_always",
            destinations=impossible,
        )
    needed = [item for item in found if item.needs_consent]
    if needed and not consent:
        raise TransferConsentRequiredError(
            "the sign-up's messages are carried abroad: agree to the transfer to go on",
            errors=[{"field": FIELD, "rule": RULE}],
            destinations=[item.notice() for item in needed],
        )
    return needed


def consents_of(session: Session, subject_id: uuid.UUID) -> dict[str, Mechanism]:
    """The subject's transfer consents in force, by processor (the newest of each)."""
    rows = session.scalars(
        sa.select(TransferMechanism)
        .where(
            TransferMechanism.subject_id == subject_id,
            TransferMechanism.kind == MechanismKind.CONSENT,
            TransferMechanism.revoked_at.is_(None),
            TransferMechanism.recipient.is_not(None),
        )
        .order_by(TransferMechanism.recorded_at)
    )
    return {
        str(row.recipient): Mechanism(
            row.id,
            row.kind,
            row.country,
            row.recipient,
            row.subject_id,
            row.reference,
            row.signed_on,
            row.expires_on,
            revoked=False,
        )
        for row in rows
    }


def grant(
    session: Session,
    subject_id: uuid.UUID,
    destination: Destination,
    *,
    clock: Clock,
    actor: str,
    reference: str,
) -> tuple[Mechanism, bool]:
    """Record the subject's consent to ``destination``: ``(consent, recorded now)``."""
    existing = consents_of(session, subject_id).get(destination.recipient)
    if existing is not None and existing.country == destination.country:
        return existing, False
    return (
        add_mechanism(
            session,
            kind=MechanismKind.CONSENT,
            country=destination.country,
            recipient=destination.recipient,
            subject_id=subject_id,
            reference=reference,
            clock=clock,
            actor=actor,
        ),
        True,
    )


def withdraw(
    session: Session, subject_id: uuid.UUID, recipient: str, *, clock: Clock, actor: str
) -> list[Mechanism]:
    """Revoke every consent of the subject for ``recipient`` in force; the ones revoked."""
    ids = session.scalars(
        sa.select(TransferMechanism.id).where(
            TransferMechanism.subject_id == subject_id,
            TransferMechanism.kind == MechanismKind.CONSENT,
            TransferMechanism.recipient == recipient,
            TransferMechanism.revoked_at.is_(None),
        )
    ).all()
    return [revoke_mechanism(session, mechanism, clock=clock, actor=actor) for mechanism in ids]


def carriers_of(
    session: Session, sharing: SharingGate, pack: PolicyPack, subject_id: uuid.UUID, *, today: date
) -> tuple[str, list[Carrier]]:
    """The subject's home country and every processor abroad carrying one of its channels."""
    home = home_of(session, subject_id, sharing.home)
    consents = consents_of(session, subject_id)
    found = destinations(session, sharing, pack, home=home, channels=CHANNELS, today=today)
    return home, [Carrier(item, consents.get(item.recipient)) for item in found]
