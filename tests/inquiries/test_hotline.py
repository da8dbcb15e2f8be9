"""Records collected from a person carry the collection point they were collected at
(CORP-1.1): a privacy question taken down on the hotline is stored with ``source``
``hotline``; one without a source, or with a point not registered, is refused and
nothing is stored.  Every other way in names its point too."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.accounts import admin
from doorstep.accounts.context import AccountContext
from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.core.errors import InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.devices.registry import record_contact
from doorstep.keys.services import KeyService
from doorstep.privacy.datamap.pack import DEFAULT_PACK, load_pack
from doorstep.privacy.datamap.pack_collection import PointKind
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.inquiries import intake
from doorstep.privacy.requests.inquiries.models import Inquiry, InquiryChannel
from doorstep.wiring import build_services
from tests.cli_run import doorstep
from tests.conftest import database_url_of
from tests.requests.conftest import STAFF, new_account


def _counts(db: Session) -> tuple[int, int, int]:
    return (
        db.execute(sa.text("SELECT count(*) FROM inquiries")).scalar_one(),
        db.execute(sa.text("SELECT count(*) FROM subjects")).scalar_one(),
        db.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one(),
    )


def _rule(refused: pytest.ExceptionInfo[InvalidInputError]) -> str:
    (error,) = refused.value.fields["errors"]
    assert error["field"] == "source"
    return str(error["rule"])


@pytest.mark.clause("CORP-1.1")
def test_a_record_without_a_source_is_refused_and_one_from_the_hotline_is_stored_with_it(
    db: Session, ctx: RequestContext
) -> None:
    before = _counts(db)
    question = {"email": "caller@example.org", "title": None, "body": "Do you keep my calls?"}
    with pytest.raises(InvalidInputError) as refused:
        intake.submit_recorded(db, ctx, source=None, actor=STAFF, **question)
    assert _rule(refused) == "required"
    for source, rule in (
        ("billboard", "registered_collection_point"),  # registered nowhere
        ("app_signup", "registered_collection_point"),  # registered, not for inquiries
        ("privacy_inbox", "staff_collection_point"),  # registered, but not taken by staff
    ):
        with pytest.raises(InvalidInputError) as refused:
            intake.submit_recorded(db, ctx, source=source, actor=STAFF, **question)
        assert _rule(refused) == rule, source
    with pytest.raises(InvalidInputError) as refused:  # the same check below the desk's
        intake.open_inquiry(
            db,
            ctx,
            asker=intake.Asker(uuid.uuid4(), "caller@example.org"),
            channel=InquiryChannel.STAFF,
            title=None,
            body="No point named",
            actor=STAFF,
        )
    assert _rule(refused) == "required"
    assert _counts(db) == before  # nothing stored: no inquiry, no subject, no message

    row = intake.submit_recorded(db, ctx, source="hotline", actor=STAFF, **question)
    flush_events(db)
    stored = db.execute(
        sa.text("SELECT source, channel::text AS channel FROM inquiries WHERE id = :id"),
        {"id": row.id},
    ).one()
    assert (stored.source, stored.channel) == ("hotline", "staff")
    point = ctx.policy.collection_points[stored.source]
    assert point.kind is PointKind.HOTLINE and "inquiries" in point.records
    details = db.execute(
        sa.text(
            "SELECT details FROM audit_events WHERE action = 'inquiry.received' "
            "AND details->>'inquiry' = :id"
        ),
        {"id": str(row.id)},
    ).scalar_one()
    assert (details["source"], details["channel"]) == ("hotline", "staff")
    # the database itself refuses a row without one
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            sa.insert(Inquiry).values(
                id=uuid.uuid4(),
                subject_id=row.subject_id,
                channel=InquiryChannel.APP,
                queue="dpo",
                body=b"x",
                received_at=row.received_at,
                due_at=row.due_at,
            )
        )


@pytest.mark.clause("CORP-1.1")
def test_every_way_in_stores_the_point_its_path_implies(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock, runtime: Runtime
) -> None:
    subject = new_account(db, keys, clock, "src")
    app = intake.submit_signed_in(db, ctx, subject_id=subject, title=None, body="From the app")
    form = intake.submit_public(db, ctx, email="form@example.org", title=None, body="Form")
    assert (app.source, form.source) == ("privacy_question_app", "privacy_question_form")

    accounts = AccountContext.for_runtime(runtime)
    created = admin.create_verified(
        db,
        accounts,
        email="imported@example.org",
        phone="+8613800138000",
        password="x",
        actor=STAFF,
    )
    assert db.execute(
        sa.text("SELECT source FROM accounts WHERE id = :id"), {"id": created}
    ).scalar_one() == ("operator_import")
    with pytest.raises(InvalidInputError):  # hotline is no point accounts are collected at
        admin.create_verified(
            db,
            accounts,
            email="other@example.org",
            phone="+8613800138001",
            password="x",
            actor=STAFF,
            source="hotline",
        )
    assert (
        db.execute(
            sa.text("SELECT count(*) FROM accounts WHERE email = 'other@example.org'")
        ).scalar_one()
        == 0
    )

    device = uuid.uuid4()
    db.execute(
        sa.text(
            "INSERT INTO devices (id, endpoint_key, secret_hash, claim_hash, provisioned_at) "
            "VALUES (:id, :key, 'scrypt$x', :claim, :now)"
        ),
        {"id": device, "key": device.bytes, "claim": device.bytes[::-1], "now": clock.now()},
    )
    record_contact(db, device, endpoint_id=f"os::{device.hex}", address=None, now=clock.now())
    assert db.execute(
        sa.text("SELECT source FROM device_registrations WHERE device_id = :id"), {"id": device}
    ).scalar_one() == ("device_registration")


@pytest.mark.clause("CORP-1.1")
def test_a_pack_without_a_registry_still_refuses_a_point_the_schema_does_not_declare(
    db: Session, ctx: RequestContext
) -> None:
    example = dataclasses.replace(ctx, pack=load_pack(DEFAULT_PACK.parent / "example-isp"))
    assert example.policy.collection_points == {}
    question = {"email": "visitor@example.org", "title": None, "body": "At your stand"}
    with pytest.raises(InvalidInputError):
        intake.submit_recorded(db, example, source="trade_fair", actor=STAFF, **question)
    row = intake.submit_recorded(db, example, source="brand_activity", actor=STAFF, **question)
    assert (row.source, row.channel) == ("brand_activity", InquiryChannel.STAFF)


@pytest.mark.clause("CORP-1.1")
def test_the_desk_records_a_hotline_call_from_the_command_line(committed: Runtime) -> None:
    env = {
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),  # the same keyring
    }
    call = ("--email", "caller.cli@example.org", "--text", "Which data do you hold on me?")
    missing = doorstep("requests", "inquiries", "record", *call, env=env)
    assert missing.returncode == 2 and "--source" in missing.stderr
    for source in ("", "billboard", "privacy_inbox"):
        refused = doorstep("requests", "inquiries", "record", "--source", source, *call, env=env)
        assert refused.returncode == 2, (source, refused.stderr)
    with committed.sessions() as session:
        assert session.execute(sa.text("SELECT count(*) FROM inquiries")).scalar_one() == 0

    recorded = doorstep(
        "requests",
        "inquiries",
        "record",
        "--source",
        "hotline",
        *call,
        "--reviewer",
        STAFF,
        env=env,
    )
    assert recorded.returncode == 0, recorded.stderr
    reference = recorded.stdout.split()[1].rstrip(":")
    assert "recorded from hotline" in recorded.stdout
    shown = doorstep("requests", "inquiries", "show", reference, env=env)
    assert "channel: staff" in shown.stdout and "source: hotline" in shown.stdout
    ctx = RequestContext.of(build_services(committed))
    with committed.sessions() as session:
        row = session.get(Inquiry, uuid.UUID(reference))
        assert row is not None and row.source == "hotline"
        assert ctx.policy.collection_points[row.source].kind is PointKind.HOTLINE
