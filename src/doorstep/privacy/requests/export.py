"""Access and portability exports: every personal element of one subject, via the data map.

The ZIP holds

* ``data.json`` — ``{"format": "doorstep.export/1", "subject", "generated_at",
  "tables": {table: [row, …]}}``; rows hold what the data map's export
  decisions say (:mod:`.export_fields`): each personal element's value, or a
  sentence in place of a credential ("A password is set, last changed on …"), never a secret,
  and the ids and times that make a row join and mean something (declared
  ``not_personal(..., export=True)``); keys sorted, values as JSON strings,
  numbers, booleans, null, or (JSON columns) objects and arrays (schema:
  ``schema.json``, CORP-4.4);
* ``csv/<table>.csv`` — the same rows, one file per table with rows;
* ``systems/<system>.json`` — each connected system's part, also under
  ``systems`` in ``data.json`` (issue 18), when the request reached any;
* ``README.md`` — in the subject's language: each field's meaning, purposes,
  legal basis, recipients and retention, what the export shows of it, the
  elements and tables left out with the recorded reason (CPE-V.1.d).

Collection is one statement per subject (:func:`collect`): for every linked
personal table a ``json_agg`` of the subject's rows, all in one round trip, so
an export costs the same few milliseconds whether the schema has ten personal
tables or fifty.  The statement is built once per schema from the links of
:mod:`.linkage` and cached.  Instants come out as RFC 3339 in UTC, bytes as hex.
Secret fields exported as values are decrypted with the subject's data key;
once that key is destroyed they read as null.  Described elements are never
read, decrypted or hashed: the statement selects only whether they are set.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.accounts.account.models import Account
from doorstep.core.memo import by_identity
from doorstep.keys.exceptions import DecryptionError, KeyDestroyedError, SubjectKeyNotFoundError
from doorstep.keys.services import KeyService
from doorstep.locale import SOURCE
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.requests.export_fields import Shown, fields, sentence
from doorstep.privacy.requests.linkage import (
    Unlinkable,
    link_of,
    personal_tables,
    rows_of,
)
from doorstep.privacy.requests.readme import readme
from doorstep.privacy.requests.systems.readme import systems_section
from doorstep.vocabulary.export_decisions import ExportDecision

FORMAT = "doorstep.export/1"
#: ``Table.info`` key: the table is left out of exports, with the reason as its value.
LEFT_OUT_KEY = "export_left_out"
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://doorstep.dev/schemas/export-1.json",
    "type": "object",
    "required": ["format", "subject", "generated_at", "tables"],
    "properties": {
        "format": {"const": FORMAT},
        "subject": {"type": "string", "format": "uuid"},
        "generated_at": {"type": "string", "format": "date-time"},
        "systems": {
            "type": "object",
            "description": "Each connected system's part, by system key (issue 18).",
            "additionalProperties": {"type": "object"},
        },
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


@dataclass(frozen=True, slots=True)
class _Plan:
    """The compiled collection statement of one schema and what to decrypt afterwards."""

    statement: sa.Select[Any]
    tables: tuple[str, ...]
    secrets: dict[str, tuple[str, ...]]
    described: dict[str, tuple[tuple[str, ExportDecision], ...]]
    left_out: dict[str, str]


SUBJECT = "subject"


def _value(column: sa.Column[Any], shown: Shown) -> sa.ColumnElement[Any]:
    if shown is Shown.DESCRIBED:  # whether it is set, never the value
        return column.is_not(None).label(column.name)
    if isinstance(column.type, sa.LargeBinary):
        return sa.func.encode(column, "hex").label(column.name)
    return column.label(column.name)


@by_identity
def _plan(metadata: sa.MetaData) -> _Plan:
    subject = sa.bindparam(SUBJECT, type_=sa.Uuid)
    aggregates: list[sa.Label[Any]] = []
    tables: list[str] = []
    secrets: dict[str, tuple[str, ...]] = {}
    described: dict[str, tuple[tuple[str, ExportDecision], ...]] = {}
    left_out: dict[str, str] = {}
    for table in personal_tables(metadata):
        name = str(table.name)
        link = link_of(table)
        if isinstance(link, Unlinkable):
            left_out[name] = link.reason
            continue
        if LEFT_OUT_KEY in table.info:
            left_out[name] = str(table.info[LEFT_OUT_KEY])
            continue
        where = rows_of(metadata, table, subject)
        if where is None:  # pragma: no cover - unlinked tables fail the test suite
            continue
        shown = fields(table)
        order = list(table.primary_key.columns) or [shown[0].column]
        rows = (
            sa.select(*(_value(field.column, field.shown) for field in shown))
            .where(where)
            .order_by(*order)
            .subquery(f"r_{name}")
        )
        aggregate = sa.select(sa.func.json_agg(rows.table_valued())).scalar_subquery()
        aggregates.append(aggregate.label(name))
        tables.append(name)
        secret = tuple(field.name for field in shown if field.secret)
        if secret:
            secrets[name] = secret
        sentences = tuple(
            (field.name, field.decision)
            for field in shown
            if field.shown is Shown.DESCRIBED and field.decision is not None
        )
        if sentences:
            described[name] = sentences
    return _Plan(sa.select(*aggregates), tuple(tables), secrets, described, left_out)


def _open(
    session: Session, keys: KeyService, subject_id: uuid.UUID, value: str | None, context: str
) -> str | None:
    if value is None:
        return None
    try:
        plain = keys.decrypt(session, subject_id, bytes.fromhex(value), context=context)
    except (KeyDestroyedError, SubjectKeyNotFoundError, DecryptionError, ValueError):
        return None
    return plain.decode("utf-8", errors="replace")


def collect(
    session: Session, keys: KeyService, metadata: sa.MetaData, subject_id: uuid.UUID
) -> dict[str, list[dict[str, Any]]]:
    """What exports hold of the subject, per table (tables without rows left out).

    Each row holds the table's exported fields (:func:`.export_fields.fields`):
    values, sentences in place of described elements, context ids and times.
    """
    plan = _plan(metadata)
    result = session.execute(plan.statement, {SUBJECT: subject_id}).one()
    found: dict[str, list[dict[str, Any]]] = {}
    for name, rows in zip(plan.tables, result, strict=True):
        if not rows:
            continue
        for column in plan.secrets.get(name, ()):
            context = f"{name}.{column}"
            for row in rows:
                row[column] = _open(session, keys, subject_id, row[column], context)
        for column, decision in plan.described.get(name, ()):
            for row in rows:
                row[column] = sentence(decision, row) if row[column] else None
        found[name] = [dict(sorted(row.items())) for row in rows]
    return found


def left_out(metadata: sa.MetaData) -> dict[str, str]:
    """Personal tables no export includes, with the recorded reason (README, CPE-V.1.d)."""
    return dict(_plan(metadata).left_out)


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
    systems: dict[str, dict[str, Any]] | None = None,
) -> Export:
    """Collect the subject's data and pack it as a ZIP (JSON, CSV per table, README).

    The README is written in the subject's language (``accounts.language``; English
    for a subject without an account).  ``systems`` are the connected systems'
    parts (system key -> name, state, exception, data): merged into ``data.json``
    under ``systems``, one ``systems/<key>.json`` each, and a README section."""
    tables = collect(session, keys, metadata, subject_id)
    language = session.scalar(sa.select(Account.language).where(Account.id == subject_id))
    data: dict[str, Any] = {
        "format": FORMAT,
        "subject": str(subject_id),
        "generated_at": now.isoformat(),
        "tables": tables,
    }
    if systems:
        data["systems"] = systems
    buffer = io.BytesIO()
    stamp = (now.year, now.month, now.day, now.hour, now.minute, now.second)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def put(name: str, text: str) -> None:
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), text, zipfile.ZIP_DEFLATED)

        put("data.json", json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
        put("schema.json", json.dumps(SCHEMA, indent=2, sort_keys=True))
        for name, rows in tables.items():
            put(f"csv/{name}.csv", _csv(rows))
        text = readme(metadata, pack, sorted(tables), left_out(metadata), language or SOURCE)
        for key, part in sorted((systems or {}).items()):
            part_json = json.dumps(part, indent=2, sort_keys=True, ensure_ascii=False)
            put(f"systems/{key}.json", part_json)
        if systems:
            text += "\n" + systems_section(pack, systems, language or SOURCE)
        put("README.md", text)
    return Export(data, buffer.getvalue(), sum(len(rows) for rows in tables.values()))
