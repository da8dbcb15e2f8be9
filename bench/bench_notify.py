"""Notification outbox: queueing rate, and delivery rate through real workers.

* queued/s: ``queue_email`` in its own committed transaction (one sign-up, one
  code), against a bare INSERT of the same row in its own transaction; the
  ratio is what rendering, checking and the delivery job cost;
* delivered/s: a real worker (``worker_concurrency``) drains the queue with the
  console mailer (Doorstep's own cost: lock, render, update, audit) and with
  SMTP to an aiosmtpd relay on loopback (one connection per message).
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from bench.harness import BenchContext, Figure
from doorstep.core.database import transaction
from doorstep.core.runtime import Runtime
from doorstep.jobs.worker import run_worker
from doorstep.notify.models import OutboxMessage
from doorstep.notify.services import queue_email


def _queue(runtime: Runtime, count: int) -> float:
    started = time.perf_counter()
    for index in range(count):
        with transaction(runtime.sessions) as session:
            queue_email(
                session,
                subject_id=uuid.uuid4(),
                to=f"bench{index}@example.org",
                template="account.verify_email",
                params={"code": f"{index:06d}"},
                clock=runtime.clock,
            )
    return count / (time.perf_counter() - started)


def _bare_insert(runtime: Runtime, count: int) -> float:
    started = time.perf_counter()
    for index in range(count):
        with transaction(runtime.sessions) as session:
            session.execute(
                sa.insert(OutboxMessage).values(
                    id=uuid.uuid4(),
                    subject_id=uuid.uuid4(),
                    channel="email",
                    template="account.verify_email",
                    locale="en",
                    email=f"bench{index}@example.org",
                    params={"code": f"{index:06d}"},
                    status="cancelled",
                    created_at=runtime.clock.now(),
                    finished_at=runtime.clock.now(),
                )
            )
    return count / (time.perf_counter() - started)


def _drain(runtime: Runtime, count: int) -> float:
    _queue(runtime, count)
    started = time.perf_counter()
    asyncio.run(run_worker(runtime, wait=False, install_signal_handlers=False))
    elapsed = time.perf_counter() - started
    with runtime.sessions() as session:
        sent = session.scalar(sa.text("SELECT count(*) FROM outbox WHERE status = 'sent'"))
        session.execute(sa.text("DELETE FROM outbox"))
        session.commit()
    assert sent == count, f"{sent} of {count} sent"
    return count / elapsed


def _smtp_relay() -> tuple[Any, int] | None:
    try:
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Sink
    except ImportError:  # a production install has no test relay
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


def run(ctx: BenchContext) -> list[Figure]:
    """Measure the figures above on a fresh database."""
    count = 200 if ctx.quick else 2_000
    deliveries = 100 if ctx.quick else 1_000
    runtime = ctx.runtime
    bare = _bare_insert(runtime, count)
    queued = _queue(runtime, count)
    with runtime.sessions.begin() as session:
        session.execute(sa.text("DELETE FROM outbox"))
        session.execute(sa.text("DELETE FROM procrastinate_jobs"))
    figures = [
        Figure(
            "messages queued (1 per transaction)",
            queued,
            "msg/s",
            baseline=bare,
            baseline_name="bare INSERT",
        ),
        Figure(
            "delivered by a worker, console mailer",
            _drain(replace(runtime, settings=runtime.settings.model_copy()), deliveries),
            "msg/s",
            note=f"concurrency {runtime.settings.worker_concurrency}",
        ),
    ]
    relay = _smtp_relay()
    if relay is not None:
        controller, port = relay
        try:
            smtp = runtime.settings.model_copy(
                update={"mail_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port}
            )
            figures.append(
                Figure(
                    "delivered by a worker, SMTP to a loopback relay",
                    _drain(replace(runtime, settings=smtp), deliveries),
                    "msg/s",
                    note="one SMTP connection per message",
                )
            )
        finally:
            controller.stop()
    return figures
