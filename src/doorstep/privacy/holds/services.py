"""Place, release and look up legal holds; hold work back and let it go again.

* :func:`place` — a hold on a subject (or one element of it) with its legal
  ground, authority and reference; refused with nothing changed when the input
  is bad (422), the subject unknown (404) or the same hold already stands (409);
* :func:`release` — ends a hold and enqueues every job held back for the
  subject (:func:`defer`), so the erasure it deferred happens by itself; the
  retention sweeps take the released rows at their next run;
* :func:`held` — what the subject's standing holds cover (erasure asks it);
* :func:`defer` — an area's job could not finish because of a hold: run it
  again at the next release of a hold of that subject.

Every change is an audit event (``hold.placed``, ``hold.released``,
``hold.deferred``, ``hold.resumed``) with ids, codes and element names only.
The caller owns the transaction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.core.logging import scrub
from doorstep.jobs.enqueue import enqueue
from doorstep.privacy.holds.basis import HoldBasis
from doorstep.privacy.holds.elements import Held, check_element
from doorstep.privacy.holds.models import HoldDeferral, LegalHold
from doorstep.privacy.subjects.models import Subject

PURPOSE = "privacy.rights"
#: A reference: the authority's case or file number, an id (it goes into the audit trail).
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
#: An authority or law: a short name (letters, digits, spaces and punctuation), no free text.
_AUTHORITY = re.compile(r"[^\W_][\w .,:;/()§&'-]{1,119}")


@dataclass(frozen=True, slots=True)
class HoldInput:
    """What a hold needs, checked (:func:`check`)."""

    subject_id: uuid.UUID
    element: str | None
    basis: HoldBasis
    authority: str
    reference: str


def check(
    metadata: sa.MetaData,
    *,
    subject_id: uuid.UUID | str,
    element: str | None,
    basis: HoldBasis | str | None,
    authority: str | None,
    reference: str | None,
) -> HoldInput:
    """The hold's input, or :class:`InvalidInputError` naming the first bad field's rule."""
    try:
        subject = subject_id if isinstance(subject_id, uuid.UUID) else uuid.UUID(subject_id)
    except ValueError:
        raise InvalidInputError.of(
            "subject_id", "uuid", "the subject must be given by its id"
        ) from None
    held = check_element(metadata, element)
    try:
        ground = HoldBasis(basis or "")
    except ValueError:
        raise InvalidInputError.of(
            "basis", "hold_basis", "a hold needs a known legal basis"
        ) from None
    name = (authority or "").strip()
    if not _AUTHORITY.fullmatch(name) or scrub(name) != name:
        raise InvalidInputError.of(
            "authority", "authority", "name the authority or law (a short name)"
        )
    ref = (reference or "").strip()
    if not _REFERENCE.fullmatch(ref) or scrub(ref) != ref:
        raise InvalidInputError.of("reference", "hold_reference", "the reference must be an id")
    return HoldInput(subject, held, ground, name, ref)


def get(session: Session, hold_id: uuid.UUID, *, lock: bool = False) -> LegalHold:
    """The hold, or :class:`NotFoundError`; ``lock`` takes a row lock."""
    query = sa.select(LegalHold).where(LegalHold.id == hold_id)
    row = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise NotFoundError("no such hold", hold=str(hold_id))
    return row


def _audit(session: Session, row: LegalHold, action: str, actor: str, **details: str) -> None:
    record(
        session,
        action=f"hold.{action}",
        actor=actor,
        subject_id=row.subject_id,
        purpose=PURPOSE,
        element=row.element,
        details={"hold": str(row.id), "basis": row.basis, **details},
    )


def place(session: Session, clock: Clock, given: HoldInput, *, actor: str) -> LegalHold:
    """Place a checked hold (:func:`check`); :class:`NotFoundError` for an unknown subject.

    The same hold (subject, element, basis and reference) standing already is a
    :class:`ConflictError`; two holds on different grounds may stand together.
    """
    if session.get(Subject, given.subject_id) is None:
        raise NotFoundError("no such subject", subject=str(given.subject_id))
    same = session.scalar(
        sa.select(LegalHold.id).where(
            LegalHold.subject_id == given.subject_id,
            LegalHold.element.is_not_distinct_from(given.element),
            LegalHold.basis == given.basis.value,
            LegalHold.reference == given.reference,
            LegalHold.released_at.is_(None),
        )
    )
    if same is not None:
        raise ConflictError("this hold stands already", reason="already_held", hold=str(same))
    row = LegalHold(
        id=uuid.uuid4(),
        subject_id=given.subject_id,
        element=given.element,
        basis=given.basis.value,
        authority=given.authority,
        reference=given.reference,
        placed_at=clock.now(),
        placed_by=actor,
    )
    session.add(row)
    session.flush()
    _audit(session, row, "placed", actor, reference=given.reference)
    return row


def release(session: Session, clock: Clock, hold_id: uuid.UUID, *, actor: str) -> LegalHold:
    """Release a standing hold and enqueue the subject's deferred jobs.

    :class:`ConflictError` when it was released already.  Each deferred job is
    enqueued once (its queueing lock), in this transaction: it runs only if the
    release commits.  A job that still meets another hold defers itself again.
    """
    row = get(session, hold_id, lock=True)
    if row.released_at is not None:
        raise ConflictError("the hold is released already", reason="already_released")
    now = clock.now()
    row.released_at = now
    row.released_by = actor
    session.flush()
    _audit(session, row, "released", actor)
    waiting = list(
        session.scalars(
            sa.select(HoldDeferral)
            .where(HoldDeferral.subject_id == row.subject_id, HoldDeferral.enqueued_at.is_(None))
            .order_by(HoldDeferral.deferred_at)
            .with_for_update()
        )
    )
    for deferral in waiting:
        lock = deferral.queueing_lock
        try:
            with session.begin_nested():
                ids: dict[str, Any] = {k: str(v) for k, v in deferral.arguments.items()}
                enqueue(session, deferral.task, queueing_lock=lock, **ids)
        except IntegrityError:
            pass  # the same job waits already: it does the work once
        deferral.enqueued_at = now
        deferral.queueing_lock = None
        record(
            session,
            action="hold.resumed",
            actor=actor,
            subject_id=row.subject_id,
            purpose=PURPOSE,
            details={"hold": str(row.id), "task": deferral.task, "deferral": str(deferral.id)},
        )
    return row


def standing(session: Session, subject_id: uuid.UUID) -> list[LegalHold]:
    """The subject's holds that stand, oldest first."""
    return list(
        session.scalars(
            sa.select(LegalHold)
            .where(LegalHold.subject_id == subject_id, LegalHold.released_at.is_(None))
            .order_by(LegalHold.placed_at, LegalHold.id)
        )
    )


def held(session: Session, subject_id: uuid.UUID) -> Held:
    """What the subject's standing holds cover (empty :class:`Held`: nothing)."""
    return Held(frozenset(row.element for row in standing(session, subject_id)))


def held_many(session: Session, subject_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Held]:
    """:func:`held` for each of ``subject_ids`` in one query (empty :class:`Held`: nothing)."""
    elements: dict[uuid.UUID, set[str | None]] = {subject: set() for subject in subject_ids}
    rows = session.execute(
        sa.select(LegalHold.subject_id, LegalHold.element).where(
            LegalHold.subject_id.in_(list(elements)), LegalHold.released_at.is_(None)
        )
    )
    for subject_id, element in rows:
        elements[subject_id].add(element)
    return {subject: Held(frozenset(found)) for subject, found in elements.items()}


def listing(
    session: Session,
    *,
    subject_id: uuid.UUID | None = None,
    standing_only: bool = False,
    limit: int = 500,
) -> list[LegalHold]:
    """Holds (of one subject, or standing ones only), standing first, newest first."""
    query = sa.select(LegalHold)
    if subject_id is not None:
        query = query.where(LegalHold.subject_id == subject_id)
    if standing_only:
        query = query.where(LegalHold.released_at.is_(None))
    query = query.order_by(
        LegalHold.released_at.is_not(None), LegalHold.placed_at.desc(), LegalHold.id
    )
    return list(session.scalars(query.limit(limit)))


def defer(
    session: Session,
    clock: Clock,
    subject_id: uuid.UUID,
    task: str,
    *,
    actor: str,
    **ids: str,
) -> bool:
    """Run ``task(**ids)`` again when a hold of the subject is released; False if it waits already.

    ``ids`` are ids only (they become job arguments); the queueing lock is
    ``task:<ids>`` (``requests.erase:<request id>``), the same lock the area's
    own enqueue uses, so a job is never queued twice.
    """
    lock = ":".join([task, *(str(ids[name]) for name in sorted(ids))])
    try:
        with session.begin_nested():
            row = HoldDeferral(
                id=uuid.uuid4(),
                subject_id=subject_id,
                task=task,
                arguments=dict(ids),
                queueing_lock=lock,
                deferred_at=clock.now(),
            )
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    record(
        session,
        action="hold.deferred",
        actor=actor,
        subject_id=subject_id,
        purpose=PURPOSE,
        details={"task": task, "deferral": str(row.id)},
    )
    return True
