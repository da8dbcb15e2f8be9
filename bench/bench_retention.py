"""Retention: anonymising expired device records, engine against one plain UPDATE.

1,000,000 device registration records (100,000 with ``--quick``), all offline
for three years, are generated with ``INSERT … SELECT generate_series`` and
anonymised twice on identical, freshly generated and vacuumed data:

* by the engine: ``run_sweeps`` over the ``device_registration`` binding, batches
  of ``retention_batch_size`` rows (the setting's default), each
  ``UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED)`` in its own transaction with
  its audit event;
* baseline: one plain ``UPDATE`` of the same rows setting the same values, in one
  transaction (no batches, no locks taken ahead, no audit, not resumable).

Target: >= 50,000 rows/s and at least half the plain UPDATE's speed.

Against the real ``device_registrations`` table and its binding when the devices
area is in the tree (detected from the schema); otherwise against a bench-local
table of the same shape, bound the same way and swept by the same code, and the
figure says "provisional".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench.harness import BenchContext, Figure
from doorstep.core.runtime import Runtime
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.retention import Anonymise, Binding, retention_info
from doorstep.privacy.retention._sql import _replacement, expired, still_to_do
from doorstep.privacy.retention.registry import collect
from doorstep.privacy.retention.sweep import run_sweeps
from doorstep.privacy.retention.targets import Target, make_target, targets
from doorstep.schema import metadata
from doorstep.vocabulary import LegalBasis, not_personal, personal

RULE = "device_registration"
TARGET = ">= 50,000/s and >= 0.5 x plain UPDATE"

_REAL_SEED = [
    """INSERT INTO devices (id, endpoint_key, secret_hash, claim_hash, provisioned_at)
       SELECT md5('d' || g)::uuid, decode(md5('e' || g), 'hex'), 'scrypt$bench',
              decode(md5('c' || g), 'hex'), :old
         FROM generate_series(1, :n) g""",
    """INSERT INTO device_registrations (device_id, endpoint_id, mtp, mqtt_topic, model,
              firmware_version, serial_number, mac_address, network_status, ip_address,
              product_type, registered_at, refreshed_at, last_seen, online, offline_since,
              source)
       SELECT md5('d' || g)::uuid, 'os::000000-' || g, 'mqtt', 'usp/agent/os::000000-' || g,
              'ZXHN H298A', 'V1.0.' || (g % 7), 'ZTE' || lpad(g::text, 10, '0'),
              '02:00:' || lpad(to_hex(g % 65536), 4, '0'), 'Up', '198.51.100.' || (g % 250),
              'router', :old, :old, :old, false, :old, 'device_registration'
         FROM generate_series(1, :n) g""",
]
_LOCAL = "bench_retention_devices"
_LOCAL_SEED = [
    f"""INSERT INTO {_LOCAL} (id, model, firmware_version, serial_number, mac_address,
              ip_address, account_id, last_seen)
       SELECT g, 'ZXHN H298A', 'V1.0.' || (g % 7), 'ZTE' || lpad(g::text, 10, '0'),
              '02:00:' || lpad(to_hex(g % 65536), 4, '0'), '198.51.100.' || (g % 250),
              md5('a' || g)::uuid, :old
         FROM generate_series(1, :n) g""",
]


def _local_table() -> sa.MetaData:
    """The bench-local stand-in: the registration record's shape, bound like the real one."""
    scratch = sa.MetaData()
    fields = ("model", "firmware_version", "serial_number", "mac_address", "ip_address")
    declared = personal(
        "user.device.device_id",
        purposes=["device.registration"],
        legal_basis=LegalBasis.CONTRACT,
        retention="device_registration",
    )
    sa.Table(
        _LOCAL,
        scratch,
        sa.Column("id", sa.BigInteger, primary_key=True, info=not_personal("row id")),
        *(sa.Column(name, sa.Text, info=declared) for name in fields),
        sa.Column("account_id", sa.Uuid, info=declared),
        sa.Column("last_seen", sa.DateTime(timezone=True), info=not_personal("last contact")),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), info=not_personal("when")),
        sa.Index(
            f"ix_{_LOCAL}_last_seen", "last_seen", postgresql_where=sa.text("anonymised_at IS NULL")
        ),
        info=retention_info(
            Binding(
                "device_registration",
                Anonymise(dict.fromkeys((*fields, "account_id")), marker="anonymised_at"),
                trigger="last_seen",
                offset_setting="device_offline_after_seconds",
            )
        ),
    )
    return scratch


@dataclass
class Subject:
    """What is anonymised: the target, how to (re)generate its rows, and the figure's label."""

    target: Target
    seed: Callable[[Engine, int], None]
    label: str


def _seeder(
    tables: list[str], statements: list[str], runtime: Runtime
) -> Callable[[Engine, int], None]:
    def seed(engine: Engine, rows: int) -> None:
        old = runtime.clock.now() - timedelta(days=3 * 365)
        with engine.begin() as connection:
            # Bench databases run as a superuser: replica mode lets TRUNCATE pass the
            # devices ledger's trigger (its table is empty here, but CASCADE reaches it).
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} CASCADE"))
            connection.execute(sa.text("SET LOCAL session_replication_role = origin"))
            for statement in statements:
                connection.execute(sa.text(statement), {"n": rows, "old": old})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in tables:
                connection.execute(sa.text(f"VACUUM ANALYZE {table}"))
            connection.execute(sa.text("CHECKPOINT"))

    return seed


def _subject(ctx: BenchContext) -> Subject:
    runtime = ctx.runtime
    pack = default_pack()
    for bound in collect(metadata):
        if bound.table.name == "device_registrations" and bound.binding.rule == RULE:
            # This binding only: the bench measures it, whatever other areas are in the tree.
            target = make_target(bound.table, bound.binding, pack, runtime.settings)
            seed = _seeder(["devices", "device_registrations"], _REAL_SEED, runtime)
            return Subject(target, seed, "device records anonymised")
    scratch = _local_table()
    scratch.create_all(ctx.engine)
    (target,) = targets(scratch, default_pack(), runtime.settings, extra={})
    seed = _seeder([_LOCAL], _LOCAL_SEED, runtime)
    return Subject(target, seed, "device records anonymised (PROVISIONAL: bench-local table)")


def _plain_update(engine: Engine, target: Target, now: object) -> int:
    """One UPDATE of every due row, setting what the binding sets."""
    action = target.binding.action
    assert isinstance(action, Anonymise)
    table = target.table
    cutoff = target.cutoff(now)  # type: ignore[arg-type]
    assert cutoff is not None
    values = {name: _replacement(table.c[name], value) for name, value in action.columns}
    if action.marker:
        values[action.marker] = sa.literal(now, type_=table.c[action.marker].type)
    statement = (
        sa.update(table)
        .where(expired(table, target.binding, cutoff), still_to_do(table, target.binding))
        .values(values)
    )
    with engine.begin() as connection:
        return int(getattr(connection.execute(statement), "rowcount", 0))


def run(ctx: BenchContext) -> list[Figure]:
    """Anonymise the same expired records with the engine and with one plain UPDATE."""
    rows = 100_000 if ctx.quick else 1_000_000
    subject = _subject(ctx)
    runtime = ctx.runtime

    subject.seed(ctx.engine, rows)
    started = time.perf_counter()
    done = _plain_update(ctx.engine, subject.target, runtime.clock.now())
    plain = done / (time.perf_counter() - started)
    assert done == rows, f"plain UPDATE touched {done} of {rows}"

    subject.seed(ctx.engine, rows)
    started = time.perf_counter()
    batch = runtime.settings.retention_batch_size
    (result,) = run_sweeps(runtime, [subject.target], batch_size=batch)
    engine_rate = result.rows / (time.perf_counter() - started)
    assert result.rows == rows, f"the engine anonymised {result.rows} of {rows}"

    return [
        Figure(
            f"{subject.label}, {rows:,} rows, batches of {batch:,}",
            engine_rate,
            "rows/s",
            target=TARGET,
            baseline=plain,
            baseline_name="one plain UPDATE",
            note=f"{result.batches} batches, each with its audit event",
        )
    ]
