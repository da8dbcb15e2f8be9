"""What an export holds of each table, and how: the data map's export decisions, applied.

For every column of a personal table (:func:`fields`):

* a personal element declared ``VALUE`` — its value (secrets decrypted later);
* a personal element declared ``DESCRIPTION`` — a sentence when it is set, null
  when it is not (:func:`sentence`); the collection statement selects only
  *whether* it is set, so the value itself never leaves the database;
* a personal element declared ``OMITTED`` — nothing (:func:`omitted_columns`
  lists it with its reason for the README);
* a column that is not personal but declared ``export=True`` — its value as
  context: the ids and times that make a row join and mean something;
* any other column that is not personal — nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from doorstep.vocabulary.declarations import INFO_KEY, NotPersonal, PersonalData
from doorstep.vocabulary.export_decisions import ExportAs, ExportDecision

#: How a sentence names a time that is not recorded.
UNKNOWN = "an unknown date"


class Shown(StrEnum):
    """How a column appears in an export."""

    VALUE = "value"
    DESCRIBED = "described"
    CONTEXT = "context"


@dataclass(frozen=True, slots=True)
class Field:
    """One column of a table as exports show it."""

    column: sa.Column[Any]
    shown: Shown
    declaration: PersonalData | NotPersonal

    @property
    def name(self) -> str:
        """The column's name, the field's key in ``data.json`` and the CSV files."""
        return str(self.column.name)

    @property
    def decision(self) -> ExportDecision | None:
        """The personal element's export decision (None for context)."""
        declaration = self.declaration
        return declaration.export if isinstance(declaration, PersonalData) else None

    @property
    def secret(self) -> bool:
        """Whether the value is ciphertext that the export decrypts."""
        declaration = self.declaration
        return (
            self.shown is Shown.VALUE
            and isinstance(declaration, PersonalData)
            and declaration.secret
        )


_SHOWN = {ExportAs.VALUE: Shown.VALUE, ExportAs.DESCRIPTION: Shown.DESCRIBED}


def fields(table: sa.Table) -> list[Field]:
    """The columns exports hold of ``table``, in table order."""
    found = []
    for column in table.columns:
        declaration = column.info.get(INFO_KEY)
        if isinstance(declaration, PersonalData):
            shown = _SHOWN.get(declaration.export.how)
            if shown is not None:
                found.append(Field(column, shown, declaration))
        elif isinstance(declaration, NotPersonal) and declaration.exported:
            found.append(Field(column, Shown.CONTEXT, declaration))
    return found


def omitted_columns(table: sa.Table) -> list[tuple[str, PersonalData]]:
    """The personal columns of ``table`` no export holds, with their declarations."""
    return [
        (str(column.name), declaration)
        for column in table.columns
        if isinstance(declaration := column.info.get(INFO_KEY), PersonalData)
        and declaration.export.how is ExportAs.OMITTED
    ]


def _word(value: object) -> str:
    """A row's value as a sentence writes it: instants as their UTC date."""
    if value is None:
        return UNKNOWN
    if isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.tzinfo is not None:
            instant = instant.astimezone(UTC)
        return instant.date().isoformat()
    return str(value)


def sentence(decision: ExportDecision, row: dict[str, Any]) -> str:
    """The described element's sentence, its fields filled from the row's exported values."""
    return decision.sentence.format_map({name: _word(row.get(name)) for name in decision.fields})
