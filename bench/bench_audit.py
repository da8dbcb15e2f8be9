"""Audit-trail throughput: events recorded and committed, sealed, and verified per second.

* record + commit: ``record()`` called 100 times per transaction, then COMMIT
  (the events are written with one COPY at commit), by 1 and by 4 writer
  threads; baselines: the same events written one INSERT per event, and one
  multi-row INSERT (100 VALUES rows) per transaction.
* seal: a backlog of committed events chained by ``seal()``.
* verify: the whole chain re-walked by ``verify()``.

The target of the issue is >= 20,000 events/s recorded and committed; sealing
must keep up with it, or the backlog grows.
"""

from __future__ import annotations

import threading
import time
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bench.harness import BenchContext, Figure
from doorstep.audit.services import record, seal, verify

PER_TRANSACTION = 100
TARGET = ">= 20,000/s"

_ONE_ROW = sa.text(
    "INSERT INTO audit_events (at, actor, action, purpose, element, subject_id, outcome, details) "
    "VALUES (now(), :actor, :action, :purpose, :element, :subject_id, 'ok', "
    "CAST(:details AS jsonb))"
)


def _transactions(sessions: sessionmaker[Session], count: int, subjects: list[uuid.UUID]) -> None:
    for number in range(count):
        with sessions.begin() as session:
            for index in range(PER_TRANSACTION):
                record(
                    session,
                    action="datamap.read",
                    actor="system:bench",
                    subject_id=subjects[(number * PER_TRANSACTION + index) % len(subjects)],
                    purpose="security.audit",
                    element="subjects.id",
                    details={"request_id": number, "index": index},
                )


_MANY_ROWS = sa.text(
    "INSERT INTO audit_events (at, actor, action, purpose, element, subject_id, outcome, details) "
    "VALUES "
    + ", ".join(
        f"(now(), :actor, :action, :purpose, :element, :subject_{n}, 'ok', "
        f"CAST(:details_{n} AS jsonb))"
        for n in range(PER_TRANSACTION)
    )
)


def _multi_row(sessions: sessionmaker[Session], count: int, subjects: list[uuid.UUID]) -> None:
    for number in range(count):
        values: dict[str, object] = {
            "actor": "system:bench",
            "action": "datamap.read",
            "purpose": "security.audit",
            "element": "subjects.id",
        }
        for index in range(PER_TRANSACTION):
            subject = subjects[(number * PER_TRANSACTION + index) % len(subjects)]
            values[f"subject_{index}"] = subject
            values[f"details_{index}"] = f'{{"request_id": {number}, "index": {index}}}'
        with sessions.begin() as session:
            session.execute(_MANY_ROWS, values)


def _row_at_a_time(sessions: sessionmaker[Session], count: int, subjects: list[uuid.UUID]) -> None:
    for number in range(count):
        with sessions.begin() as session:
            for index in range(PER_TRANSACTION):
                session.execute(
                    _ONE_ROW,
                    {
                        "actor": "system:bench",
                        "action": "datamap.read",
                        "purpose": "security.audit",
                        "element": "subjects.id",
                        "subject_id": subjects[index % len(subjects)],
                        "details": f'{{"request_id": {number}, "index": {index}}}',
                    },
                )


def _threaded(
    sessions: sessionmaker[Session], threads: int, per_thread: int, subjects: list[uuid.UUID]
) -> float:
    """Events per second with ``threads`` writers each committing ``per_thread`` transactions."""
    workers = [
        threading.Thread(target=_transactions, args=(sessions, per_thread, subjects))
        for _ in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * per_thread * PER_TRANSACTION / (time.perf_counter() - started)


def _seal_backlog(sessions: sessionmaker[Session]) -> tuple[int, float]:
    started = time.perf_counter()
    total = 0
    while True:
        with sessions.begin() as session:
            sealed = seal(session, limit=50_000)
        total += sealed
        if sealed == 0:
            break
    return total, time.perf_counter() - started


def run(ctx: BenchContext) -> list[Figure]:
    """Record + commit (1 and 4 writers, and row-at-a-time), seal and verify rates."""
    sessions = ctx.runtime.sessions
    subjects = [uuid.uuid4() for _ in range(10_000)]
    transactions = 40 if ctx.quick else 400
    _transactions(sessions, 10, subjects)  # warm up the pool and the caches

    started = time.perf_counter()
    _row_at_a_time(sessions, transactions // 4, subjects)
    one_by_one = (transactions // 4) * PER_TRANSACTION / (time.perf_counter() - started)

    started = time.perf_counter()
    _multi_row(sessions, transactions, subjects)
    multi_row = transactions * PER_TRANSACTION / (time.perf_counter() - started)

    started = time.perf_counter()
    _transactions(sessions, transactions, subjects)
    single = transactions * PER_TRANSACTION / (time.perf_counter() - started)
    four = _threaded(sessions, 4, transactions // 4, subjects)

    sealed, seconds = _seal_backlog(sessions)
    with sessions() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        started = time.perf_counter()
        report = verify(session)
        verify_seconds = time.perf_counter() - started
    if not report.ok:
        raise RuntimeError(f"the benchmark's own chain does not verify: {report.reason}")
    note = f"{PER_TRANSACTION} events per transaction"
    return [
        Figure(
            "events recorded + committed, 1 writer",
            single,
            "events/s",
            TARGET,
            baseline=one_by_one,
            baseline_name="one INSERT per event",
            note=note,
        ),
        Figure(
            "events recorded + committed, 1 writer (COPY at commit)",
            single,
            "events/s",
            TARGET,
            baseline=multi_row,
            baseline_name="one multi-row INSERT per transaction",
            note=note,
        ),
        Figure("events recorded + committed, 4 writers", four, "events/s", TARGET, note=note),
        Figure(
            "events sealed (hash-chained)",
            sealed / seconds,
            "events/s",
            TARGET,
            note=f"backlog of {sealed}",
        ),
        Figure("links verified", report.checked / verify_seconds, "links/s"),
    ]
