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
    assert page.locator(".opblock").count() > 30
    page.locator(".opblock-summary", has_text="/api/v1/accounts/sessions").first.click()
    expect(page.locator(".response-col_status", has_text="429").first).to_be_visible()
    expect(page.locator("option[value='application/problem+json']").first).to_be_attached()
    assert refused == []
