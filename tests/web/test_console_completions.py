"""The console's completion events, used as the privacy desk uses them, in Chromium.

A privacy officer opens the page from the navigation, records a closed ticket by
hand (a bad record id is refused with a message and nothing stored), sees it
listed with the rule it scheduled and when that deletion runs, and filters by
system.  Support staff see the list but not the record ids, and no form.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from doorstep.core.runtime import Runtime
from tests.web.conftest import LiveServer, screenshot
from tests.web.people import staff_sign_in


@pytest.fixture
def live_server(serve_live: Callable[..., LiveServer]) -> LiveServer:
    """The app served without its job worker."""
    return serve_live(worker=False)


def _events(runtime: Runtime) -> list[tuple[str, str, str, str]]:
    with runtime.sessions() as session:
        rows = session.execute(
            sa.text("SELECT system, kind, record_id, rule FROM completion_events ORDER BY id")
        )
        return [(row.system, row.kind, row.record_id, row.rule) for row in rows]


def test_a_privacy_officer_records_a_closed_ticket_and_sees_its_deletion_scheduled(
    page: Page, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    staff_sign_in(page, runtime, "privacy_officer")
    page.get_by_role("link", name="Completion events").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Completion events")
    expect(page.get_by_text("No completion events.")).to_be_visible()

    page.get_by_label("What was closed").select_option("tickets:ticket")
    page.get_by_label("Record id").fill("AS 2041!")
    page.get_by_role("button", name="Record the completion").click()
    expect(page.get_by_text("Please correct what is marked below.")).to_be_visible()
    expect(page.get_by_text("Enter the record's id")).to_be_visible()
    assert _events(runtime) == []  # nothing stored

    page.get_by_label("Record id").fill("AS-2041")
    page.get_by_role("button", name="Record the completion").click()
    expect(page.get_by_text("The completion is recorded")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="AS-2041")
    expect(row).to_contain_text("After-sales tickets")
    expect(row).to_contain_text("after_sales_ticket")
    expect(row).to_contain_text("scheduled")
    screenshot(page, "console-completions")
    assert _events(runtime) == [("tickets", "ticket", "AS-2041", "after_sales_ticket")]

    page.get_by_label("System").select_option("shop")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No completion events.")).to_be_visible()


def test_support_sees_the_events_without_their_record_ids_and_no_form(
    page: Page, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    with runtime.sessions.begin() as session:
        session.execute(
            sa.text(
                "INSERT INTO completion_events (id, system, kind, record_id, completed_at, rule, "
                "due_at, state, attempts, recorded_by, created_at) VALUES (gen_random_uuid(), "
                "'tickets', 'ticket', 'AS-9001', now(), 'after_sales_ticket', now(), "
                "'scheduled', 0, 'system:cli', now())"
            )
        )
    staff_sign_in(page, runtime, "support")
    page.goto("/console/completions")
    row = page.get_by_role("row").filter(has_text="After-sales tickets")
    expect(row).to_contain_text("withheld")
    expect(page.get_by_text("AS-9001")).to_have_count(0)
    expect(page.get_by_role("button", name="Record the completion")).to_have_count(0)
