"""Codes arrive by real e-mail (aiosmtpd on loopback, delivered by a worker); the sweep keeps
the retention rules one hour either side of each cutoff; no personal value leaks into the
audit trail or job payloads."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.accounts.context import AccountContext
from doorstep.accounts.tasks import sweep
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.jobs.worker import run_worker
from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    activate,
    make_client,
    sign_in,
    sign_up,
    unique_email,
    unique_phone,
    with_settings,
)
from tests.notify.conftest import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.mark.slow
def test_the_verification_code_arrives_by_email_and_proves_the_address(
    committed: Runtime, smtp: SmtpServer
) -> None:
    runtime = with_settings(
        committed, mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=smtp.port
    )
    email, phone = unique_email(), unique_phone()
    for client in make_client(runtime):
        assert (
            sign_up(client, email=email, phone=phone, password=PASSWORD, age=30).status_code == 202
        )
        asyncio.run(run_worker(runtime, wait=False, install_signal_handlers=False, concurrency=2))
        # Beside the code: the notice of the transfer to the relays in CN (decision 0035).
        (mail,) = [
            m
            for m in smtp.received
            if email in m.rcpt_tos and m.message["Subject"] == "Your verification code"
        ]
        code = re.search(r"\b(\d{6})\b", mail.text)
        assert code is not None
        verified = client.post(
            f"{PREFIX}/verification", json={"identifier": email, "code": code.group(1)}
        )
        assert verified.json() == {"status": "pending"}  # the mobile number is still to prove


def test_the_sweep_deletes_sign_in_state_after_its_retention_and_not_before(
    client: TestClient, db: Session, runtime: Runtime, ctx: AccountContext, clock: FakeClock
) -> None:
    email = unique_email()
    activate(client, db, email=email, phone=unique_phone())
    sign_in(client, email)
    sign_in(client, unique_email(), "wrong-wrong-wrong")  # a rate-limit bucket

    def count(table: str) -> int:
        return int(db.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())

    assert (count("account_verifications"), count("account_sessions")) == (2, 1)
    clock.advance(timedelta(hours=1))  # buckets: 2 h rule, one hour before
    report = sweep(runtime, ctx)
    assert (report.buckets, report.codes, report.sessions) == (0, 0, 0)
    clock.advance(timedelta(hours=2))  # one hour after
    assert sweep(runtime, ctx).buckets >= 1 and count("account_rate_limits") == 0
    clock.advance(timedelta(days=1) - timedelta(hours=4))  # codes: a day, one hour before
    assert sweep(runtime, ctx).codes == 0
    clock.advance(timedelta(hours=2))
    assert sweep(runtime, ctx).codes == 2
    clock.advance(timedelta(days=30) - timedelta(days=1, hours=2))  # sessions: 30 days
    assert sweep(runtime, ctx).sessions == 0 and count("account_sessions") == 1
    clock.advance(timedelta(hours=2))
    assert sweep(runtime, ctx).sessions == 1 and count("account_sessions") == 0


def test_no_personal_value_reaches_the_audit_trail_or_job_payloads(
    client: TestClient, db: Session
) -> None:
    email, phone = unique_email(), unique_phone()
    token_owner = activate(client, db, email=email, phone=phone)
    sign_in(client, email, "a-wrong-password-1")
    sign_in(client, email)
    client.post(f"{PREFIX}/password-reset", json={"identifier": email})
    haystack = " ".join(
        str(value)
        for value in db.execute(
            sa.text(
                "SELECT (SELECT string_agg(row_to_json(a)::text, ' ') FROM audit_events a), "
                "(SELECT string_agg(args::text, ' ') FROM procrastinate_jobs)"
            )
        ).one()
    )
    assert str(token_owner) in haystack  # ids are there ...
    for value in (email, email.split("@")[0], phone, phone.lstrip("+"), PASSWORD):
        assert value not in haystack  # ... values never
