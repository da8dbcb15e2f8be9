"""Quality of the pages as a whole: contrast, labels, headings, keyboard, no JavaScript,
strings ready for translation (a pseudo-locale), headers.

The page lists below name every page of the privacy center and the console; a new
page joins them here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from tests.web.checks import CHECK_PAGE, untranslated
from tests.web.clients import BROWSER_HEADERS
from tests.web.conftest import LiveServer
from tests.web.people import make_subscriber, sign_in

CSS = Path(__file__).resolve().parents[2] / "src" / "doorstep" / "web" / "static" / "doorstep.css"
PUBLIC_PAGES = (
    "/",
    "/signin",
    "/signup",
    "/verify",
    "/cookies",
    "/policy",
    "/requests/new",
    "/questions/new",
)
SUBSCRIBER_PAGES = (
    "/account",
    "/devices",
    "/privacy",
    "/privacy/consents",
    "/privacy/data",
    "/privacy/requests",
    "/privacy/questions",
)
#: Foreground/background pairs of the palette that carry text.
PAIRS = (
    ("text", "background"),
    ("muted", "background"),
    ("link", "background"),
    ("error", "background"),
    ("ok", "background"),
    ("text", "surface"),
    ("muted", "surface"),
    ("link", "surface"),
    ("error", "surface"),
    ("accent-text", "accent"),
)


# -- contrast (WCAG 2.1 1.4.3: 4.5:1 for text) -------------------------------------------


def _palettes() -> dict[str, dict[str, str]]:
    text = CSS.read_text()
    found = {}
    for name, selector in (("light", r":root"), ("dark", r'html\[data-theme="dark"\]')):
        block = re.search(selector + r"\s*\{(.*?)\}", text, re.S)
        assert block, f"no {name} palette in the stylesheet"
        found[name] = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block.group(1)))
    return found


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, two: str) -> float:
    """The WCAG contrast ratio of two colours."""
    light, dark = sorted((_luminance(one), _luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_colour_meets_the_aa_contrast_ratio(theme: str) -> None:
    palette = _palettes()[theme]
    for foreground, background in PAIRS:
        ratio = contrast(palette[foreground], palette[background])
        assert ratio >= 4.5, f"{theme}: {foreground} on {background} is {ratio:.2f}:1"
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)


# -- strings ready for translation ---------------------------------------------------------


@pytest.fixture
def pseudo_client(runtime: Runtime) -> Iterator[TestClient]:
    """The app, speaking the pseudo-locale that marks every translated string."""
    app = create_app(runtime)
    app.state.web_language = "x-pseudo"
    with TestClient(app, base_url="http://127.0.0.1", headers=BROWSER_HEADERS) as client:
        yield client


@pytest.mark.parametrize("path", [*PUBLIC_PAGES, "/no-such-page"])
def test_every_string_of_the_public_pages_goes_through_translation(
    pseudo_client: TestClient, path: str
) -> None:
    answer = pseudo_client.get(path)
    assert answer.status_code == (404 if path == "/no-such-page" else 200)
    html = answer.text
    assert "⟦" in html
    assert untranslated(html) == []


# -- labels, headings, no JavaScript, keyboard ---------------------------------------------


def _check(page: Page, path: str) -> None:
    answer = page.goto(path)
    assert answer is not None and answer.ok, path
    assert page.evaluate(CHECK_PAGE) == [], path


def test_public_pages_have_labels_headings_and_a_language(
    page: Page, live_server: LiveServer
) -> None:
    for path in PUBLIC_PAGES:
        _check(page, path)


def test_subscriber_pages_have_labels_headings_and_a_language(
    page: Page, live_server: LiveServer
) -> None:
    sign_in(page, make_subscriber(live_server.runtime), then="/")
    for path in SUBSCRIBER_PAGES:
        _check(page, path)


def test_a_subscriber_signs_in_with_the_keyboard_alone(page: Page, live_server: LiveServer) -> None:
    person = make_subscriber(live_server.runtime)
    page.goto("/signin")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Enter")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "identifier":
            break
    page.keyboard.type(person.email)
    page.keyboard.press("Tab")
    page.keyboard.type(person.password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/devices")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_pages_say_what_may_load_and_that_they_may_not_be_framed(
    pseudo_client: TestClient,
) -> None:
    headers = pseudo_client.get("/").headers
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    api = pseudo_client.get("/healthz").headers
    assert "content-security-policy" not in api
