"""Who acknowledged, accepted or refused which version, and which version governs them.

* :func:`acknowledge` — onboarding (CPE-0.5): sign-up and the first binding
  record the version in force, the channel and the instant, in the caller's
  transaction, before the account or binding row; a sign-up that names another
  version than the one in force is refused (``policy_not_acknowledged``).
* :func:`answer` — a subscriber accepts or refuses a version that needs
  acceptance (CPE-VII.1); a refusal changes nothing else: the version they
  accepted before keeps governing them.
* :func:`governing_id` (pure) and :func:`governing` — the version that governs
  a subject: the newest version in force they acknowledged or accepted, carried
  forward through every later version in force that needs no acceptance, and
  stopped at the first that needs one they have not given.  A subject with no
  answer starts at the first version.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import AuditEntry, subject_actor
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.consent.terms import ConsentTerms
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.policies import versions
from doorstep.privacy.policies.models import AnswerChannel, AnswerKind, PolicyAnswer

#: The purpose under which answers are kept (datamap.yaml), as for the consent ledger.
LEDGER_PURPOSE = "consent.management"
NOT_ACKNOWLEDGED = "policy_not_acknowledged"
_AUDIT_ACTIONS = {
    AnswerKind.ACKNOWLEDGE: "policy.acknowledged",
    AnswerKind.ACCEPT: "policy.accepted",
    AnswerKind.REFUSE: "policy.refused",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer of a subject to a version."""

    id: uuid.UUID
    subject_id: uuid.UUID
    version_id: str
    kind: AnswerKind
    channel: AnswerChannel
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Policy:
    """What the policy services need of the process: the pack in force and its consent terms."""

    pack: PolicyPack
    terms: ConsentTerms


def _channel(value: AnswerChannel | str) -> AnswerChannel:
    try:
        return AnswerChannel(value)
    except ValueError:
        raise InvalidInputError(
            "unknown channel", errors=[{"field": "channel", "rule": "channel"}]
        ) from None


def _write(
    session: Session,
    *,
    subject_id: uuid.UUID,
    version_id: str,
    kind: AnswerKind,
    channel: AnswerChannel,
    clock: Clock,
) -> Answer:
    answer = Answer(uuid.uuid4(), subject_id, version_id, kind, channel, clock.now())
    session.execute(
        sa.insert(PolicyAnswer).values(
            id=answer.id,
            subject_id=subject_id,
            version_id=version_id,
            kind=kind,
            channel=channel,
            occurred_at=answer.occurred_at,
        )
    )
    AuditEntry(
        action=_AUDIT_ACTIONS[kind],
        actor=subject_actor(subject_id),
        subject_id=subject_id,
        purpose=LEDGER_PURPOSE,
        details={"policy_version": version_id, "channel": channel.value},
        at=answer.occurred_at,
    ).write(session)
    return answer


def version_to_acknowledge(session: Session, policy: Policy, clock: Clock) -> versions.Version:
    """The version onboarding shows and records: the one in force now."""
    versions.ensure_initial(session, policy.pack, policy.terms, clock)
    found = versions.in_force(session, clock.now())
    if found is None:  # only versions that take effect later: the oldest of them
        stored = versions.all_versions(session)
        found = stored[0]
    return found


def acknowledge(
    session: Session,
    *,
    subject_id: uuid.UUID,
    shown: str | None,
    channel: AnswerChannel | str,
    policy: Policy,
    clock: Clock,
) -> Answer:
    """Record that the subject was shown version ``shown`` and acknowledged it (CPE-0.5).

    ``shown`` must be the version in force: None or any other id is an
    :class:`InvalidInputError` with rule ``policy_not_acknowledged`` (the caller
    shows the policy again).  The subject row must already exist (same transaction).
    """
    via = _channel(channel)
    current = version_to_acknowledge(session, policy, clock)
    if shown != current.id:
        raise InvalidInputError(
            "the privacy policy in force was not acknowledged",
            errors=[{"field": "policy_version", "rule": NOT_ACKNOWLEDGED}],
            reason=NOT_ACKNOWLEDGED,
            policy_version=current.id,
        )
    return _write(
        session,
        subject_id=subject_id,
        version_id=current.id,
        kind=AnswerKind.ACKNOWLEDGE,
        channel=via,
        clock=clock,
    )


def has_answered(session: Session, subject_id: uuid.UUID) -> bool:
    """Whether the subject ever acknowledged or accepted a version."""
    return bool(
        session.scalar(
            sa.select(
                sa.exists().where(
                    PolicyAnswer.subject_id == subject_id, PolicyAnswer.kind != AnswerKind.REFUSE
                )
            )
        )
    )


def answers_of(session: Session, subject_id: uuid.UUID) -> list[Answer]:
    """Every answer of the subject, oldest first."""
    rows = session.scalars(
        sa.select(PolicyAnswer)
        .where(PolicyAnswer.subject_id == subject_id)
        .order_by(PolicyAnswer.occurred_at, PolicyAnswer.id)
    )
    return [
        Answer(row.id, row.subject_id, row.version_id, row.kind, row.channel, row.occurred_at)
        for row in rows
    ]


def answer(
    session: Session,
    *,
    subject_id: uuid.UUID,
    version_id: str,
    accept: bool,
    channel: AnswerChannel | str,
    clock: Clock,
) -> Answer:
    """Accept or refuse a version that needs acceptance.

    NotFoundError for an unknown version; ConflictError when it needs no
    acceptance (reason ``no_acceptance_needed``) or was already accepted
    (``already_accepted``).  Refusing again is allowed and recorded.
    """
    via = _channel(channel)
    found = versions.get(session, version_id)
    if found is None:
        raise NotFoundError("no such policy version")
    if not found.requires_acceptance:
        raise ConflictError("this version needs no acceptance", reason="no_acceptance_needed")
    if any(
        item.version_id == version_id and item.kind is AnswerKind.ACCEPT
        for item in answers_of(session, subject_id)
    ):
        raise ConflictError("this version was already accepted", reason="already_accepted")
    return _write(
        session,
        subject_id=subject_id,
        version_id=version_id,
        kind=AnswerKind.ACCEPT if accept else AnswerKind.REFUSE,
        channel=via,
        clock=clock,
    )


@dataclass(frozen=True, slots=True)
class VersionStep:
    """A version in force as :func:`governing_id` reads it: id, and whether it needs acceptance."""

    id: str
    requires_acceptance: bool


def governing_id(in_force: Sequence[VersionStep], accepted: Collection[str]) -> str | None:
    """The id of the version governing a subject (see the module docstring); pure.

    ``in_force`` is every version in force, oldest first; ``accepted`` the ids
    the subject acknowledged or accepted.
    """
    if not in_force:
        return None
    start = max((index for index, step in enumerate(in_force) if step.id in accepted), default=0)
    governing = in_force[start].id
    for step in in_force[start + 1 :]:
        if step.requires_acceptance:
            break
        governing = step.id
    return governing


def governing(
    session: Session, subject_id: uuid.UUID, *, policy: Policy, clock: Clock
) -> versions.Version:
    """The version that governs ``subject_id`` now (CPE-VII.1)."""
    versions.ensure_initial(session, policy.pack, policy.terms, clock)
    now = clock.now()
    stored = [item for item in versions.all_versions(session) if item.effective_at <= now]
    if not stored:
        return version_to_acknowledge(session, policy, clock)
    accepted = {
        item.version_id
        for item in answers_of(session, subject_id)
        if item.kind is not AnswerKind.REFUSE
    }
    found = governing_id([VersionStep(v.id, v.requires_acceptance) for v in stored], accepted)
    return next(item for item in stored if item.id == found)


def pending(
    session: Session, subject_id: uuid.UUID, *, policy: Policy, clock: Clock
) -> list[versions.Version]:
    """Versions that need the subject's answer: major, needing acceptance, neither accepted
    nor refused, and newer than the newest version the subject acknowledged or accepted.

    The privacy center and the app show a notice for each until the subject responds.
    """
    versions.ensure_initial(session, policy.pack, policy.terms, clock)
    stored = versions.all_versions(session)
    answered = answers_of(session, subject_id)
    responded = {item.version_id for item in answered}
    order = {item.id: index for index, item in enumerate(stored)}
    base = max(
        (order[item.version_id] for item in answered if item.kind is not AnswerKind.REFUSE),
        default=0,
    )
    return [
        item
        for index, item in enumerate(stored)
        if index > base and item.requires_acceptance and item.id not in responded
    ]
