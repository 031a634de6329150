"""What the browser tests share: a console page on the live server, signing in, keyboard focus, screenshots.

The Chromium launch itself is set up by the root conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from keys.tests.conftest import DEMO_PASSWORD

ACCOUNT = "111122223333"
# Set CONSOLECLONE_SHOTS=<folder> to keep screenshots of the steps the tests walk through.
SHOTS = os.environ.get("CONSOLECLONE_SHOTS")


@pytest.fixture
def trainee(page: Page, live_server, demo) -> Page:
    """A 1280-wide page of the demo console, not signed in; `page.base` is the live server's URL."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.base = live_server.url  # type: ignore[attr-defined]
    return page


def sign_in(page: Page, base: str, user: str = "Admin") -> None:
    """Sign in as an IAM user of the demo account through the sign-in page, which lands on Encryption keys."""
    page.goto(f"{base}/signin/")
    page.get_by_label("Account ID or alias").fill(ACCOUNT)
    page.get_by_label("IAM user name").fill(user)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Encryption keys", level=1)).to_be_visible()


def focus(page: Page, target: Locator, *, key: str = "Tab", presses: int = 80) -> None:
    """Press Tab (or another key) until the target has the focus, as a keyboard user would."""
    target.wait_for(state="attached")
    for _ in range(presses):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{target} was not reachable with {key}")


def shot(page: Page, name: str, *, folder: str | Path | None = SHOTS, widths: Sequence[int] = ()) -> None:
    """A full-page screenshot <folder>/<name>.png (none without a folder); one per width, <name>-<width>.png."""
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    if not widths:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
        return
    size = page.viewport_size
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(size)
