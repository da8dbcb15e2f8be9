"""Builds a fleet: :func:`populate` runs the plan, the rows, the secrets and the audit trail.

Contract: :func:`populate` fills an already-migrated, empty database set-based and
returns a :class:`Fleet` describing it (see :mod:`bench.fleet` for the public face,
the template cache and the command line).  The steps, in order: the plan
(:mod:`._fleet_plan`), one ``INSERT … SELECT`` per table (:mod:`._fleet_rows`) with
the big tables' keys and indexes built afterwards (:mod:`._fleet_bulk`), the data
keys and encrypted columns (:mod:`._fleet_secrets`), the audit trail and its chain
(:mod:`._fleet_audit`), then VACUUM (FREEZE, ANALYZE).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench import _fleet_audit, _fleet_bulk, _fleet_plan, _fleet_rows, _fleet_secrets
from doorstep.core.settings import load_settings
from doorstep.devices.inventory import installation_key
from doorstep.keys.keyring import KEYRING_FILENAME, FileKeyring
from doorstep.privacy.consent.terms import load_terms
from doorstep.privacy.datamap.pack import default_pack
from doorstep.schema import metadata

#: Bump when the generated rows change: the template's name changes with it.
FIXTURE_VERSION = 1
#: Ordinary subjects :class:`Fleet` offers to sample from.
SAMPLE = 2_000
#: Heavy subjects (each with ``heavy_rows`` rows; three look-alikes each, see ``_fleet_plan``).
HEAVY_SUBJECTS = 5
#: A locally administered OUI (no manufacturer's) for the fleet's endpoint ids and MACs.
OUI = "02F1EE"
#: Tables loaded without their keys and indexes (built afterwards, see ``_fleet_bulk``).
BULK_TABLES = [
    "devices",
    "device_registrations",
    "device_bindings",
    "consent_events",
    "account_sessions",
    "outbox",
    "audit_events",
]
Progress = Callable[[str], object]


@dataclass(frozen=True)
class Size:
    """How big a fleet is."""

    accounts: int
    devices: int
    heavy_rows: int = 5_000


FULL = Size(100_000, 1_000_000)
QUICK = Size(10_000, 100_000)


@dataclass
class Fleet:
    """What :func:`populate` built, and where.

    ``sample``: ordinary subjects in random order (each: an account, ~9 bound devices
    and their records, a data key, 1-2 sessions, ~2 consent events, 2 messages, ~17
    audit events; some a profile, a linked provider, PPPoE, a restriction, a request);
    ``heavy``: subjects with exactly ``heavy_rows`` rows in consent_events, outbox and
    account_sessions together (40/40/20 %), besides an account, a key, a linked
    provider, ~9 devices with PPPoE, a restriction, a request and their audit events;
    ``lookalikes``: per heavy subject, subjects with similar e-mail addresses, rows at
    the same instants and a device the heavy one once owned, which an export or erasure
    of the heavy subject must leave untouched.  ``keyring``: the JSON of the keyring
    file whose KEK wraps every subject key (see :meth:`install_keyring`).
    """

    database: str
    accounts: int
    devices: int
    heavy_rows: int
    built_at: datetime
    generation_seconds: float
    counts: dict[str, int]
    sample: list[uuid.UUID]
    heavy: list[uuid.UUID]
    lookalikes: dict[uuid.UUID, list[uuid.UUID]]
    keyring: str = field(default="", repr=False)
    database_bytes: int = 0
    clone_seconds: float = 0.0

    def install_keyring(self, data_dir: Path) -> Path:
        """Write the fleet's keyring as ``data_dir/keyring.json`` (mode 0600); return its path.

        Give each run its own copy: erasures write tombstones into it.
        """
        path = data_dir / KEYRING_FILENAME
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600, exist_ok=False)
        path.write_text(self.keyring, encoding="utf-8")
        return path

    def to_json(self) -> str:
        """The fleet as JSON (what the template's comment holds)."""
        data = asdict(self)
        data["built_at"] = self.built_at.isoformat()
        data["sample"] = [str(s) for s in self.sample]
        data["heavy"] = [str(s) for s in self.heavy]
        data["lookalikes"] = {str(k): [str(s) for s in v] for k, v in self.lookalikes.items()}
        return json.dumps({"fixture": FIXTURE_VERSION, "fleet": data}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Fleet | None:
        """The fleet in ``text``, or None when it is not one of this FIXTURE_VERSION."""
        try:
            document = json.loads(text)
            if document.get("fixture") != FIXTURE_VERSION:
                return None
            data = dict(document["fleet"])
            data["built_at"] = datetime.fromisoformat(data["built_at"])
            data["sample"] = [uuid.UUID(s) for s in data["sample"]]
            data["heavy"] = [uuid.UUID(s) for s in data["heavy"]]
            data["lookalikes"] = {
                uuid.UUID(k): [uuid.UUID(s) for s in v] for k, v in data["lookalikes"].items()
            }
            return cls(**data)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer pads of HMAC-SHA256 under ``key`` (RFC 2104)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _parameters(size: Size, now: datetime, secret_key: bytes) -> dict[str, object]:
    if size.accounts < 100 or size.devices * 0.95 < size.accounts or size.heavy_rows < 10:
        raise ValueError("a fleet needs >= 100 accounts, devices >= accounts / 0.95, >= 10 rows")
    heavy = HEAVY_SUBJECTS if size.accounts >= 1_000 else 1
    base = int(size.devices * 0.95 // size.accounts)
    look = max(size.heavy_rows // 25, 5)
    ipad, opad = _hmac_pads(secret_key)
    return {
        "now": now,
        "accounts": size.accounts,
        "devices": size.devices,
        "heavy": heavy,
        "base": base,
        "spread": min(2, base - 1),
        "heavy_consents": size.heavy_rows * 2 // 5,
        "heavy_sessions": size.heavy_rows // 5,
        "heavy_outbox": size.heavy_rows - size.heavy_rows * 2 // 5 - size.heavy_rows // 5,
        "look_consents": look * 2 // 5,
        "look_sessions": look // 5,
        "look_outbox": look - look * 2 // 5 - look // 5,
        "oui": OUI,
        "ipad": ipad,
        "opad": opad,
        "policy": load_terms(default_pack()).require_policy().version,
        "sample": SAMPLE,
    }


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names())  # a model not migrated yet
        return {
            name: int(connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in sorted(metadata.tables)
            if name in present
        }


def populate(
    engine: Engine,
    *,
    accounts: int = FULL.accounts,
    devices: int = FULL.devices,
    heavy_rows: int = FULL.heavy_rows,
    progress: Progress = print,
    secret_key: bytes | None = None,
) -> Fleet:
    """Fill the migrated, empty database of ``engine`` with a fleet; see the module docstring.

    ``secret_key`` is the installation key the devices' endpoint keys are made with
    (default: that of ``load_settings(env="test")``, as the bench runtime uses).
    Ends with VACUUM (FREEZE, ANALYZE).  Raises ValueError for a size it cannot build.
    """
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    key = secret_key or installation_key(load_settings(env="test"))
    params = _parameters(Size(accounts, devices, heavy_rows), now, key)

    def step(label: str, begun: float) -> None:
        progress(f"fleet: {label} ({time.perf_counter() - begun:.1f}s)")

    with engine.connect() as connection:
        keyring = _load(connection, params, step)
        sample, heavy, lookalikes = _subjects(connection, params)
    begun = time.perf_counter()
    step(f"audit chain: {_fleet_audit.seal_all(engine):,} events sealed", begun)
    begun = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("SET maintenance_work_mem = '512MB'"))
        connection.execute(sa.text("VACUUM FULL audit_pending"))  # the sealer emptied it
        connection.execute(sa.text("VACUUM (FREEZE, ANALYZE)"))
    step("VACUUM (FREEZE, ANALYZE)", begun)
    return Fleet(
        database=str(engine.url.database),
        accounts=accounts,
        devices=devices,
        heavy_rows=heavy_rows,
        built_at=now,
        generation_seconds=time.perf_counter() - started,
        counts=_counts(engine),
        sample=sample,
        heavy=heavy,
        lookalikes=lookalikes,
        keyring=keyring,
    )


def _load(
    connection: sa.Connection, params: dict[str, object], step: Callable[[str, float], None]
) -> str:
    """Run the plan, the rows, the secrets and the audit events; return the keyring's JSON."""
    for setting in ("work_mem = '256MB'", "maintenance_work_mem = '512MB'", "jit = off"):
        connection.execute(sa.text(f"SET {setting}"))
    connection.execute(sa.text("SET synchronous_commit = off"))
    begun = time.perf_counter()
    for statement in _fleet_plan.statements(secrets.token_hex(8)):
        connection.execute(sa.text(statement), params)
    last = connection.execute(sa.text("SELECT max(first_dev + ndev - 1) FROM fleet_acct"))
    devices = params["devices"]
    assert isinstance(devices, int)
    if int(last.scalar_one()) > devices:
        raise ValueError("the accounts' devices outnumber the fleet's devices")
    connection.commit()
    step("plan", begun)
    dropped = _fleet_bulk.drop_indexes(connection, BULK_TABLES)
    for table, statement in _fleet_rows.STEPS:
        begun = time.perf_counter()
        rows = connection.execute(sa.text(statement), params).rowcount
        connection.commit()
        step(f"{table}: {rows:,} rows", begun)
    begun = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="doorstep-fleet-") as tmp:
        keyring_path = Path(tmp) / KEYRING_FILENAME
        written = _fleet_secrets.write_secrets(connection, FileKeyring(keyring_path), params)
        keyring = keyring_path.read_text(encoding="utf-8")
    connection.commit()
    step(", ".join(f"{t}: {n:,}" for t, n in written.items()), begun)
    begun = time.perf_counter()
    events = _fleet_audit.record_events(connection)
    connection.commit()
    step(f"audit_events: {events:,} rows", begun)
    begun = time.perf_counter()
    _fleet_bulk.restore(connection, dropped)
    step("keys, indexes and foreign keys built and checked", begun)
    return keyring


def _subjects(
    connection: sa.Connection, params: dict[str, object]
) -> tuple[list[uuid.UUID], list[uuid.UUID], dict[uuid.UUID, list[uuid.UUID]]]:
    sample = connection.execute(
        sa.text(
            "SELECT id FROM fleet_acct WHERE role = 'ordinary' "
            "ORDER BY pg_temp.h(99, n) LIMIT :sample"
        ),
        params,
    ).scalars()
    heavy = connection.execute(
        sa.text("SELECT id FROM fleet_acct WHERE role = 'heavy' ORDER BY n")
    ).scalars()
    lookalikes: dict[uuid.UUID, list[uuid.UUID]] = {}
    for heavy_id, look_id in connection.execute(
        sa.text(
            "SELECT h.id, l.id FROM fleet_acct l JOIN fleet_acct h ON h.n = l.family "
            "WHERE l.role = 'lookalike' ORDER BY l.n"
        )
    ):
        lookalikes.setdefault(heavy_id, []).append(look_id)
    return list(sample), list(heavy), lookalikes
