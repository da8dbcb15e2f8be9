"""Publishing a new version of the policy: validate, classify, store, and start the notices.

A proposed version is a policy pack folder.  :func:`preview` checks it with the
composition's pack check (``Services.check_pack``: unknown purposes, periods no
table can execute … each with file and line), reads its facts and classifies
every difference from the newest stored version (decision 0019).  :func:`publish`
then refuses, naming the rule and changing nothing:

* an id that is not ``[A-Za-z0-9][A-Za-z0-9._-]*`` (at most 64) or already used;
* an empty summary; an effective date before today or before the newest version's;
* a major version whose effective date is less than ``policy_notice_days`` away;
* marking minor what the classifier calls major without a reason, or at all
  when the change reduces rights or needs consent (always major).

The first version over the version a change of controller is bound to carries
the successor's terms: :func:`~.controller.successor_terms` adds a change that
needs each subscriber's acceptance (CPE-III.2.b).

It stores the version with its classification and documents, audits it, and
for a major version enqueues the notice run (:mod:`.fanout`) in the same
transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy.orm import Session

from doorstep.audit.entries import AuditEntry
from doorstep.core.errors import ConfigurationError, ConflictError, InvalidInputError
from doorstep.jobs.enqueue import enqueue
from doorstep.privacy.changes.controller import successor_terms
from doorstep.privacy.consent.terms import load_terms
from doorstep.privacy.datamap.pack import load_pack
from doorstep.privacy.policies import versions
from doorstep.privacy.policies.classify import Classification, classify
from doorstep.privacy.policies.facts import PolicyFacts, facts_of
from doorstep.services import Services

NOTIFY_TASK = "changes.notify"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: The purpose publishing is audited under.
PURPOSE = "privacy.rights"


class Marking(StrEnum):
    """How the publisher marks the version: as classified, major, or minor (with a reason)."""

    AUTO = "auto"
    MAJOR = "major"
    MINOR = "minor"


@dataclass(frozen=True, slots=True)
class Proposal:
    """What the publisher gives: the pack folder, id, effective date, summary and marking."""

    folder: Path
    version_id: str
    effective: date
    summary: str
    marking: Marking = Marking.AUTO
    minor_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """A proposed pack compared with the newest stored version."""

    base: versions.Version
    facts: PolicyFacts
    documents: dict[str, str]
    classification: Classification


def preview(session: Session, services: Services, folder: Path) -> Preview:
    """Check the pack in ``folder`` and classify its differences from the newest version.

    InvalidInputError (rule ``pack_invalid``, ``problems`` listing each) for a
    pack that fails the check.
    """
    clock = services.runtime.clock
    if not folder.is_dir():
        raise InvalidInputError.of("folder", "pack_folder", "the policy pack folder does not exist")
    problems = list(services.check_pack(folder))
    try:
        pack = load_pack(folder)
        terms = load_terms(pack)
        facts = facts_of(pack, terms)
    except ConfigurationError as exc:
        problems.append(exc.detail)
        pack = None
    if problems or pack is None:
        raise InvalidInputError.of(
            "folder", "pack_invalid", "the policy pack has problems", problems=problems
        )
    versions.ensure_initial(session, services.pack, services.terms, clock)
    base = versions.latest(session)
    assert base is not None
    documents = versions.documents_of(folder)
    classification = classify(base.facts, facts, texts_changed=documents != base.documents)
    takeover = successor_terms(session, base.id)
    if takeover is not None and classification.changes:
        # New terms over the version a successor is bound to need everyone's acceptance.
        classification = Classification((*classification.changes, takeover))
    return Preview(base=base, facts=facts, documents=documents, classification=classification)


def _major(proposal: Proposal, classification: Classification) -> tuple[bool, str | None]:
    """Whether the version is major, and the recorded reason of a minor marking."""
    reason = (proposal.minor_reason or "").strip() or None
    if proposal.marking is Marking.MINOR and classification.major:
        if classification.requires_acceptance:
            raise InvalidInputError.of(
                "marking",
                "always_major",
                "a change that reduces rights or needs consent is always major",
            )
        if reason is None:
            raise InvalidInputError.of(
                "minor_reason",
                "minor_reason_required",
                "marking a major change minor needs a recorded reason",
            )
        return False, reason
    return classification.major or proposal.marking is Marking.MAJOR, None


def publish(
    session: Session, services: Services, proposal: Proposal, *, actor: str
) -> versions.Version:
    """Validate, classify and store ``proposal``; enqueue its notices when it is major."""
    settings = services.runtime.settings
    now = services.runtime.clock.now()
    if not _ID.match(proposal.version_id):
        raise InvalidInputError.of(
            "version", "version_id", "a version id is letters, digits, . _ -"
        )
    if not proposal.summary.strip():
        raise InvalidInputError.of("summary", "required", "a change summary is required")
    if proposal.effective < now.date():
        raise InvalidInputError.of("effective", "not_in_past", "the effective date is in the past")
    found = preview(session, services, proposal.folder)
    if versions.get(session, proposal.version_id) is not None:
        raise ConflictError("this version id is already published", reason="version_exists")
    effective_at = versions.start_of(proposal.effective)
    if effective_at < found.base.effective_at:
        raise InvalidInputError.of(
            "effective",
            "after_current",
            "the effective date is before the newest version's",
        )
    major, reason = _major(proposal, found.classification)
    if major and effective_at < now + timedelta(days=settings.policy_notice_days):
        raise InvalidInputError.of(
            "effective",
            "notice_too_short",
            f"a major change takes effect at least {settings.policy_notice_days} days "
            "after its notice",
            notice_days=settings.policy_notice_days,
        )
    version = versions.store(
        session,
        version_id=proposal.version_id,
        effective_at=effective_at,
        summary=proposal.summary.strip(),
        facts=found.facts,
        documents=found.documents,
        classification=found.classification,
        major=major,
        minor_reason=reason,
        clock=services.runtime.clock,
    )
    AuditEntry(
        action="policy.published",
        actor=actor,
        purpose=PURPOSE,
        details={
            "policy_version": version.id,
            "major": major,
            "classified_major": found.classification.major,
            "requires_acceptance": version.requires_acceptance,
        },
        at=now,
    ).write(session)
    if major:
        enqueue(
            session, NOTIFY_TASK, queueing_lock=f"{NOTIFY_TASK}:{version.id}", version_id=version.id
        )
    return version
