"""The fleet list at a million devices: a filtered page by keyset, against the same page by OFFSET.

1,000,000 devices (100,000 with ``--quick``) with registration records are generated
with ``INSERT … SELECT generate_series``: 20 models, 12 firmware versions per model
(``1.0`` … ``1.11``, so version order is not text order), 80 % online, 30 % home
gateways, 1 % tagged ``trial``; then ``VACUUM ANALYZE``.

Measured, each as the p50 (and p95) of :data:`SAMPLES` calls:

* **the filtered page**: ``model = M07 AND firmware < 1.6 AND online`` (about 2 % of
  the fleet), 50 rows, through :func:`doorstep.devices.fleet.listing.fleet_page` —
  the range resolved to the versions present, the page, its tags, the owners'
  restrictions, the count capped at 1,000 (first page only, as the console and the
  command do) and its audit record, committed — on the first page and on random deep
  pages (a keyset cursor drawn from the matching devices);
* **baseline, same run**: the same deep pages as ``OFFSET k LIMIT 50`` (``k`` the
  cursor's rank), the query alone (same conditions, the range resolved to the versions
  present), which is what an offset-paged list would cost;
* the page query alone by keyset (no count, no audit), the unfiltered first page,
  a firmware-range page without a model, and the tag page.

Targets: a filtered page (the whole service call) p50 <= 50 ms at 1M devices.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable

import sqlalchemy as sa

from bench.harness import BenchContext, Figure, percentile
from doorstep.devices.fleet.filters import DeviceFilter
from doorstep.devices.fleet.groups import fleet_conditions
from doorstep.devices.fleet.listing import fleet_page
from doorstep.devices.models import DeviceRegistration
from doorstep.privacy.consent.terms import load_terms
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.purposes import PurposeGate
from doorstep.schema import metadata

SAMPLES = 200
PAGE = 50
TARGET = "p50 <= 50 ms at 1M"
FILTER = {"model": "M07", "firmware_below": "1.6", "online": True}

_SEED = [
    """INSERT INTO devices (id, endpoint_key, secret_hash, claim_hash, provisioned_at)
       SELECT md5('d' || g)::uuid, decode(md5('e' || g), 'hex'), 'scrypt$bench',
              decode(md5('c' || g), 'hex'), :now
         FROM generate_series(1, :n) g""",
    """INSERT INTO device_registrations (device_id, endpoint_id, mtp, mqtt_topic, model,
              firmware_version, serial_number, mac_address, network_status, ip_address,
              product_type, registered_at, refreshed_at, last_seen, online, source)
       SELECT md5('d' || g)::uuid, 'os::000000-' || g, 'mqtt', 'usp/agent/os::000000-' || g,
              'M' || lpad((g % 20)::text, 2, '0'), '1.' || ((g / 20) % 12),
              'SN' || lpad(g::text, 10, '0'), '02:00:' || lpad(to_hex(g % 65536), 4, '0'),
              'Up', '198.51.100.' || (g % 250),
              (CASE WHEN g % 10 < 3 THEN 'gateway' ELSE 'router' END)::device_product_type,
              :now, :now, :now, g % 5 <> 0, 'device_registration'
         FROM generate_series(1, :n) g""",
    """INSERT INTO device_tags (tag, device_id, tagged_at, tagged_by)
       SELECT 'trial', md5('d' || g)::uuid, :now, 'system:bench'
         FROM generate_series(1, :n) g WHERE g % 100 = 7""",
]


def _seed(ctx: BenchContext, rows: int) -> float:
    started = time.perf_counter()
    with ctx.engine.begin() as connection:
        for statement in _SEED:
            connection.execute(sa.text(statement), {"n": rows, "now": ctx.runtime.clock.now()})
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("devices", "device_registrations", "device_tags"):
            connection.execute(sa.text(f"VACUUM ANALYZE {table}"))
        connection.execute(sa.text("CHECKPOINT"))
    return time.perf_counter() - started


def _times(call: Callable[[int], object], samples: int) -> list[float]:
    found = []
    for index in range(samples):
        started = time.perf_counter()
        call(index)
        found.append((time.perf_counter() - started) * 1000)
    return found


def _figures(name: str, ms: list[float], **extra: object) -> list[Figure]:
    p50 = percentile(ms, 50)
    return [
        Figure(f"{name}, p50", p50, "ms", **extra),  # type: ignore[arg-type]
        Figure(f"{name}, p95", percentile(ms, 95), "ms"),
    ]


def run(ctx: BenchContext) -> list[Figure]:
    """Seed the fleet, then time the filtered page by keyset, by OFFSET and its neighbours."""
    rows = 100_000 if ctx.quick else 1_000_000
    pack = default_pack()
    gate = PurposeGate.from_datamap(metadata, pack, load_terms(pack))
    seconds = _seed(ctx, rows)
    sessions = ctx.runtime.sessions
    found = DeviceFilter.parse(FILTER)
    reg = DeviceRegistration
    with sessions() as session:
        # the range resolved to the versions present, as the service does on each page
        conditions = fleet_conditions(found, session)
        matching = sa.select(reg.device_id).where(*conditions).order_by(reg.device_id)
        ids = list(session.scalars(matching))
    rng = random.Random(19)
    ranks = [rng.randrange(len(ids) - PAGE) for _ in range(SAMPLES)]

    def service(
        flt: DeviceFilter, after: Callable[[int], uuid.UUID | None]
    ) -> Callable[[int], object]:
        def call(index: int) -> object:
            cursor = after(index)
            with sessions.begin() as session:  # counted on the first page only, as callers do
                return fleet_page(
                    session, gate, flt, actor="system:bench", after=cursor, count=cursor is None
                )

        return call

    def keyset(index: int) -> object:
        with sessions() as session:
            query = matching.where(reg.device_id > ids[ranks[index]]).limit(PAGE)
            return session.scalars(query).all()

    def offset(index: int) -> object:
        with sessions() as session:
            return session.scalars(matching.offset(ranks[index] + 1).limit(PAGE)).all()

    for warm in (keyset, offset):  # caches warm for both, in the same way
        _times(warm, 20)
    deep_offset = _times(offset, SAMPLES)
    deep_keyset = _times(keyset, SAMPLES)
    first = _times(service(found, lambda _: None), SAMPLES)
    deep = _times(service(found, lambda i: ids[ranks[i]]), SAMPLES)
    unfiltered = _times(service(DeviceFilter(), lambda _: None), SAMPLES)
    ranged = _times(
        service(
            DeviceFilter.parse({"firmware_min": "1.9", "firmware_below": "1.11"}), lambda _: None
        ),
        SAMPLES,
    )
    tagged = _times(service(DeviceFilter.parse({"tags": ["trial"]}), lambda _: None), SAMPLES)
    offset_p50 = percentile(deep_offset, 50)
    label = f"{rows:,} devices, {len(ids):,} match model+firmware<1.6+online"
    return [
        *_figures(
            f"fleet page (service), first page; {label}",
            first,
            target=TARGET,
        ),
        *_figures(
            "fleet page (service), random deep pages by keyset",
            deep,
            target=TARGET,
            baseline=offset_p50,
            baseline_name="same pages by OFFSET, query only, p50",
        ),
        *_figures(
            "page query only, random deep pages by keyset",
            deep_keyset,
            baseline=offset_p50,
            baseline_name="same pages by OFFSET, p50",
        ),
        *_figures("page query only, same pages by OFFSET (baseline)", deep_offset),
        *_figures("fleet page (service), unfiltered first page", unfiltered),
        *_figures("fleet page (service), firmware 1.9 <= v < 1.11, no model", ranged),
        *_figures("fleet page (service), tag trial (1 %)", tagged),
        Figure(f"seeding {rows:,} devices (INSERT … SELECT, VACUUM ANALYZE)", seconds, "s"),
    ]
