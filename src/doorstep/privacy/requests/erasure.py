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
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.errors import ConflictError
from doorstep.core.memo import by_identity
from doorstep.devices.fleet.wipes import removal_outcome
from doorstep.keys.services import KeyService
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.holds import services as holds
from doorstep.privacy.holds.elements import Held, keeps_key
from doorstep.privacy.requests import notices
from doorstep.privacy.requests.codes import REFUSAL_TEXT, RefusalCode, complaint_route
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure_plan import NOTHING, plan
from doorstep.privacy.requests.fulfil import ERASE_TASK
from doorstep.privacy.requests.linkage import (
    rows_of,
)
from doorstep.privacy.requests.models import ErasureTombstone, RequestKind, SubjectRequest
from doorstep.privacy.requests.services import (
    AUDIT_PURPOSE,
    audit,
    complete,
    get,
    require_verified,
)
from doorstep.privacy.requests.systems.fanout import requeue
from doorstep.privacy.requests.systems.models import Excepted, SystemState
from doorstep.privacy.requests.systems.settle import forget, outstanding, own_part_done, settle
from doorstep.privacy.sharing.models import NoticeKind
from doorstep.privacy.sharing.services import disclosed_recipients, notify_recipients
from doorstep.privacy.subjects.models import Subject

Hook = Callable[[str], None]
SUBJECT = "subject"
ROUTERS_DONE = "request.completed_router"
"""The confirmation of a subject who had their settings removed from routers (decision 0042)."""


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


def _build(metadata: sa.MetaData, pack: PolicyPack, held: Held) -> sa.Select[Any]:
    """:func:`_statement` for ``held``; with anything held, the subject and its key stay
    and no tombstone is written (the erasure is not finished)."""
    subject = sa.bindparam(SUBJECT, type_=sa.Uuid)
    changes: list[sa.CTE] = []
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
        changes.append(dml.returning(sa.literal_column("1").label("n")).cte(f"e{index}"))
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
    A subject whose settings were (to be) removed from routers gets
    ``request.completed_router`` instead, saying where those removals stand
    (decision 0042; read before the erasure empties their link to the subject).

    A subject under a legal hold is erased but for the held part; the request
    is answered in part (refusal code ``LEGAL_HOLD``, the reason and where to
    complain; once) and stays open, and this job is deferred until a hold of
    the subject is released, when it runs again: it erases what is no longer
    held and completes the request when nothing is.  The completion notice then
    reaches the requester only if their address was held too.

    With tasks in connected systems (:mod:`.systems`) outstanding, Doorstep's own
    erasure is done now all the same and the request stays open: the last system
    to settle completes it (:func:`.systems.settle.settle`), telling the requester
    at the address sealed in the tasks.
    """
    row = get(session, request_id, lock=True)
    if row.kind is not RequestKind.DELETION:
        raise ConflictError("not a deletion request", reason="kind")
    if row.closed_at is not None:
        return row
    require_verified(row)
    if own_part_done(session, row):  # done already; connected systems still at work
        return settle(session, ctx, row.id, actor=actor)
    first = row.refusal_code != RefusalCode.LEGAL_HOLD.value
    held = holds.held(session, row.subject_id)
    to = notices.reach(session, ctx.gate, row.subject_id, row.id)
    recipients = disclosed_recipients(session, row.subject_id)
    routers = removal_outcome(session, row.subject_id)  # the erasure empties the links
    erase_subject(
        session,
        ctx,
        keys,
        row.subject_id,
        request_id=row.id,
        actor=actor,
        after_step=after_step,
        held=held,
    )
    if first:
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
    if held:
        return _answer_in_part(session, ctx, row, to, held, actor=actor, first=first)
    # Connected systems excepted for a hold now released go back to work; Doorstep's own
    # part never waits on a system: the last system to settle completes the request.
    requeue(session, row.id, states=(SystemState.EXCEPTED,), exception=Excepted.LEGAL_HOLD.value)
    if outstanding(session, row.id):
        audit(session, row, "own_part_erased", actor)
        return row
    if routers is None:
        done = complete(session, ctx, row.id, actor=actor, reach=to)
    else:  # the confirmation says where the removal of the settings from routers stands
        done = complete(
            session, ctx, row.id, actor=actor, reach=to, notice=ROUTERS_DONE, outcome=routers
        )
    forget(session, row.id)
    return done


def _answer_in_part(
    session: Session,
    ctx: RequestContext,
    row: SubjectRequest,
    to: notices.Reach | None,
    held: Held,
    *,
    actor: str,
    first: bool,
) -> SubjectRequest:
    """Record the partial refusal (once) and defer the rest of the erasure to a release."""
    if first:
        row.refusal_code = RefusalCode.LEGAL_HOLD.value
        session.flush()
        audit(
            session,
            row,
            "partly_refused",
            actor,
            code=RefusalCode.LEGAL_HOLD.value,
            held=held.key if not held.everything else "all",
        )
        notices.send(
            session,
            ctx.clock,
            to,
            notices.PARTLY_REFUSED,
            row.id,
            reason=REFUSAL_TEXT[RefusalCode.LEGAL_HOLD],
            complaint=complaint_route(row.jurisdiction),
        )
    holds.defer(session, ctx.clock, row.subject_id, ERASE_TASK, actor=actor, request_id=str(row.id))
    return row


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
