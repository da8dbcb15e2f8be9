"""The request state machine: open, ask for identity, verify, extend, complete, refuse.

::

    received ──▶ verifying ──▶ in_progress ──▶ completed
        │            │              │   ╲
        │            ▼              ▼    ▶ extended ──▶ completed | refused
        └──────────▶ refused ◀──────┘
        └──────────▶ in_progress (identity already proven, e.g. signed in)

Every transition is an audit event ``request.<new status>`` with ids and codes
only.  The caller owns the transaction (services never commit).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import require_aware
from doorstep.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from doorstep.core.logging import scrub
from doorstep.privacy.requests import deadlines, notices
from doorstep.privacy.requests.codes import (
    EXTENSION_TEXT,
    NEEDS_EVIDENCE,
    REFUSAL_TEXT,
    STAFF_REFUSALS,
    ErasureGround,
    ExtensionReason,
    RefusalCode,
    complaint_route,
)
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.department import department_of
from doorstep.privacy.requests.models import (
    RequestChannel,
    RequestKind,
    RequestStatus,
    SubjectRequest,
)

AUDIT_PURPOSE = "privacy.rights"
#: An evidence reference: a ticket or document id, never free text.
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
OPEN = (
    RequestStatus.RECEIVED,
    RequestStatus.VERIFYING,
    RequestStatus.IN_PROGRESS,
    RequestStatus.EXTENDED,
)
ALLOWED: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.RECEIVED: frozenset(
        {RequestStatus.VERIFYING, RequestStatus.IN_PROGRESS, RequestStatus.REFUSED}
    ),
    RequestStatus.VERIFYING: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.REFUSED}),
    RequestStatus.IN_PROGRESS: frozenset(
        {RequestStatus.EXTENDED, RequestStatus.COMPLETED, RequestStatus.REFUSED}
    ),
    RequestStatus.EXTENDED: frozenset({RequestStatus.COMPLETED, RequestStatus.REFUSED}),
    RequestStatus.COMPLETED: frozenset(),
    RequestStatus.REFUSED: frozenset(),
}
#: Kinds that name the purpose they are about.
PURPOSE_KINDS = frozenset(
    {RequestKind.RESTRICTION, RequestKind.OBJECTION, RequestKind.CONSENT_WITHDRAWAL}
)

#: The refusal of one field's value (RFC 9457 ``errors``: field and rule).
_invalid = InvalidInputError.of


def get(session: Session, request_id: uuid.UUID, *, lock: bool = False) -> SubjectRequest:
    """The request, or :class:`NotFoundError`; ``lock`` takes a row lock."""
    query = sa.select(SubjectRequest).where(SubjectRequest.id == request_id)
    row = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise NotFoundError("no such request", request=str(request_id))
    return row


def audit(session: Session, row: SubjectRequest, action: str, actor: str, **details: str) -> None:
    """Record ``request.<action>`` for ``row`` (ids and codes only)."""
    record(
        session,
        action=f"request.{action}",
        actor=actor,
        subject_id=row.subject_id,
        purpose=AUDIT_PURPOSE,
        details={"request": str(row.id), "kind": row.kind.value, **details},
    )


def _move(
    session: Session, row: SubjectRequest, to: RequestStatus, actor: str, **details: str
) -> None:
    if to not in ALLOWED[row.status]:
        raise ConflictError(
            f"a {row.status.value} request cannot become {to.value}",
            reason="invalid_transition",
            status=row.status.value,
        )
    previous = row.status
    row.status = to
    session.flush()
    audit(session, row, to.value, actor, previous=previous.value, **details)


def open_request(
    session: Session,
    ctx: RequestContext,
    *,
    subject_id: uuid.UUID,
    kind: RequestKind | str,
    channel: RequestChannel | str,
    actor: str,
    received_at: datetime | None = None,
    jurisdiction: str | None = None,
    purpose: str | None = None,
    ground: ErasureGround | str | None = None,
    element: str | None = None,
    value: str | None = None,
) -> SubjectRequest:
    """Open a request as ``received`` with its deadline.

    ``received_at`` is the date of receipt when it predates entry (a letter,
    CPE-IX.3); it may not lie in the future.  A deletion needs a ground
    (CPE-V.3.b); restriction, objection and withdrawal need a pack purpose; a
    correction names a correctable ``element`` and its new ``value`` (checked
    here, stored encrypted with the subject's key, :mod:`.corrections`).
    Repeated same-type requests beyond the configured rule get a fee quote
    (CPE-V.6.c), recorded with the reason ``repeated_requests``.
    """
    now = ctx.clock.now()
    received = require_aware(received_at) if received_at is not None else now
    if received > now:
        raise _invalid("received_at", "not_in_future", "the date of receipt is in the future")
    try:
        kind = RequestKind(kind)
        channel = RequestChannel(channel)
    except ValueError:
        raise _invalid("kind", "known_code", "unknown request kind or channel") from None
    code = _ground(kind, ground)
    if kind in PURPOSE_KINDS and (purpose is None or purpose not in ctx.policy.purposes):
        raise _invalid("purpose", "known_purpose", "this request needs a known purpose")
    correction: tuple[str, str] | None = None
    if kind is RequestKind.CORRECTION:
        from doorstep.privacy.requests import corrections

        correction = corrections.check(ctx.settings, element, value)
    deadlines.check_jurisdiction(ctx.settings, jurisdiction)
    rule = deadlines.rule_for(ctx.settings, jurisdiction, kind.value)
    fee_due = _is_repeated(session, ctx, subject_id, kind, received)
    row = SubjectRequest(
        id=uuid.uuid4(),
        subject_id=subject_id,
        kind=kind,
        status=RequestStatus.RECEIVED,
        channel=channel,
        jurisdiction=rule.jurisdiction,
        queue=department_of(ctx.policy).queue,
        purpose=purpose if kind in PURPOSE_KINDS else None,
        ground=code,
        received_at=received,
        due_at=deadlines.due_at(rule, received),
        paused_seconds=0,
        proof_attempts=0,
        extended_months=0,
        fee_due=fee_due,
        element=correction[0] if correction else None,
    )
    session.add(row)
    session.flush()
    if correction is not None:
        from doorstep.privacy.requests.corrections import CONTEXT

        keys = ctx.require_services().keys
        row.new_value = keys.encrypt(session, subject_id, correction[1], context=CONTEXT)
    audit(
        session,
        row,
        "received",
        actor,
        channel=channel.value,
        jurisdiction=rule.jurisdiction,
        queue=row.queue,
    )
    if fee_due:
        audit(session, row, "fee_quoted", actor, reason="repeated_requests")
    return row


def _ground(kind: RequestKind, ground: ErasureGround | str | None) -> str | None:
    if kind is not RequestKind.DELETION:
        return None
    try:
        return ErasureGround(ground or "").value
    except ValueError:
        raise _invalid("ground", "erasure_ground", "an erasure needs a known ground") from None


def _is_repeated(
    session: Session, ctx: RequestContext, subject_id: uuid.UUID, kind: RequestKind, at: datetime
) -> bool:
    since = at - timedelta(days=ctx.settings.requests_repeat_window_days)
    earlier = session.scalar(
        sa.select(sa.func.count())
        .select_from(SubjectRequest)
        .where(
            SubjectRequest.subject_id == subject_id,
            SubjectRequest.kind == kind,
            SubjectRequest.received_at > since,
            SubjectRequest.received_at <= at,
        )
    )
    return int(earlier or 0) >= ctx.settings.requests_repeat_threshold


def ask_identity(
    session: Session, ctx: RequestContext, request_id: uuid.UUID, *, actor: str
) -> SubjectRequest:
    """The requester owes identity proof: ``verifying``, and the clock pauses."""
    row = get(session, request_id, lock=True)
    _move(session, row, RequestStatus.VERIFYING, actor)
    row.paused_since = ctx.clock.now()
    return row


def verify(
    session: Session, ctx: RequestContext, request_id: uuid.UUID, *, method: str, actor: str
) -> SubjectRequest:
    """Identity proven by ``method`` (a code, e.g. ``session``, ``email_code``): ``in_progress``.

    A paused clock resumes and the deadline moves by the length of the pause.
    """
    row = get(session, request_id, lock=True)
    now = ctx.clock.now()
    if row.paused_since is not None:
        row.paused_seconds += int((now - row.paused_since).total_seconds())
        row.paused_since = None
        row.due_at = deadlines.due_at(
            deadlines.rule_for(ctx.settings, row.jurisdiction, row.kind.value),
            row.received_at,
            paused_seconds=row.paused_seconds,
        )
    row.verified_at = now
    row.verification = method
    _move(session, row, RequestStatus.IN_PROGRESS, actor, method=method)
    return row


def extend(
    session: Session,
    ctx: RequestContext,
    request_id: uuid.UUID,
    *,
    months: int,
    reason: str,
    actor: str,
) -> SubjectRequest:
    """Extend the deadline by ``months``, with a reason code, inside the first period.

    Refused where the jurisdiction allows no extension (the default: X-9), beyond
    its maximum, or once the first period is over.
    """
    try:
        why = ExtensionReason(reason)
    except ValueError:
        raise _invalid("reason", "extension_reason", "an extension needs a known reason") from None
    row = get(session, request_id, lock=True)
    rule = deadlines.rule_for(ctx.settings, row.jurisdiction, row.kind.value)
    if not 0 < months <= rule.max_extension_months:
        raise _invalid("months", "allowed_extension", "this extension is not allowed here")
    first_end = deadlines.first_period_end(rule, row.received_at, row.paused_seconds)
    if ctx.clock.now() >= first_end:
        raise ConflictError(
            "an extension must be notified inside the first period", reason="extension_too_late"
        )
    row.extended_months = months
    row.extension_reason = why.value
    row.due_at = deadlines.due_at(
        rule, row.received_at, paused_seconds=row.paused_seconds, extended_months=months
    )
    _move(session, row, RequestStatus.EXTENDED, actor, reason=why.value, months=str(months))
    notices.notify(
        session,
        ctx.clock,
        row.subject_id,
        row.id,
        notices.EXTENDED,
        gate=ctx.gate,
        due=row.due_at.date().isoformat(),
        reason=EXTENSION_TEXT[why],
    )
    audit(session, row, "extension_notified", actor, reason=why.value)
    return row


def complete(
    session: Session,
    ctx: RequestContext,
    request_id: uuid.UUID,
    *,
    actor: str,
    notice: str | None = notices.COMPLETED,
    reach: notices.Reach | None = None,
    **params: str,
) -> SubjectRequest:
    """Close the request as answered; never before identity was proven (CPE-V.6.a).

    The requester is sent ``notice`` (``request.completed`` unless told
    otherwise; None sends nothing) with ``params``; ``reach`` is their address
    when it was read before the subject was erased.
    """
    row = get(session, request_id, lock=True)
    require_verified(row)
    row.closed_at = ctx.clock.now()
    _move(session, row, RequestStatus.COMPLETED, actor)
    if notice is not None:
        to = (
            reach if reach is not None else notices.reach(session, ctx.gate, row.subject_id, row.id)
        )
        notices.send(session, ctx.clock, to, notice, row.id, **params)
    return row


def require_verified(row: SubjectRequest) -> None:
    """Refuse to disclose, change or delete anything for an unverified request (CPE-V.6.a)."""
    if row.verified_at is None:
        raise ConflictError("the requester's identity is not verified", reason="not_verified")


@dataclass(frozen=True, slots=True)
class Refusal:
    """What the requester is told: why, and where to complain (CPE-IX.4, CORP-9.3)."""

    request_id: uuid.UUID
    code: RefusalCode
    complaint_route: str


def refuse(
    session: Session,
    ctx: RequestContext,
    request_id: uuid.UUID,
    *,
    code: RefusalCode | str | None,
    reviewer: str,
    evidence: str | None = None,
) -> Refusal:
    """Refuse with one reason code; some codes need an evidence reference (an id)."""
    try:
        reason = RefusalCode(code or "")
    except ValueError:
        raise _invalid("code", "refusal_code", "a refusal needs a known reason code") from None
    if reason not in STAFF_REFUSALS:
        raise _invalid(
            "code", "refusal_code", "a legal hold is placed on the subject, not chosen as a refusal"
        )
    if reason in NEEDS_EVIDENCE and not evidence:
        raise _invalid("evidence", "required", "this refusal needs a reference to its evidence")
    if evidence and (not _REFERENCE.fullmatch(evidence) or scrub(evidence) != evidence):
        # The reference goes into the audit trail, which holds ids and names only.
        raise _invalid("evidence", "evidence_reference", "the evidence reference must be an id")
    row = get(session, request_id, lock=True)
    row.refusal_code = reason.value
    row.reviewer = reviewer
    row.closed_at = ctx.clock.now()
    extra = {"evidence": evidence} if evidence else {}
    _move(session, row, RequestStatus.REFUSED, reviewer, code=reason.value, **extra)
    route = complaint_route(row.jurisdiction)
    notices.notify(
        session,
        ctx.clock,
        row.subject_id,
        row.id,
        notices.REFUSED,
        gate=ctx.gate,
        reason=REFUSAL_TEXT[reason],
        complaint=route,
    )
    return Refusal(row.id, reason, route)
