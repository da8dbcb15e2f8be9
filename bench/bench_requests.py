"""Data-subject requests: export latency and erasure throughput (data-map driven).

Fixture: subscribers with an account, a linked provider whose token is
encrypted, 2,500 consent events and 2,500 outbox messages each (5,000 rows in
the tables the plan touches), plus look-alike subjects that must stay.

* export of one subject (ZIP: JSON, CSV per table, README), p50 and p99;
* erasure of one subject with 5,000 rows, one transaction, seconds;
* erasures/s of small subjects (an account and a few rows), one transaction each.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from bench.harness import BenchContext, Figure, percentile
from doorstep.core.database import transaction
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure import erase_subject
from doorstep.privacy.requests.export import build
from doorstep.privacy.subjects.models import Subject, SubjectKind
from doorstep.schema import metadata
from doorstep.wiring import build_services

ACTOR = "system:bench"
NOTICE = "0" * 64


def _subject(ctx: BenchContext, keys: object, rows: int) -> uuid.UUID:
    from doorstep.keys.services import KeyService

    assert isinstance(keys, KeyService)
    now = ctx.runtime.clock.now()
    half = rows // 2
    with transaction(ctx.runtime.sessions) as session:
        subject = Subject(kind=SubjectKind.SUBSCRIBER)
        session.add(subject)
        session.flush()
        session.execute(
            sa.text(
                "INSERT INTO accounts (id, status, email, password_hash, created_at) "
                "VALUES (:id, 'active', :email, 'x', :now)"
            ),
            {"id": subject.id, "email": f"b.{subject.id.hex[:12]}@example.org", "now": now},
        )
        token = keys.encrypt(
            session, subject.id, "token", context="account_identities.access_token"
        )
        session.execute(
            sa.text(
                "INSERT INTO account_identities (id, account_id, provider, provider_subject, "
                "access_token, scope, share_with, linked_at) VALUES (gen_random_uuid(), :id, "
                "'example', :ps, :token, 'openid', '{}', :now)"
            ),
            {"id": subject.id, "ps": subject.id.hex, "token": token, "now": now},
        )
        session.execute(
            sa.text(
                "INSERT INTO consent_events (id, subject_id, purpose, action, channel, "
                "policy_version, notice_hash, occurred_at) SELECT gen_random_uuid(), :id, "
                "'account.profile', 'grant', 'app', 'v1', :hash, :now FROM generate_series(1, :n)"
            ),
            {"id": subject.id, "hash": NOTICE, "now": now, "n": half},
        )
        session.execute(
            sa.text(
                "INSERT INTO outbox (id, subject_id, channel, template, locale, email, params, "
                "status, created_at, sent_at, finished_at) SELECT gen_random_uuid(), :id, 'email', "
                "'request.received', 'en', :email, NULL, 'sent', :now, :now, :now "
                "FROM generate_series(1, :n)"
            ),
            {
                "id": subject.id,
                "email": f"b.{subject.id.hex[:12]}@example.org",
                "now": now,
                "n": rows - half,
            },
        )
    return subject.id


def run(ctx: BenchContext) -> list[Figure]:
    """Measure the figures above on a fresh database (file keyring in a temp dir)."""
    exports = 10 if ctx.quick else 100
    small = 10 if ctx.quick else 100
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = ctx.runtime
        runtime.settings = runtime.settings.model_copy(update={"data_dir": Path(data_dir)})
        services = build_services(runtime)
        keys = services.keys
        rctx = RequestContext(clock=runtime.clock, settings=runtime.settings)
        pack = rctx.policy
        big = _subject(ctx, keys, 5_000)
        for _ in range(3):
            _subject(ctx, keys, 5_000)  # look-alikes that stay
        latencies = []
        size = 0
        for _ in range(exports):
            started = time.perf_counter()
            with transaction(runtime.sessions) as session:
                made = build(session, keys, metadata, pack, big, now=runtime.clock.now())
            latencies.append(time.perf_counter() - started)
            size = len(made.archive)
        started = time.perf_counter()
        with transaction(runtime.sessions) as session:
            erase_subject(session, rctx, keys, big, request_id=None, actor=ACTOR)
        erase_big = time.perf_counter() - started
        subjects = [_subject(ctx, keys, 10) for _ in range(small)]
        started = time.perf_counter()
        for subject_id in subjects:
            with transaction(runtime.sessions) as session:
                erase_subject(session, rctx, keys, subject_id, request_id=None, actor=ACTOR)
        rate = len(subjects) / (time.perf_counter() - started)
    return [
        Figure(
            "export of a 5,000-row subject p50",
            percentile(latencies, 50) * 1000,
            "ms",
            note=f"ZIP {size // 1024} KiB",
        ),
        Figure("export of a 5,000-row subject p99", percentile(latencies, 99) * 1000, "ms"),
        Figure("erasure of a 5,000-row subject", erase_big * 1000, "ms", note="one transaction"),
        Figure("erasures of small subjects", rate, "erasures/s", note="one transaction each"),
    ]
