"""Read one data-map element of one subject, generically, from the schema.

The element's table is found in the metadata and its rows are selected by the
column that links them to the subject: ``subjects.id`` itself, or the one
column with a foreign key to it.  Encrypted elements (``secret=True``) are not
read here: their values need the subject's key, so a caller passes a reader
that decrypts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import ConfigurationError, ConflictError
from doorstep.vocabulary.declarations import INFO_KEY, PersonalData

#: ``(session, metadata, element, subject_id) -> values`` of the element for the subject.
Reader = Callable[[Session, sa.MetaData, str, uuid.UUID], tuple[object, ...]]


def subject_link(table: sa.Table) -> sa.Column[object]:
    """The column of ``table`` that names the subject a row belongs to."""
    if table.name == "subjects":
        return table.c.id
    links = [
        column
        for column in table.columns
        if any(fk.column.table.name == "subjects" for fk in column.foreign_keys)
    ]
    if len(links) != 1:
        raise ConfigurationError(
            f"table {table.name} has {len(links)} columns referencing subjects; "
            "a generic read needs exactly one"
        )
    return links[0]


def column_of(metadata: sa.MetaData, element: str) -> sa.Column[object]:
    """The column of ``table.column`` in ``metadata``."""
    table_name, _, column_name = element.partition(".")
    table = metadata.tables.get(table_name)
    if table is None or column_name not in table.c:
        raise ConfigurationError(f"element {element} is not in the schema")
    return table.c[column_name]


def needs_decryption(metadata: sa.MetaData, element: str) -> bool:
    """Whether the element is stored encrypted (declared ``secret=True``)."""
    declaration = column_of(metadata, element).info.get(INFO_KEY)
    return isinstance(declaration, PersonalData) and declaration.secret


def read_element(
    session: Session, metadata: sa.MetaData, element: str, subject_id: uuid.UUID
) -> tuple[object, ...]:
    """Every value of ``element`` that belongs to the subject (plain columns only)."""
    if needs_decryption(metadata, element):
        raise ConflictError(
            "this element is stored encrypted; read it with a reader that decrypts",
            element=element,
        )
    column = column_of(metadata, element)
    link = subject_link(column.table)
    return tuple(session.scalars(sa.select(column).where(link == subject_id)))
