"""Completion events that come by themselves: the periodic scan of each declared ``source:``.

An SQL system's completion may say where its events are (``systems.yaml``,
``completions: order: source: {table, key, at, subject}``): a row whose ``at``
column is set and not after today is a closed record.  :func:`scan_sources`
(the periodic job :data:`~.tasks.SOURCES_TASK`, or ``doorstep completions
scan``) reads, for every live system (the ``requests_systems`` setting) and
declared source, the rows closed since the source's **watermark**, in pages of
``completion_sources_batch`` ordered by ``(at, key)``, and for each page, in one
transaction of Doorstep's (:mod:`.source_reader` reads the system):

1. takes an advisory lock on the (system, kind) and reads which of the page's
   records are recorded already;
2. records each new one through :func:`~.record.record` — the code path of the
   API and the CLI: the deletion is scheduled by the kind's retention rule, the
   event audited ``completion.recorded`` — with the row's ``at`` as the closing
   instant (a date is that day's midnight, UTC) and, when declared, the subject
   the row's account id names (when Doorstep knows it);
3. moves the watermark to the page's last ``at``.

So each record is recorded once: the unique (system, kind, record id) and the
lock make a second scan, a concurrent one or a retried job skip what is there,
and a worker killed between pages loses nothing (the next scan starts again at
the watermark, inclusive).  The system is read outside Doorstep's transaction.
A row whose key is no reference is counted ``refused`` and skipped; a system that
fails leaves the watermark where it was and its reason on the source
(``completion_sources``), which the console shows.

We accept that a row whose date is set, after a scan, to a day before the
watermark is not found: the operator records it by hand.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from doorstep.audit.entries import system_actor
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.privacy.connectors.base import ConnectorError, ConnectorGarbage
from doorstep.privacy.connectors.build import secret_of
from doorstep.privacy.connectors.completions.models import CompletionEvent, CompletionSourceState
from doorstep.privacy.connectors.completions.record import Closing, record
from doorstep.privacy.connectors.completions.source_reader import Row, SourceReader
from doorstep.privacy.connectors.live import live_systems
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.systems import Completion, ConnectedSystem, SystemKind
from doorstep.privacy.subjects.models import Subject
from doorstep.services import Services

log = logging.getLogger("doorstep.connectors.completions")
ACTOR = system_actor("connectors.completion_sources")
#: Namespace of the advisory locks that serialise scans of one source ("CSRC").
_LOCK_NAMESPACE = 0x43535243
_LOCK = sa.text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:key))")


@dataclass
class Scanned:
    """What one scan did: events recorded, rows refused, sources that failed (with why)."""

    recorded: int = 0
    refused: int = 0
    sources: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def declared_sources(
    pack: PolicyPack, names: tuple[str, ...]
) -> list[tuple[ConnectedSystem, Completion]]:
    """Every live SQL system's completions that declare a source, in pack order."""
    return [
        (system, completion)
        for system in live_systems(pack, names)
        if system.kind is SystemKind.SQL
        for completion in system.completions.values()
        if completion.source is not None
    ]


def instant_of(value: Any) -> datetime:
    """A row's ``at`` as an aware instant: a date is its midnight (UTC), a naive time is UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    raise ConnectorGarbage("a completion source's at column is not a date or a time")


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _subject(session: Session, raw: str | None) -> uuid.UUID | None:
    """The Doorstep subject a row's account id names, when it is one Doorstep knows."""
    if not raw:
        return None
    try:
        found = uuid.UUID(raw)
    except ValueError:
        return None
    return found if session.get(Subject, found) is not None else None


def _state(session: Session, system: str, kind: str) -> CompletionSourceState:
    """The source's row, made when missing, locked for the caller's transaction."""
    session.execute(
        insert(CompletionSourceState)
        .values(system=system, kind=kind, recorded=0, refused=0)
        .on_conflict_do_nothing()
    )
    state = session.get(
        CompletionSourceState, (system, kind), with_for_update=True, populate_existing=True
    )
    assert state is not None
    return state


def _record_page(
    session: Session,
    services: Services,
    system: ConnectedSystem,
    completion: Completion,
    rows: list[Row],
) -> tuple[int, int]:
    """Record the page's new events and move the watermark (one transaction); the counts."""
    session.execute(_LOCK, {"namespace": _LOCK_NAMESPACE, "key": f"{system.key}/{completion.kind}"})
    existing = set(
        session.scalars(
            sa.select(CompletionEvent.record_id).where(
                CompletionEvent.system == system.key,
                CompletionEvent.kind == completion.kind,
                CompletionEvent.record_id.in_([key for key, _, _ in rows]),
            )
        )
    )
    runtime = services.runtime
    recorded = refused = 0
    for key, at, subject in rows:
        if key in existing:
            continue
        given = Closing(
            system.key, completion.kind, key, instant_of(at), _subject(session, subject)
        )
        try:
            record(session, runtime.clock, services.pack, runtime.settings, given, actor=ACTOR)
        except (InvalidInputError, ConflictError):  # checked before anything is stored
            refused += 1
            continue
        existing.add(key)
        recorded += 1
    state = _state(session, system.key, completion.kind)
    last = instant_of(rows[-1][1])
    state.watermark = last if state.watermark is None else max(state.watermark, last)
    state.recorded += recorded
    state.refused += refused
    state.reason = None
    state.scanned_at = runtime.clock.now()
    return recorded, refused


def scan_source(
    services: Services,
    sessions: sessionmaker[Session],
    system: ConnectedSystem,
    completion: Completion,
) -> tuple[int, int]:
    """Scan one source from its watermark to today; (recorded, refused).  ConnectorError
    when the system fails (what was recorded before stays, with its watermark)."""
    source = completion.source
    assert source is not None
    clock = services.runtime.clock
    batch = services.runtime.settings.completion_sources_batch
    until = _naive(clock.now())
    with sessions.begin() as session:
        watermark = _state(session, system.key, completion.kind).watermark
        password = secret_of(session, services.keys.keyring, system)
    since = _naive(watermark) if watermark is not None else None
    after: tuple[Any, str] | None = None
    recorded = refused = 0
    reader = SourceReader(system, source, password)
    try:
        while True:
            rows = reader.page(until=until, since=since, after=after, limit=batch)
            if not rows:
                break
            with sessions.begin() as session:
                done, skipped = _record_page(session, services, system, completion, rows)
            recorded, refused = recorded + done, refused + skipped
            if len(rows) < batch:
                break
            after = (rows[-1][1], rows[-1][0])
    finally:
        reader.close()
    with sessions.begin() as session:
        state = _state(session, system.key, completion.kind)
        state.scanned_at, state.reason = clock.now(), None
    return recorded, refused


def scan_sources(services: Services, sessions: sessionmaker[Session]) -> Scanned:
    """Scan every declared source of every live system (see the module docstring)."""
    result = Scanned()
    names = services.runtime.settings.requests_systems
    for system, completion in declared_sources(services.pack, names):
        result.sources += 1
        try:
            recorded, refused = scan_source(services, sessions, system, completion)
        except ConnectorError as exc:
            result.failed[f"{system.key}.{completion.kind}"] = exc.reason
            with sessions.begin() as session:
                state = _state(session, system.key, completion.kind)
                state.scanned_at, state.reason = services.runtime.clock.now(), exc.reason
            log.warning(
                "a completion source could not be scanned",
                extra={"system": system.key, "kind": completion.kind, "reason": exc.reason},
            )
            continue
        result.recorded += recorded
        result.refused += refused
        if recorded or refused:
            log.info(
                "completion events recorded from their source",
                extra={
                    "system": system.key,
                    "kind": completion.kind,
                    "recorded": recorded,
                    "refused": refused,
                },
            )
    return result
