"""The purpose gate: every use of personal data names its purpose and is checked here.

A use of element ``table.column`` for ``purpose`` is allowed only when

1. the purpose is declared for the element in the data map,
2. its legal basis holds: where the basis is consent, the subject's latest
   ledger event for the purpose is a grant, and
3. no restriction of processing is in force for the subject and purpose, and
4. the purpose is one the policy version governing the subject allows: a
   subject who has not accepted a version that needs acceptance stays under the
   version they accepted (CPE-VII.1), so a purpose only the newer one has is
   refused for them (``policy_not_accepted``).

Anything else raises :class:`PurposeRefusedError` (fields ``element``,
``purpose``, ``reason``: safe names and codes) and is written to the audit
trail.  Allowed uses are written when asked (``audit=True``); every use that
reaches a person's data should ask.

Speed: :meth:`PurposeGate.from_datamap` precomputes ``{(element, purpose): basis}``
once; :meth:`PurposeGate.for_subject` loads the subject's consents and
restrictions in one query into an immutable :class:`SubjectAccess`, whose
:meth:`~SubjectAccess.check` is a few dictionary and set look-ups.  A snapshot
belongs to one unit of work (a request, a job): a withdrawal committed after it
was taken is seen by the next unit of work, not by this one.

Legal basis of a use: consent when the purpose is consent-based in the pack's
``consent.yaml``; otherwise the basis the element declares.  An element that
declares consent may only name consent-based purposes (start-up fails otherwise).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import USE_ACTION, AuditEntry, DetailValue
from doorstep.core.errors import ConfigurationError, PurposeRefusedError
from doorstep.core.metrics import PURPOSE_REFUSALS, UNDECLARED
from doorstep.privacy.consent.models import ConsentAction
from doorstep.privacy.consent.terms import ConsentTerms, load_terms
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.registry import personal_elements
from doorstep.privacy.purposes._snapshot import Snapshot, load_snapshot
from doorstep.vocabulary.declarations import LegalBasis, PersonalData

_CONSENT = LegalBasis.CONSENT


class RefusalReason(StrEnum):
    """Why the gate said no; the ``reason`` field of the error and the audit record."""

    UNKNOWN_PURPOSE = "unknown_purpose"
    UNKNOWN_ELEMENT = "unknown_element"
    PURPOSE_NOT_DECLARED = "purpose_not_declared"
    UNKNOWN_SUBJECT = "unknown_subject"
    RESTRICTED = "restricted"
    NO_CONSENT = "no_consent"
    CONSENT_REFUSED = "consent_refused"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    POLICY_NOT_ACCEPTED = "policy_not_accepted"


_CONSENT_REASONS: Mapping[ConsentAction | None, RefusalReason] = {
    ConsentAction.WITHDRAW: RefusalReason.CONSENT_WITHDRAWN,
    ConsentAction.REFUSE: RefusalReason.CONSENT_REFUSED,
}


class GateRefusedError(PurposeRefusedError):
    """A refusal of the gate; carries the audit entry already written for it."""

    def __init__(self, entry: AuditEntry, *, element: str, purpose: str, reason: str) -> None:
        super().__init__(
            f"use of {element} for purpose {purpose} refused: {reason}",
            element=element,
            purpose=purpose,
            reason=reason,
        )
        self.audit_entry = entry


def build_index(
    metadata: sa.MetaData, pack: PolicyPack, terms: ConsentTerms
) -> dict[tuple[str, str], LegalBasis]:
    """``{(element, purpose): legal basis}`` for every declared use; raise on contradictions."""
    index: dict[tuple[str, str], LegalBasis] = {}
    problems: list[str] = []
    consent_purposes = terms.consent_purposes
    for element, declaration in personal_elements(metadata):
        for purpose in declaration.purposes:
            if purpose not in pack.purposes:
                problems.append(f"{element}: unknown purpose {purpose!r}")
            elif purpose in consent_purposes:
                index[(element, purpose)] = _CONSENT
            elif declaration.legal_basis is _CONSENT:
                problems.append(
                    f"{element}: legal basis consent, but purpose {purpose!r} is not "
                    "consent-based in consent.yaml"
                )
            else:
                index[(element, purpose)] = declaration.legal_basis
    if problems:
        raise ConfigurationError("purpose gate: " + "; ".join(problems), problems=problems)
    return index


@dataclass(frozen=True, slots=True)
class PurposeGate:
    """The precomputed rules; build once per process with :meth:`from_datamap`.

    ``declarations`` maps every personal-data element to its data-map declaration;
    ``terms`` are the consent terms it was built with (those of the pack in force).
    """

    index: Mapping[tuple[str, str], LegalBasis]
    purposes: frozenset[str]
    declarations: Mapping[str, PersonalData]
    consent_purposes: frozenset[str]
    terms: ConsentTerms

    @classmethod
    def from_datamap(
        cls, metadata: sa.MetaData, pack: PolicyPack, terms: ConsentTerms | None = None
    ) -> PurposeGate:
        """Index the data map of ``metadata`` against ``pack`` (and its consent terms)."""
        terms = terms if terms is not None else load_terms(pack)
        index = build_index(metadata, pack, terms)
        return cls(
            index=MappingProxyType(index),
            purposes=frozenset(pack.purposes),
            declarations=MappingProxyType(dict(personal_elements(metadata))),
            consent_purposes=terms.consent_purposes,
            terms=terms,
        )

    def basis(self, element: str, purpose: str) -> LegalBasis | None:
        """The legal basis of using ``element`` for ``purpose``; None when not declared."""
        return self.index.get((element, purpose))

    def for_subject(self, session: Session, subject_id: uuid.UUID, *, actor: str) -> SubjectAccess:
        """Load the subject's consents and restrictions (one query) for one unit of work."""
        return SubjectAccess(self, session, subject_id, actor, load_snapshot(session, subject_id))

    def require(
        self,
        session: Session,
        subject_id: uuid.UUID,
        element: str,
        purpose: str,
        *,
        actor: str,
        audit: bool = True,
        details: Mapping[str, DetailValue] | None = None,
    ) -> None:
        """Check one use on a fresh snapshot; audited unless ``audit=False``."""
        self.for_subject(session, subject_id, actor=actor).check(
            element, purpose, audit=audit, details=details
        )


@dataclass(frozen=True, slots=True, eq=False)
class SubjectAccess:
    """An immutable snapshot of what may be done with one subject's data, and by whom.

    ``check`` reads nothing from the database; it writes only the audit records
    of refusals, and of allowed uses when ``audit=True``.
    """

    gate: PurposeGate
    session: Session
    subject_id: uuid.UUID
    actor: str
    snapshot: Snapshot
    index: Mapping[tuple[str, str], LegalBasis] = field(init=False)
    granted: frozenset[str] = field(init=False)
    restricted: frozenset[str] = field(init=False)
    exists: bool = field(init=False)
    #: Purposes the version governing the subject does not allow (empty: the newest governs).
    withheld: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        # Flattened copies of what check() reads, so the hot path is a handful of look-ups.
        object.__setattr__(self, "index", self.gate.index)
        object.__setattr__(self, "granted", self.snapshot.granted)
        object.__setattr__(self, "restricted", frozenset(self.snapshot.restrictions))
        object.__setattr__(self, "exists", self.snapshot.exists)
        allowed = self.snapshot.governing_purposes
        object.__setattr__(
            self,
            "withheld",
            frozenset() if allowed is None else self.gate.purposes - allowed,
        )

    def check(
        self,
        element: str,
        purpose: str,
        *,
        audit: bool = False,
        details: Mapping[str, DetailValue] | None = None,
    ) -> None:
        """Allow the use or raise :class:`PurposeRefusedError` (refusals are always audited).

        With ``audit=True`` an allowed use is recorded too (with the legal basis
        and, under consent, the id of the grant it relied on).
        """
        basis = self.index.get((element, purpose))
        if (
            basis is None
            or purpose in self.restricted
            or purpose in self.withheld
            or (basis is _CONSENT and purpose not in self.granted)
            or not self.exists
        ):
            self._refuse(element, purpose)
        if audit:
            self.record_use(element, purpose, details=details)

    def allows(self, element: str, purpose: str) -> bool:
        """Whether the use would be allowed; pure, records nothing."""
        return self.reason(element, purpose) is None

    def reason(self, element: str, purpose: str) -> RefusalReason | None:
        """Why the use would be refused (None when it would be allowed); pure."""
        basis = self.gate.index.get((element, purpose))
        if basis is None:
            return self._undeclared(element, purpose)
        if not self.snapshot.exists:
            return RefusalReason.UNKNOWN_SUBJECT
        if purpose in self.snapshot.restrictions:
            return RefusalReason.RESTRICTED
        if purpose in self.withheld:
            return RefusalReason.POLICY_NOT_ACCEPTED
        if basis is _CONSENT and purpose not in self.snapshot.grants:
            latest = self.snapshot.decisions.get(purpose)
            return _CONSENT_REASONS.get(latest, RefusalReason.NO_CONSENT)
        return None

    def _undeclared(self, element: str, purpose: str) -> RefusalReason:
        if purpose not in self.gate.purposes:
            return RefusalReason.UNKNOWN_PURPOSE
        if element not in self.gate.declarations:
            return RefusalReason.UNKNOWN_ELEMENT
        return RefusalReason.PURPOSE_NOT_DECLARED

    def record_use(
        self, element: str, purpose: str, *, details: Mapping[str, DetailValue] | None = None
    ) -> None:
        """Write the audit record of an allowed use (call after :meth:`check`)."""
        basis = self.index.get((element, purpose))
        recorded: dict[str, DetailValue] = {"basis": basis.value if basis else None}
        grant = self.snapshot.grants.get(purpose)
        if basis is _CONSENT and grant is not None:
            recorded["consent_event"] = str(grant)
        if details:
            recorded.update(details)
        AuditEntry(
            action=USE_ACTION,
            actor=self.actor,
            subject_id=self.subject_id,
            purpose=purpose,
            element=element,
            details=recorded,
        ).write(self.session)

    def _refuse(self, element: str, purpose: str) -> NoReturn:
        reason = self.reason(element, purpose) or RefusalReason.PURPOSE_NOT_DECLARED
        entry = AuditEntry(
            action=USE_ACTION,
            actor=self.actor,
            subject_id=self.subject_id,
            purpose=purpose,
            element=element,
            outcome="refused",
            details={"reason": reason.value},
        )
        entry.write(self.session)
        PURPOSE_REFUSALS.labels(
            purpose if purpose in self.gate.purposes else UNDECLARED,
            element if element in self.gate.declarations else UNDECLARED,
            reason.value,
        ).inc()
        raise GateRefusedError(entry, element=element, purpose=purpose, reason=reason.value)
