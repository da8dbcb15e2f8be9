"""Data-subject requests across Doorstep and two connected systems (issue 18), on the fleet.

Beside Doorstep alone, in the same run and on the same clone of the fleet
(bench/fleet.py; ``--quick``: 10,000 accounts), each ordinary subject also has

* an order and its payment token in a **shop database** on the same PostgreSQL
  server (the demo's schema, :mod:`doorstep.demo_systems.shop`, with indexes on
  its key columns as a real shop keeps them), reached by the **SQL connector**
  under the pack's ``shop`` mapping, plus one filler order per fleet account;
* a subscription at the **newsletter service** (:mod:`doorstep.demo_systems.newsletter`)
  served over HTTP (keep-alive) on loopback from a process of its own
  (:mod:`bench._systems_newsletter`: a system is another program, and in a thread
  of this one it would take the interpreter lock from the code measured),
  reached by the **HTTP connector** with signed calls, plus 1,000 filler
  subscribers (the service finds by a linear scan).

Per subject, one request's work is measured end to end, sequentially, as the
orchestration does it (:mod:`doorstep.privacy.requests.systems.run`) minus the
job queue and the ``request_systems`` bookkeeping: read the identifiers; per
system, get the connector in its own transaction (``connector_for``: the
process's pooled connector, :mod:`doorstep.privacy.connectors.pool`, after
reading the stored credential to see it is unchanged), call it outside any
transaction, close it (the pooled connections stay open); then

* access: build the ZIP with the systems' parts (``build(..., systems=...)``);
* erasure: Doorstep's own erasure (one transaction), then each system's erasure.

Two last figures erase through the real orchestration instead: the jobs' bodies in
this process (with every ``request_systems`` row, audit event and completion; no job
queue, :mod:`bench._systems_orchestrated`), and real worker processes taking the jobs
from the queue (:mod:`bench._systems_workers`), each beside Doorstep alone the same way.

Targets (issue 18): export p50 <= 50 ms; >= 200 erasures/s.  The figures of
Doorstep alone use the calls :mod:`bench.bench_requests` measures.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import psycopg
from psycopg import sql as psql

from bench._systems_batched import BATCH, batched_rate
from bench._systems_newsletter import newsletter_process
from bench._systems_orchestrated import alone_rate, orchestrated_rate
from bench._systems_workers import WORKERS, systems_settings, workers_rate
from bench.bench_requests import _batched_rate, _erase, _erasure_rate, _export_times
from bench.harness import BenchContext, Figure, percentile, server_url
from doorstep.audit.entries import audited_transaction
from doorstep.core.database import transaction
from doorstep.demo_systems.shop import declared, open_shop
from doorstep.privacy.connectors.base import Confirmation, Identifiers
from doorstep.privacy.connectors.build import connector_for
from doorstep.privacy.connectors.credentials import set_secret
from doorstep.privacy.datamap.systems import ConnectedSystem
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.export import build
from doorstep.privacy.requests.systems.fanout import identifiers_of
from doorstep.schema import metadata
from doorstep.wiring import Services, build_services

FLEET = True
SHOP = "shop"
NEWSLETTER = "newsletter"
SHOP_DATABASE = "doorstep_bench_systems_shop"
FILLER_SUBSCRIBERS = 1_000

_INDEXES = (
    "CREATE INDEX IF NOT EXISTS orders_email ON orders (email)",
    "CREATE INDEX IF NOT EXISTS orders_phone ON orders (phone)",
    "CREATE INDEX IF NOT EXISTS orders_account ON orders (account_ref)",
    "CREATE INDEX IF NOT EXISTS payments_email ON payments (email)",
    "CREATE INDEX IF NOT EXISTS payments_order ON payments (order_number)",
)


def _drop_shop(admin: str) -> None:
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                psql.Identifier(SHOP_DATABASE)
            )
        )


def _fill_shop(url: str, people: list[Identifiers], filler: int) -> None:
    """One order and payment per subject (by e-mail, phone, account) and ``filler`` others."""
    with psycopg.connect(url) as shop, shop.transaction():
        shop.execute(
            "INSERT INTO orders (order_number, email, phone, account_ref, name, address, "
            "postcode, items, after_sales_until) SELECT 'F-' || n, 'filler' || n || "
            "'@shop.example', NULL, NULL, 'Filler ' || n, n || ' Filler Road', '10115', "
            "'Router', current_date + 30 FROM generate_series(1, %s) AS n",
            (filler,),
        )
        with shop.cursor() as cursor:
            orders, payments = [], []
            for n, who in enumerate(people):
                email = next(iter(who.as_json().get("email", [])), None)
                phone = next(iter(who.as_json().get("phone", [])), None)
                account = next(iter(who.as_json().get("account_id", [])), None)
                number = f"B-{n}"
                orders.append((number, email, phone, account, f"Subject {n}", f"{n} Road"))
                payments.append((number, email, f"tok_{n}"))
            cursor.executemany(
                "INSERT INTO orders (order_number, email, phone, account_ref, name, address, "
                "postcode, items, after_sales_until) VALUES (%s, %s, %s, %s, %s, %s, '10115', "
                "'Mesh Wi-Fi extender', current_date + 30)",
                orders,
            )
            cursor.executemany(
                "INSERT INTO payments (order_number, email, card_token) VALUES (%s, %s, %s)",
                payments,
            )
        for statement in _INDEXES:
            shop.execute(statement)
        shop.execute("ANALYZE orders")
        shop.execute("ANALYZE payments")


@contextmanager
def _connected(
    ctx: BenchContext, people: list[Identifiers], filler: int
) -> Iterator[tuple[Services, list[ConnectedSystem]]]:
    """The shop and the newsletter running and filled, their secrets stored, the runtime's
    ``system_urls`` pointing at them; the services and the two systems."""
    runtime = ctx.runtime
    admin = server_url()
    _drop_shop(admin)
    try:
        full_url = open_shop(admin, email="seed@shop.example", phone="+1", database=SHOP_DATABASE)
        shop_url, password = declared(full_url)
        _fill_shop(full_url, people, filler)
        secret = secrets.token_urlsafe(32)
        emails = [f"filler{n}@news.example" for n in range(FILLER_SUBSCRIBERS)]
        emails += [email for who in people for email in who.as_json().get("email", [])]
        with newsletter_process(secret, emails) as newsletter_url:
            urls = {**runtime.settings.system_urls, SHOP: shop_url, NEWSLETTER: newsletter_url}
            runtime.settings = runtime.settings.model_copy(
                update={"system_urls": urls, "requests_systems": (SHOP, NEWSLETTER)}
            )
            services = build_services(runtime)
            with audited_transaction(runtime.sessions) as session:
                if password:
                    set_secret(session, services.keys.keyring, runtime.clock, SHOP, password)
                set_secret(session, services.keys.keyring, runtime.clock, NEWSLETTER, secret)
            systems = RequestContext.of(services).policy.systems.systems
            yield services, [systems[SHOP], systems[NEWSLETTER]]
    finally:
        _drop_shop(admin)


def _identifiers(services: Services, subjects: list[uuid.UUID]) -> list[Identifiers]:
    with transaction(services.runtime.sessions) as session:
        return [identifiers_of(session, subject) for subject in subjects]


def _reach(
    services: Services, system: ConnectedSystem, operation: str, who: Identifiers
) -> Confirmation:
    """One system's part as one attempt does it: connector got in a transaction (pooled),
    called outside it, closed."""
    runtime = services.runtime
    with transaction(runtime.sessions) as session:
        connector = connector_for(
            session,
            services.keys.keyring,
            system,
            task_key=str(uuid.uuid4()),
            now=lambda: int(runtime.clock.now().timestamp()),
        )
    try:
        return connector.erase(who) if operation == "erasure" else connector.export(who)
    finally:
        connector.close()


def _export_with_systems(
    services: Services, systems: list[ConnectedSystem], subjects: list[uuid.UUID]
) -> tuple[list[float], int, int]:
    """Seconds per subject, the largest ZIP and how many system parts held data."""
    runtime = services.runtime
    pack = RequestContext.of(services).policy
    times, size, found = [], 0, 0
    for subject in subjects:
        started = time.perf_counter()
        with transaction(runtime.sessions) as session:
            who = identifiers_of(session, subject)
        parts: dict[str, dict[str, Any]] = {}
        for system in systems:
            answer = _reach(services, system, "access", who)
            found += bool(answer.data)
            parts[system.key] = {
                "name": system.name,
                "state": "done" if answer.data else "not_found",
                "exception": None,
                "evidence": answer.evidence,
                "data": dict(answer.data or {}),
            }
        with transaction(runtime.sessions) as session:
            made = build(
                session,
                services.keys,
                metadata,
                pack,
                subject,
                now=runtime.clock.now(),
                systems=parts,
            )
        times.append(time.perf_counter() - started)
        size = max(size, len(made.archive))
    return times, size, found


def _erase_with_systems(
    services: Services, systems: list[ConnectedSystem], subject: uuid.UUID
) -> int:
    """Doorstep's erasure, then each system's; the rows the systems changed."""
    with transaction(services.runtime.sessions) as session:
        who = identifiers_of(session, subject)
    _erase(services, subject)
    return sum(_reach(services, system, "erasure", who).rows for system in systems)


def _rate_with_systems(
    services: Services, systems: list[ConnectedSystem], subjects: list[uuid.UUID], threads: int
) -> tuple[float, int]:
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        rows = sum(pool.map(lambda s: _erase_with_systems(services, systems, s), subjects))
    return len(subjects) / (time.perf_counter() - started), rows


def run(ctx: BenchContext) -> list[Figure]:
    """Measure the figures above on a clone of the fleet."""
    fleet = ctx.fleet
    assert fleet is not None, "bench_systems needs the fleet (FLEET = True)"
    exports = 50 if ctx.quick else 300
    per_rate = 150 if ctx.quick else 160  # ten sets of subjects within the fleet's sample
    sample = list(fleet.sample)
    warm, export_set = sample[:20], sample[20 : 20 + exports]
    rest = sample[20 + exports :]
    sets = [rest[n * per_rate : (n + 1) * per_rate] for n in range(10)]
    alone_1, with_1, alone_4, with_4, batched, batched_alone, through, through_alone = sets[:8]
    by_workers, by_workers_alone = sets[8:]
    assert len(by_workers_alone) == per_rate, "bench_systems: the fleet's sample is too small"
    connected = warm + export_set + with_1 + with_4 + batched + through + by_workers
    people = _identifiers(build_services(ctx.runtime), connected)
    with _connected(ctx, people, filler=fleet.accounts) as (services, systems):
        _export_times(services, warm)
        _export_with_systems(services, systems, warm)
        alone, _ = _export_times(services, export_set)
        joined, size, found = _export_with_systems(services, systems, export_set)
        one = _erasure_rate(services, alone_1, 1)
        one_sys, rows_1 = _rate_with_systems(services, systems, with_1, 1)
        four = _erasure_rate(services, alone_4, 4)
        four_sys, rows_4 = _rate_with_systems(services, systems, with_4, 4)
        four_batched, rows_b = batched_rate(services, systems, batched, 4)
        four_batched_alone = _batched_rate(services, batched_alone, 4, BATCH)
        jobs_4, carried, done = orchestrated_rate(services, through, 4)
        jobs_alone = alone_rate(services, through_alone, 4)
        urls = services.runtime.settings.system_urls
        workers = workers_rate(
            ctx, services, by_workers, systems_settings(urls, (SHOP, NEWSLETTER))
        )
        alone_services = build_services(
            replace(
                services.runtime,
                settings=services.runtime.settings.model_copy(update={"requests_systems": ()}),
            )
        )
        workers_alone = workers_rate(
            ctx, alone_services, by_workers_alone, systems_settings(urls, ())
        )
    parts = f"{found} of {2 * len(export_set)} system parts held data"
    return [
        Figure(
            "access export + shop (SQL) + newsletter (HTTP), p50",
            percentile(joined, 50) * 1000,
            "ms",
            target="<= 50 ms",
            baseline=percentile(alone, 50) * 1000,
            baseline_name="Doorstep alone",
            note=f"{len(joined)} subjects; ZIP <= {size // 1024 + 1} KiB; {parts}",
        ),
        Figure(
            "access export + two systems, p99",
            percentile(joined, 99) * 1000,
            "ms",
            baseline=percentile(alone, 99) * 1000,
            baseline_name="Doorstep alone",
        ),
        Figure(
            "erasures + two systems, 1 thread",
            one_sys,
            "erasures/s",
            target=">= 200/s",
            baseline=one,
            baseline_name="Doorstep alone",
            note=f"{len(with_1)} subjects; {rows_1} system rows changed",
        ),
        Figure(
            "erasures + two systems, 4 threads",
            four_sys,
            "erasures/s",
            target=">= 200/s",
            baseline=four,
            baseline_name="Doorstep alone",
            note=f"{len(with_4)} subjects; {rows_4} system rows changed",
        ),
        Figure(
            f"erasures + two systems, 4 threads, batches of {BATCH}",
            four_batched,
            "erasures/s",
            target=">= 200/s",
            baseline=four_batched_alone,
            baseline_name=f"Doorstep alone, batches of {BATCH}",
            note=f"{len(batched)} subjects; {rows_b} system rows changed",
        ),
        Figure(
            f"erasures + two systems through the orchestration, 4 threads, jobs of {BATCH}",
            jobs_4,
            "erasures/s",
            baseline=jobs_alone,
            baseline_name="Doorstep alone, same lifecycle",
            note=f"{carried} requests; {done} system tasks done",
        ),
        Figure(
            f"erasures + two systems by {WORKERS} worker processes, from the job queue",
            workers.rate,
            "erasures/s",
            target=">= 200/s",
            baseline=workers_alone.rate,
            baseline_name="Doorstep alone, same workers",
            note=f"{workers.requests} requests, from the jobs' release to the last completion",
        ),
        Figure(
            "workers' CPU per erasure + two systems (their own processes)",
            workers.cpu_ms,
            "ms",
            baseline=workers_alone.cpu_ms,
            baseline_name="Doorstep alone, same workers",
        ),
    ]
