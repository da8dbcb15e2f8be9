"""Purpose gate and consent ledger: checks per second, snapshot loads, consent events.

* allowed check: ``SubjectAccess.check(element, purpose)`` on a loaded snapshot,
  for a contract-based and a consent-based use (no database, no audit write);
  baseline: a bare ``(element, purpose) in dict`` look-up in the same loop.
* snapshot load: ``gate.for_subject`` (one query: subject, consents, restrictions).
* audited check: ``check(..., audit=True)``, 100 per transaction, committed.
* consent events: a grant and its withdrawal, each in its own committed
  transaction (advisory lock, state read, insert, audit record).

Target of the issue: <= 2 microseconds per allowed check in-process.
"""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa

from bench.harness import BenchContext, Figure, per_second
from doorstep.audit.entries import system_actor
from doorstep.privacy.consent import grant, withdraw
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.purposes import PurposeGate
from doorstep.privacy.subjects.models import Subject, SubjectKind
from doorstep.schema import metadata as schema
from doorstep.vocabulary import LegalBasis, not_personal, personal

ACTOR = system_actor("bench")
NOTICE = "Doorstep may use your phone's location to list nearby Wi-Fi networks."
CONTRACT_USE = ("subjects.id", "account.management")
CONSENT_USE = ("bench_wifi_scans.location", "wifi.location_scan")


_RAW_EVENT = sa.text(
    "INSERT INTO consent_events (id, subject_id, purpose, action, channel, policy_version, "
    "notice_hash, occurred_at) VALUES (:id, :subject, 'wifi.location_scan', 'refuse', 'app', "
    "'1.1', repeat('0', 64), now())"
)


def _bench_schema() -> sa.MetaData:
    """The schema plus one consent-based element (checks never touch its table)."""
    scratch = sa.MetaData()
    for table in schema.tables.values():
        table.to_metadata(scratch)
    sa.Table(
        "bench_wifi_scans",
        scratch,
        sa.Column("id", sa.Integer, primary_key=True, info=not_personal("row id")),
        sa.Column(
            "location",
            sa.Text,
            info=personal(
                "user.location.precise",
                purposes=["wifi.location_scan"],
                legal_basis=LegalBasis.CONSENT,
                retention="until_erasure",
            ),
        ),
    )
    return scratch


def _subjects(ctx: BenchContext, count: int) -> list[uuid.UUID]:
    with ctx.runtime.sessions.begin() as session:
        rows = [Subject(kind=SubjectKind.SUBSCRIBER) for _ in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def run(ctx: BenchContext) -> list[Figure]:
    """Measure and return the figures."""
    checks = 200_000 if ctx.quick else 2_000_000
    loads = 200 if ctx.quick else 2_000
    audited = 2_000 if ctx.quick else 20_000
    pairs = 100 if ctx.quick else 1_000
    clock = ctx.runtime.clock
    gate = PurposeGate.from_datamap(_bench_schema(), default_pack())
    subject, *others = _subjects(ctx, 1 + pairs)
    with ctx.runtime.sessions.begin() as session:
        grant(
            session,
            subject_id=subject,
            purpose="wifi.location_scan",
            channel="app",
            notice_text=NOTICE,
            clock=clock,
        )

    figures: list[Figure] = []
    with ctx.runtime.sessions() as session:
        access = gate.for_subject(session, subject, actor=ACTOR)
        index = dict(gate.index)
        baseline = per_second(lambda: CONTRACT_USE in index, checks)
        for label, (element, purpose) in (("contract", CONTRACT_USE), ("consent", CONSENT_USE)):
            rate = per_second(lambda e=element, p=purpose: access.check(e, p), checks)
            figures.append(
                Figure(
                    f"allowed check ({label} basis)",
                    rate,
                    "checks/s",
                    baseline=baseline,
                    baseline_name="bare dict look-up",
                )
            )
            figures.append(
                Figure(
                    f"allowed check ({label} basis), time each",
                    1e6 / rate,
                    "µs/check",
                    target="<= 2 µs",
                )
            )
        load_rate = per_second(lambda: gate.for_subject(session, subject, actor=ACTOR), loads)
        figures.append(Figure("snapshot load (one query)", 1e3 / load_rate, "ms/load"))
        session.rollback()

    started = time.perf_counter()
    for _ in range(audited // 100):
        with ctx.runtime.sessions.begin() as session:
            access = gate.for_subject(session, subject, actor=ACTOR)
            for _ in range(100):
                access.check(*CONSENT_USE, audit=True)
    figures.append(
        Figure(
            "audited check, 100/transaction, committed",
            audited / (time.perf_counter() - started),
            "checks/s",
        )
    )

    started = time.perf_counter()
    for other in others:
        with ctx.runtime.sessions.begin() as session:
            grant(
                session,
                subject_id=other,
                purpose="wifi.location_scan",
                channel="app",
                notice_text=NOTICE,
                clock=clock,
            )
        with ctx.runtime.sessions.begin() as session:
            withdraw(
                session, subject_id=other, purpose="wifi.location_scan", channel="app", clock=clock
            )
    ledger_rate = 2 * pairs / (time.perf_counter() - started)

    started = time.perf_counter()
    for number in range(2 * pairs):
        with ctx.runtime.sessions.begin() as session:
            session.execute(_RAW_EVENT, {"subject": others[number // 2], "id": uuid.uuid4()})
    raw_rate = 2 * pairs / (time.perf_counter() - started)
    figures.append(
        Figure(
            "consent grant + withdraw, one transaction each",
            ledger_rate,
            "events/s",
            baseline=raw_rate,
            baseline_name="raw INSERT + COMMIT",
            note="bounded by the commit's fsync on this machine",
        )
    )
    return figures
