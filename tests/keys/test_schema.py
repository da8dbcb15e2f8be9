"""What ``secret=True`` in the data map requires of a column, checked over the whole schema."""

from __future__ import annotations

import sqlalchemy as sa

from doorstep.keys.checks import context_of, secret_column_problems, secret_columns
from doorstep.schema import metadata
from doorstep.vocabulary import LegalBasis, not_personal, personal
from doorstep.vocabulary.declarations import INFO_KEY, PersonalData


def test_every_secret_column_of_the_schema_can_hold_ciphertext() -> None:
    assert secret_column_problems(metadata) == []


def _secret() -> dict[str, object]:
    return personal(
        "user.authorization.credentials",
        purposes=["account.management"],
        legal_basis=LegalBasis.CONTRACT,
        retention="until_erasure",
        secret=True,
    )


def test_a_secret_text_column_is_named() -> None:
    scratch = sa.MetaData()
    sa.Table(
        "devices",
        scratch,
        sa.Column("id", sa.Integer, primary_key=True, info=not_personal("key")),
        sa.Column("pppoe_password", sa.Text, info=_secret()),
        sa.Column("wifi_password", sa.LargeBinary, info=_secret()),
    )
    assert [context_of(column) for column in secret_columns(scratch)] == [
        "devices.pppoe_password",
        "devices.wifi_password",
    ]
    assert secret_column_problems(scratch) == [
        "devices.pppoe_password: a secret column must be bytea (LargeBinary) to hold ciphertext"
    ]


def test_only_the_subject_id_of_a_key_row_is_personal() -> None:
    table = metadata.tables["subject_keys"]
    personal_columns = {
        column.name for column in table.columns if isinstance(column.info[INFO_KEY], PersonalData)
    }
    assert personal_columns == {"subject_id"}
    assert table.c.subject_id.info[INFO_KEY].category == "user.unique_id.pseudonymous"
