"""Chromium on the key details page's Effective permissions: the auditors' "who could administer this key,
and who could use it?", answered for the principals the policy does not name too.

Set CONSOLECLONE_SHOTS=<folder> to save screenshots (access-*.png) at 1280 and 1024 pixels wide.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from keys.management.commands.seed_demo import MAIN_ACCOUNT
from keys.models import Key
from keys.services import directory
from keys.services import keys as key_service
from keys.tests.conftest import DEMO_PASSWORD
from keys.tests.e2e import conftest as e2e
from keys.tests.e2e.conftest import sign_in
from keys.tests.helpers import console_policy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

NO_DELETION = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}],
}


WIDTHS = (1280, 1024)


def shots(page: Page, section: Locator, name: str) -> None:
    """The whole page and the section alone, at both widths the console must stay usable at."""
    e2e.shot(page, name, widths=WIDTHS)
    if not e2e.SHOTS:
        return
    size = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        section.screenshot(path=str(Path(e2e.SHOTS) / f"{name}-section-{width}.png"))
    page.set_viewport_size(size)


@pytest.fixture
def audited_key(demo, kms_admin) -> Key:
    """A key the wizard's way: KMSAdminUser administers, KMSUser and account 444455556666 use it."""
    return key_service.create_key(
        kms_admin,
        origin="EXTERNAL",
        alias="alias/audited",
        policy_text=console_policy(external_accounts=["444455556666"]),
    )


def test_admin_sees_who_could_administer_and_use_the_key(trainee: Page, audited_key, demo):
    page = trainee
    sign_in(page, page.base, "Admin")
    page.goto(page.base + "/iam/encryption-keys/?region=us-west-2")
    page.get_by_role("link", name="audited", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="audited")).to_be_visible()

    section = page.get_by_role("region", name="Effective permissions")
    section.scroll_into_view_if_needed()
    expect(section.get_by_text("Can administer")).to_be_visible()
    table = section.get_by_role("table")
    admin = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Admin IAM user"))
    expect(admin.get_by_text("Through IAM policies: AdministratorAccess")).to_be_visible()
    expect(admin.get_by_role("cell", name="Allowed", exact=True)).to_have_count(14)
    kms_admin = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="KMSAdminUser"))
    expect(kms_admin.get_by_text("Named in the key policy as key administrator")).to_be_visible()
    external = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="444455556666"))
    expect(external.get_by_role("cell", name="Not allowed across accounts", exact=False)).to_have_count(8)
    expect(section.get_by_text("Its users and roles also need permission from their own account's IAM")).to_be_visible()
    shots(page, section, "access-01-page")

    # Lifecycle: View in Event history opens the Event history filtered by this key.
    page.get_by_role("region", name="Lifecycle").get_by_role("link", name="View in Event history").click()
    expect(page.get_by_role("heading", level=1, name="Event history")).to_be_visible()
    expect(page.get_by_label("Key ID")).to_have_value(audited_key.key_id)
    expect(page.get_by_role("cell", name="CreateKey", exact=True).first).to_be_visible()


def test_an_iam_deny_shows_as_an_explicit_deny(trainee: Page, audited_key, demo):
    main = demo["Admin"].account
    directory.ensure_principal(
        main,
        kind="user",
        name="Admin",
        iam_policies=[directory.ADMINISTRATOR_ACCESS, NO_DELETION],
        iam_policy_names=["AdministratorAccess", "NoKeyDeletion"],
        password=DEMO_PASSWORD,
    )
    assert main.id == MAIN_ACCOUNT
    page = trainee
    sign_in(page, page.base, "KMSUser")
    page.goto(page.base + f"/iam/encryption-keys/us-west-2/{audited_key.key_id}/")

    section = page.get_by_role("region", name="Effective permissions")
    denies = section.get_by_role("note").filter(has_text="Explicit denies")
    expect(denies).to_contain_text("Admin: kms:ScheduleKeyDeletion is denied by IAM policy NoKeyDeletion")
    admin = section.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Admin IAM user"))
    expect(admin.get_by_role("cell", name="Explicitly denied (by IAM policy NoKeyDeletion)")).to_have_count(1)
    shots(page, section, "access-02-explicit-deny")
