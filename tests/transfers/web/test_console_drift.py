"""The schema-drift page in Chromium: counts per source, model, path and purpose, no values."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from doorstep.privacy.transfers.ingestion import record_drift
from doorstep.privacy.transfers.models import DriftSource
from tests.web.checks import CHECK_PAGE, untranslated
from tests.web.conftest import LiveServer
from tests.web.people import staff_sign_in

CANARY = "canary-geo-48.8566,2.3522"


@pytest.fixture
def live_server(serve_live: Callable[..., LiveServer]) -> LiveServer:
    """The app served without its job worker (the page only reads the counts)."""
    return serve_live(worker=False)


@pytest.mark.clause("CPE-IV.3.a")
def test_the_console_shows_what_devices_and_apps_sent_undeclared_by_model_and_path(
    page: Page, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    with runtime.sessions.begin() as session:
        for _ in range(3):
            record_drift(
                session,
                source=DriftSource.DEVICE,
                model="DR-1000",
                purpose="device.registration",
                paths=["Device.DeviceInfo.X_VENDOR_GeoLocation"],
                now=runtime.clock.now(),
                actor="system:tests",
            )
    refused = httpx.post(
        f"{live_server.url}/api/v1/accounts/signup",
        json={"email": "drift@example.org", "password": "x" * 20, "contacts": CANARY},
    )
    assert refused.status_code == 422

    staff_sign_in(page, runtime, "privacy_officer")
    page.get_by_role("link", name="Schema drift").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Schema drift")
    device = page.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="Device.DeviceInfo.X_VENDOR_GeoLocation")
    )
    expect(device).to_contain_text("DR-1000")
    expect(device).to_contain_text("device.registration")
    expect(device.get_by_role("cell", name="3", exact=True)).to_be_visible()
    app = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="contacts"))
    expect(app).to_contain_text("App")
    expect(app).to_contain_text("sign_up")
    assert CANARY not in page.content()
    assert page.evaluate(CHECK_PAGE) == []

    page.get_by_label("Source").select_option("device")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("rowheader", name="contacts")).to_have_count(0)
    expect(device).to_be_visible()

    page.goto("/console/drift?source=nonsense")
    expect(page.get_by_role("alert")).to_have_text("Choose a source from the list.")

    live_server.app.state.web_language = "x-pseudo"
    try:
        page.goto("/console/drift")
        assert untranslated(page.content()) == []
    finally:
        del live_server.app.state.web_language
