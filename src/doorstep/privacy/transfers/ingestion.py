"""Ingestion minimisation: what no purpose declares is dropped before storage, and counted.

:func:`minimise` keeps the fields of a device's or client's message that the
purpose at hand declares and drops every other one *before* anything is
stored (CPE-IV.3.a, CPE-0.4).  Each dropped field raises a schema-drift event:
one row per (source, device model, path, purpose) in ``schema_drift`` counts how
often, with first and last time, and an audit event says how many fields were
dropped, by name of path, never by value.  The console shows the counts
(``/console/drift``).

A path is what the sender named (a TR-181 parameter, a JSON field); a name that
is not plainly a path (too long, or holding anything but letters, digits and
``._-[]{}!()``) is counted as ``<unnamed>`` so that a sender cannot smuggle a
value into the table through a field name.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.privacy.transfers.identifiers import kinds_in
from doorstep.privacy.transfers.models import DriftSource, SchemaDrift

V = TypeVar("V")
UNNAMED = "<unnamed>"
_PATH = re.compile(r"^[A-Za-z0-9_.\-\[\]{}!()]{1,200}$")
_MODEL = re.compile(r"^[\x20-\x7e]{1,64}$")


@dataclass(frozen=True, slots=True)
class Drift:
    """How often ``source`` of ``model`` sent ``path`` for ``purpose``, undeclared."""

    source: DriftSource
    model: str
    path: str
    purpose: str
    count: int
    first_seen: datetime
    last_seen: datetime


def safe_path(path: str) -> str:
    """``path`` if it is plainly a path, else :data:`UNNAMED` (never a value)."""
    if not _PATH.fullmatch(path) or kinds_in(path):
        return UNNAMED
    return path


def _safe_model(model: str | None) -> str:
    if model is None or not _MODEL.fullmatch(model) or kinds_in(model):
        return "unknown"
    return model


def record_drift(
    session: Session,
    *,
    source: DriftSource,
    model: str | None,
    purpose: str,
    paths: Collection[str],
    now: datetime,
    actor: str,
) -> int:
    """Count each of ``paths`` as dropped once at ``now``; return how many were counted."""
    if not paths:
        return 0
    name = _safe_model(model)
    counted: dict[str, int] = {}
    for path in paths:
        key = safe_path(path)
        counted[key] = counted.get(key, 0) + 1
    for path, times in sorted(counted.items()):
        statement = insert(SchemaDrift).values(
            source=source,
            model=name,
            path=path,
            purpose=purpose,
            count=times,
            first_seen=now,
            last_seen=now,
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["source", "model", "path", "purpose"],
                set_={"count": SchemaDrift.count + times, "last_seen": now},
            )
        )
    record(
        session,
        action="ingestion.undeclared_dropped",
        actor=actor,
        purpose=purpose,
        outcome="dropped",
        details={"source": source.value, "fields": len(paths), "paths": len(counted)},
    )
    return len(paths)


def minimise(
    session: Session,
    received: Mapping[str, V],
    *,
    declared: Collection[str],
    source: DriftSource,
    model: str | None,
    purpose: str,
    clock: Clock,
    actor: str,
) -> dict[str, V]:
    """The fields of ``received`` that ``declared`` names; the others are dropped and counted."""
    wanted = set(declared)
    kept = {name: value for name, value in received.items() if name in wanted}
    dropped = [name for name in received if name not in wanted]
    record_drift(
        session,
        source=source,
        model=model,
        purpose=purpose,
        paths=dropped,
        now=clock.now(),
        actor=actor,
    )
    return kept


def drift(session: Session, *, limit: int = 500) -> list[Drift]:
    """The schema-drift counts, most recent first."""
    rows = session.scalars(
        sa.select(SchemaDrift).order_by(SchemaDrift.last_seen.desc(), SchemaDrift.id).limit(limit)
    )
    return [
        Drift(r.source, r.model, r.path, r.purpose, r.count, r.first_seen, r.last_seen)
        for r in rows
    ]
