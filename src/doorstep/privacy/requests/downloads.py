"""The prepared export of an access or portability request: built once, stored sealed, fetched.

:func:`prepare` runs in the ``requests.export`` job, in one transaction: it
locks the request, builds the ZIP from the data map (:mod:`.export`), stores it
encrypted with the subject's own key (``request_exports``), completes the
request and queues the "your data is ready" notice.  A worker killed at any
point leaves either nothing or all of it; the retried job finds the request
closed and does nothing, so each request is answered exactly once.  While a
connected system's part is outstanding it builds nothing; the last system to
settle queues it again, and the ZIP then holds every system's part.

:func:`fetch` gives the requester the ZIP until it expires (the setting
``requests_export_days``, at most the pack's ``export_download`` rule, after
which the retention sweep deletes it); every download is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, NotFoundError
from doorstep.keys.exceptions import KeyDestroyedError, SubjectKeyNotFoundError
from doorstep.privacy.requests import notices
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.export import build
from doorstep.privacy.requests.models import RequestExport, RequestKind, SubjectRequest
from doorstep.privacy.requests.services import (
    audit,
    complete,
    get,
    require_verified,
)
from doorstep.privacy.requests.systems.settle import forget, outstanding, parts

CONTEXT = "request_exports.archive"
EXPORT_KINDS = (RequestKind.ACCESS, RequestKind.PORTABILITY)


class ExportNotReadyError(ConflictError):
    """The request's export is not prepared yet (or has expired); ``reason`` says which."""

    code = "export-not-ready"
    title = "The export is not available"


@dataclass(frozen=True, slots=True)
class Prepared:
    """What :func:`prepare` did: whether it built the export now, and its size."""

    built: bool
    rows: int = 0
    size_bytes: int = 0


def prepare(
    session: Session, ctx: RequestContext, request_id: uuid.UUID, *, actor: str
) -> Prepared:
    """Build, seal and store the export, and complete the request (a closed one: no-op)."""
    from doorstep.core.models import schema_metadata

    metadata = schema_metadata()

    row = get(session, request_id, lock=True)
    if row.kind not in EXPORT_KINDS:
        raise ConflictError("only access and portability requests are exported", reason="kind")
    if row.closed_at is not None:
        return Prepared(built=False)
    require_verified(row)
    if outstanding(session, row.id):
        return Prepared(built=False)  # the last connected system to settle queues this again
    keys = ctx.require_services().keys
    now = ctx.clock.now()
    names = {key: system.name for key, system in ctx.policy.systems.systems.items()}
    systems = parts(session, keys.keyring, row.id, names)
    made = build(session, keys, metadata, ctx.policy, row.subject_id, now=now, systems=systems)
    expires = now + timedelta(days=ctx.settings.requests_export_days)
    session.execute(
        insert(RequestExport)
        .values(
            request_id=row.id,
            subject_id=row.subject_id,
            archive=keys.encrypt(session, row.subject_id, made.archive, context=CONTEXT),
            size_bytes=len(made.archive),
            rows=made.rows,
            created_at=now,
            expires_at=expires,
        )
        .on_conflict_do_nothing()
    )
    audit(
        session,
        row,
        "exported",
        actor,
        tables=str(len(made.data["tables"])),
        rows=str(made.rows),
    )
    complete(
        session,
        ctx,
        row.id,
        actor=actor,
        notice=notices.EXPORT_READY,
        expires=expires.date().isoformat(),
    )
    forget(session, row.id)
    return Prepared(built=True, rows=made.rows, size_bytes=len(made.archive))


def fetch(
    session: Session,
    ctx: RequestContext,
    request: SubjectRequest,
    *,
    actor: str,
) -> bytes:
    """The ZIP of ``request`` (whose owner the caller has checked); audited.

    Raises :class:`ExportNotReadyError` while it is being prepared, once it has
    expired, or when the subject's key is gone.
    """
    if request.kind not in EXPORT_KINDS:
        raise NotFoundError("this request has no export", request=str(request.id))
    stored = session.get(RequestExport, request.id, with_for_update=True)
    now = ctx.clock.now()
    if stored is None:
        reason = "expired" if request.closed_at is not None else "preparing"
        raise ExportNotReadyError("the export is not available", reason=reason)
    if stored.expires_at <= now:
        raise ExportNotReadyError("the export has expired", reason="expired")
    keys = ctx.require_services().keys
    try:
        archive = keys.decrypt(session, stored.subject_id, stored.archive, context=CONTEXT)
    except (KeyDestroyedError, SubjectKeyNotFoundError):
        raise ExportNotReadyError("the export is no longer readable", reason="erased") from None
    if stored.downloaded_at is None:
        stored.downloaded_at = now
    audit(session, request, "downloaded", actor, size=str(stored.size_bytes))
    return archive
