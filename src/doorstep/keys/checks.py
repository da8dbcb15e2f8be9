"""What the data map's ``secret=True`` means for the schema.

A column declared ``personal(..., secret=True)`` holds only ciphertexts made by
:meth:`doorstep.keys.services.KeyService.encrypt` with context
``"<table>.<column>"``.  :func:`secret_column_problems` checks what the schema
can check: such a column is ``bytea``, because a ciphertext is bytes and a text
column would invite plaintext.  Start-up (the data map's ``validate_datamap``)
enforces it.
"""

from __future__ import annotations

import sqlalchemy as sa

from doorstep.vocabulary.declarations import INFO_KEY, PersonalData


def secret_columns(metadata: sa.MetaData) -> list[sa.Column[object]]:
    """Every column declared ``secret=True``, sorted by ``table.column``."""
    found = [
        column
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.info.get(INFO_KEY), PersonalData) and column.info[INFO_KEY].secret
    ]
    return sorted(found, key=context_of)


def context_of(column: sa.Column[object]) -> str:
    """The encryption context of a secret column: ``table.column``."""
    table = column.table
    assert isinstance(table, sa.Table)
    return f"{table.name}.{column.name}"


def secret_column_problems(metadata: sa.MetaData) -> list[str]:
    """Secret columns (``personal(..., secret=True)``) must be ``bytea``: they hold ciphertext.

    A text column would invite storing the plaintext by mistake.
    """
    found = []
    for table in metadata.tables.values():
        for column in table.columns:
            declaration = column.info.get(INFO_KEY)
            if (
                isinstance(declaration, PersonalData)
                and declaration.secret
                and not isinstance(column.type, sa.LargeBinary)
            ):
                found.append(
                    f"{table.name}.{column.name}: a secret column must be bytea "
                    "(LargeBinary) to hold ciphertext"
                )
    return sorted(found)
