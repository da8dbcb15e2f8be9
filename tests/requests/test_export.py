"""Access/portability exports found through the data map."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError
from doorstep.core.models import Base
from doorstep.keys.services import KeyService
from doorstep.privacy.datamap import LegalBasis, not_personal, personal
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.export import SCHEMA, export_request
from doorstep.privacy.requests.linkage import Direct, Through, Unlinkable, link_of, unlinked
from doorstep.privacy.requests.services import RequestContext
from doorstep.schema import metadata
from tests.requests.conftest import STAFF, new_account


def test_every_personal_table_links_to_its_subject() -> None:
    assert unlinked(metadata) == []
    assert link_of(metadata.tables["account_sessions"]) == Direct("account_id")
    assert link_of(metadata.tables["device_pppoe"]) == Through(
        "binding_id", "device_bindings", "id"
    )


def test_a_personal_table_without_a_link_is_reported() -> None:
    scratch = sa.MetaData()
    sa.Table(
        "orphans",
        scratch,
        sa.Column("id", sa.Uuid, primary_key=True, info=not_personal("random id")),
        sa.Column(
            "note",
            sa.Text,
            info=personal(
                "user.content",
                purposes=["customer.support"],
                legal_basis=LegalBasis.CONTRACT,
                retention="until_erasure",
            ),
        ),
    )
    assert unlinked(scratch) == ["orphans"]
    with pytest.raises(ValueError):
        Unlinkable("  ")
    assert Base.metadata is metadata


@pytest.mark.clause("CPE-V.1.d")
@pytest.mark.clause("CORP-4.4")
def test_the_export_holds_all_the_subjects_data_and_none_of_a_look_alike(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    other = new_account(db, keys, clock, "token-of-B")
    row = svc.open_request(db, ctx, subject_id=mine, kind="portability", channel="app", actor=STAFF)
    with pytest.raises(ConflictError):
        export_request(db, ctx, keys, row.id, actor=STAFF)
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    made = export_request(db, ctx, keys, row.id, actor=STAFF)

    archive = zipfile.ZipFile(io.BytesIO(made.archive))
    data = json.loads(archive.read("data.json"))
    assert data["format"] == SCHEMA["properties"]["format"]["const"]
    tables = data["tables"]
    assert {
        "subjects",
        "accounts",
        "account_identities",
        "restrictions",
        "subject_requests",
    } <= set(tables)
    assert tables["account_identities"][0]["access_token"] == "token-of-A"
    text = archive.read("data.json").decode()
    assert str(other) not in text and "token-of-B" not in text
    rows = list(csv.DictReader(io.StringIO(archive.read("csv/restrictions.csv").decode())))
    assert rows[0]["purpose"] == "account.profile"
    readme = archive.read("README.md").decode()
    assert "**access_token**" in readme and "legal basis" in readme and "retention:" in readme
    assert "account_rate_limits" in readme  # left out, with its reason


def test_an_export_after_crypto_shredding_reads_secrets_as_null(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    keys.destroy(db, mine)
    row = svc.open_request(db, ctx, subject_id=mine, kind="access", channel="app", actor=STAFF)
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    made = export_request(db, ctx, keys, row.id, actor=STAFF)
    assert made.data["tables"]["account_identities"][0]["access_token"] is None
