"""Data-subject requests on the fleet: 100,000 accounts and 1,000,000 devices (bench/fleet.py).

* access export of one ordinary subject (about 9 devices, sessions, consents,
  messages, ~17 audit events): the ZIP with JSON, CSV per table and README, p50
  and p99 over a sample of subjects, each in its own transaction;
* the same for a heavy subject holding 5,000 rows (plus ~4,000 audit events);
* erasure of a heavy subject, one transaction;
* sustained erasures of ordinary subjects, one transaction each, one, four and
  eight threads (issue #6 targets: export p50 <= 20 ms, heavy erasure <= 0.2 s,
  >= 500 erasures/s);
* the same in batches of :data:`BATCH` subjects per transaction
  (:func:`doorstep.privacy.requests.erasure_batch.erase_subjects`: one statement for
  the batch, all-or-nothing per subject), one and four threads (issue 20, item 5:
  >= 1,000 erasures/s).  The single-erasure figures are their baseline.

Look-alike subjects of the heavy ones are fingerprinted before and after
(:func:`bench.fleet.snapshot`); the note says whether any changed.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench.fleet import snapshot
from bench.harness import BenchContext, Figure, percentile
from doorstep.core.database import transaction
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure import erase_subject
from doorstep.privacy.requests.erasure_batch import erase_subjects
from doorstep.privacy.requests.export import build
from doorstep.schema import metadata
from doorstep.wiring import Services, build_services

FLEET = True
ACTOR = "system:bench"
BATCH = 50


def _export_times(services: Services, subjects: list[uuid.UUID]) -> tuple[list[float], int]:
    runtime = services.runtime
    pack = RequestContext.of(services).policy
    times, size = [], 0
    for subject in subjects:
        started = time.perf_counter()
        with transaction(runtime.sessions) as session:
            made = build(session, services.keys, metadata, pack, subject, now=runtime.clock.now())
        times.append(time.perf_counter() - started)
        size = max(size, len(made.archive))
    return times, size


def _erase(services: Services, subject: uuid.UUID) -> None:
    with transaction(services.runtime.sessions) as session:
        erase_subject(
            session,
            RequestContext.of(services),
            services.keys,
            subject,
            request_id=None,
            actor=ACTOR,
        )


def _erase_batch(services: Services, subjects: list[uuid.UUID]) -> None:
    with transaction(services.runtime.sessions) as session:
        done = erase_subjects(
            session, RequestContext.of(services), services.keys, subjects, actor=ACTOR
        )
    assert not done.failed, f"{len(done.failed)} subjects of a batch were not erased"


def _batched_rate(
    services: Services, subjects: list[uuid.UUID], threads: int, batch: int = BATCH
) -> float:
    batches = [subjects[n : n + batch] for n in range(0, len(subjects), batch)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda batch: _erase_batch(services, batch), batches))
    return len(subjects) / (time.perf_counter() - started)


def _erasure_rate(services: Services, subjects: list[uuid.UUID], threads: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda subject: _erase(services, subject), subjects))
    return len(subjects) / (time.perf_counter() - started)


def run(ctx: BenchContext) -> list[Figure]:
    """Measure the figures above on a clone of the fleet."""
    fleet = ctx.fleet
    assert fleet is not None, "bench_requests needs the fleet (FLEET = True)"
    services = build_services(ctx.runtime)
    exports = 50 if ctx.quick else 400
    per_rate = 150 if ctx.quick else 300  # the fleet's sample is 2,000 subjects
    per_batched = 300
    sample = list(fleet.sample)
    watched = [lookalike for group in fleet.lookalikes.values() for lookalike in group]
    with ctx.engine.connect() as connection:
        before = {subject: snapshot(connection, subject) for subject in watched}

    _export_times(services, sample[:20])  # warm the DEK cache and the statement cache
    ordinary, size = _export_times(services, sample[20 : 20 + exports])
    heavy_subjects = list(fleet.heavy)
    heavy, heavy_size = _export_times(services, heavy_subjects[:3] * 5)
    started = time.perf_counter()
    _erase(services, heavy_subjects[0])
    erase_heavy = time.perf_counter() - started
    rest = sample[20 + exports :]
    one = _erasure_rate(services, rest[:per_rate], 1)
    four = _erasure_rate(services, rest[per_rate : 2 * per_rate], 4)
    eight = _erasure_rate(services, rest[2 * per_rate : 3 * per_rate], 8)
    left = rest[3 * per_rate :]
    batched_one = _batched_rate(services, left[:per_batched], 1)
    batched_four = _batched_rate(services, left[per_batched : 2 * per_batched], 4)

    with ctx.engine.connect() as connection:
        changed = sum(snapshot(connection, subject) != before[subject] for subject in watched)
    untouched = f"{len(watched)} look-alikes, {changed} changed"
    return [
        Figure(
            "access export, ordinary subject, p50",
            percentile(ordinary, 50) * 1000,
            "ms",
            target="<= 20 ms",
            note=f"{len(ordinary)} subjects; ZIP <= {size // 1024 + 1} KiB",
        ),
        Figure("access export, ordinary subject, p99", percentile(ordinary, 99) * 1000, "ms"),
        Figure(
            "access export, 5,000-row subject, p50",
            percentile(heavy, 50) * 1000,
            "ms",
            note=f"ZIP {heavy_size // 1024} KiB",
        ),
        Figure(
            "erasure of a 5,000-row subject",
            erase_heavy * 1000,
            "ms",
            target="<= 200 ms",
            note=f"one transaction; {untouched}",
        ),
        Figure(
            "erasures of ordinary subjects, 1 thread",
            one,
            "erasures/s",
            target=">= 500/s",
            note="one transaction each",
        ),
        Figure(
            "erasures of ordinary subjects, 4 threads",
            four,
            "erasures/s",
            target=">= 500/s",
            note="one transaction each",
        ),
        Figure(
            "erasures of ordinary subjects, 8 threads",
            eight,
            "erasures/s",
            target=">= 500/s",
            note="one transaction each",
        ),
        Figure(
            f"erasures of ordinary subjects, batches of {BATCH}, 1 thread",
            batched_one,
            "erasures/s",
            target=">= 1,000/s",
            baseline=one,
            baseline_name="one transaction each, 1 thread",
            note=f"one statement per batch; {untouched}",
        ),
        Figure(
            f"erasures of ordinary subjects, batches of {BATCH}, 4 threads",
            batched_four,
            "erasures/s",
            target=">= 1,000/s",
            baseline=four,
            baseline_name="one transaction each, 4 threads",
            note="one statement per batch",
        ),
    ]
