"""Collect every column's declaration and check the whole map against the pack.

:func:`validate_datamap` runs at start-up (``serve``, ``worker``, ``demo``) and in
the test suite; it raises :class:`ConfigurationError` that names every bad element.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.keys.checks import secret_column_problems
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.taxonomy import data_categories, data_subjects
from doorstep.vocabulary.declarations import (
    INFO_KEY,
    ColumnDeclaration,
    NotPersonal,
    PersonalData,
)
from doorstep.vocabulary.export_decisions import ExportAs, is_credential


def collect(metadata: sa.MetaData) -> list[ColumnDeclaration]:
    """One entry per column of every table in ``metadata``, sorted by element name."""
    found = []
    for table in metadata.tables.values():
        for column in table.columns:
            declaration = column.info.get(INFO_KEY)
            if not isinstance(declaration, PersonalData | NotPersonal):
                declaration = None
            found.append(ColumnDeclaration(str(table.name), str(column.name), declaration))
    return sorted(found, key=lambda item: item.element)


def undeclared(metadata: sa.MetaData) -> list[str]:
    """Elements (``table.column``) that carry no declaration."""
    return [item.element for item in collect(metadata) if item.declaration is None]


def personal_elements(metadata: sa.MetaData) -> list[tuple[str, PersonalData]]:
    """Every element that holds personal data, with its declaration."""
    return [
        (item.element, item.declaration)
        for item in collect(metadata)
        if isinstance(item.declaration, PersonalData)
    ]


def _in_export(declaration: PersonalData | NotPersonal | None) -> bool:
    """Whether exports hold the column's own value (a personal value or context)."""
    if isinstance(declaration, PersonalData):
        return declaration.export.how is ExportAs.VALUE
    return isinstance(declaration, NotPersonal) and declaration.exported


def export_problems(declarations: Iterable[ColumnDeclaration]) -> list[str]:
    """Export decisions that would leak a credential or describe with a missing column.

    A credential (``user.authorization…``) is never exported as its value; a
    described element's sentence names only columns of its table that exports hold.
    """
    items = list(declarations)
    exported = {(item.table, item.column) for item in items if _in_export(item.declaration)}
    found: list[str] = []
    for item in items:
        declaration = item.declaration
        if not isinstance(declaration, PersonalData):
            continue
        decision = declaration.export
        if decision.how is ExportAs.VALUE and is_credential(declaration.category):
            found.append(
                f"{item.element}: a credential ({declaration.category}) is never exported as "
                "its value; declare export=omitted(...) or described(...)"
            )
        found.extend(
            f"{item.element}: the export sentence names {name!r}, which is not an exported "
            f"column of {item.table}"
            for name in decision.fields
            if (item.table, name) not in exported
        )
    return found


def problems(declarations: Iterable[ColumnDeclaration], pack: PolicyPack) -> list[str]:
    """Every reason the declarations do not fit the taxonomy and the pack."""
    declarations = list(declarations)
    found: list[str] = []
    for item in declarations:
        declaration = item.declaration
        if declaration is None:
            found.append(f"{item.element}: no privacy declaration (personal() or not_personal())")
            continue
        if not isinstance(declaration, PersonalData):
            continue
        if declaration.category not in data_categories():
            found.append(f"{item.element}: unknown data category {declaration.category!r}")
        if declaration.subject not in data_subjects():
            found.append(f"{item.element}: unknown data subject {declaration.subject!r}")
        if not declaration.purposes:
            found.append(f"{item.element}: declares no purpose")
        found.extend(
            f"{item.element}: unknown purpose {purpose!r}"
            for purpose in declaration.purposes
            if purpose not in pack.purposes
        )
        if declaration.retention not in pack.retention:
            found.append(f"{item.element}: unknown retention rule {declaration.retention!r}")
        if declaration.region not in pack.regions:
            found.append(f"{item.element}: unknown region {declaration.region!r}")
        found.extend(
            f"{item.element}: unknown recipient {recipient!r}"
            for recipient in declaration.recipients
            if recipient not in pack.recipients
        )
        if pack.clause_ids:
            found.extend(
                f"{item.element}: unknown clause {clause!r}"
                for clause in declaration.clauses
                if clause not in pack.known_clause_ids
            )
    return found + export_problems(declarations)


def validate_datamap(metadata: sa.MetaData, pack: PolicyPack) -> None:
    """Raise :class:`ConfigurationError` listing every problem, or return quietly."""
    found = problems(collect(metadata), pack) + secret_column_problems(metadata)
    if found:
        raise ConfigurationError("data map is invalid: " + "; ".join(found), problems=found)
