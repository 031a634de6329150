"""Chromium walks the documented "Create a CMK with no key material" procedure, by mouse and by keyboard only.

Spec 1.1 and 1.1.1: sign in, Encryption keys, choose the Region, show the Expiration Date and Origin
columns, Create key, alias and description, Advanced Options, External and the acknowledgement,
a tag, a key administrator, a key user and an external account, the policy preview, Finish, the
"Import key material" page, Skip and do this later, and the list showing the key as Pending Import.

Set CONSOLECLONE_SHOTS=<folder> to save a 1280-wide screenshot of every step.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from keys.models import Key
from keys.tests.conftest import DEMO_PASSWORD
from keys.tests.e2e.conftest import ACCOUNT, focus, shot, sign_in
from keys.tests.test_create_wizard import SPEC_POLICY_EXTERNAL, normalised

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def import_page_url(region: str) -> re.Pattern:
    return re.compile(rf"/iam/encryption-keys/{region}/[0-9a-f-]{{36}}/import/")


# ---------------------------------------------------------------- with the mouse, by visible labels


def test_a_trainee_creates_a_key_with_no_key_material_as_documented(trainee: Page):
    page = trainee
    page.goto(page.base + "/signin/")
    page.get_by_label("Account ID or alias").fill(ACCOUNT)
    page.get_by_label("IAM user name").fill("Admin")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    shot(page, "create-01-signin")
    page.get_by_role("button", name="Sign In").click()

    page.get_by_role("navigation", name="IAM").get_by_role("link", name="Encryption keys").click()
    page.get_by_label("Region").select_option(label="Europe (Ireland)")
    expect(page.get_by_role("heading", name=re.compile(r"Keys in Europe \(Ireland\)"))).to_be_visible()
    page.get_by_role("button", name="Settings").click()
    page.get_by_label("Expiration Date").check()
    page.get_by_label("Origin").check()
    shot(page, "create-02-key-list-settings")
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_role("columnheader", name="Origin")).to_be_visible()

    page.get_by_role("link", name="Create key").click()
    expect(page).to_have_url(re.compile(r"/iam/encryption-keys/eu-west-1/create/alias/$"))
    expect(page.get_by_role("heading", name="Create Alias and Description")).to_be_visible()
    page.get_by_label("Alias").fill("byok-training")
    page.get_by_label("Description").fill("Key for imported key material (training)")
    page.get_by_text("Advanced Options").click()
    page.get_by_role("radio", name="External").check()
    acknowledgement = page.get_by_label(
        "I understand the security, availability, and durability implications of using an imported key"
    )
    # Without the check box, Next Step is refused with a clear message.
    page.get_by_role("button", name="Next Step").click()
    expect(page.get_by_text("select the check box to confirm that you understand")).to_be_visible()
    shot(page, "create-03-alias-acknowledgement-missing")
    with page.expect_popup() as popup_info:
        page.get_by_role("link", name="security, availability, and durability implications").click()
    help_page = popup_info.value
    expect(help_page.get_by_role("heading", name="Availability and durability")).to_be_visible()
    expect(help_page.get_by_role("heading", name="Ciphertexts are not portable between CMKs")).to_be_visible()
    help_page.set_viewport_size({"width": 1280, "height": 900})
    shot(help_page, "create-04-implications-help")
    help_page.close()
    acknowledgement.check()
    shot(page, "create-05-alias")
    page.get_by_role("button", name="Next Step").click()

    expect(page.get_by_role("heading", name="Add Tags")).to_be_visible()
    page.get_by_label("Tag key").fill("Purpose")
    page.get_by_label("Tag value").fill("Training")
    page.get_by_role("button", name="Add tag").click()
    page.get_by_label("Tag key").nth(1).fill("Team")
    page.get_by_label("Tag value").nth(1).fill("Security")
    shot(page, "create-06-tags")
    page.get_by_role("button", name="Next Step").click()

    expect(page.get_by_role("heading", name="Define Key Administrative Permissions")).to_be_visible()
    page.get_by_label("Filter").fill("admin")
    expect(page.get_by_label("KMSUser", exact=True)).to_be_hidden()
    page.get_by_label("KMSAdminUser", exact=True).check()
    page.get_by_label("KMSAdminRole", exact=True).check()  # the documented example has both
    expect(page.get_by_label("Allow key administrators to delete this key")).to_be_checked()
    shot(page, "create-07-administrators")
    page.get_by_role("button", name="Next Step").click()

    expect(page.get_by_role("heading", name="Define Key Usage Permissions")).to_be_visible()
    page.get_by_label("KMSUser", exact=True).check()
    page.get_by_label("KMSRole", exact=True).check()
    page.get_by_role("button", name="Add an External Account").click()
    page.get_by_label("External account ID").fill("444455556666")
    shot(page, "create-08-users")
    page.get_by_role("button", name="Next Step").click()

    expect(page.get_by_role("heading", name="Preview Key Policy")).to_be_visible()
    policy_text = page.get_by_role("region", name="Key policy")
    expect(policy_text).to_contain_text('"kms:ImportKeyMaterial"')
    expect(policy_text).to_contain_text("arn:aws:iam::444455556666:root")
    shot(page, "create-09-review")
    page.get_by_role("button", name="Finish").click()

    expect(page).to_have_url(import_page_url("eu-west-1"))
    shot(page, "create-10-import-key-material")
    page.get_by_role("link", name="Skip and do this later").click()

    row = page.get_by_role("row", name=re.compile("byok-training"))
    expect(row).to_contain_text("Pending Import")
    expect(row).to_contain_text("External")
    shot(page, "create-11-key-list")
    key = Key.objects.get(aliases__name="alias/byok-training")
    assert key.region == "eu-west-1" and key.state == "PendingImport" and key.origin == "EXTERNAL"
    assert normalised(json.loads(key.policy)) == normalised(SPEC_POLICY_EXTERNAL)  # spec 2.2, same choices
    assert [(t.tag_key, t.tag_value) for t in key.tags.order_by("tag_key")] == [
        ("Purpose", "Training"),
        ("Team", "Security"),
    ]


# ---------------------------------------------------------------- with the keyboard only


def test_a_keyboard_user_creates_a_key_with_no_key_material(trainee: Page):
    page = trainee
    page.goto(page.base + "/signin/")
    focus(page, page.get_by_label("Account ID or alias"))
    page.keyboard.type(ACCOUNT)
    page.keyboard.press("Tab")
    page.keyboard.type("Admin")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")

    focus(page, page.get_by_role("navigation", name="IAM").get_by_role("link", name="Encryption keys"))
    page.keyboard.press("Enter")
    region = page.get_by_label("Region")
    focus(page, region)
    page.keyboard.press("ArrowUp")  # US West (Oregon) -> US West (N. California)
    expect(page.get_by_role("heading", name=re.compile(r"Keys in US West \(N\. California\)"))).to_be_visible()
    focus(page, page.get_by_role("button", name="Settings"))
    page.keyboard.press("Enter")
    for column in ("Expiration Date", "Origin"):
        focus(page, page.get_by_label(column))
        page.keyboard.press("Space")
    focus(page, page.get_by_role("button", name="Close"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("columnheader", name="Origin")).to_be_visible()

    focus(page, page.get_by_role("link", name="Create key"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Create Alias and Description")).to_be_visible()
    focus(page, page.get_by_label("Alias"))
    page.keyboard.type("keyboard-byok")
    page.keyboard.press("Tab")
    page.keyboard.type("Made without a mouse")
    focus(page, page.get_by_text("Advanced Options"))
    page.keyboard.press("Enter")
    focus(page, page.get_by_role("radio", name="KMS"))
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="External")).to_be_checked()
    focus(
        page,
        page.get_by_label(
            "I understand the security, availability, and durability implications of using an imported key"
        ),
    )
    page.keyboard.press("Space")
    shot(page, "keyboard-01-alias")
    focus(page, page.get_by_role("button", name="Next Step"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Add Tags")).to_be_visible()
    focus(page, page.get_by_label("Tag key"))
    page.keyboard.type("Purpose")
    page.keyboard.press("Tab")
    page.keyboard.type("Keyboard")
    shot(page, "keyboard-02-tags")
    page.keyboard.press("Enter")  # Enter in a text box is Next Step, not the row's Remove button

    expect(page.get_by_role("heading", name="Define Key Administrative Permissions")).to_be_visible()
    focus(page, page.get_by_label("Filter"))
    page.keyboard.type("KMSAdmin")
    page.keyboard.press("Enter")  # filters in place; does not leave the step
    expect(page.get_by_label("KMSUser", exact=True)).to_be_hidden()
    focus(page, page.get_by_label("KMSAdminUser", exact=True))
    page.keyboard.press("Space")
    shot(page, "keyboard-03-administrators")
    focus(page, page.get_by_role("button", name="Next Step"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Define Key Usage Permissions")).to_be_visible()
    focus(page, page.get_by_label("KMSUser", exact=True))
    page.keyboard.press("Space")
    focus(page, page.get_by_role("button", name="Add an External Account"))
    page.keyboard.press("Enter")
    account = page.get_by_label("External account ID")
    expect(account).to_be_focused()  # the new row takes the focus
    page.keyboard.type("444455556666")
    expect(page.get_by_label("KMSUser", exact=True)).to_be_checked()
    shot(page, "keyboard-04-users")
    focus(page, page.get_by_role("button", name="Next Step"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Preview Key Policy")).to_be_visible()
    expect(page.get_by_role("region", name="Key policy")).to_contain_text('"kms:ImportKeyMaterial"')
    focus(page, page.get_by_role("button", name="Finish"))
    shot(page, "keyboard-05-review")
    page.keyboard.press("Enter")

    expect(page).to_have_url(import_page_url("us-west-1"))
    focus(page, page.get_by_role("link", name="Skip and do this later"))
    page.keyboard.press("Enter")
    row = page.get_by_role("row", name=re.compile("keyboard-byok"))
    expect(row).to_contain_text("Pending Import")
    expect(row).to_contain_text("External")
    shot(page, "keyboard-06-key-list")
    assert Key.objects.filter(aliases__name="alias/keyboard-byok", region="us-west-1").count() == 1


# ---------------------------------------------------------------- a double click on Finish


def test_a_double_click_on_finish_creates_one_key(trainee: Page, client):
    page = trainee
    sign_in(page, page.base)
    page.goto(page.base + "/iam/encryption-keys/us-west-2/create/")
    page.get_by_label("Alias").fill("double-click")
    for _ in range(3):
        page.get_by_role("button", name="Next Step").click()
    page.get_by_role("button", name="Next Step").click()
    expect(page.get_by_role("heading", name="Preview Key Policy")).to_be_visible()
    page.get_by_role("button", name="Finish").dblclick()
    expect(page.get_by_role("row", name=re.compile("double-click"))).to_contain_text("Enabled")
    assert Key.objects.filter(aliases__name="alias/double-click").count() == 1
    assert Key.objects.filter(account_id=ACCOUNT, key_manager="CUSTOMER").count() == 1
