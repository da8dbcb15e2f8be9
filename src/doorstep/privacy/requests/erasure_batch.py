"""Erasure of many subjects at once: one statement for the lot, still all-or-nothing per subject.

:func:`erase_subjects` does for a batch what :func:`.erasure.erase_subject` does
for one, in the caller's transaction, with fewer round trips:

* the subjects' legal holds are read in one query; a held subject is erased
  alone (its plan differs) in a savepoint of its own;
* every other subject's data key is destroyed with one durable keyring write
  (:meth:`~doorstep.keys.services.KeyService.shred_many`);
* one statement (data-modifying CTEs, as for one subject, with ``= ANY(:subjects)``)
  deletes and anonymises what the plan names, deletes the ``subjects`` rows and
  writes the tombstones, in a savepoint; each CTE returns the owner of every row it
  changed, so each subject's count is exact and its audit event says the same as
  the single erasure's;
* if that statement fails on the data (a constraint one subject's rows break, a
  trigger's refusal, a deadlock; not a programming error, which is raised), the
  savepoint is rolled back and each subject is erased alone in a savepoint of its
  own: the others still go, and the one that fails is returned with the error's
  class name, its rows untouched (bar its keyring tombstone, which is idempotent,
  as in the single erasure).

Nothing here is partial for a subject: either its whole plan ran or none of it did.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.memo import by_identity
from doorstep.keys.services import KeyService
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.holds import services as holds
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure import Hook, erase_subject, no_hook, plan_statements
from doorstep.privacy.requests.erasure_plan import NOTHING
from doorstep.privacy.requests.models import ErasureTombstone
from doorstep.privacy.requests.services import AUDIT_PURPOSE
from doorstep.privacy.subjects.linkage import Direct, Through, link_of
from doorstep.privacy.subjects.models import Subject

log = logging.getLogger("doorstep.requests.erasure")

SUBJECTS = "subjects"
#: SQLSTATE classes one subject's data can cause: data exceptions, constraints, deadlocks
#: and serialisation failures, locks not available, cancelled statements, a trigger's
#: refusal.  The batch is then retried one by one; anything else (a bug in the
#: statement: class 42) is raised.
_DATA_CLASSES = frozenset({"22", "23", "40", "55", "57", "P0"})


def _data_error(exc: DBAPIError) -> bool:
    return str(getattr(exc.orig, "sqlstate", "") or "")[:2] in _DATA_CLASSES


REQUESTS = "requests"


@dataclass(frozen=True)
class Erased:
    """What :func:`erase_subjects` did: rows changed per erased subject, and the failures."""

    rows: dict[uuid.UUID, int] = field(default_factory=dict)
    failed: dict[uuid.UUID, str] = field(default_factory=dict)
    """Subjects left as they were, with the class name of the error that stopped them."""
    alone: set[uuid.UUID] = field(default_factory=set)
    """Subjects erased (or tried) one by one: the held ones, and all after a failed batch."""


def _owner(
    metadata: sa.MetaData, table: sa.Table, among: sa.ColumnElement[Any]
) -> sa.ColumnElement[Any]:
    """The id of the subject (one of ``among``) whose row of ``table`` this is, as SQL.

    A direct link is the column itself; a link through another table is a scalar
    subquery on it, correlated to ``table`` (it reads the statement's snapshot, so
    it finds rows another CTE of the same statement deletes).
    """
    link = link_of(table)
    if isinstance(link, Direct):
        return table.c[link.column]
    if not isinstance(link, Through):  # pragma: no cover - the plan only has linked tables
        raise TypeError(f"table {table.name} does not link to its subject")
    target = metadata.tables[link.table]
    owner = _owner(metadata, target, among)
    found = sa.select(owner).where(target.c[link.key] == table.c[link.column], owner == among)
    if link.current is not None:
        found = found.where(target.c[link.current].is_(None))
    return found.correlate_except(target).limit(1).scalar_subquery()


@by_identity
def _statement(metadata: sa.MetaData, pack: PolicyPack) -> sa.Select[Any]:
    """Every subject's whole plan as one statement; rows ``(subject, changed)``.

    Mirrors :func:`.erasure._build` with nothing held.  A subject with no row left to
    change but its ``subjects`` row still gets 1; one whose tombstone existed and
    whose rows are gone gets 0 (or is missing: the caller counts 0).
    """
    subjects = sa.bindparam(SUBJECTS, type_=ARRAY(sa.Uuid))
    among = cast("sa.ColumnElement[uuid.UUID]", sa.any_(subjects))  # ``= ANY(:subjects)``
    changes = [
        dml.returning(_owner(metadata, table, among).label("s")).cte(name)
        for name, table, dml in plan_statements(metadata, pack, NOTHING, among)
    ]
    changes.append(
        sa.delete(Subject).where(Subject.id == among).returning(Subject.id.label("s")).cte("e_s")
    )
    pairs = (
        sa.func.unnest(subjects, sa.bindparam(REQUESTS, type_=ARRAY(sa.Uuid)))
        .table_valued(sa.column("s", sa.Uuid), sa.column("r", sa.Uuid))
        .render_derived()
    )
    written = (
        insert(ErasureTombstone)
        .from_select(
            ["subject_id", "request_id", "erased_at"],
            sa.select(pairs.c.s, pairs.c.r, sa.bindparam("now", type_=sa.DateTime(timezone=True))),
        )
        .on_conflict_do_nothing()
        .returning(ErasureTombstone.subject_id.label("s"))
        .cte("e_tombstones")
    )
    rows = sa.union_all(
        *(sa.select(cte.c.s, sa.literal(1).label("n")) for cte in changes),
        sa.select(written.c.s, sa.literal(0).label("n")),
    ).subquery("changed")
    return sa.select(rows.c.s, sa.func.sum(rows.c.n)).group_by(rows.c.s)


def erase_subjects(
    session: Session,
    ctx: RequestContext,
    keys: KeyService,
    subjects: Sequence[uuid.UUID],
    *,
    actor: str,
    requests: Sequence[uuid.UUID | None] | None = None,
    metadata: sa.MetaData | None = None,
    after_step: Hook = no_hook,
) -> Erased:
    """Erase every one of ``subjects`` in the caller's transaction (see the module docstring).

    ``requests`` are the requests the erasures answer, one per subject (None: none),
    written into the tombstones and the audit events as the single erasure does.
    Each subject gets its own ``subject.erased`` audit event with its own row count.
    ``after_step`` is called with ``"keys"`` and ``"rows"`` as the single erasure calls it
    (tests die there).
    """
    from doorstep.core.models import schema_metadata

    schema = metadata or schema_metadata()
    answered = list(requests) if requests is not None else [None] * len(subjects)
    if len(answered) != len(subjects):
        raise ValueError("requests must name one request (or None) per subject")
    of = dict(zip(subjects, answered, strict=True))
    done = Erased()
    standing = holds.held_many(session, list(of))
    plain = [subject for subject in of if not standing[subject]]
    for subject, request_id in of.items():
        if standing[subject]:
            _alone(session, (ctx, keys, actor, schema), subject, request_id, done)
    if not plain:
        return done
    keys.shred_many(session, plain)
    after_step("keys")
    try:
        with session.begin_nested():
            found = session.execute(
                _statement(schema, ctx.policy),
                {
                    SUBJECTS: plain,
                    REQUESTS: [of[subject] for subject in plain],
                    "now": ctx.clock.now(),
                },
            )
            changed: dict[uuid.UUID, int] = {owner: int(count) for owner, count in found}
            after_step("rows")
    except DBAPIError as exc:
        if not _data_error(exc):
            raise
        log.warning(
            "batched erasure failed, erasing one by one",
            extra={"subjects": len(plain), "error": type(exc.orig or exc).__name__},
        )
        for subject in plain:
            _alone(session, (ctx, keys, actor, schema), subject, of[subject], done)
        return done
    for subject in plain:
        done.rows[subject] = int(changed.get(subject, 0))
        record(
            session,
            action="subject.erased",
            actor=actor,
            subject_id=subject,
            purpose=AUDIT_PURPOSE,
            details={
                "request": str(of[subject]) if of[subject] else None,
                "rows": done.rows[subject],
            },
        )
    return done


_With = tuple[RequestContext, KeyService, str, sa.MetaData]


def _alone(
    session: Session, using: _With, subject: uuid.UUID, request_id: uuid.UUID | None, done: Erased
) -> None:
    """One subject's erasure in a savepoint of its own; a failure is noted, not raised."""
    ctx, keys, actor, schema = using
    done.alone.add(subject)
    try:
        with session.begin_nested():
            done.rows[subject] = erase_subject(
                session, ctx, keys, subject, request_id=request_id, actor=actor, metadata=schema
            )
    except DBAPIError as exc:
        if not _data_error(exc):
            raise
        done.failed[subject] = type(exc.orig or exc).__name__
