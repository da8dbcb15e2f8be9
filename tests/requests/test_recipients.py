"""Erasures and corrections follow the data to every recipient in the disclosure register."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.keys.services import KeyService
from doorstep.privacy.datamap.pack import Destination, default_pack
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure_requests import erase_for_request
from doorstep.privacy.requests.export import collect
from doorstep.privacy.requests.fulfil import approve
from doorstep.privacy.sharing.models import NoticeStatus, RecipientNotice
from doorstep.privacy.sharing.services import confirm_notice, open_notices, record_disclosure
from doorstep.schema import metadata
from tests.requests.conftest import STAFF, new_account, verified

PACK = dataclasses.replace(
    default_pack(),
    recipients={
        "billing": "The operator's billing provider.",
        "regulator": "The telecoms regulator.",
        "installer": "An installation partner.",
    },
    recipient_details={
        "billing": Destination("billing", "billing", contact="erasure@billing.example"),
        "regulator": Destination("regulator", "regulator", contact="dpo@regulator.example"),
        "installer": Destination("installer", "installer"),
    },
)


@pytest.fixture
def pctx(ctx: RequestContext) -> RequestContext:
    """The request context with a pack that has recipients."""
    return dataclasses.replace(ctx, pack=PACK)


def _disclose(
    db: Session, clock: FakeClock, subject: uuid.UUID, recipient: str, basis: str = "operator"
) -> None:
    record_disclosure(
        db,
        subject_id=subject,
        recipient=recipient,
        purpose="customer.support",
        elements=["accounts.email", "accounts.phone"],
        pack=PACK,
        clock=clock,
        actor=STAFF,
        basis=basis,
    )


def _notices(db: Session, subject: uuid.UUID) -> dict[str, RecipientNotice]:
    rows = db.scalars(sa.select(RecipientNotice).where(RecipientNotice.subject_id == subject))
    return {row.recipient: row for row in rows}


def _outbox(db: Session, template: str) -> list[str]:
    return list(
        db.execute(sa.text("SELECT email FROM outbox WHERE template = :t"), {"t": template})
        .scalars()
        .all()
    )


# No CPE-V.3.c / CPE-V.2.b marker on these two: with a test-made pack they prove the fan-out,
# but nothing in production writes the register yet (decision 0020, X-17).
def test_an_erasure_asks_every_recipient_to_erase_and_skips_those_with_their_own_ground(
    db: Session, pctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "a")
    other = new_account(db, keys, clock, "b")
    _disclose(db, clock, mine, "billing")
    _disclose(db, clock, mine, "installer")
    _disclose(db, clock, mine, "regulator", basis="legal_exception")
    _disclose(db, clock, other, "billing")
    assert {row["recipient"] for row in collect(db, keys, metadata, mine)["disclosures"]} == {
        "billing",
        "installer",
        "regulator",
    }
    request_id = verified(db, pctx, mine, "deletion", ground="NO_PERMISSION")
    erase_for_request(db, pctx, keys, request_id, actor=STAFF)
    notices = _notices(db, mine)
    assert {key: n.status for key, n in notices.items()} == {
        "billing": NoticeStatus.SENT,
        "installer": NoticeStatus.MANUAL,
        "regulator": NoticeStatus.SKIPPED,
    }
    assert notices["regulator"].skip_reason == "legal_exception"
    assert _outbox(db, "recipient.erasure") == ["erasure@billing.example"]
    assert _notices(db, other) == {}  # the look-alike's recipients hear nothing
    assert {n.recipient for n in open_notices(db)} == {"billing", "installer"}
    confirmed = confirm_notice(db, notices["billing"].id, clock=clock, actor=STAFF)
    assert confirmed.status is NoticeStatus.CONFIRMED and confirmed.confirmed_at == clock.now()
    with pytest.raises(ConflictError):
        confirm_notice(db, notices["regulator"].id, clock=clock, actor=STAFF)


def test_a_correction_is_sent_to_the_recipients_of_that_element(
    db: Session, pctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "a")
    _disclose(db, clock, mine, "billing")
    record_disclosure(
        db,
        subject_id=mine,
        recipient="installer",
        purpose="customer.support",
        elements=["accounts.phone"],
        pack=PACK,
        clock=clock,
        actor=STAFF,
    )
    row = svc.open_request(
        db,
        pctx,
        subject_id=mine,
        kind="correction",
        channel="app",
        actor=STAFF,
        element="accounts.email",
        value="right@example.org",
    )
    svc.verify(db, pctx, row.id, method="session", actor=STAFF)
    approve(db, pctx, row.id, actor=STAFF)
    assert set(_notices(db, mine)) == {"billing"}
    assert _outbox(db, "recipient.correction") == ["erasure@billing.example"]


def test_a_disclosure_must_name_known_recipients_purposes_and_elements(
    db: Session, keys: KeyService, clock: FakeClock
) -> None:
    mine = new_account(db, keys, clock, "a")
    for field, change in (
        ("recipient", {"recipient": "nobody"}),
        ("purpose", {"purpose": "marketing"}),
        ("elements", {"elements": ["accounts.shoe_size"]}),
        ("basis", {"basis": "because"}),
    ):
        arguments = {
            "subject_id": mine,
            "recipient": "billing",
            "purpose": "customer.support",
            "elements": ["accounts.email"],
            "pack": PACK,
            "clock": clock,
            "actor": STAFF,
            **change,
        }
        with pytest.raises(InvalidInputError) as refused:
            record_disclosure(db, **arguments)  # type: ignore[arg-type]
        assert refused.value.fields["errors"][0]["field"] == field


def test_the_desk_lists_and_confirms_notices_from_the_command_line(
    db: Session, pctx: RequestContext, keys: KeyService, clock: FakeClock, runtime: object
) -> None:
    from typer.testing import CliRunner

    from doorstep.privacy.requests import cli
    from tests.requests.test_cli import same_runtime

    mine = new_account(db, keys, clock, "a")
    _disclose(db, clock, mine, "installer")
    request_id = verified(db, pctx, mine, "deletion", ground="NO_PERMISSION")
    erase_for_request(db, pctx, keys, request_id, actor=STAFF)
    (notice,) = open_notices(db)
    runner = CliRunner()
    with same_runtime(runtime):
        listed = runner.invoke(cli.app, ["recipients"])
        assert listed.exit_code == 0 and str(notice.id) in listed.output
        assert "installer" in listed.output and "1 notice(s)" in listed.output
        done = runner.invoke(cli.app, ["recipient-confirmed", str(notice.id)])
        assert done.exit_code == 0 and "confirmed" in done.output, done.output
        assert runner.invoke(cli.app, ["recipient-confirmed", "nope"]).exit_code == 2
    assert open_notices(db) == []
