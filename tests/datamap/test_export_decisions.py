"""Every personal element says what exports show of it; credentials are never shown as values."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import PolicyPack, default_pack
from doorstep.privacy.datamap.registry import personal_elements, validate_datamap
from doorstep.privacy.datamap.ropa import build_ropa
from doorstep.privacy.datamap.ropa_formats import to_csv, to_json, to_markdown
from doorstep.schema import metadata
from doorstep.vocabulary import (
    VALUE,
    ExportAs,
    ExportDecision,
    LegalBasis,
    PersonalData,
    described,
    not_personal,
    omitted,
    personal,
)
from doorstep.vocabulary.export_decisions import CREDENTIAL_REASON, is_credential

#: Credentials the real schema describes (a sentence), never exports as values.
DESCRIBED = {
    "accounts.password_hash",
    "account_identities.access_token",
    "account_identities.refresh_token",
    "device_pppoe.password",
}


def _spec(category: str, **more: Any) -> dict[str, Any]:
    return personal(
        category,
        purposes=["account.management"],
        legal_basis=LegalBasis.CONTRACT,
        retention="until_erasure",
        **more,
    )


def _scratch(*columns: sa.Column[Any]) -> sa.MetaData:
    scratch = sa.MetaData()
    sa.Table(
        "scratch",
        scratch,
        sa.Column("id", sa.Integer, primary_key=True, info=not_personal("key", export=True)),
        *columns,
    )
    return scratch


def test_every_personal_element_carries_an_export_decision() -> None:
    elements = personal_elements(metadata)
    assert elements
    for _element, declaration in elements:
        assert isinstance(declaration.export, ExportDecision)
        if declaration.export.how is not ExportAs.VALUE:
            assert declaration.export.reason.strip()


def test_no_credential_of_the_schema_is_exported_as_its_value() -> None:
    credentials = {
        element: declaration.export
        for element, declaration in personal_elements(metadata)
        if is_credential(declaration.category)
    }
    assert {
        "accounts.password_hash",
        "account_sessions.token_hash",
        "account_sessions.refresh_hash",
        "device_pppoe.password",
        "outbox.params",
        "staff_tokens.token_hash",
        "subject_requests.proof_hash",
    } <= set(credentials)
    assert [element for element, how in credentials.items() if how.how is ExportAs.VALUE] == []
    assert {e for e, how in credentials.items() if how.how is ExportAs.DESCRIPTION} == DESCRIBED


def test_a_credential_is_omitted_by_default_and_refused_as_a_value() -> None:
    default = _spec("user.authorization.credentials")["privacy"]
    assert isinstance(default, PersonalData)
    assert default.export == omitted(CREDENTIAL_REASON)
    assert _spec("user.contact.email")["privacy"].export is VALUE
    leaky = _scratch(
        sa.Column("secret", sa.Text, info=_spec("user.authorization.password", export=VALUE))
    )
    with pytest.raises(ConfigurationError, match="never exported as its value") as caught:
        validate_datamap(leaky, default_pack())
    assert "scratch.secret" in caught.value.detail


def test_a_sentence_names_only_columns_the_export_holds() -> None:
    sentence = described("A code is set, made on {made_at}.", reason="a credential")
    assert sentence.fields == ("made_at",)
    hidden = _scratch(
        sa.Column("code", sa.Text, info=_spec("user.authorization.credentials", export=sentence)),
        sa.Column("made_at", sa.DateTime, info=not_personal("when it was made")),
    )
    with pytest.raises(ConfigurationError, match="names 'made_at'"):
        validate_datamap(hidden, default_pack())
    shown = _scratch(
        sa.Column("code", sa.Text, info=_spec("user.authorization.credentials", export=sentence)),
        sa.Column("made_at", sa.DateTime, info=not_personal("when it was made", export=True)),
    )
    validate_datamap(shown, default_pack())


def test_a_decision_other_than_the_value_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        omitted("  ")
    with pytest.raises(ValueError, match="reason"):
        described("A password is set.", reason="")
    with pytest.raises(ValueError, match="sentence"):
        ExportDecision(ExportAs.DESCRIPTION, reason="a credential")
    with pytest.raises(ValueError, match="sentence"):
        ExportDecision(ExportAs.VALUE, sentence="A password is set.")


@pytest.fixture(scope="module")
def pack() -> PolicyPack:
    """The shipped policy pack."""
    return default_pack()


def test_the_record_of_processing_records_each_decision(pack: PolicyPack) -> None:
    ropa = build_ropa(metadata, pack)
    document = json.loads(to_json(ropa))
    by_name = {element["element"]: element for element in document["elements"]}
    assert by_name["accounts.email"]["export"] == "value"
    assert by_name["accounts.password_hash"]["export"] == "description"
    assert "credential" in by_name["accounts.password_hash"]["export_reason"]
    assert by_name["account_sessions.token_hash"]["export"] == "omitted"
    rows = list(csv.DictReader(io.StringIO(to_csv(ropa))))
    assert {row["export"] for row in rows if row["element"] == "device_pppoe.password"} == {
        "description"
    }
    assert "| description: a credential" in to_markdown(ropa)
