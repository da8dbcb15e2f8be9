"""Automatic exports and erasures carried out before the filing request is answered (0046).

The request and its job commit first; the API then claims the job and does its
work in a transaction of its own.  Past the statement budget the work goes back
to the workers at once; a ``serve`` killed half-way leaves it to them too, and
either way the request is answered exactly once.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.accounts.sessions import tokens
from doorstep.asgi import create_app
from doorstep.core.database import libpq_url
from doorstep.core.runtime import Runtime
from doorstep.jobs.worker import run_worker
from doorstep.wiring import build_services
from tests.accounts.conftest import activate, bearer, sign_in, unique_email, unique_phone
from tests.conftest import database_url_of
from tests.requests.conftest import new_account
from tests.workers import start_worker, wait_until

ME = "/api/v1/me/requests"
ERASE = {"kind": "deletion", "ground": "NO_LONGER_USED_OR_ACCOUNT_CANCELLED"}
AUTOMATIC = ("access", "portability", "deletion")


def _app(runtime: Runtime, **settings: Any) -> TestClient:
    changed = replace(runtime, settings=runtime.settings.model_copy(update=settings))
    return TestClient(create_app(changed), raise_server_exceptions=False)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app with deletion among the automatic kinds."""
    with _app(runtime, requests_automatic=AUTOMATIC) as test_client:
        yield test_client


def _job(session: Session | sa.Connection, task: str, request_id: str) -> Any:
    return session.execute(
        sa.text(
            "SELECT j.id, j.status::text AS status, j.attempts, "
            "array_agg(e.type::text ORDER BY e.id) AS events "
            "FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id "
            "WHERE j.queueing_lock = :lock GROUP BY j.id"
        ),
        {"lock": f"{task}:{request_id}"},
    ).one()


def _count(session: Session | sa.Connection, sql: str, **params: object) -> int:
    return int(session.execute(sa.text(sql), params).scalar_one())


def test_an_access_request_is_answered_with_its_export_ready(
    client: TestClient, db: Session
) -> None:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    filed = client.post(ME, json={"kind": "access"}, headers=bearer(token))
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["id"]
    assert (filed.json()["status"], filed.json()["export"]) == ("completed", "ready")
    got = client.get(f"{ME}/{request_id}/export", headers=bearer(token))
    assert got.status_code == 200, got.text
    data = json.loads(zipfile.ZipFile(io.BytesIO(got.content)).read("data.json"))
    assert data["tables"]["accounts"][0]["email"] == email
    job = _job(db, "requests.export", request_id)
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert job.events == ["deferred", "started", "succeeded"]  # as a worker's run
    for sql in (
        "SELECT count(*) FROM request_exports WHERE request_id = :r",
        "SELECT count(*) FROM audit_events WHERE action = 'request.exported' "
        "AND details->>'request' = :r",
        "SELECT count(*) FROM audit_events WHERE action = 'request.completed' "
        "AND details->>'request' = :r AND actor = 'system:requests.export'",
    ):
        assert _count(db, sql, r=request_id) == 1, sql


def test_a_deletion_is_carried_out_before_the_answer(client: TestClient, db: Session) -> None:
    email = unique_email()
    account_id = activate(client, db, email=email, phone=unique_phone())
    token = sign_in(client, email).json()["access_token"]
    filed = client.post(ME, json=ERASE, headers=bearer(token))
    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == "completed"
    assert client.get(ME, headers=bearer(token)).status_code == 401, "the erasure ended it"
    assert _count(db, "SELECT count(*) FROM subjects WHERE id = :s", s=account_id) == 0
    assert (
        _count(
            db,
            "SELECT count(*) FROM erasure_tombstones WHERE request_id = :r",
            r=filed.json()["id"],
        )
        == 1
    )
    job = _job(db, "requests.erase", filed.json()["id"])
    assert (job.status, job.attempts) == ("succeeded", 1)


def test_kinds_the_desk_decides_on_are_not_carried_out(runtime: Runtime, db: Session) -> None:
    with _app(runtime) as client:  # deletion is not automatic by default
        email = unique_email()
        activate(client, db, email=email, phone=unique_phone())
        token = sign_in(client, email).json()["access_token"]
        filed = client.post(ME, json=ERASE, headers=bearer(token))
    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == "in_progress"
    assert (
        _count(db, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'requests.erase'")
        == 0
    )


# -- with real commits: a second connection holds the account, a worker finishes -----------


def _signed_in(runtime: Runtime) -> tuple[uuid.UUID, str]:
    """An account and a session token valid by the test's clock and by the system's."""
    services = build_services(runtime)
    with runtime.sessions.begin() as session:
        subject = new_account(session, services.keys, runtime.clock, uuid.uuid4().hex[:8])
        issued = tokens.issue(session, AccountContext.of(services), subject)
        session.execute(
            sa.text("UPDATE account_sessions SET expires_at = 'infinity' WHERE id = :id"),
            {"id": issued.session_id},
        )
    return subject, issued.access_token


@contextmanager
def _account_held(runtime: Runtime, subject: uuid.UUID) -> Iterator[None]:
    """Another transaction holds the account row: an erasure's DELETE of it waits."""
    with psycopg.connect(libpq_url(runtime.database_url)) as holder:
        holder.execute("SELECT 1 FROM accounts WHERE id = %s FOR NO KEY UPDATE", [subject])
        yield
        holder.rollback()


def _inserted(listener: psycopg.Connection[Any], seconds: float) -> list[int]:
    return [
        json.loads(note.payload)["job_id"]
        for note in listener.notifies(timeout=seconds)
        if json.loads(note.payload)["type"] == "job_inserted"
    ]


def _answered_once(runtime: Runtime, subject: uuid.UUID, request_id: str) -> None:
    with runtime.engine.connect() as connection:
        assert _count(connection, "SELECT count(*) FROM subjects WHERE id = :s", s=subject) == 0
        for sql in (
            "SELECT count(*) FROM subject_requests WHERE id = :r AND status = 'completed'",
            "SELECT count(*) FROM audit_events WHERE action = 'request.completed' "
            "AND details->>'request' = :r",
            "SELECT count(*) FROM erasure_tombstones WHERE request_id = :r",
        ):
            assert _count(connection, sql, r=request_id) == 1, sql
        confirmations = "SELECT count(*) FROM outbox WHERE subject_id = :s AND template = :t"
        assert _count(connection, confirmations, s=subject, t="request.completed") == 1


def test_past_its_budget_the_erasure_goes_back_to_the_workers_at_once(
    committed: Runtime,
) -> None:
    subject, token = _signed_in(committed)
    with (
        psycopg.connect(libpq_url(committed.database_url), autocommit=True) as listener,
        _app(committed, requests_automatic=AUTOMATIC, requests_inline_ms=200) as client,
    ):
        listener.execute("LISTEN procrastinate_any_queue_v1")
        with _account_held(committed, subject):
            filed = client.post(ME, json=ERASE, headers=bearer(token))
        assert filed.status_code == 201, filed.text
        assert filed.json()["status"] == "in_progress", "filed; the erasure ran out of time"
        request_id = filed.json()["id"]
        with committed.engine.connect() as connection:
            job = _job(connection, "requests.erase", request_id)
        assert (job.status, job.attempts) == ("todo", 0), "the claim rolled back with the work"
        heard = _inserted(listener, 1.0)  # besides the notices' delivery jobs
        assert heard.count(job.id) == 2, "its insert, then the wake-up"
    asyncio.run(run_worker(committed, wait=False, install_signal_handlers=False))
    _answered_once(committed, subject, request_id)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _waiting_for_a_lock(runtime: Runtime) -> bool:
    with runtime.engine.connect() as connection:
        return bool(
            _count(
                connection,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'",
            )
        )


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_serve_killed_in_the_middle_of_an_erasure_leaves_it_to_a_worker(
    committed: Runtime, tmp_path: Path
) -> None:
    subject, token = _signed_in(committed)
    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),
        "DOORSTEP_REQUESTS_AUTOMATIC": json.dumps(AUTOMATIC),
        "DOORSTEP_REQUESTS_INLINE_MS": "10000",
        "DOORSTEP_WORKER_POLL_SECONDS": "1",
    }
    log = tmp_path / "processes.log"
    port = _free_port()
    with log.open("ab") as output:
        serve = subprocess.Popen(
            [sys.executable, "-m", "doorstep", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    url = f"http://127.0.0.1:{port}"
    answers: list[object] = []
    try:

        def up() -> bool:
            assert serve.poll() is None, log.read_text()[-2000:]
            try:
                return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        assert wait_until(up, 60), "serve did not start"
        with _account_held(committed, subject):

            def post() -> None:
                try:
                    answer = httpx.post(f"{url}{ME}", json=ERASE, headers=bearer(token), timeout=60)
                    answers.append(answer)
                except httpx.TransportError as exc:
                    answers.append(exc)

            client = threading.Thread(target=post)
            client.start()
            assert wait_until(lambda: _waiting_for_a_lock(committed), 30), answers
            serve.send_signal(signal.SIGKILL)
            serve.wait(timeout=30)
            client.join(30)
        (answer,) = answers
        assert isinstance(answer, httpx.TransportError), f"the client gets an error: {answer}"
        with committed.engine.connect() as connection:
            request_id = str(
                connection.scalar(
                    sa.text("SELECT id FROM subject_requests WHERE subject_id = :s"),
                    {"s": subject},
                )
            )
            status = connection.scalar(
                sa.text("SELECT status FROM subject_requests WHERE id = :r"), {"r": request_id}
            )
        assert status == "in_progress", "filed, and not carried out by the dead serve"
        worker = start_worker(env, log)
        try:

            def completed() -> bool:
                with committed.engine.connect() as connection:
                    return bool(
                        _count(
                            connection,
                            "SELECT count(*) FROM subject_requests WHERE id = :r "
                            "AND status = 'completed'",
                            r=request_id,
                        )
                    )

            assert wait_until(completed, 60), log.read_text()[-2000:]
        finally:
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=30)
        _answered_once(committed, subject, request_id)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
