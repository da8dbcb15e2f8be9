"""Where the browser tests' screenshots go: never into tracked files on an ordinary run.

A test run used to rewrite the documentation's screenshots (``docs/screenshots``)
every time.  Ordinary runs now write to an ignored folder; refreshing the
documentation's images is a deliberate act (``DOORSTEP_REFRESH_SCREENSHOTS=1``).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT
from tests.web.conftest import REFRESH_SWITCH, SCREENSHOTS, TEST_SCREENSHOTS, screenshot_dir

DOCS = ROOT / "docs"


@pytest.mark.parametrize("value", [None, "", "0", "yes"])
def test_an_ordinary_run_writes_no_screenshot_under_docs(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(REFRESH_SWITCH, raising=False)
    else:
        monkeypatch.setenv(REFRESH_SWITCH, value)
    target = screenshot_dir()
    assert target == TEST_SCREENSHOTS
    assert not target.resolve().is_relative_to(DOCS.resolve())


def test_refreshing_on_purpose_writes_the_documentation_screenshots(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REFRESH_SWITCH, "1")
    assert screenshot_dir() == SCREENSHOTS
    assert SCREENSHOTS.resolve().is_relative_to(DOCS.resolve())


def test_the_test_screenshots_folder_is_ignored_by_git() -> None:
    patterns = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert f"{TEST_SCREENSHOTS.relative_to(ROOT)}/" in patterns
    if (ROOT / ".git").exists() and shutil.which("git"):  # a tarball has no repository
        probe = TEST_SCREENSHOTS / "landing.png"
        found = subprocess.run(
            ["git", "-C", str(ROOT), "check-ignore", "-q", str(probe)], check=False
        )
        assert found.returncode == 0, f"{probe} is not ignored by git"
