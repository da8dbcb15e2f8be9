"""A worker killed (SIGKILL) in the middle of an erasure: nothing partial; the retry finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure_requests import erase_for_request
from doorstep.privacy.requests.models import RequestStatus
from doorstep.privacy.subjects.models import Subject
from doorstep.wiring import build_services
from tests.conftest import database_url_of
from tests.requests.conftest import STAFF, new_account

WORKER = """
import sys, time, uuid
from pathlib import Path
from doorstep.core.runtime import open_runtime
from doorstep.core.settings import load_settings
from doorstep.privacy.requests.erasure_requests import erase_for_request
from doorstep.privacy.requests.context import RequestContext
from doorstep.wiring import build_services

marker = Path(sys.argv[2])
def stall(step: str) -> None:
    if step == "keys":
        marker.write_text("in the middle")
        time.sleep(120)

with open_runtime(load_settings()) as runtime:
    keys = build_services(runtime).keys
    ctx = RequestContext(clock=runtime.clock, settings=runtime.settings)
    with runtime.sessions.begin() as session:
        erase_for_request(session, ctx, keys, uuid.UUID(sys.argv[1]), actor="system:test",
                          after_step=stall)
"""


@pytest.mark.slow
@pytest.mark.clause("CPE-V.3.a")
def test_a_killed_worker_leaves_nothing_partial_and_the_retry_finishes(
    committed: Runtime, tmp_path: Path
) -> None:
    keys = build_services(committed).keys
    ctx = RequestContext(clock=committed.clock, settings=committed.settings)
    with committed.sessions.begin() as session:
        subject = new_account(session, keys, committed.clock, "token-of-A")
        row = svc.open_request(
            session,
            ctx,
            subject_id=subject,
            kind="deletion",
            channel="app",
            actor=STAFF,
            ground="NO_PERMISSION",
        )
        svc.verify(session, ctx, row.id, method="session", actor=STAFF)
        request_id = row.id
    marker = tmp_path / "marker"
    env = {
        **os.environ,
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),
    }
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(request_id), str(marker)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the worker never reached the middle of the erasure"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    with committed.sessions() as session:
        assert session.get(Subject, subject) is not None
        accounts = session.execute(
            sa.text("SELECT count(*) FROM account_identities WHERE account_id = :s"), {"s": subject}
        ).scalar_one()
        assert accounts == 1  # the deletes before the kill were never committed
        assert svc.get(session, request_id).status is RequestStatus.IN_PROGRESS
    with committed.sessions.begin() as session:
        erase_for_request(session, ctx, keys, request_id, actor=STAFF)
    with committed.sessions() as session:
        assert session.get(Subject, subject) is None
        assert svc.get(session, request_id).status is RequestStatus.COMPLETED
