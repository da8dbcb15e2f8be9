"""My requests in the browser: deletion with and without a ground, a correction, no JavaScript.

A deletion with a ground is filed and waits for the privacy desk (in progress,
due 30 days after receipt); one without a ground is refused with the field
marked and nothing filed; a correction is filed with its new value sealed and
never in a URL.  The journeys run without JavaScript: every form is a plain POST.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from doorstep.privacy.requests.codes import ErasureGround
from doorstep.privacy.requests.models import RequestChannel, RequestKind, RequestStatus
from tests.web.conftest import LiveServer
from tests.web.people import make_subscriber, sign_in
from tests.web.test_center_privacy_pages import checked_screenshot, requests_of

NO_LONGER_USED = "You no longer use our products or services, or you have closed your account."


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page with JavaScript off: these forms must work without it."""
    return new_context(java_script_enabled=False).new_page()


@pytest.mark.clause("CPE-V.3.b")
def test_a_deletion_needs_a_ground_and_then_waits_for_review(
    page: Page, live_server: LiveServer
) -> None:
    person = make_subscriber(live_server.runtime)
    sign_in(page, person, then="/privacy")
    page.get_by_role("link", name="My requests").first.click()
    expect(page.get_by_text("You have not made any request yet.")).to_be_visible()
    deletion = page.get_by_role("region", name="Delete your data")
    expect(deletion).to_contain_text("Warning:")
    expect(deletion).to_contain_text("cannot be undone")

    deletion.get_by_role("button", name="Ask for deletion").click()
    grounds = page.get_by_role("group", name="Why do you want your data deleted?")
    expect(grounds).to_contain_text("Choose why you want your data deleted.")
    expect(page.get_by_role("alert")).to_contain_text("nothing was sent")
    assert requests_of(live_server.runtime, person.subject_id) == []

    expect(grounds.get_by_role("radio")).to_have_count(len(ErasureGround))
    grounds.get_by_label(NO_LONGER_USED).check()
    page.get_by_role("button", name="Ask for deletion").click()
    expect(page.get_by_role("status")).to_contain_text("We have your deletion request")
    assert "?done=deletion_filed" in page.url
    (row,) = requests_of(live_server.runtime, person.subject_id)
    assert row.kind is RequestKind.DELETION and row.status is RequestStatus.IN_PROGRESS
    assert row.ground == ErasureGround.NO_LONGER_USED_OR_ACCOUNT_CANCELLED
    assert row.channel is RequestChannel.APP and row.verification == "session"
    assert row.due_at - row.received_at == timedelta(days=30)
    mine = page.get_by_role("table")
    expect(mine).to_contain_text("Waiting for review by our privacy team")
    expect(mine).to_contain_text(row.due_at.strftime("%Y-%m-%d"))
    checked_screenshot(page, "privacy-requests")

    mine.get_by_role("link", name="Deletion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request: Deletion")
    expect(page.get_by_role("main")).to_contain_text(NO_LONGER_USED)
    expect(page.get_by_role("main")).to_contain_text(str(row.id))
    link = page.get_by_label("Link to the status page")
    expect(link).to_have_value(f"{live_server.url}/requests/status/{row.id}")
    checked_screenshot(page, "privacy-request")
    page.get_by_role("link", name="Open the status page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Status of your request")
    expect(page.get_by_role("main")).to_contain_text("Waiting for review by our privacy team")
    expect(page.get_by_role("main")).not_to_contain_text(person.email)


def test_a_correction_is_asked_for_and_its_value_stays_out_of_urls(
    page: Page, live_server: LiveServer
) -> None:
    person = make_subscriber(live_server.runtime)
    sign_in(page, person, then="/privacy/requests")
    new_number = "+44 7911 123456"
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    form = page.get_by_role("region", name="Correct your data")
    form.get_by_label("What is wrong").select_option(label="Mobile number")
    form.get_by_label("The correct value").fill("not a phone number")
    form.get_by_role("button", name="Ask for the correction").click()
    value = page.get_by_role("region", name="Correct your data").get_by_label("The correct value")
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("region", name="Correct your data")).to_contain_text("country code")
    assert requests_of(live_server.runtime, person.subject_id) == []

    value.fill(new_number)
    page.get_by_role("button", name="Ask for the correction").click()
    expect(page.get_by_role("status")).to_contain_text("We have your correction request")
    (row,) = requests_of(live_server.runtime, person.subject_id)
    assert row.kind is RequestKind.CORRECTION and row.element == "accounts.phone"
    assert row.status is RequestStatus.IN_PROGRESS
    assert row.new_value is not None and b"7911" not in row.new_value  # sealed
    expect(page.get_by_role("table")).to_contain_text("Correction")
    assert not [url for url in seen if "7911" in url or "%2B44" in url]
