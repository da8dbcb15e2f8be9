"""The operator console's records in Chromium: retention, the data map, the audit trail, devices.

The server runs without its job worker: the tests seal the audit trail and
run sweeps themselves, so what the pages show is what the tests made.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from doorstep.audit.tasks import seal_all, take_checkpoint
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.devices.models import (
    BindMethod,
    Device,
    DeviceBinding,
    DevicePppoe,
    DeviceRegistration,
    ProductType,
)
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.datamap.ropa import build_ropa
from doorstep.privacy.datamap.ropa_formats import render
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.restrictions import RestrictionReason, restrict
from doorstep.privacy.retention.sweep import run_sweeps
from doorstep.privacy.retention.targets import targets
from doorstep.schema import metadata
from doorstep.web.console.devices import ELEMENTS
from tests.packs import reference_pack
from tests.web.checks import untranslated
from tests.web.conftest import LiveServer, screenshot
from tests.web.people import Person, make_subscriber, staff_sign_in
from tests.web.test_console_requests import DESK, answered_banner, events, open_request

PPPOE_MARKER = b"PPPOE-CANARY-7f3a"


@pytest.fixture
def live_server(serve_live: Callable[..., LiveServer]) -> LiveServer:
    """The app served without its job worker (the tests seal and sweep themselves)."""
    return serve_live(worker=False)


def downloaded(page: Page, link: str) -> str:
    """Click the link ``link`` and return what the browser saved."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link).click()
    return Path(info.value.path()).read_text(encoding="utf-8")


def test_the_retention_plan_and_the_sweeps_so_far(
    page: Page, context: BrowserContext, live_server: LiveServer, clock: FakeClock
) -> None:
    runtime = live_server.runtime
    person = make_subscriber(runtime)
    request_id = open_request(live_server, person)
    ctx = RequestContext.of(live_server.app.state.services)
    with runtime.sessions.begin() as session:  # its notice is the outbox message that expires
        svc.refuse(session, ctx, request_id, code="IMPRACTICAL", reviewer=DESK)
    clock.advance(timedelta(days=31))
    answered_banner(context, live_server)
    staff_sign_in(page, runtime, "privacy_officer")
    page.get_by_role("link", name="Retention").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Retention")
    plan = page.get_by_role("table", name="The retention plan")
    outbox = plan.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="outbox_messages")
    )
    expect(outbox.get_by_role("cell")).to_have_text(
        ["outbox", "delete the rows", "P30D", "2026-01-02 00:00 UTC", "1"]
    )
    expect(page.get_by_text("The audit trail records no sweep yet.")).to_be_visible()

    run_sweeps(runtime, targets(metadata, default_pack(), runtime.settings, rule="outbox_messages"))
    page.reload()
    expect(outbox.get_by_role("cell").last).to_have_text("0")
    swept = page.get_by_role("table", name="The newest sweep").get_by_role("row").nth(1)
    expect(swept.get_by_role("rowheader")).to_have_text("outbox_messages")
    expect(swept.get_by_role("cell")).to_have_text(
        ["outbox", "2026-02-01 00:00 UTC", "1", "1", "1", "None"]
    )
    screenshot(page, "console-retention")
    report = downloaded(page, "Download the full retention report (Markdown)")
    assert report.startswith("# Retention report")
    assert "| `outbox` |" in report and "1 in 1 batches" in report


def test_the_record_of_processing_as_tables_and_downloads(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    answered_banner(context, live_server)
    staff_sign_in(page, live_server.runtime, "admin")  # an admin may not see the queue…
    expect(page.get_by_role("heading", level=1)).to_have_text("Sorry")
    page.goto("/console/datamap")  # …but may see the records
    expect(page.get_by_role("heading", level=1)).to_have_text("Record of processing activities")
    ropa = build_ropa(metadata, default_pack())
    elements = page.get_by_role("table").filter(has=page.locator("#elements-caption"))
    expect(elements.get_by_role("row")).to_have_count(len(ropa.elements) + 1)
    email = elements.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="accounts.email", exact=True)
    )
    (declared,) = [item for item in ropa.elements if item.element == "accounts.email"]
    expect(email.get_by_role("cell").first).to_have_text(declared.data_category.name)
    expect(email.get_by_role("cell").nth(4)).to_have_text(declared.retention.rule)
    activities = page.get_by_role("table", name="processing activities")
    expect(activities.get_by_role("row")).to_have_count(len(ropa.activities) + 1)
    # the collection points (CORP-1.1) and the policy's purposes (CORP-1.2)
    points = page.get_by_role("table", name="ways personal data is collected")
    expect(points.get_by_role("row")).to_have_count(len(ropa.collection_points) + 1)
    hotline = points.locator("tr", has=page.locator("th code", has_text="hotline"))
    expect(hotline.get_by_role("cell").first).to_have_text("hotline")
    listed = page.get_by_role("table", name="purposes as the policy lists them")
    expect(listed.get_by_role("row")).to_have_count(len(ropa.policy_purposes) + 1)
    activities.get_by_role("link", name="account.management", exact=True).click()
    page.wait_for_url("**/console/datamap?purpose=account.management#elements")
    chosen = [item for item in ropa.elements if "account.management" in item.purposes]
    assert 0 < len(chosen) < len(ropa.elements)
    expect(elements.get_by_role("row")).to_have_count(len(chosen) + 1)
    expect(page.get_by_label("Processed for", exact=True)).to_have_value("account.management")
    screenshot(page, "console-datamap")
    assert json.loads(downloaded(page, "The record as JSON")) == json.loads(render(ropa, "json"))
    csv = downloaded(page, "The record as CSV, one row per activity and element")
    assert csv.replace("\r\n", "\n") == render(ropa, "csv").replace("\r\n", "\n")
    assert downloaded(page, "The record as Markdown") == render(ropa, "markdown")


def test_the_audit_trail_verifies_and_names_the_first_broken_link(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    answered_banner(context, live_server)
    staff_id = staff_sign_in(page, runtime, "privacy_officer")
    seal_all(runtime, wait=True)
    page.get_by_role("link", name="Audit trail").click()
    with runtime.sessions() as session:
        links = session.execute(sa.text("SELECT count(*) FROM audit_chain")).scalar_one()
    assert links > 3
    expect(page.locator("dd").first).to_have_text(f"{links} (1\u2013{links})")
    page.get_by_role("button", name="Verify the audit trail").click()
    expect(page.get_by_role("status")).to_have_text(
        f"The audit trail is intact: {links} links checked."
    )
    screenshot(page, "console-audit")

    checkpoint = take_checkpoint(runtime)  # seals the verification's event first
    assert checkpoint == links + 1
    page.get_by_role("button", name="Verify the audit trail").click()  # from the checkpoint
    expect(page.get_by_role("status")).to_have_text("The audit trail is intact: 0 links checked.")
    expect(page.get_by_text(f"after the newest checkpoint, at link {checkpoint}")).to_be_visible()

    seal_all(runtime, wait=True)  # the second verification's event: link checkpoint + 1
    broken = checkpoint + 1
    with runtime.engine.begin() as connection:  # a superuser edits a sealed event
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(
            sa.text(
                "UPDATE audit_events SET outcome = 'refused' "
                "WHERE id = (SELECT event_id FROM audit_chain WHERE seq = :seq)"
            ),
            {"seq": broken},
        )
    page.get_by_role("button", name="Verify the audit trail").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"The audit trail is broken at link {broken}.")
    expect(alert).to_contain_text("the event does not match the link's hash")
    verified = events(runtime, "audit.verified")
    assert [(actor, outcome) for actor, outcome, _ in verified] == [
        (f"staff:{staff_id}", "ok"),
        (f"staff:{staff_id}", "refused"),  # the event the superuser edited
        (f"staff:{staff_id}", "failed"),
    ]
    assert verified[2][2]["first_broken"] == broken and verified[2][2]["checked"] == 0


def make_device(runtime: Runtime, owner: Person) -> uuid.UUID:
    """A router bound to ``owner``, with a registration record and PPPoE credentials."""
    now = runtime.clock.now()
    device_id = uuid.uuid4()
    with runtime.sessions.begin() as session:
        session.add(
            Device(
                id=device_id,
                endpoint_key=secrets.token_bytes(32),
                secret_hash="not-a-real-hash",
                claim_hash=secrets.token_bytes(32),
                provisioned_at=now,
            )
        )
        session.flush()
        session.add(
            DeviceRegistration(
                device_id=device_id,
                endpoint_id="os::0A1B2C-SN4711",
                mtp="websocket",
                model="Doorstep Router 9",
                firmware_version="1.2.3",
                serial_number="SN4711",
                mac_address="02:00:5e:10:00:01",
                network_status="Up",
                ip_address="192.0.2.44",
                product_type=ProductType.ROUTER,
                registered_at=now,
                refreshed_at=now,
                last_seen=now,
                online=True,
                source="device_registration",
            )
        )
        binding = DeviceBinding(
            device_id=device_id, subject_id=owner.subject_id, method=BindMethod.QR, bound_at=now
        )
        session.add(binding)
        session.flush()
        session.add(
            DevicePppoe(
                binding_id=binding.id,
                interface=1,
                username=PPPOE_MARKER,
                password=PPPOE_MARKER,
                set_at=now,
            )
        )
    return device_id


def reads(runtime: Runtime, actor: str) -> list[tuple[str, str, str]]:
    """(element, outcome, reason) of every use of personal data by ``actor``."""
    return [
        (details.get("element", ""), outcome, str(details.get("reason", "")))
        for who, outcome, details in _uses(runtime)
        if who == actor
    ]


def _uses(runtime: Runtime) -> list[tuple[str, str, dict[str, str]]]:
    with runtime.sessions() as session:
        rows = session.execute(
            sa.text(
                "SELECT actor, outcome, element, purpose, details FROM audit_events "
                "WHERE action = 'personal_data.used' AND purpose = 'customer.support' ORDER BY id"
            )
        )
        return [
            (row.actor, row.outcome, {"element": row.element, **dict(row.details)}) for row in rows
        ]


@pytest.mark.clause("CPE-IV.1.a")
def test_a_device_look_up_shows_support_the_record_and_marks_what_a_role_may_not_read(
    page: Page,
    context: BrowserContext,
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
) -> None:
    runtime = live_server.runtime
    owner = make_subscriber(runtime)
    device_id = make_device(runtime, owner)
    answered_banner(context, live_server)
    support = staff_sign_in(page, runtime, "support")
    page.get_by_role("link", name="Devices").click()
    page.get_by_label("Device id").fill("not-a-device")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_label("Device id")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Device id").fill(str(uuid.uuid4()))
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("alert")).to_contain_text("No device of the inventory has this id.")
    page.get_by_label("Device id").fill(str(device_id))
    page.get_by_role("button", name="Look up").click()
    page.wait_for_url(f"**/console/devices/{device_id}")
    record = page.get_by_role("table", name="Each element is read")
    for label, value in (
        ("Model", "Doorstep Router 9"),
        ("Firmware version", "1.2.3"),
        ("Serial number", "SN4711"),
        ("MAC address", "02:00:5e:10:00:01"),
        ("IP address", "192.0.2.44"),
        ("Last seen", "2026-01-01 00:00 UTC"),
    ):
        row = record.get_by_role("row").filter(has=page.get_by_role("rowheader", name=label))
        expect(row.get_by_role("cell")).to_have_text(value)
    assert PPPOE_MARKER.decode() not in page.content()
    screenshot(page, "console-device")
    expected = [(f"device_registrations.{column}", "ok", "") for column, _ in ELEMENTS]
    assert reads(runtime, f"staff:{support}") == expected

    officer_page = new_context().new_page()
    officer = staff_sign_in(officer_page, runtime, "privacy_officer")
    officer_page.goto(f"/console/devices/{device_id}")
    expect(officer_page.get_by_text("Not shown to your role.")).to_have_count(len(ELEMENTS))
    assert (
        "SN4711" not in officer_page.content() and "Doorstep Router 9" not in officer_page.content()
    )
    refused = [(f"device_registrations.{c}", "refused", "role_not_permitted") for c, _ in ELEMENTS]
    assert reads(runtime, f"staff:{officer}") == refused

    with runtime.sessions.begin() as session:  # the owner objects to support using their data
        restrict(
            session,
            subject_id=owner.subject_id,
            purpose="customer.support",
            reason=RestrictionReason.OBJECTION,
            clock=runtime.clock,
            actor=f"subject:{owner.subject_id}",
            pack=reference_pack(),
        )
    page.reload()
    restricted = "Not shown: the subscriber restricted this use of their data."
    expect(page.get_by_text(restricted)).to_have_count(len(ELEMENTS))
    assert "SN4711" not in page.content()

    live_server.app.state.web_language = "x-pseudo"
    try:
        page.reload()
        assert untranslated(page.content()) == []
    finally:
        del live_server.app.state.web_language
