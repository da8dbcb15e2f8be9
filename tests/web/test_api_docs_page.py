"""The API documentation renders in Chromium from this server alone, under the CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect


@pytest.mark.clause("CPE-II.1")
def test_the_api_docs_render_with_nothing_from_elsewhere(page: Page) -> None:
    # The page fixture fails the test on any request beyond loopback and on JS errors.
    refused: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", note)
    response = page.goto("/docs")
    assert response is not None and response.ok
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Doorstep")
    expect(page.locator(".opblock").first).to_be_visible()
    # Swagger UI renders the operations of the visible part of the page only (a virtual
    # list): every operation is in its parsed spec, and the last tag renders once scrolled to
    assert page.evaluate("window.ui.specSelectors.operations().size") > 30
    last = page.locator(".opblock-tag", has_text="controls")
    for _ in range(60):
        if last.count():
            break
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(100)
    expect(last.first).to_be_attached()
    page.mouse.wheel(0, -1_000_000)
    page.locator(".opblock-summary", has_text="/api/v1/accounts/sessions").first.click()
    expect(page.locator(".response-col_status", has_text="429").first).to_be_visible()
    expect(page.locator("option[value='application/problem+json']").first).to_be_attached()
    assert refused == []
