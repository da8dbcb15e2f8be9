"""Every column declares its privacy metadata; bad declarations stop start-up."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import default_pack, load_pack, parse_period
from doorstep.privacy.datamap.registry import (
    collect,
    personal_elements,
    undeclared,
    validate_datamap,
)
from doorstep.schema import metadata
from doorstep.vocabulary import LegalBasis, not_personal, personal

ROOT = Path(__file__).resolve().parents[1]


def test_every_column_of_the_schema_is_declared() -> None:
    missing = undeclared(metadata)
    assert missing == [], f"columns without personal()/not_personal(): {missing}"


def test_the_shipped_data_map_is_valid() -> None:
    validate_datamap(metadata, default_pack())
    elements = dict(personal_elements(metadata))
    assert "subjects.id" in elements
    assert elements["subjects.id"].category == "user.unique_id.pseudonymous"


def test_no_database_column_escapes_the_models(engine: Engine) -> None:
    """A column added by hand-written SQL, unknown to the models, is undeclared too."""
    inspector = sa.inspect(engine)
    in_models = {item.element for item in collect(metadata)}
    in_database = {
        f"{table}.{column['name']}"
        for table in inspector.get_table_names()
        if not table.startswith("procrastinate_") and table != "alembic_version"
        for column in inspector.get_columns(table)
    }
    assert in_database - in_models == set()


def _table(*columns: sa.Column[object]) -> sa.MetaData:
    scratch = sa.MetaData()
    sa.Table(
        "scratch",
        scratch,
        sa.Column("id", sa.Integer, primary_key=True, info=not_personal("key")),
        *columns,
    )
    return scratch


def test_an_undeclared_column_is_found() -> None:
    scratch = _table(sa.Column("email", sa.Text))
    assert undeclared(scratch) == ["scratch.email"]
    with pytest.raises(ConfigurationError, match=r"scratch\.email: no privacy declaration"):
        validate_datamap(scratch, default_pack())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"category": "user.contact.carrier_pigeon"},
            "unknown data category 'user.contact.carrier_pigeon'",
        ),
        ({"purposes": ["selling.to.strangers"]}, "unknown purpose 'selling.to.strangers'"),
        ({"retention": "forever-and-ever"}, "unknown retention rule 'forever-and-ever'"),
        ({"subject": "martian"}, "unknown data subject 'martian'"),
        ({"region": "moon"}, "unknown region 'moon'"),
        ({"recipients": ["ad-network"]}, "unknown recipient 'ad-network'"),
        ({"purposes": []}, "declares no purpose"),
    ],
)
def test_a_bad_declaration_is_named(overrides: dict[str, object], message: str) -> None:
    spec: dict[str, object] = {
        "category": "user.contact.email",
        "purposes": ["account.management"],
        "legal_basis": LegalBasis.CONTRACT,
        "retention": "until_erasure",
    }
    spec.update(overrides)
    category = str(spec.pop("category"))
    scratch = _table(sa.Column("email", sa.Text, info=personal(category, **spec)))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=message.replace(".", r"\.")) as caught:
        validate_datamap(scratch, default_pack())
    assert "scratch.email" in caught.value.detail


def test_an_unknown_legal_basis_cannot_be_declared() -> None:
    with pytest.raises(ValueError, match="'because'"):
        LegalBasis("because")


def test_not_personal_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        not_personal("  ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P2Y", timedelta(days=730)),
        ("P30D", timedelta(days=30)),
        ("PT1H", timedelta(hours=1)),
        ("P1M2DT3M", timedelta(days=32, minutes=3)),
        ("P0D", timedelta(0)),
    ],
)
def test_periods_parse(text: str, expected: timedelta) -> None:
    assert parse_period(text) == expected


@pytest.mark.parametrize("text", ["2 years", "P", "PT", "P1.5Y", "", "-P1D"])
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(ConfigurationError, match="ISO 8601"):
        parse_period(text)


def _write_pack(tmp_path: Path, body: str) -> Path:
    (tmp_path / "datamap.yaml").write_text(body, encoding="utf-8")
    return tmp_path


def test_a_pack_with_an_unknown_data_use_fails(tmp_path: Path) -> None:
    pack = _write_pack(tmp_path, "purposes:\n  x:\n    data_use: mind.reading\n")
    with pytest.raises(
        ConfigurationError, match=r"purpose 'x' has unknown data_use 'mind\.reading'"
    ):
        load_pack(pack)


def test_a_pack_with_an_unknown_trigger_fails(tmp_path: Path) -> None:
    pack = _write_pack(tmp_path, "retention:\n  r:\n    trigger: full_moon\n    period: P1D\n")
    with pytest.raises(ConfigurationError, match="'r' has unknown trigger 'full_moon'"):
        load_pack(pack)


def test_a_pack_with_a_bad_period_fails(tmp_path: Path) -> None:
    pack = _write_pack(tmp_path, "retention:\n  r:\n    trigger: created\n    period: two years\n")
    with pytest.raises(ConfigurationError, match="'two years'"):
        load_pack(pack)


def test_a_missing_or_broken_pack_fails(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_pack(tmp_path / "nowhere")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_pack(_write_pack(tmp_path, "purposes: [unclosed\n"))


def _recorded_originals() -> dict[str, str]:
    """File name -> SHA-256 of the reference texts, as recorded in the default pack."""
    manifest = ROOT / "src" / "doorstep" / "policy_pack" / "default" / "ORIGINALS.sha256"
    recorded: dict[str, str] = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            recorded[name] = digest
    return recorded


def test_the_shipped_policy_texts_match_the_recorded_originals() -> None:
    """The default pack carries verbatim copies of the reference policies; they must not drift.

    Runs on a plain clone: the copies are checked against the digests recorded in the pack.
    Where the shared originals lie beside the checkout, they are checked against the same
    digests, so a change of the originals shows here too.
    """
    pack = ROOT / "src" / "doorstep" / "policy_pack" / "default"
    recorded = _recorded_originals()
    assert set(recorded) == {
        "clauses.yaml",
        "cpe-privacy-policy.txt",
        "corporate-privacy-policy.txt",
    }
    for name, digest in recorded.items():
        assert hashlib.sha256((pack / name).read_bytes()).hexdigest() == digest, name
    shared = ROOT.parent / "shared" / "policy"
    if shared.is_dir():
        originals = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in shared.iterdir()}
        assert originals == recorded


def test_a_pack_purpose_citing_an_unknown_clause_fails(tmp_path: Path) -> None:
    (tmp_path / "clauses.yaml").write_text("clauses:\n- id: CPE-0.1\n", encoding="utf-8")
    pack = _write_pack(
        tmp_path,
        "purposes:\n  p:\n    data_use: essential.service\n    clauses: [CPE-0.1, CPE-9.9]\n",
    )
    with pytest.raises(ConfigurationError, match=r"purpose 'p' cites unknown clause 'CPE-9\.9'"):
        load_pack(pack)


def test_a_column_citing_an_unknown_clause_is_named() -> None:
    scratch = _table(
        sa.Column(
            "email",
            sa.Text,
            info=personal(
                "user.contact.email",
                purposes=["account.management"],
                legal_basis=LegalBasis.CONTRACT,
                retention="until_erasure",
                clauses=["CPE-I.i.1.a", "CPE-NOPE"],
            ),
        )
    )
    with pytest.raises(ConfigurationError, match=r"scratch\.email: unknown clause 'CPE-NOPE'"):
        validate_datamap(scratch, default_pack())


def test_the_default_pack_knows_every_clause_of_the_catalogue() -> None:
    assert "CPE-I.ii.1.c" in default_pack().clause_ids
    assert len(default_pack().clause_ids) == 148
