"""Chromium on the Event history page, as someone demoing the import workflow to an auditor."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from keys import crypto
from keys.errors import KmsError
from keys.services import keys as key_service
from keys.tests.e2e.conftest import focus, shot, sign_in
from keys.tests.helpers import console_policy, import_wrapped, parameters, wrap

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def audited_key(admin, kms_admin, kms_user):
    """An imported key with a history: created, parameters downloaded, material imported, a refusal."""
    key = key_service.create_key(kms_admin, origin="EXTERNAL", policy_text=console_policy(), alias="alias/ImportedKey")
    params, token = parameters(admin, key)
    import_wrapped(admin, key, token, wrap(params, crypto.generate_key_material()))
    with pytest.raises(KmsError):
        key_service.schedule_key_deletion(kms_user, key_id=key.key_id, pending_window_days=7)
    key_service.create_key(admin, alias="alias/other")  # events of another key, filtered out below
    return key


TIME = re.compile(r"\d{2}:\d{2}:\d{2}")


def events_table(page: Page):
    return page.get_by_role("table", name=re.compile("Events in"))


def event_rows(page: Page):
    """The table's visible event rows (its header row aside; a closed record's row is hidden)."""
    return events_table(page).get_by_role("row").filter(has=page.get_by_role("cell"))


def toggle(row):
    """The <summary> of a row's <details>: its event time, which opens the record."""
    return row.get_by_text(TIME).locator("xpath=ancestor::summary")


def test_auditor_filters_by_key_id_and_reads_the_import_record(trainee: Page, audited_key):
    page = trainee
    sign_in(page, page.base)
    page.get_by_text("Services", exact=True).click()
    shot(page, "event-history-services-menu")
    page.get_by_role("link", name="Event history").click()
    expect(page.get_by_role("heading", name="Event history", level=1)).to_be_visible()
    expect(page.get_by_label("Region")).to_have_value("us-west-2")
    expect(events_table(page).get_by_role("row").filter(has_text="alias/other")).to_have_count(0)
    shot(page, "event-history", widths=(1280, 1024))

    page.get_by_label("Key ID").fill(audited_key.key_id)
    page.get_by_label("Key ID").press("Enter")
    expect(page).to_have_url(re.compile(f"key_id={audited_key.key_id}"))
    expect(event_rows(page)).to_have_count(
        5
    )  # CreateKey, CreateAlias, GetParametersForImport, ImportKeyMaterial, the refusal
    refused = events_table(page).get_by_role("row").filter(has_text="ScheduleKeyDeletion")
    expect(refused).to_contain_text("KMSUser")
    expect(refused).to_contain_text("AccessDeniedException")

    imported = events_table(page).get_by_role("row").filter(has_text="ImportKeyMaterial")
    record = page.get_by_text('"eventName": "ImportKeyMaterial"')
    expect(record).to_be_hidden()
    toggle(imported).click()
    expect(record).to_be_visible()
    expect(record).to_contain_text(f'"keyId": "{audited_key.key_id}"')
    expect(record).to_contain_text('"expirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"')
    expect(record).to_contain_text('"userName": "Admin"')
    shot(page, "event-history-expanded", widths=(1280, 1024))

    # The resource name opens the key.
    imported.get_by_role("link", name=audited_key.key_id).click()
    expect(page.get_by_text(audited_key.arn).first).to_be_visible()


def test_errors_only_with_the_keyboard(trainee: Page, audited_key):
    page = trainee
    sign_in(page, page.base)
    page.goto(f"{page.base}/cloudtrail/event-history/?region=us-west-2")
    errors_only = page.get_by_label("Errors only")
    focus(page, errors_only)
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile("errors_only=on"))
    expect(event_rows(page)).to_have_count(1)
    row = events_table(page).get_by_role("row").filter(has_text="AccessDeniedException")
    expect(row).to_contain_text("ScheduleKeyDeletion")
    # Tab to the row's toggle and open the record with Enter.
    focus(page, toggle(row))
    page.keyboard.press("Enter")
    expect(page.get_by_text('"errorCode": "AccessDeniedException"')).to_be_visible()
    shot(page, "event-history-errors-only", widths=(1280, 1024))


def test_without_javascript_the_filters_and_rows_still_work(browser: Browser, live_server, audited_key):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1024, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server.url)
        page.goto(f"{live_server.url}/cloudtrail/event-history/")
        page.get_by_label("Event name").select_option("ImportKeyMaterial")
        page.get_by_role("button", name="Apply filters").click()
        expect(page).to_have_url(re.compile("event_name=ImportKeyMaterial"))
        expect(event_rows(page)).to_have_count(1)
        toggle(event_rows(page).first).click()
        expect(page.get_by_text('"eventName": "ImportKeyMaterial"')).to_be_visible()
        with page.expect_download() as download:
            page.get_by_role("link", name="Download events").click()
        assert download.value.suggested_filename == "event_history.json"
    finally:
        context.close()
