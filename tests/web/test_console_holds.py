"""The console's legal holds, used as a privacy officer uses them, in Chromium."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from doorstep.core.runtime import Runtime
from tests.web.conftest import LiveServer, screenshot
from tests.web.people import make_subscriber, staff_sign_in


@pytest.fixture
def live_server(serve_live: Callable[..., LiveServer]) -> LiveServer:
    """The app served without its job worker."""
    return serve_live(worker=False)


def _holds(runtime: Runtime) -> list[tuple[str | None, str, bool]]:
    with runtime.sessions() as session:
        rows = session.execute(
            sa.text("SELECT element, basis, released_at IS NULL AS standing FROM legal_holds")
        )
        return [(row.element, row.basis, row.standing) for row in rows]


@pytest.mark.clause("CPE-IV.3.b")
def test_a_privacy_officer_places_a_hold_with_its_basis_and_releases_it(
    page: Page, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    person = make_subscriber(runtime)
    staff_sign_in(page, runtime, "privacy_officer")
    page.get_by_role("link", name="Legal holds").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Legal holds")
    expect(page.get_by_text("No holds.")).to_be_visible()

    page.get_by_label("Data subject id").fill(str(person.subject_id))
    page.get_by_label("Element").fill("no_such_table")
    page.get_by_label("Legal basis").select_option("TAX_RETENTION")
    page.get_by_label("Authority or law").fill("Abgabenordnung § 147")
    page.get_by_label("Reference").fill("AO-147")
    page.get_by_role("button", name="Place the hold").click()
    expect(page.get_by_text("Please correct what is marked below.")).to_be_visible()
    expect(page.get_by_text("Enter a table or table.column of the data map")).to_be_visible()
    assert _holds(runtime) == []  # nothing changed

    page.get_by_label("Element").fill("outbox")
    page.get_by_role("button", name="Place the hold").click()
    expect(page.get_by_text("The hold is placed")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="AO-147")
    expect(row).to_contain_text("outbox")
    expect(row).to_contain_text("TAX_RETENTION")
    screenshot(page, "console-holds")
    assert _holds(runtime) == [("outbox", "TAX_RETENTION", True)]

    page.get_by_role("button", name="Release the hold AO-147").click()
    expect(page.get_by_text("The hold is released")).to_be_visible()
    expect(page.get_by_role("button", name="Release the hold AO-147")).to_have_count(0)
    assert _holds(runtime) == [("outbox", "TAX_RETENTION", False)]


def test_support_gets_the_refusal_page(page: Page, live_server: LiveServer) -> None:
    staff_sign_in(page, live_server.runtime, "support")
    answer = page.goto("/console/holds")
    assert answer is not None and answer.status == 403
