"""Download my data, end to end: the live server's in-process worker prepares the real export.

With JavaScript the list refreshes itself (htmx) until the file is ready;
without it the "Check again" link does the same.  The downloaded ZIP's
``data.json`` holds the subscriber's own e-mail address and nobody else's.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from doorstep.privacy.requests.models import RequestKind, RequestStatus
from tests.web.conftest import LiveServer
from tests.web.people import Person, make_subscriber, sign_in
from tests.web.test_center_privacy_pages import checked_screenshot, requests_of

#: How long the in-process worker may take to prepare an export.
READY_WITHIN_S = 60
#: The download link of a ready file (its name goes on with what and when, for screen readers).
DOWNLOAD = re.compile(r"^Download — ")


def _data_of(page: Page) -> dict[str, object]:
    """Click the download link; the ZIP's parsed ``data.json``."""
    with page.expect_download() as info:
        page.get_by_role("link", name=DOWNLOAD).click()
    download = info.value
    assert download.suggested_filename == "doorstep-export.zip"
    path = download.path()
    assert path is not None
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        names = archive.namelist()
        assert {"data.json", "schema.json"} <= set(names)
        assert any(name.endswith(".csv") for name in names)
        data: dict[str, object] = json.loads(archive.read("data.json"))
    return data


def _holds_only(data: dict[str, object], mine: Person, theirs: Person) -> None:
    tables = data["tables"]
    assert isinstance(tables, dict)
    assert tables["accounts"][0]["email"] == mine.email
    text = json.dumps(data)
    assert theirs.email not in text and theirs.phone not in text


@pytest.mark.clause("CORP-4.4")
def test_download_my_data_while_the_page_refreshes_itself(
    page: Page, live_server: LiveServer
) -> None:
    person, other = make_subscriber(live_server.runtime), make_subscriber(live_server.runtime)
    sign_in(page, person, then="/privacy")
    page.get_by_role("link", name="Download my data").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Download my data")
    expect(page.get_by_text("You have not asked for your data yet.")).to_be_visible()
    with live_server.runtime.engine.connect() as blocker, blocker.begin():
        # Hold the worker's INSERT of the prepared file, so the page shows the wait first
        # (reads of the table are not blocked).
        blocker.execute(sa.text("LOCK TABLE request_exports IN EXCLUSIVE MODE"))
        page.get_by_role("button", name="Get my data to move it").click()
        expect(page.get_by_role("status")).to_contain_text("We are preparing your data")
        expect(page.get_by_role("cell", name="Being prepared")).to_be_visible()
        expect(page.get_by_role("link", name="Check again")).to_be_visible()
        expect(page.get_by_role("link", name=DOWNLOAD)).to_have_count(0)
        page.evaluate("window.stillTheSamePage = true")
    # htmx polls the list: the link appears without a reload.
    expect(page.get_by_role("link", name=DOWNLOAD)).to_be_visible(timeout=READY_WITHIN_S * 1000)
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.get_by_role("cell", name="Ready", exact=False)).to_be_visible()
    expect(page.get_by_role("link", name="Check again")).to_have_count(0)
    checked_screenshot(page, "privacy-data")
    (row,) = requests_of(live_server.runtime, person.subject_id)
    assert row.kind is RequestKind.PORTABILITY and row.status is RequestStatus.COMPLETED
    _holds_only(_data_of(page), person, other)


@pytest.mark.clause("CORP-4.4")
def test_download_my_data_without_javascript(
    new_context: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    person, other = make_subscriber(live_server.runtime), make_subscriber(live_server.runtime)
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, person, then="/privacy/data")
    page.get_by_role("button", name="Get a copy of my data").click()
    expect(page.get_by_role("status")).to_contain_text("We are preparing your data")
    deadline = time.monotonic() + READY_WITHIN_S
    while page.get_by_role("link", name="Check again").count():
        assert time.monotonic() < deadline, "the export was not prepared in time"
        page.wait_for_timeout(500)
        page.get_by_role("link", name="Check again").click()
    expect(page.get_by_text("until", exact=False).first).to_be_visible()
    (row,) = requests_of(live_server.runtime, person.subject_id)
    assert row.kind is RequestKind.ACCESS and row.status is RequestStatus.COMPLETED
    _holds_only(_data_of(page), person, other)
