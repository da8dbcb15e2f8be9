"""Access and portability exports: every personal element of one subject, via the data map.

The ZIP holds

* ``data.json`` — ``{"format": "doorstep.export/1", "subject", "generated_at",
  "tables": {table: [row, …]}}``; rows hold the table's *personal* columns only,
  keys sorted, values as JSON strings, numbers, booleans or null (schema:
  ``schema.json``, CORP-4.4);
* ``csv/<table>.csv`` — the same rows, one file per table with rows;
* ``README.md`` — each field's meaning, purposes, legal basis, recipients and
  retention, and the tables left out with the recorded reason (CPE-V.1.d).

Secret fields are decrypted with the subject's data key; once that key is
destroyed they read as null.  Hashes and other bytes are exported as hex.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError
from doorstep.keys.exceptions import DecryptionError, KeyDestroyedError, SubjectKeyNotFoundError
from doorstep.keys.services import KeyService
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.requests.linkage import (
    Unlinkable,
    link_of,
    personal_columns,
    personal_tables,
    rows_of,
)
from doorstep.privacy.requests.models import RequestKind
from doorstep.privacy.requests.readme import readme
from doorstep.privacy.requests.services import RequestContext, audit, get, require_verified

FORMAT = "doorstep.export/1"
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://doorstep.dev/schemas/export-1.json",
    "type": "object",
    "required": ["format", "subject", "generated_at", "tables"],
    "properties": {
        "format": {"const": FORMAT},
        "subject": {"type": "string", "format": "uuid"},
        "generated_at": {"type": "string", "format": "date-time"},
        "tables": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": {
                        "type": ["string", "number", "boolean", "null", "object", "array"]
                    },
                },
            },
        },
    },
    "additionalProperties": False,
}


@dataclass(frozen=True, slots=True)
class Export:
    """The collected data and the ZIP built from it."""

    data: dict[str, Any]
    archive: bytes
    rows: int


def _plain(value: object) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def _open(
    session: Session, keys: KeyService, subject_id: uuid.UUID, value: bytes | None, context: str
) -> str | None:
    if value is None:
        return None
    try:
        plain = keys.decrypt(session, subject_id, bytes(value), context=context)
    except (KeyDestroyedError, SubjectKeyNotFoundError, DecryptionError):
        return None
    return plain.decode("utf-8", errors="replace")


def collect(
    session: Session, keys: KeyService, metadata: sa.MetaData, subject_id: uuid.UUID
) -> dict[str, list[dict[str, Any]]]:
    """Every personal element of the subject, per table (tables without rows left out)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in personal_tables(metadata):
        where = rows_of(metadata, table, subject_id)
        if where is None:
            continue
        columns = personal_columns(table)
        order = [table.c[c.name] for c in table.primary_key.columns] or [columns[0][0]]
        query = sa.select(*(table.c[c.name] for c, _ in columns)).where(where).order_by(*order)
        rows = []
        for row in session.execute(query).mappings():
            out: dict[str, Any] = {}
            for column, declaration in columns:
                value = row[column.name]
                if declaration.secret:
                    out[column.name] = _open(
                        session, keys, subject_id, value, f"{table.name}.{column.name}"
                    )
                else:
                    out[column.name] = _plain(value)
            rows.append(dict(sorted(out.items())))
        if rows:
            found[str(table.name)] = rows
    return found


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
        )
    return buffer.getvalue()


def build(
    session: Session,
    keys: KeyService,
    metadata: sa.MetaData,
    pack: PolicyPack,
    subject_id: uuid.UUID,
    *,
    now: datetime,
) -> Export:
    """Collect the subject's data and pack it as a ZIP (JSON, CSV per table, README)."""
    tables = collect(session, keys, metadata, subject_id)
    data = {
        "format": FORMAT,
        "subject": str(subject_id),
        "generated_at": now.isoformat(),
        "tables": tables,
    }
    left_out = {
        str(t.name): link.reason
        for t in personal_tables(metadata)
        if isinstance(link := link_of(t), Unlinkable)
    }
    buffer = io.BytesIO()
    stamp = (now.year, now.month, now.day, now.hour, now.minute, now.second)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def put(name: str, text: str) -> None:
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), text)

        put("data.json", json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
        put("schema.json", json.dumps(SCHEMA, indent=2, sort_keys=True))
        for name, rows in tables.items():
            put(f"csv/{name}.csv", _csv(rows))
        put("README.md", readme(metadata, pack, sorted(tables), left_out))
    return Export(data, buffer.getvalue(), sum(len(rows) for rows in tables.values()))


def export_request(
    session: Session,
    ctx: RequestContext,
    keys: KeyService,
    request_id: uuid.UUID,
    *,
    actor: str,
    metadata: sa.MetaData | None = None,
) -> Export:
    """The export of an access or portability request; only once identity is verified."""
    from doorstep.schema import metadata as schema

    row = get(session, request_id)
    if row.kind not in (RequestKind.ACCESS, RequestKind.PORTABILITY):
        raise ConflictError("only access and portability requests are exported", reason="kind")
    require_verified(row)
    made = build(session, keys, metadata or schema, ctx.policy, row.subject_id, now=ctx.clock.now())
    audit(
        session, row, "exported", actor, tables=str(len(made.data["tables"])), rows=str(made.rows)
    )
    return made
