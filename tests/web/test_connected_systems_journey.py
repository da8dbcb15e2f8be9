"""A deletion that reaches every connected system, in Chromium, with a real worker and e-mail.

A subscriber with an order in the shop (a PostgreSQL database of its own), a
newsletter subscription (a signed HTTP service on loopback) and an after-sales
ticket (a manual system: searched by hand) asks for deletion in the privacy
center.  A privacy officer approves it in the console; the live server's own
worker erases Doorstep's part and reaches the shop and the newsletter service,
while the console's request page lists the three systems and the manual task
waits.  Only when the officer records the ticket's outcome with an evidence
reference is the request completed, and only then does the subscriber's
confirmation arrive over SMTP on loopback.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, expect

from doorstep.core.runtime import Runtime
from doorstep.privacy.connectors.credentials import set_secret
from doorstep.privacy.requests import services as svc
from doorstep.privacy.requests.models import RequestKind, RequestStatus, SubjectRequest
from doorstep.privacy.requests.systems.models import RequestSystem
from doorstep.wiring import build_services
from tests.connectors.conftest import (  # noqa: F401 - fixtures used by name
    SECRET,
    newsletter,
    pg_declared,
    run_sql,
    shop_db,
    shop_url,
    systems_yaml,
    write_pack,
)
from tests.connectors.loopback import Service
from tests.notify.conftest import SmtpServer, smtp_settings, with_settings
from tests.web.checks import CHECK_PAGE
from tests.web.conftest import LiveServer, running, screenshot
from tests.web.people import Person, make_subscriber, sign_in, staff_sign_in

NO_LONGER_USED = "You no longer use our products or services, or you have closed your account."
COMPLETED = "Your request has been carried out"
EVIDENCE = "TICKET-4711"


def three_systems(shop: str, newsletter_url: str) -> str:
    """The connector tests' systems.yaml without its archive: shop, newsletter, tickets
    (and the stand-ins the reference pack's collection points name, never live)."""
    text = systems_yaml(shop, newsletter_url)
    return text[: text.index("  archive:")] + text[text.index("  cloud_backup:") :]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback that records what it accepts."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def live_server(
    committed: Runtime,
    smtp: SmtpServer,
    tmp_path: Path,
    shop_db: str,  # noqa: F811 - the connector tests' fixture
    newsletter: Service,  # noqa: F811 - the connector tests' fixture
) -> Iterator[LiveServer]:
    """The app and its worker under a pack of three systems, e-mail to the loopback server."""
    pack = write_pack(tmp_path / "pack", three_systems(shop_db, newsletter.url))
    runtime = with_settings(
        committed,
        policy_pack=pack,
        requests_systems=("shop", "newsletter", "tickets"),
        requests_systems_attempts=2,
        **smtp_settings(smtp),
    )
    with runtime.sessions.begin() as session:
        keyring = build_services(runtime).keys.keyring
        set_secret(session, keyring, runtime.clock, "newsletter", SECRET)
    with running(runtime) as server:
        yield server


def _until(found: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        time.sleep(0.1)


def _mails(smtp: SmtpServer, to: str, subject: str) -> list[str]:
    return [
        message.text
        for message in list(smtp.received)
        if to in message.rcpt_tos and message.message["subject"] == subject
    ]


def _states(runtime: Runtime, request_id: uuid.UUID) -> dict[str, str]:
    with runtime.sessions() as session:
        rows = session.execute(
            sa.select(RequestSystem.system, RequestSystem.state).where(
                RequestSystem.request_id == request_id
            )
        )
        return {row.system: row.state for row in rows}


def _request(runtime: Runtime, subject_id: uuid.UUID) -> SubjectRequest:
    with runtime.sessions() as session:
        (row,) = session.scalars(
            sa.select(SubjectRequest).where(SubjectRequest.subject_id == subject_id)
        ).all()
        return row


def _shop(shop: str, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(shop.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(sa.text(sql))]
    engine.dispose()
    return rows


def _completions_queued(runtime: Runtime, subject_id: uuid.UUID) -> int:
    with runtime.sessions() as session:
        return int(
            session.execute(
                sa.text(
                    "SELECT count(*) FROM outbox "
                    "WHERE template = 'request.completed' AND subject_id = :s"
                ),
                {"s": subject_id},
            ).scalar_one()
        )


def _customer(live: LiveServer, shop: str, newsletter: Service) -> tuple[Person, str]:  # noqa: F811
    """A subscriber with an order and a payment in the shop and a newsletter subscription."""
    person = make_subscriber(live.runtime)
    order = uuid.uuid4().hex[:10]
    run_sql(
        shop,
        f"INSERT INTO orders VALUES ('{order}', '{person.email}', '{person.subject_id}', "
        "'Ada Lovelace', '1 Main St')",
        f"INSERT INTO payments VALUES ('{order}', '{person.email}', 'tok_{order}')",
        "INSERT INTO orders VALUES ('other', 'other@example.org', 'x', 'Bob', '2 High St')",
    )
    newsletter.state.subscribers[person.email] = {"email": person.email, "opens": 3}
    return person, order


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.clause("CPE-V.3.a")
def test_a_deletion_reaches_the_shop_the_newsletter_and_the_ticket_desk(
    live_server: LiveServer,
    smtp: SmtpServer,
    shop_db: str,  # noqa: F811
    newsletter: Service,  # noqa: F811
    new_context: Callable[..., BrowserContext],
) -> None:
    runtime = live_server.runtime
    person, order = _customer(live_server, shop_db, newsletter)

    # the subscriber asks for deletion in the privacy center
    center = new_context().new_page()
    sign_in(center, person, then="/privacy")
    center.get_by_role("link", name="My requests").first.click()
    center.get_by_role("region", name="Delete your data").get_by_label(NO_LONGER_USED).check()
    center.get_by_role("button", name="Ask for deletion").click()
    expect(center.get_by_role("status")).to_contain_text("We have your deletion request")
    request = _request(runtime, person.subject_id)
    assert request.kind is RequestKind.DELETION
    request_id = request.id

    # the privacy officer approves it; the request page lists the three systems
    desk = new_context().new_page()
    staff_sign_in(desk, runtime, "privacy_officer")
    desk.goto(f"/console/requests/{request_id}")
    desk.get_by_role("button", name="Approve the request").click()
    desk.wait_for_url(f"**/console/requests/{request_id}?done=*")
    assert set(_states(runtime, request_id)) == {"shop", "newsletter", "tickets"}

    # the worker reaches both automated systems; the manual task waits for the desk
    _until(
        lambda: (
            _states(runtime, request_id)
            == {"shop": "done", "newsletter": "done", "tickets": "waiting"}
        ),
        "the shop and the newsletter to be done",
    )
    assert person.email not in newsletter.state.subscribers
    assert newsletter.state.effective[person.email] == 1
    assert _shop(shop_db, "SELECT order_number, email, name, address FROM orders ORDER BY 1") == [
        (order, None, None, None),
        ("other", "other@example.org", "Bob", "2 High St"),
    ]
    assert _shop(shop_db, "SELECT count(*) FROM payments") == [(0,)]
    with runtime.sessions() as session:
        assert svc.get(session, request_id).status is not RequestStatus.COMPLETED
    assert _completions_queued(runtime, person.subject_id) == 0  # not told before the ticket
    assert _mails(smtp, person.email, COMPLETED) == []

    desk.goto(f"/console/requests/{request_id}")
    systems = desk.get_by_role("region", name="Connected systems")
    rows = systems.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(4)  # the header and three systems
    for name, state in (("shop", "done"), ("newsletter", "done"), ("tickets", "waiting")):
        expect(rows.filter(has_text=f"({name},")).to_contain_text(state)
    manual = systems.locator("form").filter(has=desk.get_by_label("What you found"))
    expect(systems).to_contain_text(person.email)  # what to look for by hand
    assert desk.evaluate(CHECK_PAGE) == [], desk.url
    screenshot(desk, "console-request-systems")

    # the officer records the ticket's outcome; then the request completes and mail goes out
    manual.get_by_label("What you found").select_option("done")
    manual.get_by_label("Evidence reference").fill(EVIDENCE)
    manual.get_by_role("button", name="Record the outcome").click()
    expect(rows.filter(has_text="(tickets,")).to_contain_text("done")
    expect(systems).to_contain_text(EVIDENCE)

    (mail,) = _until(lambda: _mails(smtp, person.email, COMPLETED), "the confirmation")
    assert request_id.hex[:8] in mail or str(request_id) in mail
    with runtime.sessions() as session:
        assert svc.get(session, request_id).status is RequestStatus.COMPLETED
    assert _completions_queued(runtime, person.subject_id) == 1
    assert newsletter.state.effective[person.email] == 1  # each system done once
