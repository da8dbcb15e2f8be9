"""What changing from one policy pack to another does to the data already stored.

:func:`compare` lists, without a database, the purposes the new pack removes
(with the schema's columns that still declare them) and the retention periods
it shortens (with the tables bound to the rule).  :func:`count` adds what the
database holds: the consent records of each removed purpose, the rows holding
an element that declares it, and per table the rows a shortened period makes
due at once (due under the new period, not yet under the old).  Counts read
only: nothing is changed, and nothing personal is printed — ids and values
never leave the database, only numbers.  :func:`classify_packs` adds what
publishing ``new`` as a policy version would say of it: each difference major
or minor against the triggers of decision 0019
(:func:`doorstep.privacy.policies.classify.classify`, as ``doorstep policy
preview`` does).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from doorstep.privacy.datamap.pack import PolicyPack, Trigger
from doorstep.privacy.policies.classify import Classification
from doorstep.vocabulary.declarations import INFO_KEY, PersonalData

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from doorstep.core.settings import Settings


@dataclass(frozen=True, slots=True)
class RemovedPurpose:
    """A purpose of the old pack the new one lacks.

    ``elements`` are the schema's columns (``table.column``) that still declare it;
    ``consent_records`` and ``rows`` (table -> rows holding one of its elements)
    are None until counted.
    """

    key: str
    elements: tuple[str, ...]
    consent_records: int | None = None
    rows: tuple[tuple[str, int], ...] | None = None


@dataclass(frozen=True, slots=True)
class ShortenedPeriod:
    """A retention rule whose period the new pack shortens; ``tables`` bind it.

    ``due_at_once`` (table -> rows) is None until counted; a table whose binding
    does not sweep (erased with the subject) has no count.
    """

    rule: str
    trigger: Trigger
    old: timedelta
    new: timedelta
    tables: tuple[str, ...]
    due_at_once: tuple[tuple[str, int], ...] | None = None


@dataclass(frozen=True, slots=True)
class PackDiff:
    """The changes that touch stored data; ``counted`` says whether a database was read."""

    removed: tuple[RemovedPurpose, ...]
    shortened: tuple[ShortenedPeriod, ...]
    counted: bool = False


def _declaring(metadata: sa.MetaData, purpose: str) -> list[sa.Column[object]]:
    """The columns whose declaration names ``purpose``, by table and column name."""
    found = [
        column
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(declaration := column.info.get(INFO_KEY), PersonalData)
        and purpose in declaration.purposes
    ]
    return sorted(found, key=lambda column: (str(column.table.name), str(column.name)))


def _bound_tables(metadata: sa.MetaData, rule: str) -> tuple[str, ...]:
    from doorstep.privacy.retention.registry import collect

    return tuple(sorted({str(b.table.name) for b in collect(metadata) if b.binding.rule == rule}))


def compare(old: PolicyPack, new: PolicyPack, metadata: sa.MetaData) -> PackDiff:
    """The removed purposes and shortened periods from ``old`` to ``new`` (no counts)."""
    removed = tuple(
        RemovedPurpose(
            key,
            tuple(f"{column.table.name}.{column.name}" for column in _declaring(metadata, key)),
        )
        for key in sorted(set(old.purposes) - set(new.purposes))
    )
    shortened = tuple(
        ShortenedPeriod(
            key,
            new.retention[key].trigger,
            rule.period,
            new.retention[key].period,
            _bound_tables(metadata, key),
        )
        for key, rule in sorted(old.retention.items())
        if key in new.retention
        and rule.trigger is not Trigger.NOT_STORED
        and new.retention[key].period < rule.period
    )
    return PackDiff(removed, shortened)


def count(
    diff: PackDiff,
    session: Session,
    *,
    old: PolicyPack,
    new: PolicyPack,
    metadata: sa.MetaData,
    settings: Settings,
    now: datetime,
) -> PackDiff:
    """``diff`` with the database's counts (read only; the caller rolls back)."""
    from doorstep.privacy.consent.models import ConsentEvent
    from doorstep.privacy.retention.registry import collect
    from doorstep.privacy.retention.targets import make_target

    removed = []
    for item in diff.removed:
        records = session.scalar(sa.select(sa.func.count()).where(ConsentEvent.purpose == item.key))
        by_table: dict[str, list[sa.Column[object]]] = {}
        for column in _declaring(metadata, item.key):
            by_table.setdefault(str(column.table.name), []).append(column)
        rows = tuple(
            (
                name,
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(metadata.tables[name])
                    .where(sa.or_(*(column.is_not(None) for column in columns)))
                )
                or 0,
            )
            for name, columns in by_table.items()
        )
        removed.append(replace(item, consent_records=records or 0, rows=rows))
    shortened = []
    for period in diff.shortened:
        due: list[tuple[str, int]] = []
        for bound in collect(metadata):
            if bound.binding.rule != period.rule or not bound.binding.sweeps:
                continue
            before = make_target(bound.table, bound.binding, old, settings)
            after = make_target(bound.table, bound.binding, new, settings)
            if not after.sweeps:
                continue
            already = (before.count_due(session, now) or 0) if before.sweeps else 0
            extra = (after.count_due(session, now) or 0) - already
            due.append((str(bound.table.name), max(extra, 0)))
        shortened.append(replace(period, due_at_once=tuple(due)))
    return PackDiff(tuple(removed), tuple(shortened), counted=True)


def classify_packs(old: PolicyPack, new: PolicyPack) -> Classification:
    """Each difference from ``old`` to ``new`` classified major or minor (decision 0019).

    The same comparison as publishing ``new`` over a version made from ``old``:
    the facts of each pack (purposes, consent terms, periods, recipients, rights …)
    and, as a minor change, whether their files differ.  ConfigurationError names
    a pack file that cannot be read.
    """
    from pathlib import Path

    from doorstep.privacy.consent.terms import load_terms
    from doorstep.privacy.policies.classify import classify
    from doorstep.privacy.policies.facts import facts_of
    from doorstep.privacy.policies.versions import documents_of

    changed = documents_of(Path(old.path)) != documents_of(Path(new.path))
    return classify(
        facts_of(old, load_terms(old)), facts_of(new, load_terms(new)), texts_changed=changed
    )
