"""Access/portability exports found through the data map."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError
from doorstep.core.models import Base
from doorstep.keys.services import KeyService
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.downloads import ExportNotReadyError, fetch, prepare
from doorstep.privacy.requests.export import SCHEMA, build, collect
from doorstep.privacy.requests.linkage import Direct, Through, Unlinkable, link_of, unlinked
from doorstep.privacy.requests.models import RequestExport, RequestStatus
from doorstep.schema import metadata
from doorstep.vocabulary import LegalBasis, not_personal, personal
from tests.requests.conftest import STAFF, actions, bind_again, bound_device, new_account, verified


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


def _archive(db: Session, ctx: RequestContext, request_id: uuid.UUID) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(fetch(db, ctx, svc.get(db, request_id), actor=STAFF)))


@pytest.mark.clause("CPE-V.1.d")
@pytest.mark.clause("CORP-4.4")
def test_the_export_holds_all_the_subjects_data_and_none_of_a_look_alike(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    other = new_account(db, keys, clock, "token-of-B")
    row = svc.open_request(db, ctx, subject_id=mine, kind="portability", channel="app", actor=STAFF)
    with pytest.raises(ConflictError):
        prepare(db, ctx, row.id, actor=STAFF)
    svc.verify(db, ctx, row.id, method="session", actor=STAFF)
    assert prepare(db, ctx, row.id, actor=STAFF).built

    archive = _archive(db, ctx, row.id)
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
    assert "request_exports" not in tables  # an export never holds earlier exports
    identity = tables["account_identities"][0]
    assert identity["access_token"].startswith("An access token from the provider is held")
    assert identity["provider_subject"] == "nick-token-of-A"
    text = archive.read("data.json").decode()
    assert str(other) not in text and "token-of-B" not in text
    assert '"token-of-A"' not in text  # the access token (its holder's name is nick-token-of-A)
    rows = list(csv.DictReader(io.StringIO(archive.read("csv/restrictions.csv").decode())))
    assert rows[0]["purpose"] == "account.profile"
    readme = archive.read("README.md").decode()
    assert "**access_token**" in readme and "legal basis" in readme and "retention:" in readme
    assert "in this export: a sentence saying whether it is set, never the value" in readme
    assert "**proof_hash**" in readme and "in this export: not included (a credential" in readme
    assert "account_rate_limits" in readme  # left out, with its reason
    assert "request_exports" in readme


@pytest.mark.clause("CPE-V.1.c")
def test_an_export_is_prepared_once_completes_the_request_and_tells_the_requester(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    request_id = verified(db, ctx, mine, "access")
    first = prepare(db, ctx, request_id, actor=STAFF)
    again = prepare(db, ctx, request_id, actor=STAFF)
    assert first.built and first.rows > 0 and not again.built
    row = svc.get(db, request_id)
    assert row.status is RequestStatus.COMPLETED
    assert actions(db, mine).count("request.completed") == 1
    stored = db.get(RequestExport, request_id)
    assert stored is not None and b"token-of-A" not in stored.archive  # sealed with A's key
    templates = db.execute(
        sa.text("SELECT template FROM outbox WHERE subject_id = :s"), {"s": mine}
    ).scalars()
    assert list(templates) == ["request.export_ready"]
    assert _archive(db, ctx, request_id).namelist()[0] == "data.json"


def test_a_download_after_the_export_expired_or_was_shredded_is_refused(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    request_id = verified(db, ctx, mine, "access")
    prepare(db, ctx, request_id, actor=STAFF)
    clock.advance(timedelta(days=ctx.settings.requests_export_days) - timedelta(seconds=1))
    assert fetch(db, ctx, svc.get(db, request_id), actor=STAFF)  # one second before expiry
    clock.advance(timedelta(seconds=1))
    with pytest.raises(ExportNotReadyError) as expired:
        fetch(db, ctx, svc.get(db, request_id), actor=STAFF)
    assert expired.value.fields["reason"] == "expired"
    other = new_account(db, keys, clock, "token-of-B")
    shredded = verified(db, ctx, other, "access")
    prepare(db, ctx, shredded, actor=STAFF)
    keys.destroy(db, other)
    with pytest.raises(ExportNotReadyError) as erased:
        fetch(db, ctx, svc.get(db, shredded), actor=STAFF)
    assert erased.value.fields["reason"] == "erased"


def test_an_export_after_crypto_shredding_reads_secrets_as_null(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "token-of-A")
    bound_device(db, keys, clock, mine)
    assert collect(db, keys, metadata, mine)["device_pppoe"][0]["username"] == (
        f"username-of-{mine}"
    )
    keys.destroy(db, mine)
    made = build(db, keys, metadata, ctx.policy, mine, now=clock.now())
    assert made.data["tables"]["device_pppoe"][0]["username"] is None


@pytest.mark.clause("CPE-V.1.d")
def test_a_device_record_is_exported_only_while_the_device_is_bound_to_the_subject(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    first = new_account(db, keys, clock, "token-of-A")
    second = new_account(db, keys, clock, "token-of-B")
    device = bound_device(db, keys, clock, first, serial="SN-SHARED-1")
    assert collect(db, keys, metadata, first)["device_registrations"][0]["serial_number"] == (
        "SN-SHARED-1"
    )
    db.execute(
        sa.text(
            "UPDATE device_bindings SET unbound_at = :now, end_reason = 'unbound' "
            "WHERE device_id = :d"
        ),
        {"now": clock.now(), "d": device},
    )
    bind_again(db, clock, device, second)
    assert "device_registrations" not in collect(db, keys, metadata, first)
    assert len(collect(db, keys, metadata, first)["device_bindings"]) == 1  # A's history stays
    assert len(collect(db, keys, metadata, second)["device_registrations"]) == 1
