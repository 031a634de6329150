"""Chromium on the Encryption keys page, as a trainee: by labels, with the mouse, the keyboard, and no JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from keys.services import keys as key_service
from keys.tests.conftest import DEMO_PASSWORD
from keys.tests.e2e.conftest import ACCOUNT, sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def imported_key(kms_admin):
    """A key of the documented procedure, waiting for its material in us-west-2."""
    return key_service.create_key(kms_admin, alias="alias/ImportedKey", origin="EXTERNAL")


def sign_out(page: Page) -> None:
    page.get_by_text(re.compile(r"@ 1111-2222-3333")).click()
    page.get_by_role("button", name="Sign Out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def keys_table(page: Page):
    return page.get_by_role("table", name=re.compile("Encryption keys in"))


def test_trainee_chooses_the_region_and_shows_expiration_date_and_origin(page, live_server, imported_key):
    sign_in(page, live_server.url, "KMSAdminUser")
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("navigation", name="IAM").get_by_role("link", name="Encryption keys").click()
    expect(page.get_by_text("Use the Region selector on this page")).to_be_visible()

    page.get_by_label("Region").select_option(label="US East (N. Virginia)")
    expect(page.get_by_text("There are no keys in US East (N. Virginia).")).to_be_visible()
    expect(page).to_have_url(re.compile(r"region=us-east-1"))
    page.get_by_label("Region").select_option(label="US West (Oregon)")
    row = keys_table(page).get_by_role("row").filter(has_text="ImportedKey")
    expect(row).to_contain_text("Pending Import")
    expect(keys_table(page).get_by_role("columnheader", name="Origin")).to_have_count(0)

    page.get_by_role("button", name="Settings").click()
    page.get_by_label("Expiration Date").check()
    page.get_by_label("Origin").check()
    page.get_by_role("button", name="Close").click()

    expect(keys_table(page).get_by_role("columnheader", name="Expiration Date")).to_be_visible()
    expect(keys_table(page).get_by_role("columnheader", name="Origin")).to_be_visible()
    expect(row.get_by_role("cell", name="External", exact=True)).to_be_visible()
    expect(page.get_by_role("dialog", name="Show/Hide Columns")).to_have_count(0)
    # The filter narrows the table as one types.
    page.get_by_label("Filter").fill("import")
    expect(keys_table(page).get_by_role("row")).to_have_count(2)  # header + ImportedKey
    expect(page).to_have_url(re.compile(r"filter=import"))


def tab_to(page: Page, name: str, limit: int = 60) -> None:
    """Press Tab until the element with this accessible name has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? (e.getAttribute('aria-label') || e.innerText || e.value || '').trim() : ''; }"
        )
        if focused == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_settings_with_the_keyboard_only_survive_signing_out_and_in(page, live_server, imported_key):
    page.goto(f"{live_server.url}/signin/")
    # The first field has the focus; the rest is typed, tabbed and entered.
    page.keyboard.type(ACCOUNT)
    page.keyboard.press("Tab")
    page.keyboard.type("KMSAdminUser")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Encryption keys", level=1)).to_be_visible()

    tab_to(page, "Settings")
    page.keyboard.press("Space")
    expect(page.get_by_role("dialog", name="Show/Hide Columns")).to_be_visible()
    expect(page.get_by_label("Expiration Date")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Origin")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Close")).to_be_focused()
    page.keyboard.press("Enter")

    expect(keys_table(page).get_by_role("columnheader", name="Expiration Date")).to_be_visible()
    expect(keys_table(page).get_by_role("columnheader", name="Origin")).to_be_visible()
    expect(page.get_by_role("button", name="Settings")).to_be_focused()

    sign_out(page)
    sign_in(page, live_server.url, "KMSAdminUser")
    expect(keys_table(page).get_by_role("columnheader", name="Expiration Date")).to_be_visible()
    expect(keys_table(page).get_by_role("row").filter(has_text="ImportedKey")).to_contain_text("External")


def test_settings_and_region_work_without_javascript(browser, live_server, imported_key):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "KMSAdminUser")
        page.get_by_label("Region").select_option(label="Europe (Ireland)")
        page.get_by_role("button", name="Go").click()
        expect(page.get_by_text("There are no keys in Europe (Ireland).")).to_be_visible()
        page.get_by_label("Region").select_option(label="US West (Oregon)")
        page.get_by_role("button", name="Go").click()
        expect(keys_table(page).get_by_role("row").filter(has_text="ImportedKey")).to_be_visible()

        page.get_by_role("button", name="Settings").click()
        expect(page).to_have_url(re.compile(r"settings=1"))
        page.get_by_label("Origin").check()
        page.get_by_role("button", name="Close").click()
        expect(page).not_to_have_url(re.compile(r"settings=1"))
        expect(keys_table(page).get_by_role("columnheader", name="Origin")).to_be_visible()
        expect(keys_table(page).get_by_role("columnheader", name="Expiration Date")).to_have_count(0)
    finally:
        context.close()


def test_aws_managed_keys_are_marked_and_a_key_without_alias_opens_by_its_empty_cell(page, live_server, kms_admin):
    unnamed = key_service.create_key(kms_admin)
    sign_in(page, live_server.url, "KMSAdminUser")
    aws_row = keys_table(page).get_by_role("row").filter(has_text="aws/s3")
    expect(aws_row.get_by_role("img", name="AWS managed key")).to_be_visible()
    expect(aws_row.get_by_role("checkbox")).to_be_disabled()
    link = keys_table(page).get_by_role("link", name=unnamed.key_id)
    expect(link).to_have_attribute("href", f"/iam/encryption-keys/us-west-2/{unnamed.key_id}/")
