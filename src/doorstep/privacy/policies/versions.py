"""Stored versions: the first one recorded from the pack in force, by id, in force at T.

"In force at T" is by effective date: the version with the latest
``effective_at`` not after T (CPE-VII.5).  :func:`ensure_initial` records the
pack loaded at start-up as the first version when none is stored (idempotent,
safe to race); every reader calls it first, so a fresh database always has one.
:func:`store` writes a published version; the publish workflow
(:mod:`doorstep.privacy.changes`) validates and classifies before it calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.core.clock import Clock
from doorstep.privacy.consent.terms import TERMS_FILE, ConsentTerms
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.policies.classify import Change, Classification
from doorstep.privacy.policies.facts import PolicyFacts, facts_of
from doorstep.privacy.policies.models import PolicyVersion

#: Files of a pack stored with a version: its texts and declarations (by suffix).
DOCUMENT_SUFFIXES = (".yaml", ".yml", ".txt", ".md")
#: The id of the first version when the pack's consent terms name none.
FIRST_VERSION = "1"
INITIAL_SUMMARY = "The policy in force when Doorstep started recording versions."


@dataclass(frozen=True, slots=True)
class Version:
    """One stored version, as services hand it out."""

    id: str
    effective_at: datetime
    published_at: datetime
    summary: str
    classified_major: bool
    major: bool
    minor_reason: str | None
    requires_acceptance: bool
    changes: tuple[Change, ...]
    facts: PolicyFacts
    documents: dict[str, str]

    @property
    def major_changes(self) -> tuple[Change, ...]:
        """The changes the classifier found major."""
        return tuple(change for change in self.changes if change.major)


def _of(row: PolicyVersion) -> Version:
    return Version(
        id=row.id,
        effective_at=row.effective_at,
        published_at=row.published_at,
        summary=row.summary,
        classified_major=row.classified_major,
        major=row.major,
        minor_reason=row.minor_reason,
        requires_acceptance=row.requires_acceptance,
        changes=tuple(Change.from_json(item) for item in row.changes),
        facts=PolicyFacts.from_json(row.facts),
        documents={str(key): str(value) for key, value in row.documents.items()},
    )


def documents_of(path: Path) -> dict[str, str]:
    """The pack's text files by name (declarations and policy texts), sorted."""
    return {
        item.name: item.read_text(encoding="utf-8")
        for item in sorted(path.iterdir())
        if item.is_file() and item.suffix in DOCUMENT_SUFFIXES
    }


def published_date(path: Path) -> date | None:
    """``policy.published`` of the pack's consent terms (the date of its first version)."""
    try:
        raw = yaml.safe_load((path / TERMS_FILE).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    spec = raw.get("policy") if isinstance(raw, dict) else None
    value = spec.get("published") if isinstance(spec, dict) else None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def start_of(day: date) -> datetime:
    """Midnight UTC of ``day``: effective dates are whole days."""
    return datetime.combine(day, time(), tzinfo=UTC)


def ensure_initial(session: Session, pack: PolicyPack, terms: ConsentTerms, clock: Clock) -> None:
    """Record the pack in force as the first version when no version is stored (idempotent)."""
    if session.scalar(sa.select(sa.exists().select_from(PolicyVersion))):
        return
    now = clock.now()
    day = published_date(Path(pack.path))
    values: dict[str, Any] = {
        "id": terms.policy.version if terms.policy is not None else FIRST_VERSION,
        "effective_at": start_of(day) if day is not None else now,
        "published_at": now,
        "summary": INITIAL_SUMMARY,
        "classified_major": False,
        "major": False,
        "minor_reason": None,
        "requires_acceptance": False,
        "changes": [],
        "facts": facts_of(pack, terms).to_json(),
        "documents": documents_of(Path(pack.path)),
    }
    # Two first readers may race: the same id, so the second one does nothing.
    session.execute(insert(PolicyVersion).values(**values).on_conflict_do_nothing())


_ORDER = (PolicyVersion.effective_at, PolicyVersion.published_at)


def all_versions(session: Session) -> list[Version]:
    """Every stored version, oldest effective date first."""
    return [_of(row) for row in session.scalars(sa.select(PolicyVersion).order_by(*_ORDER))]


def get(session: Session, version_id: str) -> Version | None:
    """The version with ``version_id``, or None."""
    row = session.get(PolicyVersion, version_id)
    return None if row is None else _of(row)


def in_force(session: Session, at: datetime) -> Version | None:
    """The version in force at ``at`` (latest effective date not after it), or None."""
    row = session.scalars(
        sa.select(PolicyVersion)
        .where(PolicyVersion.effective_at <= at)
        .order_by(*(column.desc() for column in _ORDER))
        .limit(1)
    ).first()
    return None if row is None else _of(row)


def latest(session: Session) -> Version | None:
    """The newest version published (the base a proposed version is compared with)."""
    row = session.scalars(
        sa.select(PolicyVersion).order_by(*(column.desc() for column in _ORDER)).limit(1)
    ).first()
    return None if row is None else _of(row)


def store(
    session: Session,
    *,
    version_id: str,
    effective_at: datetime,
    summary: str,
    facts: PolicyFacts,
    documents: dict[str, str],
    classification: Classification,
    major: bool,
    minor_reason: str | None,
    clock: Clock,
) -> Version:
    """Write a published version (the caller validated it); return it."""
    row = PolicyVersion(
        id=version_id,
        effective_at=effective_at,
        published_at=clock.now(),
        summary=summary,
        classified_major=classification.major,
        major=major,
        minor_reason=minor_reason,
        requires_acceptance=classification.requires_acceptance,
        changes=[change.to_json() for change in classification.changes],
        facts=facts.to_json(),
        documents=documents,
    )
    session.add(row)
    session.flush()
    return _of(row)
