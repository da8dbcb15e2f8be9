"""The landing page in a real browser: the plumbing of the end-to-end tests works."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.web.conftest import screenshot, screenshot_dir


def test_landing_page_in_chromium(page: Page) -> None:
    response = page.goto("/")
    assert response is not None and response.ok
    assert "Doorstep" in page.title()
    expect(page.locator('a[href="/docs"]')).to_be_visible()
    path = screenshot(page, "landing")
    assert path == screenshot_dir() / "landing.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_landing_page_needs_no_javascript(new_context: Callable[..., BrowserContext]) -> None:
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/")
    # Proof that scripts really are off: a script the page could run does nothing.
    page.set_content("<p id=p>static</p><script>document.getElementById('p').remove()</script>")
    expect(page.locator("#p")).to_have_text("static")
    page.goto("/")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_be_visible()
    expect(heading).to_contain_text("Your router, your data")
    expect(page.get_by_role("link", name="API documentation")).to_have_attribute("href", "/docs")
