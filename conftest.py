"""Suite-wide test set-up: fast password hashing, and the Chromium the browser tests drive.

Browser tests are never skipped: if they are collected and no Chromium is found, the run stops
before the first test with a message saying how to get one.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

# Playwright's sync API keeps an event loop running in the test thread; Django refuses ORM calls
# from such a thread unless told they are safe (they are: live_server serves from another thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

BROWSER_TIMEOUT_MS = 10_000
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# Debian's chromium as root in a container needs --no-sandbox; the rest keeps it quiet and offline.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
NO_CHROMIUM = """No Chromium found for the browser tests (they are part of the suite and are never skipped).
Looked at $CHROMIUM_PATH, then chromium, chromium-browser and google-chrome on PATH,
then a Playwright-managed browser under {cache}."""
GET_CHROMIUM = """Get one with:    sudo apt-get install chromium
or point to one: CHROMIUM_PATH=/path/to/chrome make test"""
# The fixtures of pytest-playwright that launch a browser.
BROWSER_FIXTURES = {"page", "context", "new_context", "browser", "launch_browser"}

expect.set_options(timeout=BROWSER_TIMEOUT_MS)


def _playwright_cache() -> Path:
    return Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")


def find_chromium() -> str | None:
    """CHROMIUM_PATH, then chromium / chromium-browser / google-chrome on PATH, then Playwright's cache."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    cache = _playwright_cache()
    managed = [
        *glob.glob(str(cache / "chromium-*" / "chrome-linux*" / "chrome")),
        *glob.glob(str(cache / "chromium_headless_shell-*" / "*" / "headless_shell")),
        *glob.glob(str(cache / "chromium_headless_shell-*" / "*" / "chrome-headless-shell")),
    ]
    # Newest revision first (chromium-1187 > chromium-1169).
    managed.sort(key=lambda path: int("".join(c for c in Path(path).parts[-3] if c.isdigit()) or 0), reverse=True)
    return managed[0] if managed else None


def pytest_configure(config):
    from django.conf import settings

    # Seeding the demo users hashes passwords in almost every test; PBKDF2 would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # WhiteNoise serves the tests' static files through the finders, but warns on every request
    # handler when STATIC_ROOT (filled by collectstatic in `make run`) does not exist.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    # pytest-playwright's own base_url fallback fixture trips a pytest 9 deprecation on every browser test.
    config.addinivalue_line(
        "filterwarnings", "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"
    )


def pytest_report_header(config):
    return f"chromium: {find_chromium() or 'not found'}"


def pytest_collection_modifyitems(session, config, items):
    if not any(BROWSER_FIXTURES.intersection(getattr(item, "fixturenames", ())) for item in items):
        return
    chromium = find_chromium()
    if chromium is None:
        problem = NO_CHROMIUM.format(cache=_playwright_cache())
    elif not (os.path.isfile(chromium) and os.access(chromium, os.X_OK)):
        problem = f"CHROMIUM_PATH={chromium} is not an executable file."
    else:
        return
    pytest.exit(f"{problem}\n{GET_CHROMIUM}", returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, with the Chromium found above instead of a downloaded one."""
    return {
        **browser_type_launch_args,
        "executable_path": find_chromium(),
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
    }


@pytest.fixture
def context(context):
    """Every page fails fast (10 s) instead of Playwright's 30 s when a label or page is missing."""
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    context.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
    return context
