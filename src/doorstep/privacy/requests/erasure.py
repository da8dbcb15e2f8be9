"""Erasure of a subject, driven by the data map: one transaction, resumable, never partial.

The plan (:func:`~.erasure_plan.plan`) reads every personal column's retention rule:

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

**Legal holds** (:mod:`doorstep.privacy.holds`, decision 0021): when a hold of
the subject stands, the plan keeps what it holds — a held table's rows, a held
column (the row stays; its other personal columns are emptied where they may
be NULL and the table has no CHECK rule an emptied column could break), and
the rows a held row hangs on through a cascading foreign key — and erases the
rest; the ``subjects`` row stays (its cascades would reach the held
rows), the data key stays when a held element is encrypted, and no tombstone is
written yet.  The request is answered in part with the refusal code
``LEGAL_HOLD`` and stays open; the job is deferred until a hold is released,
when it runs again and finishes (CPE-IV.3.b, CPE-V.5.d).

The request lifecycle around it (locking the request, legal holds' partial
answers, recipients, connected systems, the completion) is
:mod:`.erasure_requests`.

All of it is one transaction, so a worker killed half-way leaves nothing
changed (bar the keyring tombstone, which ``destroy`` writes first and which is
idempotent); the job is retried and finishes.  The accounts area's
deregistration erasure (``accounts.deregistration.erasure``) keeps the account's pseudonymous
tombstone row for ``account_deregistered`` answers, so it stays a separate
flow; this one removes the subject entirely.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.memo import by_identity
from doorstep.keys.services import KeyService
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.holds import services as holds
from doorstep.privacy.holds.elements import Held, keeps_key
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure_plan import NOTHING, plan
from doorstep.privacy.requests.linkage import rows_of
from doorstep.privacy.requests.models import ErasureTombstone
from doorstep.privacy.requests.services import AUDIT_PURPOSE
from doorstep.privacy.subjects.models import Subject

Hook = Callable[[str], None]
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
    return _build(metadata, pack, NOTHING)


def plan_statements(
    metadata: sa.MetaData, pack: PolicyPack, held: Held, subject: sa.ColumnElement[uuid.UUID]
) -> Iterator[tuple[str, sa.Table, sa.Delete | sa.Update]]:
    """The plan's deletions and anonymisations of ``subject``'s rows, each with a CTE name
    and its table; the caller says what each returns."""
    for index, step in enumerate(plan(metadata, pack, held)):
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
        yield f"e{index}", table, dml


def _build(metadata: sa.MetaData, pack: PolicyPack, held: Held) -> sa.Select[Any]:
    """:func:`_statement` for ``held``; with anything held, the subject and its key stay
    and no tombstone is written (the erasure is not finished)."""
    subject = sa.bindparam(SUBJECT, type_=sa.Uuid)
    changes = [
        dml.returning(sa.literal_column("1").label("n")).cte(name)
        for name, _, dml in plan_statements(metadata, pack, held, subject)
    ]
    counted = [sa.select(sa.func.count()).select_from(cte).scalar_subquery() for cte in changes]
    if held:
        total: sa.ColumnElement[Any] = sa.literal(0)
        for more in counted:
            total = total + more
        return sa.select(total.label("changed"), sa.literal(0).label("tombstoned"))
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
    total = counted[0]
    for more in counted[1:]:
        total = total + more
    written = sa.select(sa.func.count()).select_from(tombstone).scalar_subquery()
    return sa.select(total.label("changed"), written.label("tombstoned"))


def no_hook(step: str) -> None:
    """The :data:`Hook` that does nothing (tests pass one that dies)."""
    return


def erase_subject(
    session: Session,
    ctx: RequestContext,
    keys: KeyService,
    subject_id: uuid.UUID,
    *,
    request_id: uuid.UUID | None,
    actor: str,
    metadata: sa.MetaData | None = None,
    after_step: Hook = no_hook,
    held: Held | None = None,
) -> int:
    """Apply the plan to the subject in the caller's transaction; return rows changed.

    The keyring tombstone is written first (crypto-shredding every copy of the
    subject's secrets at once); then one statement deletes and anonymises
    everything the plan names, the ``subjects`` row, and writes the erasure
    tombstone.  ``after_step`` is called with ``"keys"`` and ``"rows"`` (tests
    use it to die half-way).  ``held`` is what the subject's legal holds keep
    (None: ask :func:`doorstep.privacy.holds.services.held`); with anything held
    the erasure is partial (see the module docstring) and recorded as such.
    """
    from doorstep.core.models import schema_metadata

    schema = metadata or schema_metadata()
    if held is None:
        held = holds.held(session, subject_id)
    if not keeps_key(schema, held):
        keys.shred(session, subject_id)
    after_step("keys")
    now = ctx.clock.now()
    statement = _build(schema, ctx.policy, held) if held else _statement(schema, ctx.policy)
    changed, _ = session.execute(
        statement, {SUBJECT: subject_id, "request": request_id, "now": now}
    ).one()
    after_step("rows")
    details: dict[str, str | int | bool | None] = {
        "request": str(request_id) if request_id else None,
        "rows": int(changed),
    }
    if held:
        details |= {"partial": True, "held": held.key if not held.everything else "all"}
    record(
        session,
        action="subject.erased",
        actor=actor,
        subject_id=subject_id,
        purpose=AUDIT_PURPOSE,
        details=details,
    )
    return int(changed)


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
