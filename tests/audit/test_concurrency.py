"""Many writers and sealers at once: every committed event is sealed exactly once, and a
crash before commit leaves neither the change nor its event."""

from __future__ import annotations

import multiprocessing
import random
import threading
import uuid
from multiprocessing.synchronize import Event as EventType

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from doorstep.audit.services import flush_events, record, seal, verify
from doorstep.core.database import create_db_engine, make_session_factory
from doorstep.core.runtime import Runtime
from doorstep.privacy.subjects.models import Subject, SubjectKind
from tests.audit.conftest import count
from tests.conftest import database_url_of

WRITERS = 4
TRANSACTIONS = 25
EVENTS = 20


def _write(
    sessions: sessionmaker[Session], writer: str, transactions: int, *, fail_every: int
) -> int:
    """Record ``transactions`` transactions of EVENTS events; roll back every ``fail_every``-th."""
    committed = 0
    for number in range(transactions):
        with sessions() as session:
            for index in range(EVENTS):
                record(
                    session,
                    action="test.concurrent",
                    actor=f"system:{writer}",
                    subject_id=uuid.uuid4(),
                    details={"txn": number, "index": index},
                )
            if fail_every and number % fail_every == 0:
                flush_events(session)
                session.rollback()
            else:
                session.commit()
                committed += EVENTS
    return committed


def _seal_until(sessions: sessionmaker[Session], done: threading.Event) -> None:
    while not done.is_set():
        with sessions() as session:
            seal(session, batch_size=random.randint(1, 50), limit=random.randint(1, 120))
            session.commit()


def _assert_sealed_exactly_once(committed: Runtime, expected: int) -> None:
    with committed.sessions() as session:
        seal(session)
        session.commit()
        report = verify(session)
        assert report.ok, report
        assert report.checked == expected
        assert count(session, "audit_events") == expected
        assert count(session, "audit_pending") == 0
        distinct = session.execute(
            sa.text("SELECT count(DISTINCT event_id), min(seq), max(seq) FROM audit_chain")
        ).one()
        assert tuple(distinct) == (expected, 1, expected)


@pytest.mark.clause("CPE-IV.1.a")
def test_threads_recording_and_sealing_at_once_leave_a_chain_that_verifies(
    committed: Runtime,
) -> None:
    done = threading.Event()
    results: list[int] = []
    lock = threading.Lock()

    def writer(name: str) -> None:
        written = _write(committed.sessions, name, TRANSACTIONS, fail_every=5)
        with lock:
            results.append(written)

    writers = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(WRITERS)]
    sealers = [
        threading.Thread(target=_seal_until, args=(committed.sessions, done)) for _ in range(3)
    ]
    for thread in (*writers, *sealers):
        thread.start()
    for thread in writers:
        thread.join(60)
    done.set()
    for thread in sealers:
        thread.join(60)
    assert len(results) == WRITERS
    expected = sum(results)
    assert expected == WRITERS * (TRANSACTIONS - 5) * EVENTS
    _assert_sealed_exactly_once(committed, expected)


def test_an_event_committed_after_a_later_one_is_sealed_after_it(committed: Runtime) -> None:
    """Identity ids are not commit order: the chain follows what was committed when sealing."""
    slow, fast = committed.sessions(), committed.sessions()
    record(slow, action="test.slow", actor="system:tests")
    flush_events(slow)  # takes the lower id, but commits last
    record(fast, action="test.fast", actor="system:tests")
    fast.commit()
    with committed.sessions() as sealer:
        assert seal(sealer) == 1
        sealer.commit()
    slow.commit()
    with committed.sessions() as sealer:
        assert seal(sealer) == 1
        sealer.commit()
        order = sealer.execute(
            sa.text(
                "SELECT e.action, e.id FROM audit_chain c JOIN audit_events e "
                "ON e.id = c.event_id ORDER BY c.seq"
            )
        ).all()
        assert [action for action, _ in order] == ["test.fast", "test.slow"]
        assert order[0].id > order[1].id
        assert verify(sealer).ok
    slow.close()
    fast.close()


def _process_main(url: str, name: str, transactions: int) -> None:
    engine = create_db_engine(url, pool_size=2)
    sessions = make_session_factory(engine)
    for number in range(transactions):
        _write(sessions, f"{name}-{number}", 1, fail_every=0)
        if number % 3 == 0:
            with sessions() as session:
                seal(session)
                session.commit()
    engine.dispose()


@pytest.mark.clause("CPE-IV.1.a")
def test_processes_recording_and_sealing_at_once_leave_a_chain_that_verifies(
    committed: Runtime,
) -> None:
    context = multiprocessing.get_context("spawn")
    url = database_url_of(committed.settings)
    processes = [
        context.Process(target=_process_main, args=(url, f"p{i}", TRANSACTIONS)) for i in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    _assert_sealed_exactly_once(committed, 3 * TRANSACTIONS * EVENTS)


def _crash_main(url: str, written: EventType) -> None:
    engine = create_db_engine(url, pool_size=1)
    with Session(engine) as session:
        subject = uuid.uuid4()
        session.add(Subject(id=subject, kind=SubjectKind.SUBSCRIBER))
        session.flush()
        record(session, action="subject.created", actor="system:crash", subject_id=subject)
        flush_events(session)
        written.set()
        threading.Event().wait(60)  # killed here, before COMMIT


@pytest.mark.clause("CPE-IV.1.a")
def test_a_crash_before_commit_leaves_neither_the_change_nor_its_event(
    committed: Runtime,
) -> None:
    context = multiprocessing.get_context("spawn")
    written = context.Event()
    process = context.Process(
        target=_crash_main, args=(database_url_of(committed.settings), written)
    )
    process.start()
    assert written.wait(60), "the child never wrote its change"
    process.kill()
    process.join(30)
    with committed.sessions() as session:
        assert count(session, "subjects") == 0
        assert count(session, "audit_events") == 0
        assert count(session, "audit_pending") == 0
        assert verify(session).ok
