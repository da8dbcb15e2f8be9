"""Who an incident affects: one set-based statement over the fleet, data map and audit trail.

:func:`compute` inserts into ``incident_subjects`` (ids only) every existing
subject that

* had a device of an affected model (``device_registrations.model``) or an
  affected unit (``devices.id``) bound during the incident's window (a binding
  that began before the window ended and had not ended before it began);
* holds rows in an affected system (a table of the data map) or of an affected
  element's table, when that table names its subject directly (a
  ``subject_id`` column, or a foreign key to ``subjects.id`` or ``accounts.id``);
* appears in the audit trail as the subject of an event on an affected element
  or system within the window;
* was named by staff,

each with its jurisdiction: the pack's jurisdiction whose country calling code
begins the account's mobile number (the longest that matches), else the pack's
``home`` (decision 0022).  It is one ``INSERT … SELECT`` whatever the fleet's
size (the bench measures it on one million devices), idempotent (subjects already
affected are left out: a subject once affected stays affected, and its notice
status is kept), and it never reads a value of anyone's data but the calling
code.  The caller holds the incident's row lock (:func:`.services.get` with
``lock=True``, or the incident was opened in the same transaction).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import InvalidInputError
from doorstep.core.models import schema_metadata
from doorstep.privacy.datamap.incident_rules import IncidentRules
from doorstep.vocabulary.declarations import INFO_KEY, PersonalData

#: Tables that hold the subject's id under a foreign key to one of these.
_SUBJECT_KEYS = frozenset({"subjects.id", "accounts.id"})


@dataclass(frozen=True, slots=True)
class Scope:
    """What an incident spans: names and ids only."""

    window_start: datetime | None
    window_end: datetime
    systems: tuple[str, ...] = ()
    elements: tuple[str, ...] = ()
    device_models: tuple[str, ...] = ()
    device_ids: tuple[uuid.UUID, ...] = ()
    subject_ids: tuple[uuid.UUID, ...] = ()


def subject_column(table: sa.Table) -> str | None:
    """The column of ``table`` that holds its subject's id, when it has one directly."""
    if table.name == "subjects":
        return "id"
    for column in table.columns:
        if any(key.target_fullname in _SUBJECT_KEYS for key in column.foreign_keys):
            return str(column.name)
    if "subject_id" in table.columns:
        return "subject_id"
    return None


def check_scope(systems: tuple[str, ...], elements: tuple[str, ...]) -> None:
    """Raise InvalidInputError unless every system is a table of the schema and every element
    a personal column of it (the data map's ``table.column``)."""
    tables = schema_metadata().tables
    for system in systems:
        if system not in tables:
            raise InvalidInputError(
                "an affected system is not a table of the data map",
                errors=[{"field": "systems", "rule": "known_table"}],
            )
    for element in elements:
        table_name, _, column_name = element.partition(".")
        table = tables.get(table_name)
        column = None if table is None else table.columns.get(column_name)
        if column is None or not isinstance(column.info.get(INFO_KEY), PersonalData):
            raise InvalidInputError(
                "an affected element is not a personal element of the data map",
                errors=[{"field": "elements", "rule": "known_personal_element"}],
            )


def _branches(scope: Scope, params: dict[str, Any]) -> list[str]:
    """The SELECTs of subject ids whose union is the affected set."""
    window = "b.bound_at <= :end AND (b.unbound_at IS NULL OR b.unbound_at >= :start)"
    params["end"] = scope.window_end
    params["start"] = scope.window_start or datetime.min.replace(tzinfo=scope.window_end.tzinfo)
    found: list[str] = []
    if scope.device_models:
        params["models"] = list(scope.device_models)
        found.append(
            "SELECT b.subject_id FROM device_registrations r "  # noqa: S608 - constant fragments only
            "JOIN device_bindings b ON b.device_id = r.device_id "
            f"WHERE r.model = ANY(:models) AND {window}"
        )
    if scope.device_ids:
        params["devices"] = list(scope.device_ids)
        found.append(
            "SELECT b.subject_id FROM device_bindings b "  # noqa: S608 - constant fragments only
            f"WHERE b.device_id = ANY(:devices) AND {window}"
        )
    tables = {element.partition(".")[0] for element in scope.elements} | set(scope.systems)
    metadata = schema_metadata()
    for name in sorted(tables):
        column = subject_column(metadata.tables[name])
        if column is not None:
            # names of the schema's own tables and columns, checked against it; never input
            found.append(f'SELECT "{column}" FROM "{name}" WHERE "{column}" IS NOT NULL')  # noqa: S608
    if scope.elements or scope.systems:
        params["elements"] = list(scope.elements)
        params["systems"] = sorted(tables)
        found.append(
            "SELECT subject_id FROM audit_events WHERE subject_id IS NOT NULL "
            "AND at BETWEEN :start AND :end AND (element = ANY(:elements) "
            "OR split_part(element, '.', 1) = ANY(:systems))"
        )
    if scope.subject_ids:
        params["named"] = list(scope.subject_ids)
        found.append("SELECT unnest(CAST(:named AS uuid[]))")
    return found


def _jurisdiction(rules: IncidentRules, params: dict[str, Any]) -> str:
    """The jurisdiction of the account's mobile number: the longest calling code that begins it.

    The pack's codes are one to three digits, so the number's first digits of each length
    the pack uses are looked up in a small map (``{code: jurisdiction}``, bound once as
    jsonb), longest first; a number without ``+`` or whose digits match no code, and a
    subject without an account, fall back to ``home``.  That is a few look-ups a row
    instead of one ``LIKE`` per code of the pack.
    """
    params["home"] = rules.home
    codes = rules.codes()
    if not codes:
        return "CAST(:home AS text)"
    params["codes"] = json.dumps(dict(codes))
    lengths = sorted({len(code) for code, _ in codes}, reverse=True)
    lookups = ", ".join(f"CAST(:codes AS jsonb) ->> substr(a.phone, 2, {n})" for n in lengths)
    return f"COALESCE(CASE WHEN left(a.phone, 1) = '+' THEN COALESCE({lookups}) END, :home)"


def compute(
    session: Session, incident_id: uuid.UUID, scope: Scope, rules: IncidentRules, now: datetime
) -> int:
    """Add the subjects ``scope`` affects to the incident (see the module); return how many
    were new."""
    params: dict[str, Any] = {"incident": incident_id, "now": now}
    branches = _branches(scope, params)
    if not branches:
        return 0
    union = " UNION ".join(branches)
    # Not ON CONFLICT: its speculative insertion costs a look-up per row; every caller holds
    # the incident's row lock, so the anti-join alone keeps the statement idempotent (a run
    # without it would fail on the primary key and roll back, never insert twice).  Rows go
    # in subject order, so the indexes are filled in order rather than at random.
    statement = sa.text(
        "INSERT INTO incident_subjects (incident_id, subject_id, jurisdiction, status, added_at) "  # noqa: S608 - schema names and bound parameters only
        f"SELECT :incident, s.id, {_jurisdiction(rules, params)}, 'pending', :now "
        "FROM subjects s LEFT JOIN accounts a ON a.id = s.id "
        f"WHERE s.id IN ({union}) "
        "AND NOT EXISTS (SELECT FROM incident_subjects x "
        "WHERE x.incident_id = :incident AND x.subject_id = s.id) "
        "ORDER BY s.id"
    )
    result = session.execute(statement, params)
    return int(getattr(result, "rowcount", 0))


def counts_by_jurisdiction(session: Session, incident_id: uuid.UUID) -> dict[str, dict[str, int]]:
    """``{jurisdiction: {status: count}}`` of the incident's affected subjects."""
    rows = session.execute(
        sa.text(
            "SELECT jurisdiction, status, count(*) AS n FROM incident_subjects "
            "WHERE incident_id = :i GROUP BY jurisdiction, status ORDER BY jurisdiction"
        ),
        {"i": incident_id},
    )
    found: dict[str, dict[str, int]] = {}
    for row in rows:
        found.setdefault(row.jurisdiction, {})[row.status] = int(row.n)
    return found
