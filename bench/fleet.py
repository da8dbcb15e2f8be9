"""A fleet of 100,000 accounts and 1,000,000 devices for benchmarks, built once and cloned.

    .venv/bin/python -m bench.fleet            # build (or reuse) the full fleet, print figures
    .venv/bin/python -m bench.fleet --quick    # 10,000 accounts, 100,000 devices
    .venv/bin/python -m bench.fleet --rebuild  # build again even if the template exists
    .venv/bin/python -m bench.fleet --prune    # drop fleet templates of other schemas
    .venv/bin/python -m bench.fleet --keep NAME  # and keep a clone NAME to look inside

The template itself refuses connections (so it can always be cloned); look at a clone.

:func:`populate` fills an already-migrated database set-based (``INSERT … SELECT``
over ``generate_series``; COPY for the rows that need Python cryptography) with rows
shaped like the services write them and returns a :class:`Fleet`: counts per table,
ordinary subjects to sample, the heavy subjects and their look-alikes (how: see
:mod:`._fleet_build`).  :func:`snapshot` fingerprints one subject's rows, to show that
an export or erasure of another subject left them alone.

:func:`ensure_template` keeps the result as a template database named from the
Alembic head, :data:`FIXTURE_VERSION`, a digest of the migrations and the size; its
metadata (the :class:`Fleet`, with the keyring that wraps its data keys) is the
database's comment.  :func:`fleet_context` clones it with ``CREATE DATABASE …
TEMPLATE`` for one benchmark module and drops the clone afterwards; a module opts in
with ``FLEET = True`` (``bench.run`` then gives it :func:`fleet_context` instead of
:func:`bench.harness.bench_context`).  This module uses the harness; the harness
never uses it.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql as psql

from bench._fleet_build import FIXTURE_VERSION, FULL, QUICK, Fleet, Progress, Size, populate
from bench.harness import BenchContext, server_url
from doorstep.core import migrations
from doorstep.core.clock import SystemClock
from doorstep.core.database import (
    create_db_engine,
    drop_databases,
    make_session_factory,
    recreate_database,
    sqlalchemy_url,
)
from doorstep.core.runtime import Runtime
from doorstep.core.settings import load_settings

__all__ = [
    "FIXTURE_VERSION",
    "FULL",
    "QUICK",
    "Fleet",
    "Size",
    "clone",
    "ensure_template",
    "fleet_context",
    "populate",
    "prune",
    "snapshot",
    "template_name",
]

_MIGRATIONS = Path(migrations.__file__).resolve().parents[1] / "migrations" / "versions"

#: Where each table keeps a subject's rows (what :func:`snapshot` reads).
_SUBJECT_ROWS = {
    "subjects": "id = :s",
    "accounts": "id = :s",
    "account_profiles": "account_id = :s",
    "account_sessions": "account_id = :s",
    "account_identities": "account_id = :s",
    "consent_events": "subject_id = :s",
    "outbox": "subject_id = :s",
    "restrictions": "subject_id = :s",
    "subject_requests": "subject_id = :s",
    "subject_keys": "subject_id = :s",
    "device_bindings": "subject_id = :s",
    "device_pppoe": "binding_id IN (SELECT id FROM device_bindings WHERE subject_id = :s)",
    "device_registrations": (
        "device_id IN (SELECT device_id FROM device_bindings "
        "WHERE subject_id = :s AND unbound_at IS NULL)"
    ),
    "audit_events": "subject_id = :s",
}


def snapshot(connection: sa.Connection, subject_id: uuid.UUID) -> dict[str, str]:
    """``{table: "<rows>:<md5 of the rows>"}`` of the subject's rows (its devices' records too).

    Equal snapshots before and after another subject's export or erasure prove that
    nothing of this subject was deleted, changed or added (audit events included).
    """
    found = {}
    for table, where in _SUBJECT_ROWS.items():
        digest = "coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"
        query = f"SELECT count(*) || ':' || {digest} FROM {table} t WHERE {where}"
        found[table] = str(connection.execute(sa.text(query), {"s": subject_id}).scalar_one())
    return found


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the template cache ------------------------------------------------------------------------


def template_name(size: Size) -> str:
    """``doorstep_fleet_<head>_v<FIXTURE_VERSION>_<digest of the migrations>_<size>``."""
    digest = hashlib.sha256()
    for path in sorted(_MIGRATIONS.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    head = migrations.head_revision()[:12]
    shape = f"{size.accounts}a{size.devices}d{size.heavy_rows}h"
    return f"doorstep_fleet_{head}_v{FIXTURE_VERSION}_{digest.hexdigest()[:6]}_{shape}"


def _url(admin_url: str, name: str) -> str:
    return (
        sqlalchemy_url(admin_url)
        .set(database=name, drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def _comment(connection: psycopg.Connection[tuple[object, ...]], name: str) -> str | None:
    row = connection.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        [name],
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def _drop_template(connection: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        ident = psql.Identifier(name)
        connection.execute(psql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(ident))
        connection.execute(psql.SQL("DROP DATABASE {} WITH (FORCE)").format(ident))


def ensure_template(
    admin_url: str, size: Size = FULL, *, rebuild: bool = False, progress: Progress = print
) -> Fleet:
    """The fleet template of ``size`` on the server of ``admin_url``: reused, or built now.

    One builder at a time (an advisory lock per name); a build that did not finish
    leaves no comment and is built again.  The finished template refuses connections
    (so that it can always be cloned) and is marked IS_TEMPLATE.
    """
    name = template_name(size)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute("SELECT pg_advisory_lock(hashtext(%s))", [name])
        found = _comment(admin, name)
        fleet = Fleet.from_json(found) if found and not rebuild else None
        if fleet is not None:
            return fleet
        progress(f"fleet: building {name} (once; later runs clone it)")
        _drop_template(admin, name)
        url = recreate_database(admin_url, name)
        engine = create_db_engine(url, pool_size=2, application_name="doorstep-bench-fleet")
        try:
            migrations.upgrade(engine)
            fleet = populate(
                engine,
                accounts=size.accounts,
                devices=size.devices,
                heavy_rows=size.heavy_rows,
                progress=progress,
            )
        finally:
            engine.dispose()
        ident = psql.Identifier(name)
        size_row = admin.execute("SELECT pg_database_size(%s)", [name]).fetchone()
        fleet.database_bytes = int(size_row[0]) if size_row else 0
        admin.execute(
            psql.SQL("COMMENT ON DATABASE {} IS {}").format(ident, psql.Literal(fleet.to_json()))
        )
        admin.execute(
            psql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true").format(
                ident
            )
        )
        return fleet


def clone(admin_url: str, template: str, name: str, *, strategy: str = "FILE_COPY") -> float:
    """Create database ``name`` as a copy of ``template`` (dropped first); return the seconds.

    ``strategy``: FILE_COPY (copy the files, two checkpoints) or WAL_LOG (PostgreSQL's
    default since 15, copies block by block through the WAL).
    """
    if strategy not in ("FILE_COPY", "WAL_LOG"):
        raise ValueError("strategy is FILE_COPY or WAL_LOG")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psql.Identifier(name))
        )
        started = time.perf_counter()
        admin.execute(
            psql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY {}").format(
                psql.Identifier(name), psql.Identifier(template), psql.SQL(strategy)
            )
        )
        return time.perf_counter() - started


@contextmanager
def fleet_context(
    module: str, *, quick: bool, progress: Progress = _stderr
) -> Iterator[BenchContext]:
    """A clone ``doorstep_bench_<module>`` of the fleet and a runtime on it; dropped after.

    ``ctx.fleet`` is the :class:`Fleet` (with ``clone_seconds``); the runtime's
    ``data_dir`` is a private temporary directory holding a copy of the fleet's keyring,
    so ``build_services(ctx.runtime)`` can unwrap every subject key.
    """
    admin = server_url()
    fleet = ensure_template(admin, QUICK if quick else FULL, progress=progress)
    name = f"doorstep_bench_{module}"
    seconds = clone(admin, fleet.database, name)
    url = _url(admin, name)
    engine = create_db_engine(url, pool_size=8, application_name="doorstep-bench")
    try:
        with tempfile.TemporaryDirectory(prefix="doorstep-fleet-run-") as data_dir:
            fleet.install_keyring(Path(data_dir))
            settings = load_settings(env="test", database_url=url, data_dir=Path(data_dir))
            runtime = Runtime(settings, url, engine, make_session_factory(engine), SystemClock())
            yield BenchContext(
                url, engine, runtime, quick=quick, fleet=replace(fleet, clone_seconds=seconds)
            )
    finally:
        engine.dispose()
        drop_databases(admin, [name])


def prune(admin_url: str, keep: list[str]) -> list[str]:
    """Drop every fleet template on the server except ``keep``; return the names dropped."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        names = [
            str(row[0])
            for row in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'doorstep\\_fleet\\_%'"
            )
        ]
        gone = [name for name in names if name not in keep]
        for name in gone:
            _drop_template(admin, name)
    return gone


def main(argv: list[str] | None = None) -> int:
    """Build or reuse the fleet template, time one clone, print counts, times and size."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10,000 accounts, 100,000 devices")
    parser.add_argument("--rebuild", action="store_true", help="build even if it exists")
    parser.add_argument("--prune", action="store_true", help="drop other fleet templates")
    parser.add_argument("--strategy", default="FILE_COPY", choices=["FILE_COPY", "WAL_LOG"])
    parser.add_argument(
        "--keep", metavar="NAME", help="keep the timed clone as database NAME, to look inside"
    )
    args = parser.parse_args(argv)
    admin = server_url()
    size = QUICK if args.quick else FULL
    if args.prune:
        keep = [template_name(FULL), template_name(QUICK)]
        print(f"dropped: {', '.join(prune(admin, keep)) or 'nothing'}")
    fleet = ensure_template(admin, size, rebuild=args.rebuild)
    scratch = args.keep or "doorstep_bench_fleet_clone"
    seconds = clone(admin, fleet.database, scratch, strategy=args.strategy)
    if args.keep:
        print(f"kept the clone: {_url(admin, scratch)} (drop it when done)")
    else:
        drop_databases(admin, [scratch])
    print(f"\n{fleet.database}: built {fleet.built_at:%Y-%m-%d %H:%M} UTC")
    for table, count in fleet.counts.items():
        print(f"  {table:<34}{count:>12,}")
    print(f"  {'total rows':<34}{sum(fleet.counts.values()):>12,}")
    print(f"generation: {fleet.generation_seconds:,.1f} s")
    print(f"clone ({args.strategy}): {seconds:,.2f} s")
    print(f"database size: {fleet.database_bytes / 2**20:,.0f} MiB")
    print(f"heavy subjects: {len(fleet.heavy)} x {fleet.heavy_rows:,} rows")
    print(f"ordinary subjects to sample: {len(fleet.sample):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
