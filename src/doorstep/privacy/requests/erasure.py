"""Erasure of a subject, driven by the data map: one transaction, resumable, never partial.

The plan (:func:`plan`) reads every personal column's retention rule:

* **kept** — evidence the law asks for: rules counted from the request's close
  (``subject_request``, ``deregistration_request``), the audit trail (its own
  retention, pseudonymous ids only), and device registration records (the
  device's, anonymised by the retention sweep two years after it goes offline;
  with the binding gone they no longer point at the subject);
* **erased** — everything else.

A table whose personal columns are all erased loses the subject's rows; a table
with both kinds has the erased columns set to NULL (anonymised).  Tables that
the database empties by ``ON DELETE CASCADE``/``SET NULL`` from ``subjects``
are left to it: the schema already says how they go.  Then the subject's data
key is destroyed (crypto-shredding every copy of its secrets, backups
included), the ``subjects`` row is deleted, and a tombstone is written.

All of it is one transaction, so a worker killed half-way leaves nothing
changed (bar the keyring tombstone, which ``destroy`` writes first and which is
idempotent); the job is retried and finishes.  The accounts area's
deregistration erasure (``accounts.deregistration.erasure``) keeps the account's pseudonymous
tombstone row for ``account_deregistered`` answers, so it stays a separate
flow; this one removes the subject entirely.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.errors import ConflictError
from doorstep.core.memo import by_identity
from doorstep.keys.services import KeyService
from doorstep.privacy.datamap.pack import PolicyPack, Trigger
from doorstep.privacy.requests import notices
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.linkage import (
    Unlinkable,
    link_of,
    personal_columns,
    personal_tables,
    rows_of,
)
from doorstep.privacy.requests.models import ErasureTombstone, RequestKind, SubjectRequest
from doorstep.privacy.requests.services import (
    AUDIT_PURPOSE,
    complete,
    get,
    require_verified,
)
from doorstep.privacy.sharing.models import NoticeKind
from doorstep.privacy.sharing.services import disclosed_recipients, notify_recipients
from doorstep.privacy.subjects.models import Subject

KEPT_TRIGGERS = frozenset({Trigger.REQUEST_CLOSED, Trigger.DEVICE_OFFLINE})
KEPT_RULES = frozenset({"audit_trail"})
Hook = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TableStep:
    """What erasure does to a table.

    ``delete``, ``anonymise`` (``columns`` to NULL), ``keep``, ``cascade`` (the
    foreign keys do it) or ``unlinkable``.
    """

    table: str
    action: str
    columns: tuple[str, ...] = ()


def _kept(pack: PolicyPack, rule: str) -> bool:
    found = pack.retention.get(rule)
    return rule in KEPT_RULES or (found is not None and found.trigger in KEPT_TRIGGERS)


def _cascades(table: sa.Table) -> bool:
    """Whether deleting the ``subjects`` row reaches this table through the foreign keys."""
    for column in table.columns:
        for fk in column.foreign_keys:
            if fk.ondelete not in ("CASCADE", "SET NULL"):
                continue
            target = fk.column.table
            if target.name == "subjects" or _cascades(target):
                return True
    return False


def plan(metadata: sa.MetaData, pack: PolicyPack) -> list[TableStep]:
    """The erasure plan for every linked personal table (``subjects`` itself last)."""
    steps = []
    for table in personal_tables(metadata):
        if table.name == "subjects":
            continue
        erased = tuple(c.name for c, d in personal_columns(table) if not _kept(pack, d.retention))
        if isinstance(link_of(table), Unlinkable):
            steps.append(TableStep(str(table.name), "unlinkable"))
        elif not erased:
            steps.append(TableStep(str(table.name), "keep"))
        elif _cascades(table):
            steps.append(TableStep(str(table.name), "cascade", erased))
        elif len(erased) == len(personal_columns(table)):
            steps.append(TableStep(str(table.name), "delete"))
        else:
            steps.append(TableStep(str(table.name), "anonymise", erased))
    return steps


SUBJECT = "subject"


@by_identity
def _statement(metadata: sa.MetaData, pack: PolicyPack) -> sa.Select[Any]:
    """The whole plan for one subject as one statement (data-modifying CTEs).

    Every CTE sees the database as it was when the statement began, so a table
    reached ``Through`` another (``device_pppoe`` through ``device_bindings``)
    still finds the subject's rows even though they go in the same statement;
    the deletion of the ``subjects`` row then lets the foreign keys cascade.
    Returns the count of rows deleted or anonymised by the CTEs and whether the
    tombstone was new.
    """
    subject = sa.bindparam(SUBJECT, type_=sa.Uuid)
    changes: list[sa.CTE] = []
    for index, step in enumerate(plan(metadata, pack)):
        if step.action not in ("delete", "anonymise"):
            continue
        table = metadata.tables[step.table]
        where = rows_of(metadata, table, subject)
        if where is None:  # pragma: no cover - unlinked tables fail the test suite
            continue
        dml = (
            sa.delete(table).where(where)
            if step.action == "delete"
            else sa.update(table).where(where).values(dict.fromkeys(step.columns))
        )
        changes.append(dml.returning(sa.literal_column("1").label("n")).cte(f"e{index}"))
    changes.append(
        sa.delete(Subject)
        .where(Subject.id == subject)
        .returning(sa.literal_column("1").label("n"))
        .cte("e_subject")
    )
    tombstone = (
        insert(ErasureTombstone)
        .values(
            subject_id=subject,
            request_id=sa.bindparam("request", type_=sa.Uuid),
            erased_at=sa.bindparam("now", type_=sa.DateTime(timezone=True)),
        )
        .on_conflict_do_nothing()
        .returning(sa.literal_column("1").label("n"))
        .cte("e_tombstone")
    )
    counted = [sa.select(sa.func.count()).select_from(cte).scalar_subquery() for cte in changes]
    total: sa.ColumnElement[Any] = counted[0]
    for more in counted[1:]:
        total = total + more
    written = sa.select(sa.func.count()).select_from(tombstone).scalar_subquery()
    return sa.select(total.label("changed"), written.label("tombstoned"))


def _nothing(step: str) -> None:
    return None


def erase_subject(
    session: Session,
    ctx: RequestContext,
    keys: KeyService,
    subject_id: uuid.UUID,
    *,
    request_id: uuid.UUID | None,
    actor: str,
    metadata: sa.MetaData | None = None,
    after_step: Hook = _nothing,
) -> int:
    """Apply the plan to the subject in the caller's transaction; return rows changed.

    The keyring tombstone is written first (crypto-shredding every copy of the
    subject's secrets at once); then one statement deletes and anonymises
    everything the plan names, the ``subjects`` row, and writes the erasure
    tombstone.  ``after_step`` is called with ``"keys"`` and ``"rows"`` (tests
    use it to die half-way).
    """
    from doorstep.core.models import schema_metadata

    schema = schema_metadata()

    keys.shred(session, subject_id)
    after_step("keys")
    now = ctx.clock.now()
    changed, _ = session.execute(
        _statement(metadata or schema, ctx.policy),
        {SUBJECT: subject_id, "request": request_id, "now": now},
    ).one()
    after_step("rows")
    record(
        session,
        action="subject.erased",
        actor=actor,
        subject_id=subject_id,
        purpose=AUDIT_PURPOSE,
        details={"request": str(request_id) if request_id else None, "rows": int(changed)},
    )
    return int(changed)


def erase_for_request(
    session: Session,
    ctx: RequestContext,
    keys: KeyService,
    request_id: uuid.UUID,
    *,
    actor: str,
    after_step: Hook = _nothing,
) -> SubjectRequest:
    """Carry out a verified deletion request and complete it (a completed one is a no-op).

    The requester's address and the recipients of the subject's data are read
    before the erasure: the confirmation (``request.completed``) still reaches
    the requester (the last message queued for the subject; its outbox row goes
    with the outbox's own retention), and every recipient in the disclosure
    register is asked to erase too, or skipped with the reason (CPE-V.3.c).
    """
    row = get(session, request_id, lock=True)
    if row.kind is not RequestKind.DELETION:
        raise ConflictError("not a deletion request", reason="kind")
    if row.closed_at is not None:
        return row
    require_verified(row)
    to = notices.reach(session, ctx.gate, row.subject_id, row.id)
    recipients = disclosed_recipients(session, row.subject_id)
    erase_subject(
        session,
        ctx,
        keys,
        row.subject_id,
        request_id=row.id,
        actor=actor,
        after_step=after_step,
    )
    record(
        session,
        action="request.erasure_ground",
        actor=actor,
        subject_id=row.subject_id,
        purpose=AUDIT_PURPOSE,
        details={"request": str(row.id), "ground": row.ground},
    )
    notify_recipients(
        session,
        subject_id=row.subject_id,
        request_id=row.id,
        kind=NoticeKind.ERASURE,
        recipients=recipients,
        pack=ctx.policy,
        clock=ctx.clock,
        actor=actor,
    )
    return complete(session, ctx, row.id, actor=actor, reach=to)


def tombstones(session: Session) -> list[uuid.UUID]:
    """Every erased subject's id, for safe keeping outside the backups."""
    return list(session.scalars(sa.select(ErasureTombstone.subject_id).order_by("subject_id")))


def replay(
    session: Session,
    ctx: RequestContext,
    keys: KeyService,
    subject_ids: list[uuid.UUID],
    *,
    actor: str,
) -> int:
    """Erase again every listed subject a restored backup brought back; return how many."""
    present = session.scalars(sa.select(Subject.id).where(Subject.id.in_(subject_ids)))
    count = 0
    for subject_id in list(present):
        erase_subject(session, ctx, keys, subject_id, request_id=None, actor=actor)
        count += 1
    return count
