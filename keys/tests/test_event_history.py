"""The Event history page (CloudTrail's console look): who did what to which key, what was refused, and the download."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keys import crypto, selectors
from keys.errors import KmsError
from keys.models import AuditEvent, ConsolePreferences
from keys.services import cryptographic, importing
from keys.services import keys as key_service
from keys.services.gate import Actor
from keys.tests.helpers import ACCOUNT, console_policy, import_wrapped, parameters, signed_in, wrap

pytestmark = pytest.mark.django_db

URL = "/cloudtrail/event-history/"
DOWNLOAD = "/cloudtrail/event-history/download/"
REGION = "us-west-2"
EXTERNAL_ACCOUNT = "444455556666"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def imported_key(admin):
    """The documented procedure through the services: an External key with imported material."""
    key = key_service.create_key(admin, origin="EXTERNAL", policy_text=console_policy(), alias="alias/byok")
    params, token = parameters(admin, key)
    import_wrapped(admin, key, token, wrap(params, crypto.generate_key_material()))
    return key


@pytest.fixture
def denied(kms_user, imported_key):
    """KMSUser, only a user of the key, tries Schedule key deletion: AccessDeniedException, audited."""
    with pytest.raises(KmsError) as caught:
        key_service.schedule_key_deletion(kms_user, key_id=imported_key.key_id, pending_window_days=7)
    assert caught.value.code == "AccessDeniedException"
    return caught.value


@pytest.fixture
def admin_client(demo):
    return signed_in(demo["Admin"])


def cells(response) -> list[list[str]]:
    """The text of each event row's cells, as the page shows them (tags stripped, whitespace collapsed)."""
    body = response.content.decode()
    rows = []
    for chunk in body.split('<tr class="event__row">')[1:]:
        row = chunk.split("</tr>", 1)[0]
        texts = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        rows.append([html.unescape(" ".join(text.split())) for text in texts])
    return rows


def event_names(response) -> list[str]:
    return [row[2] for row in cells(response)]


def download(client, **params) -> dict:
    response = client.get(DOWNLOAD, {"region": REGION, **params})
    assert response.status_code == 200
    return json.loads(b"".join(response.streaming_content))


# ---------------------------------------------------------------- the page and its table


def test_page_needs_a_signed_in_user(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


def test_services_menu_links_event_history(admin_client):
    page = admin_client.get("/iam/encryption-keys/").content.decode()
    assert f'<a href="{URL}">Event history</a>' in page


def test_table_shows_who_did_what_to_which_key_newest_first(admin_client, imported_key, denied):
    response = admin_client.get(URL, {"region": REGION})
    assert response.status_code == 200
    page = response.content.decode()
    assert '<h1 class="page-header__title">Event history</h1>' in page
    for header in ("Event time (UTC)", "User name", "Event name", "Resource name", "Error code"):
        assert f'<th scope="col">{header}</th>' in page
    rows = cells(response)
    assert [row[2] for row in rows] == [
        "ScheduleKeyDeletion",
        "ImportKeyMaterial",
        "GetParametersForImport",
        "CreateAlias",
        "CreateKey",
    ]
    refused = rows[0]
    assert refused[1] == "KMSUser" and refused[3] == imported_key.key_id and refused[4] == "AccessDeniedException"
    assert all(row[1] == "Admin" and row[4] == "" for row in rows[1:])
    assert '<span class="status status--error event__error">AccessDeniedException</span>' in page
    # Times in UTC, as CloudTrail writes them; each row's toggle shows the record's eventTime.
    event = AuditEvent.objects.get(event_name="ImportKeyMaterial")
    assert f'<time datetime="{event.event_time.isoformat()}">{event.event_time:%b %d, %Y, %H:%M:%S}</time>' in page


def test_each_row_expands_to_its_full_cloudtrail_record(admin_client, imported_key):
    page = admin_client.get(URL, {"region": REGION}).content.decode()
    event = AuditEvent.objects.get(event_name="ImportKeyMaterial")
    assert f'<summary aria-controls="record-{event.event_id}">' in page
    record = re.search(rf'<tr class="event__record" id="record-{event.event_id}">.*?<pre[^>]*>(.*?)</pre>', page, re.S)
    assert json.loads(html.unescape(record.group(1))) == event.record
    assert '"eventName": "ImportKeyMaterial"' in html.unescape(record.group(1))  # pretty printed


def test_resource_name_links_to_the_key_while_it_exists_and_is_plain_text_after_deletion(
    admin_client, admin, imported_key
):
    detail = f"/iam/encryption-keys/{REGION}/{imported_key.key_id}/"
    assert f'<a class="mono" href="{detail}">{imported_key.key_id}</a>' in admin_client.get(URL).content.decode()

    key_service.schedule_key_deletion(admin, key_id=imported_key.key_id, pending_window_days=7)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=8), tick=False):
        response = admin_client.get(URL, {"region": REGION})
    page = response.content.decode()
    assert detail not in page
    assert f'<span class="mono">{imported_key.key_id}</span>' in page
    newest = cells(response)[0]
    assert newest[1:4] == ["AWS Internal", "DeleteKey", imported_key.key_id]


def test_expired_material_shows_the_service_event_at_once(admin_client, admin):
    key = key_service.create_key(admin, origin="EXTERNAL", policy_text=console_policy())
    params, token = parameters(admin, key)
    valid_to = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    import_wrapped(
        admin,
        key,
        token,
        wrap(params, crypto.generate_key_material()),
        expiration_model=importing.EXPIRES,
        valid_to=valid_to,
    )
    with time_machine.travel(valid_to + dt.timedelta(minutes=1), tick=False):
        rows = cells(admin_client.get(URL, {"region": REGION}))
    assert rows[0][1:4] == ["AWS Internal", "DeleteExpiredKeyMaterial", key.key_id]


def test_user_names_of_root_and_of_a_caller_from_another_account(admin_client, admin, external_user):
    shared = key_service.create_key(admin, policy_text=console_policy(external_accounts=[EXTERNAL_ACCOUNT]))
    cryptographic.encrypt(external_user, key_id=shared.arn, plaintext=b"x")
    root = Actor(account_id=ACCOUNT, principal_arn=f"arn:aws:iam::{ACCOUNT}:root", region=REGION, principal_type="Root")
    key_service.describe_key(root, key_id=shared.key_id)
    rows = cells(admin_client.get(URL, {"region": REGION}))
    assert rows[0][1:3] == ["root", "DescribeKey"]
    assert rows[1][1:3] == [f"ExternalUser (account {EXTERNAL_ACCOUNT})", "Encrypt"]


def test_description_and_tags_come_back_escaped_in_the_record(admin_client, admin):
    key_service.create_key(admin, description="<script>alert(1)</script>", tags=[("t", '"><img src=x onerror=1>')])
    page = admin_client.get(URL, {"region": REGION}).content.decode()
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# ---------------------------------------------------------------- account and Region scoping


def test_other_account_sees_none_of_this_accounts_events_even_with_a_key_id_filter(demo, imported_key, denied):
    outsider = signed_in(demo["ExternalUser"])
    for params in ({}, {"key_id": imported_key.key_id}, {"key_id": imported_key.arn}, {"user_name": "KMSUser"}):
        response = outsider.get(URL, {"region": REGION, **params})
        assert response.status_code == 200
        assert cells(response) == []
        page = response.content.decode()
        assert 'class="event__record"' not in page and "ScheduleKeyDeletion" not in page
        assert "There are no events" in page or "match these filters" in page
        assert download(outsider, **params) == {"Records": []}
    # Not even the names of this account's events are offered in the Event name list.
    assert "ImportKeyMaterial" not in outsider.get(URL, {"region": REGION}).content.decode()


def test_other_account_sees_its_own_events(demo, external_user):
    key_service.list_keys(external_user)
    response = signed_in(demo["ExternalUser"]).get(URL, {"region": REGION})
    assert [row[1:3] for row in cells(response)] == [["ExternalUser", "ListKeys"]]


def test_events_are_regional_and_the_chosen_region_is_saved(demo, admin, admin_client, imported_key):
    key_service.create_key(admin.in_region("eu-west-1"), alias="alias/dublin")
    assert set(event_names(admin_client.get(URL, {"region": "eu-west-1"}))) == {"CreateKey", "CreateAlias"}
    assert ConsolePreferences.objects.get(principal=demo["Admin"]).region == "eu-west-1"
    # Without ?region= the saved one is shown; an unknown Region falls back to it too.
    assert "Events in Europe (Ireland)" in admin_client.get(URL).content.decode()
    assert "Events in Europe (Ireland)" in admin_client.get(URL, {"region": "mars-north-1"}).content.decode()
    assert "ImportKeyMaterial" in event_names(admin_client.get(URL, {"region": REGION}))


# ---------------------------------------------------------------- filters


def test_event_name_filter_offers_the_names_present_and_narrows_the_table(admin_client, imported_key):
    response = admin_client.get(URL, {"region": REGION})
    page = response.content.decode()
    for name in ("CreateAlias", "CreateKey", "GetParametersForImport", "ImportKeyMaterial"):
        assert f'<option value="{name}">{name}</option>' in page
    assert '<option value="Encrypt">' not in page
    response = admin_client.get(URL, {"region": REGION, "event_name": "ImportKeyMaterial"})
    assert event_names(response) == ["ImportKeyMaterial"]
    assert '<option value="ImportKeyMaterial" selected>' in response.content.decode()


def test_key_id_filter_accepts_the_key_id_or_its_arn(admin_client, admin, imported_key):
    other = key_service.create_key(admin)
    for value in (imported_key.key_id, imported_key.arn, imported_key.key_id.upper()):
        response = admin_client.get(URL, {"region": REGION, "key_id": value})
        rows = cells(response)
        assert rows and {row[3] for row in rows} == {imported_key.key_id}
    assert {row[3] for row in cells(admin_client.get(URL, {"region": REGION, "key_id": other.key_id}))} == {
        other.key_id
    }


def test_key_id_filter_refuses_what_is_not_a_key_id_or_arn(admin_client, imported_key):
    response = admin_client.get(URL, {"region": REGION, "key_id": "alias/byok"})
    assert response.status_code == 400
    page = response.content.decode()
    message = "Enter a key ID, such as 1234abcd-12ab-34cd-56ef-1234567890ab, or a key ARN."
    assert f'<p class="field__error" id="key-id-error">{message}</p>' in page
    assert 'aria-invalid="true" aria-describedby="key-id-error"' in page
    assert f"Key ID: {message}" in page
    assert cells(response) == [] and "Download events" not in page
    assert admin_client.get(DOWNLOAD, {"region": REGION, "key_id": "alias/byok"}).status_code == 400


def test_user_name_filter(admin_client, admin, kms_user, imported_key, denied):
    assert {row[1] for row in cells(admin_client.get(URL, {"user_name": "KMSUser"}))} == {"KMSUser"}
    assert len(cells(admin_client.get(URL, {"user_name": "admin"}))) == 4  # IAM user names ignore case
    assert cells(admin_client.get(URL, {"user_name": "KMS"})) == []  # the whole name, not part of it
    root = Actor(account_id=ACCOUNT, principal_arn=f"arn:aws:iam::{ACCOUNT}:root", region=REGION, principal_type="Root")
    key_service.list_keys(root)
    assert [row[1:3] for row in cells(admin_client.get(URL, {"user_name": "root"}))] == [["root", "ListKeys"]]


def test_errors_only_shows_the_access_denied_exception_of_kms_user(admin_client, kms_user, imported_key, denied):
    cryptographic.encrypt(kms_user, key_id=imported_key.key_id, plaintext=b"allowed")
    response = admin_client.get(URL, {"region": REGION, "errors_only": "on"})
    assert [row[1:] for row in cells(response)] == [
        ["KMSUser", "ScheduleKeyDeletion", imported_key.key_id, "AccessDeniedException"]
    ]
    page = response.content.decode()
    assert '<input type="checkbox" name="errors_only" value="on" checked>' in page
    record = download(admin_client, errors_only="on")["Records"][0]
    assert record["errorCode"] == "AccessDeniedException"
    assert record["errorMessage"] == denied.message
    assert record["userIdentity"]["userName"] == "KMSUser"


def test_filters_combine(admin_client, kms_user, imported_key, denied):
    params = {"region": REGION, "key_id": imported_key.key_id, "user_name": "Admin", "errors_only": "on"}
    assert cells(admin_client.get(URL, params)) == []
    assert "No events in US West (Oregon) match these filters." in admin_client.get(URL, params).content.decode()
    params["user_name"] = "KMSUser"
    assert event_names(admin_client.get(URL, params)) == ["ScheduleKeyDeletion"]


# ---------------------------------------------------------------- pagination and query counts


def make_events(actor, key, count: int) -> None:
    for _ in range(count):
        key_service.describe_key(actor, key_id=key.key_id)


def links(response) -> dict[str, str]:
    """The Previous and Next links of the table's pagination."""
    found = re.findall(
        r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#event-table"[^>]*>(Previous|Next)</a>', response.content.decode()
    )
    return {label: html.unescape(href) for href, label in found}


def test_keyset_pages_walk_every_event_once_even_when_times_are_equal(admin_client, admin):
    key = key_service.create_key(admin)
    with time_machine.travel(dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        make_events(admin, key, 120)  # all at the same instant: the event ID breaks the ties
    expected = list(
        AuditEvent.objects.filter(account_id=ACCOUNT, region=REGION)
        .order_by("-event_time", "-event_id")
        .values_list("event_id", flat=True)
    )
    seen: list[str] = []
    response = admin_client.get(URL, {"region": REGION})
    pages = [response]
    assert "Previous" not in links(response)
    while "Next" in links(response):
        response = admin_client.get(links(response)["Next"])
        pages.append(response)
    for page in pages:
        seen += [row.event_id for row in page.context["page"].rows]
    assert seen == expected and len(pages) == 3  # 122 events: 50, 50, 22
    assert "Next" not in links(pages[-1])
    # Previous goes back the same way.
    back = admin_client.get(links(pages[-1])["Previous"])
    assert [row.event_id for row in back.context["page"].rows] == expected[50:100]
    first = admin_client.get(links(back)["Previous"])
    assert [row.event_id for row in first.context["page"].rows] == expected[:50]
    assert "Previous" not in links(first)


def test_pages_keep_the_filters(admin_client, admin, imported_key):
    make_events(admin, imported_key, 60)
    response = admin_client.get(URL, {"region": REGION, "event_name": "DescribeKey", "key_id": imported_key.key_id})
    following = links(response)["Next"]
    assert "event_name=DescribeKey" in following and f"key_id={imported_key.key_id}" in following
    assert event_names(admin_client.get(following)) == ["DescribeKey"] * 10


def test_a_malformed_cursor_shows_the_first_page(admin_client, imported_key):
    for cursor in ("nonsense", "2025-01-01T00:00:00|x", "|", "2025-13-01T00:00:00+00:00|abc"):
        response = admin_client.get(URL, {"region": REGION, "after": cursor, "before": cursor})
        assert response.status_code == 200 and len(cells(response)) == 4


def queries_of(client, path: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
        if response.streaming:
            b"".join(response.streaming_content)
        assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "params",
    [{}, {"errors_only": "on", "user_name": "KMSUser"}, {"event_name": "DescribeKey", "after": "cursor"}],
)
def test_query_count_is_the_same_for_10_and_1000_events(admin_client, admin, kms_user, params):
    keys = [key_service.create_key(admin, policy_text=console_policy(external=False)) for _ in range(4)]
    for key in keys:
        make_events(admin, key, 2)
    if "after" in params:  # the second page of the filtered events
        newest = AuditEvent.objects.order_by("-event_time").first()
        params = {**params, "after": selectors.EventCursor(newest.event_time, newest.event_id).encode()}
    small = queries_of(admin_client, URL, {"region": REGION, **params})
    small_download = queries_of(admin_client, DOWNLOAD, {"region": REGION, **params})
    for index in range(990):
        key = keys[index % len(keys)]
        if index % 10 == 0:
            with pytest.raises(KmsError):
                key_service.schedule_key_deletion(kms_user, key_id=key.key_id)
        else:
            key_service.describe_key(admin, key_id=key.key_id)
    assert AuditEvent.objects.filter(account_id=ACCOUNT, region=REGION).count() >= 1000
    assert queries_of(admin_client, URL, {"region": REGION, **params}) == small
    assert queries_of(admin_client, DOWNLOAD, {"region": REGION, **params}) == small_download


# ---------------------------------------------------------------- download


def test_download_is_a_cloudtrail_log_file_of_the_filtered_events(admin_client, imported_key, denied):
    response = admin_client.get(DOWNLOAD, {"region": REGION})
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="event_history.json"'
    log = json.loads(b"".join(response.streaming_content))
    assert list(log) == ["Records"]
    assert [r["eventName"] for r in log["Records"]] == [
        "ScheduleKeyDeletion",
        "ImportKeyMaterial",
        "GetParametersForImport",
        "CreateAlias",
        "CreateKey",
    ]
    assert log["Records"] == [
        event.record for event in AuditEvent.objects.filter(account_id=ACCOUNT).order_by("-event_time", "-event_id")
    ]
    for record in log["Records"]:
        assert {"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion"} <= set(record)
    narrowed = download(admin_client, event_name="ImportKeyMaterial")
    assert [r["eventName"] for r in narrowed["Records"]] == ["ImportKeyMaterial"]


def test_the_page_links_the_download_of_what_it_shows(admin_client, imported_key):
    page = admin_client.get(URL, {"region": REGION, "key_id": imported_key.arn, "errors_only": "on"}).content.decode()
    href = f"{DOWNLOAD}?region={REGION}&amp;key_id={imported_key.key_id}&amp;errors_only=on"
    assert f'<a class="btn" href="{href}" download' in page


def test_download_holds_at_most_the_limit_newest_first(admin, imported_key):
    make_events(admin, imported_key, 30)
    records = list(selectors.event_history_records(ACCOUNT, REGION, limit=7))
    newest = list(AuditEvent.objects.order_by("-event_time", "-event_id").values_list("event_id", flat=True)[:7])
    assert [r["eventID"] for r in records] == newest
    assert selectors.EVENT_DOWNLOAD_LIMIT == 10_000


# ---------------------------------------------------------------- no key material, anywhere


SECRET_NAMES = {"plaintext", "importtoken", "encryptedkeymaterial", "keymaterial", "ciphertextblob", "privatekey"}


def names_in(value) -> set[str]:
    if isinstance(value, dict):
        return {k.lower() for k in value} | set().union(*(names_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(names_in(v) for v in value)) if value else set()
    return set()


def encodings(secret: bytes) -> list[str]:
    return [base64.b64encode(secret).decode(), secret.hex(), base64.urlsafe_b64encode(secret).decode().rstrip("=")]


def test_records_of_import_encrypt_and_generate_data_key_carry_no_key_material(admin_client, admin):
    key = key_service.create_key(admin, origin="EXTERNAL", policy_text=console_policy())
    params, token = parameters(admin, key)
    material = crypto.generate_key_material()
    wrapped = wrap(params, material)
    import_wrapped(admin, key, token, wrapped)
    plaintext = b"the auditors must never see this"
    ciphertext = cryptographic.encrypt(admin, key_id=key.key_id, plaintext=plaintext)["CiphertextBlob"]
    data_key = cryptographic.generate_data_key(admin, key_id=key.key_id, key_spec="AES_256")
    secrets = [material, bytes(wrapped), bytes(token), plaintext, data_key["Plaintext"]]

    page = admin_client.get(URL, {"region": REGION}).content.decode()
    log = json.dumps(download(admin_client))
    for name in ("ImportKeyMaterial", "Encrypt", "GenerateDataKey"):
        record = AuditEvent.objects.get(event_name=name).record
        assert not names_in(record) & SECRET_NAMES, name
        text = json.dumps(record)
        for secret in [*secrets, bytes(ciphertext), bytes(data_key["CiphertextBlob"])]:
            assert not any(encoded in text for encoded in encodings(secret)), name
    for secret in secrets:
        for encoded in encodings(secret):
            assert encoded not in page and encoded not in log
    assert plaintext.decode() not in page and plaintext.decode() not in log


# ---------------------------------------------------------------- no JavaScript, and htmx


def test_without_javascript_the_filter_form_is_a_plain_get_form(admin_client, imported_key, denied):
    page = admin_client.get(URL, {"region": REGION}).content.decode()
    form = re.search(
        r'<form method="get" action="/cloudtrail/event-history/" class="event-filters".*?</form>', page, re.S
    )
    assert form is not None
    for label, control in (("Event name", "id_event_name"), ("Key ID", "id_key_id"), ("User name", "id_user_name")):
        assert f'<label class="field__label" for="{control}">{label}</label>' in form.group(0)
    assert 'name="errors_only"' in form.group(
        0
    ) and '<button type="submit" class="btn">Apply filters</button>' in form.group(0)
    # Submitting it is a full page that keeps what was typed.
    response = admin_client.get(URL, {"region": REGION, "key_id": imported_key.arn, "user_name": "KMSUser"})
    page = response.content.decode()
    assert "<!DOCTYPE html>" in page
    assert f'value="{imported_key.arn}"' in page and 'value="KMSUser"' in page
    assert event_names(response) == ["ScheduleKeyDeletion"]


def test_htmx_filtering_renders_only_the_table(admin_client, imported_key):
    response = admin_client.get(
        URL, {"region": REGION, "event_name": "CreateKey"}, **HTMX, HTTP_HX_TARGET="event-table"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<section class="panel panel--flush" id="event-table"')
    assert "<html" not in page and 'id="region-select"' not in page and 'class="event-filters"' not in page
    assert event_names(response) == ["CreateKey"]
    assert "HX-Request" in response["Vary"]


def test_htmx_region_change_renders_the_filters_and_table(admin_client, admin, imported_key):
    key_service.create_key(admin.in_region("eu-west-1"))
    response = admin_client.get(URL, {"region": "eu-west-1"}, **HTMX, HTTP_HX_TARGET="event-list")
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="event-list">')
    assert 'class="event-filters"' in page and "<html" not in page
    assert '<option value="ImportKeyMaterial">' not in page  # names present in that Region only
    assert event_names(response) == ["CreateKey"]


def test_htmx_refused_filter_is_shown_in_the_table(admin_client, imported_key):
    response = admin_client.get(URL, {"region": REGION, "key_id": "nope"}, **HTMX, HTTP_HX_TARGET="event-table")
    assert response.status_code == 200  # htmx swaps only 2xx answers
    assert "Key ID: Enter a key ID" in response.content.decode()
    assert 'role="alert"' in response.content.decode()


def test_page_has_no_inline_script_or_style(admin_client, imported_key):
    page = admin_client.get(URL, {"region": REGION}).content.decode()
    assert "style=" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\son[a-z]+=", page)
