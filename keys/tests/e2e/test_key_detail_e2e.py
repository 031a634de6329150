"""Chromium on the key details page: open a key by its alias, edit it, schedule and cancel its deletion.

Spec 1.1.2 (the details page's sections) and 4.8 (Waiting period (in days), Schedule deletion, Cancel
key deletion -> Disabled); the gate: a key user who tries Schedule key deletion sees AWS's
AccessDeniedException and nothing changes.

Set CONSOLECLONE_SHOTS=<folder> to save screenshots at 1280 and 1024 pixels wide.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from playwright.sync_api import Page, expect

from keys import clock, states
from keys.models import AuditEvent, Key
from keys.services import importing
from keys.services import keys as key_service
from keys.tests.e2e import conftest as e2e
from keys.tests.e2e.conftest import sign_in
from keys.tests.helpers import console_policy, import_material

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

WIDTHS = (1280, 1024)


def shot(page: Page, name: str) -> None:
    """Full-page screenshots at both widths the console must stay usable at."""
    e2e.shot(page, name, widths=WIDTHS)


def open_key_from_list(page: Page, base: str, alias: str) -> None:
    page.goto(base + "/iam/encryption-keys/?region=us-west-2")
    page.get_by_role("link", name=alias, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=alias)).to_be_visible()


def key_action(page: Page, name: str) -> None:
    page.get_by_text("Key actions", exact=True).click()
    page.get_by_role("list").get_by_role("button", name=name).or_(page.get_by_role("link", name=name)).first.click()


@pytest.fixture
def imported_key(demo, kms_admin) -> Key:
    """An External key whose material was imported, deleted and reimported (the auditors' story)."""
    key = key_service.create_key(
        kms_admin,
        origin="EXTERNAL",
        alias="alias/byok-audit",
        description="Imported for the audit",
        policy_text=console_policy(),
        tags=[("team", "security")],
    )
    material = os.urandom(32)
    import_material(kms_admin, key, material, valid_to=clock.now() + dt.timedelta(days=90))
    importing.delete_imported_key_material(kms_admin, key_id=key.key_id)
    import_material(kms_admin, key, material, valid_to=clock.now() + dt.timedelta(days=120))
    return key


def test_a_key_administrator_edits_the_key_and_schedules_then_cancels_its_deletion(trainee, imported_key, demo):
    page = trainee
    sign_in(page, page.base, "KMSAdminUser")
    open_key_from_list(page, page.base, "byok-audit")

    summary = page.get_by_role("region", name="Summary")
    expect(summary.get_by_text(imported_key.arn)).to_be_visible()
    expect(summary.get_by_text("Enabled", exact=True)).to_be_visible()
    lifecycle = page.get_by_role("region", name="Lifecycle")
    expect(lifecycle.get_by_role("img", name="Lifecycle of byok-audit")).to_be_visible()
    expect(lifecycle.get_by_role("cell", name="Key material reimported ImportKeyMaterial")).to_be_visible()
    shot(page, "key-detail-01-page")

    # Summary: the Description box and Save Changes.
    summary.get_by_label("Description").fill("Imported for the 2026 audit <review>")
    summary.get_by_role("button", name="Save Changes").click()
    expect(page.get_by_text("Description saved.")).to_be_visible()
    expect(page.get_by_role("region", name="Summary").get_by_label("Description")).to_have_value(
        "Imported for the 2026 audit <review>"
    )

    # Key Policy: Switch to policy view (htmx swaps the section) and back.
    policy = page.get_by_role("region", name="Key Policy")
    expect(policy.get_by_role("heading", name="Key Administrators")).to_be_visible()
    policy.get_by_role("link", name="Switch to policy view").click()
    box = page.get_by_label("Key policy", exact=True)
    expect(box).to_be_visible()
    expect(box).to_have_value(imported_key.policy)
    expect(page.get_by_role("link", name="Switch to default view")).to_be_focused()
    shot(page, "key-detail-02-policy-view")
    page.get_by_role("link", name="Switch to default view").click()
    expect(page.get_by_role("region", name="Key Policy").get_by_role("heading", name="Key Users")).to_be_visible()
    expect(page.get_by_label("Key policy", exact=True)).to_have_count(0)

    # Key actions, Schedule key deletion: Waiting period (in days) 7, Schedule deletion.
    key_action(page, "Schedule key deletion")
    days = page.get_by_label("Waiting period (in days)")
    expect(days).to_have_value("30")
    days.fill("7")
    shot(page, "key-detail-03-schedule-deletion")
    page.get_by_role("button", name="Schedule deletion").click()
    summary = page.get_by_role("region", name="Summary")
    expect(summary.get_by_text("Pending Deletion", exact=True)).to_be_visible()
    expect(summary.get_by_text("Deletion date")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Scheduled deletion of byok-audit")).to_be_visible()
    shot(page, "key-detail-04-pending-deletion")

    # Key actions, Cancel key deletion: the key is Disabled (spec 4.8).
    key_action(page, "Cancel key deletion")
    expect(page.get_by_role("region", name="Summary").get_by_text("Disabled", exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="Lifecycle").get_by_role("cell", name="Deletion cancelled")).to_be_visible()

    imported_key.refresh_from_db()
    assert imported_key.state == states.DISABLED
    assert imported_key.description == "Imported for the 2026 audit <review>"


def test_a_key_user_is_denied_schedule_key_deletion(trainee, imported_key, demo):
    page = trainee
    sign_in(page, page.base, "KMSUser")
    open_key_from_list(page, page.base, "byok-audit")
    expect(page.get_by_role("region", name="Key Policy").get_by_text("AccessDeniedException")).to_be_visible()

    key_action(page, "Schedule key deletion")
    page.get_by_label("Waiting period (in days)").fill("7")
    page.get_by_role("button", name="Schedule deletion").click()

    alert = page.get_by_role("alert").filter(has_text="kms:ScheduleKeyDeletion")
    expect(alert).to_contain_text(
        f"AccessDeniedException: User: {demo['KMSUser'].arn} is not authorized to perform: "
        f"kms:ScheduleKeyDeletion on resource: {imported_key.arn}"
    )
    expect(page.get_by_role("region", name="Summary").get_by_text("Enabled", exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="Lifecycle").get_by_text("Denied: KMSUser")).to_be_visible()
    shot(page, "key-detail-05-denied")

    imported_key.refresh_from_db()
    assert imported_key.state == states.ENABLED
    assert AuditEvent.objects.filter(
        event_name="ScheduleKeyDeletion", key_id=imported_key.key_id, error_code="AccessDeniedException"
    ).exists()


def test_the_details_page_works_by_keyboard(trainee, imported_key):
    page = trainee
    sign_in(page, page.base, "KMSAdminUser")
    open_key_from_list(page, page.base, "byok-audit")

    summary = page.get_by_text("Key actions", exact=True)
    summary.focus()
    page.keyboard.press("Enter")
    disable = page.get_by_role("button", name="Disable", exact=True)
    expect(disable).to_be_visible()
    disable.focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("region", name="Summary").get_by_text("Disabled", exact=True)).to_be_visible()
    imported_key.refresh_from_db()
    assert imported_key.state == states.DISABLED


def test_the_lists_key_actions_answer_each_checked_key(trainee, imported_key, demo, kms_admin):
    pending = key_service.create_key(
        kms_admin, origin="EXTERNAL", alias="alias/still-pending", policy_text=console_policy()
    )
    page = trainee
    sign_in(page, page.base, "KMSAdminUser")
    page.goto(page.base + "/iam/encryption-keys/?region=us-west-2")

    page.get_by_role("checkbox", name="Select byok-audit").check()
    page.get_by_role("checkbox", name="Select still-pending").check()
    page.get_by_text("Key actions", exact=True).click()
    page.get_by_role("button", name="Disable", exact=True).click()

    expect(page.get_by_role("status").filter(has_text="Disabled byok-audit.")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(f"KMSInvalidStateException: {pending.arn} is pending import.")
    shot(page, "key-detail-06-list-actions")

    page.get_by_role("checkbox", name="Select byok-audit").check()
    page.get_by_role("checkbox", name="Select still-pending").check()
    page.get_by_text("Key actions", exact=True).click()
    page.get_by_role("button", name="Schedule key deletion").click()
    expect(page.get_by_role("heading", level=1, name="Schedule key deletion")).to_be_visible()
    expect(page.get_by_role("cell", name=pending.key_id)).to_be_visible()
    page.get_by_label("Waiting period (in days)").fill("7")
    page.get_by_role("button", name="Schedule deletion").click()

    expect(page.get_by_role("status").filter(has_text="Scheduled deletion of")).to_be_visible()
    for key in (imported_key, pending):
        key.refresh_from_db()
        assert key.state == states.PENDING_DELETION and key.pending_window_days == 7
