"""The privacy policy page: both texts, the version in force and earlier ones, no JavaScript.

A browser reads the page with scripts off (reached from the footer, the texts opened
by mouse and by keyboard); TestClient checks the ``history:`` list of ``consent.yaml``
(rendered, and refused when malformed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext, expect

from doorstep.asgi import create_app
from doorstep.core.errors import ConfigurationError
from doorstep.core.runtime import Runtime
from doorstep.web.center import account as center_account
from doorstep.web.center.account import load_policy
from tests.packs import reference_terms
from tests.web.conftest import screenshot


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """The app on the test's rolled-back transaction."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.clause("CPE-0.2")
def test_the_policy_page_shows_both_documents_without_javascript(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/")
    page.get_by_role("link", name="Privacy policy", exact=True).click()
    page.wait_for_url("**/policy")
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy policy")
    policy = reference_terms().require_policy()
    expect(page.locator(".lead")).to_contain_text(f"version {policy.version}")
    expect(page.get_by_role("link", name=policy.url).first).to_have_attribute("href", policy.url)
    page.get_by_role("button", name="Essential cookies only").click()
    screenshot(page, "center-policy")
    # Each text opens from its summary, by mouse or keyboard, without any script.
    product = page.locator("#product")
    expect(product.get_by_role("heading", level=2)).to_have_text(
        "Product privacy policy (routers, gateways, app)"
    )
    expect(product.locator("pre.policy")).to_be_hidden()
    product.get_by_text("Read the full text").click()
    expect(product.locator("pre.policy")).to_be_visible()
    expect(product.locator("pre.policy")).to_contain_text("CPE Product Privacy Policy V1.1")
    expect(product.locator("pre.policy")).to_contain_text("Last updated in: February 2020")
    corporate = page.locator("#corporate")
    expect(corporate.get_by_role("heading", level=2)).to_have_text("Corporate privacy policy")
    corporate.get_by_text("Read the full text").focus()
    page.keyboard.press("Enter")
    expect(corporate.locator("pre.policy")).to_be_visible()
    expect(corporate.locator("pre.policy")).to_contain_text("ZTE Corporation and its subsidiaries")
    versions = page.locator("#versions")
    expect(versions.get_by_role("row")).to_have_count(2)  # the header and the version in force
    expect(versions).to_contain_text("This is the first version of the policy")
    contact = page.locator("#contact")
    expect(contact.get_by_role("link", name="privacy@zte.com.cn").first).to_have_attribute(
        "href", "mailto:privacy@zte.com.cn"
    )
    expect(contact).to_contain_text("ZTE Corporation")
    contact.get_by_role("link", name="Cookie settings").click()
    page.wait_for_url("**/cookies")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cookies")


def test_the_policy_lists_earlier_versions_from_the_pack(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "consent.yaml").write_text(
        "policy:\n"
        "  version: '1.2'\n"
        "  url: https://privacy.example.com/1.2\n"
        "  published: 2024-05-01\n"
        "  history:\n"
        "    - {version: '1.1', published: 2020-02-01, url: https://privacy.example.com/1.1}\n"
        "    - {version: '1.0', published: 2019-05-07, url: https://privacy.example.com/1.0}\n",
        encoding="utf-8",
    )
    (tmp_path / "cpe-privacy-policy.txt").write_text("Product text <b>", encoding="utf-8")
    loaded = load_policy(tmp_path)
    assert [v.version for v in loaded.history] == ["1.1", "1.0"]
    assert loaded.current.published == "2024-05-01"
    assert [d.anchor for d in loaded.documents] == ["product"]
    monkeypatch.setattr(center_account, "published_policy", lambda pack: loaded)
    page = client.get("/policy").text
    assert "first version" not in page
    assert '<a href="https://privacy.example.com/1.0">1.0</a>' in page
    assert "2019-05-07" in page and "Earlier version" in page
    # The texts are the stored version's (privacy.policies), escaped; the pack's list adds links.
    assert "Last updated in: February 2020" in page


@pytest.mark.parametrize(
    "history",
    ["  history: {version: '1.0'}\n", "  history:\n    - {version: '1.0'}\n"],
)
def test_a_bad_history_entry_is_a_configuration_error(tmp_path: Path, history: str) -> None:
    (tmp_path / "consent.yaml").write_text(
        "policy:\n  version: '1.1'\n  url: https://privacy.example.com/1.1\n" + history,
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"policy\.history"):
        load_policy(tmp_path)
