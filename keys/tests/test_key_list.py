"""The Encryption keys page: the account's keys of one Region, Filter, pagination, settings panel, query count."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from keys import clock, crypto, policy, states, vault
from keys.models import Alias, ConsolePreferences, Key
from keys.services import directory
from keys.services import keys as key_service
from keys.tests.conftest import DEMO_PASSWORD, actor_for

pytestmark = pytest.mark.django_db

MAIN = "111122223333"
EXTERNAL = "444455556666"
LIST = "/iam/encryption-keys/"
SETTINGS = "/iam/encryption-keys/settings/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin_client(client, demo):
    client.force_login(demo["Admin"].user)
    return client


def rows(html: str) -> int:
    return html.count('name="key_id"')


def bulk_keys(account_id: str, region: str, count: int, *, alias_prefix: str | None = None, **fields) -> list[Key]:
    """Valid keys written straight to the table (for volume): sealed material, a real default policy."""
    policy_text = policy.render_aws_style(policy.default_api_key_policy(account_id))
    start = clock.now()
    keys = []
    for i in range(count):
        key_id = str(uuid.uuid4())
        values = {
            "origin": "AWS_KMS",
            "state": states.ENABLED,
            "sealed_material": vault.seal(crypto.generate_key_material(), context=f"key-material:{key_id}"),
            **fields,
        }
        keys.append(
            Key(
                key_id=key_id,
                account_id=account_id,
                region=region,
                creation_date=start + dt.timedelta(microseconds=i),
                policy=policy_text,
                **values,
            )
        )
    if alias_prefix is not None:
        for i, key in enumerate(keys):
            key.list_alias = f"alias/{alias_prefix}{i:05d}"
    Key.objects.bulk_create(keys, batch_size=1000)
    if alias_prefix is not None:
        Alias.objects.bulk_create(
            [
                Alias(
                    account_id=account_id,
                    region=region,
                    name=f"alias/{alias_prefix}{i:05d}",
                    target_key=key,
                    creation_date=start,
                    last_updated_date=start,
                )
                for i, key in enumerate(keys)
            ],
            batch_size=1000,
        )
    return keys


# ---------------------------------------------------------------- what the table shows


def test_list_shows_alias_key_id_status_and_creation_date(admin_client, admin):
    kms_key = key_service.create_key(admin, alias="alias/example-key")
    external = key_service.create_key(admin, alias="alias/ImportedKey", origin="EXTERNAL")
    html = admin_client.get(LIST, {"region": "us-west-2"}).content.decode()
    assert '<h1 class="page-header__title">Encryption keys</h1>' in html
    for header in ("Alias", "Key ID", "Status", "Creation Date"):
        assert f'<th scope="col">{header}</th>' in html
    assert f'href="/iam/encryption-keys/us-west-2/{kms_key.key_id}/"' in html
    assert f'<td class="mono table__key-id">{external.key_id}</td>' in html
    assert '<span class="status status--pending-import">Pending Import</span>' in html
    assert '<span class="status status--enabled">Enabled</span>' in html
    assert kms_key.creation_date.strftime("%b %-d, %Y") in html
    assert ">ImportedKey</a>" in html and ">example-key</a>" in html
    assert "Expiration Date</th>" not in html and "Origin</th>" not in html


def test_disabled_and_pending_deletion_keys_show_their_status(admin_client, admin):
    disabled = key_service.create_key(admin, alias="alias/off")
    key_service.disable_key(admin, key_id=disabled.key_id)
    doomed = key_service.create_key(admin, alias="alias/doomed")
    key_service.schedule_key_deletion(admin, key_id=doomed.key_id, pending_window_days=7)
    html = admin_client.get(LIST).content.decode()
    assert '<span class="status status--disabled">Disabled</span>' in html
    assert '<span class="status status--pending-deletion">Pending Deletion</span>' in html


def test_users_of_another_account_cannot_see_the_keys(client, demo, admin, external_user):
    mine = key_service.create_key(admin, alias="alias/main-secret")
    theirs = key_service.create_key(external_user, alias="alias/external-own")
    client.force_login(demo["ExternalUser"].user)
    html = client.get(LIST, {"region": "us-west-2"}).content.decode()
    assert theirs.key_id in html
    assert mine.key_id not in html and "main-secret" not in html
    assert "aws/s3" not in html  # the AWS managed keys belong to 111122223333
    assert rows(html) == 1
    client.force_login(demo["Admin"].user)
    html = client.get(LIST, {"region": "us-west-2"}).content.decode()
    assert mine.key_id in html and theirs.key_id not in html


def test_the_list_is_per_region(admin_client, demo, admin):
    west = key_service.create_key(admin, alias="alias/west")
    east = key_service.create_key(actor_for(demo["Admin"], region="us-east-1"), alias="alias/east")
    west_html = admin_client.get(LIST, {"region": "us-west-2"}).content.decode()
    east_html = admin_client.get(LIST, {"region": "us-east-1"}).content.decode()
    assert west.key_id in west_html and east.key_id not in west_html
    assert east.key_id in east_html and west.key_id not in east_html
    assert f'href="/iam/encryption-keys/us-east-1/{east.key_id}/"' in east_html
    assert (
        "There are no keys in Europe (Ireland). Choose Create key to create one."
        in admin_client.get(LIST, {"region": "eu-west-1"}).content.decode()
    )


def test_aws_managed_keys_are_marked_and_cannot_be_selected(admin_client, admin):
    own = key_service.create_key(admin, alias="alias/own")
    aws_s3 = Alias.objects.get(account_id=MAIN, region="us-west-2", name="alias/aws/s3").target_key_id
    html = admin_client.get(LIST, {"region": "us-west-2"}).content.decode()
    aws_row = re.search(rf"<tr>(?:(?!</tr>).)*{aws_s3}(?:(?!</tr>).)*</tr>", html, re.S).group(0)
    own_row = re.search(rf"<tr>(?:(?!</tr>).)*{own.key_id}(?:(?!</tr>).)*</tr>", html, re.S).group(0)
    assert 'alt="AWS managed key"' in aws_row
    assert re.search(r'<input type="checkbox" name="key_id"[^>]*disabled', aws_row)
    assert 'alt="AWS managed key"' not in own_row
    assert not re.search(r'<input type="checkbox" name="key_id"[^>]*disabled', own_row)
    assert ">aws/s3</a>" in aws_row


def test_a_key_without_alias_is_an_empty_link_named_by_its_key_id(admin_client, admin):
    key = key_service.create_key(admin)
    html = admin_client.get(LIST).content.decode()
    assert f'href="/iam/encryption-keys/us-west-2/{key.key_id}/" aria-label="{key.key_id}"></a>' in html


def test_toolbar_has_create_key_and_key_actions_posting_the_selected_keys(admin_client):
    html = admin_client.get(LIST, {"region": "eu-west-1"}).content.decode()
    assert 'href="/iam/encryption-keys/eu-west-1/create/">Create key</a>' in html
    assert '<form method="post" action="/iam/encryption-keys/eu-west-1/actions/" id="key-actions-form">' in html
    for value, label in [
        ("enable", "Enable"),
        ("disable", "Disable"),
        ("schedule-deletion", "Schedule key deletion"),
        ("cancel-deletion", "Cancel key deletion"),
        ("edit-tags", "Add or edit tags"),
        ("delete-key-material", "Delete key material"),
    ]:
        assert re.search(rf'form="key-actions-form"[^>]*name="action" value="{value}">{label}</button>', html)


def test_expired_material_shows_pending_import_at_once(admin_client):
    (key,) = bulk_keys(
        MAIN,
        "us-west-2",
        1,
        alias_prefix="expiring-",
        origin="EXTERNAL",
        expiration_model="KEY_MATERIAL_EXPIRES",
        valid_to=clock.now() - dt.timedelta(minutes=1),
    )
    html = admin_client.get(LIST).content.decode()
    row = re.search(rf"<tr>(?:(?!</tr>).)*{key.key_id}(?:(?!</tr>).)*</tr>", html, re.S).group(0)
    assert "Pending Import" in row
    key.refresh_from_db()
    assert key.state == states.PENDING_IMPORT and key.sealed_material is None


def test_optional_columns_show_expiration_date_and_origin(admin_client, demo, admin):
    directory.set_key_list_columns(demo["Admin"], ["expiration_date", "origin"])
    key_service.create_key(admin, alias="alias/kms-made")
    key_service.create_key(admin, alias="alias/waiting", origin="EXTERNAL")
    valid_to = clock.now() + dt.timedelta(days=30)
    bulk_keys(
        MAIN,
        "us-west-2",
        1,
        alias_prefix="expires-",
        origin="EXTERNAL",
        expiration_model="KEY_MATERIAL_EXPIRES",
        valid_to=valid_to,
    )
    bulk_keys(
        MAIN,
        "us-west-2",
        1,
        alias_prefix="forever-",
        origin="EXTERNAL",
        expiration_model="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    html = admin_client.get(LIST).content.decode()
    assert '<th scope="col">Expiration Date</th>' in html and '<th scope="col">Origin</th>' in html

    def row(alias):
        return re.search(rf"<tr>(?:(?!</tr>).)*>{alias}</a>(?:(?!</tr>).)*</tr>", html, re.S).group(0)

    assert "<td>External</td>" in row("waiting") and "None</span>" in row("waiting")
    assert "<td>AWS</td>" in row("kms-made")
    assert valid_to.strftime("%b %-d, %Y") in row("expires-00000")
    assert "<td>Never</td>" in row("forever-00000")


# ---------------------------------------------------------------- Region


def test_top_bar_reads_global_and_the_page_points_to_its_own_region_selector(admin_client):
    html = admin_client.get(LIST).content.decode()
    assert "<summary>Global</summary>" in html
    assert '<label class="field__label" for="region-select">Region</label>' in html
    assert (
        "Keys are regional. Use the Region selector on this page, not the region selector in the navigation bar."
        in html
    )
    assert '<option value="us-west-2" selected>US West (Oregon)</option>' in html
    assert '<noscript><button type="submit" class="btn">Go</button></noscript>' in html
    assert 'hx-trigger="change"' in html


def test_the_chosen_region_is_saved_for_the_user(admin_client, demo):
    admin_client.get(LIST, {"region": "eu-west-1"})
    assert ConsolePreferences.objects.get(principal=demo["Admin"]).region == "eu-west-1"
    html = admin_client.get(LIST).content.decode()
    assert '<option value="eu-west-1" selected>Europe (Ireland)</option>' in html
    # An unknown Region is not saved and shows the saved one.
    html = admin_client.get(LIST, {"region": "mars-1"}).content.decode()
    assert '<option value="eu-west-1" selected>' in html
    assert ConsolePreferences.objects.get(principal=demo["Admin"]).region == "eu-west-1"


def test_a_region_change_with_htmx_renders_the_list_part_only(admin_client):
    response = admin_client.get(LIST, {"region": "eu-west-1"}, HTTP_HX_TARGET="key-list", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="key-list">')
    assert "<html" not in html and "region-select" not in html
    assert "/iam/encryption-keys/eu-west-1/create/" in html
    assert "HX-Request" in response["Vary"]


# ---------------------------------------------------------------- Filter


def test_filter_matches_all_or_part_of_the_alias_ignoring_case(admin_client, admin):
    key_service.create_key(admin, alias="alias/Finance-Prod")
    key_service.create_key(admin, alias="alias/finance-dev")
    key_service.create_key(admin, alias="alias/marketing")
    key_service.create_key(admin)

    def aliases(text):
        html = admin_client.get(LIST, {"filter": text}).content.decode()
        return sorted(re.findall(r'class="table__alias-link" href="[^"]+">([^<]+)</a>', html))

    assert aliases("FINANCE") == ["Finance-Prod", "finance-dev"]
    assert aliases("alias/fin") == ["Finance-Prod", "finance-dev"]
    assert aliases("dev") == ["finance-dev"]
    assert aliases("marketing") == ["marketing"]
    assert aliases("aws/") == ["aws/ebs", "aws/s3"]
    assert aliases("%") == []
    assert len(aliases("")) == 5  # all keys with aliases: 3 + 2 AWS managed (the no-alias key has no name)


def test_filter_text_is_echoed_escaped(admin_client):
    payload = '"><script>alert(1)</script>'
    html = admin_client.get(LIST, {"filter": payload}).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'value="&quot;&gt;&lt;script&gt;' in html
    assert "have an alias that matches" in html


def test_a_description_cannot_inject_markup(admin_client, admin):
    key_service.create_key(admin, alias="alias/xss", description='<img src=x onerror="alert(1)"><script>x()</script>')
    html = admin_client.get(LIST).content.decode()
    assert "onerror" not in html and "<script>x()" not in html


def test_filter_with_htmx_renders_the_table_only(admin_client, admin):
    key_service.create_key(admin, alias="alias/needle")
    response = admin_client.get(LIST, {"filter": "need", "region": "us-west-2"}, HTTP_HX_TARGET="key-table", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="panel panel--flush" id="key-table"')
    assert ">needle</a>" in html and "aws/s3" not in html
    assert "<html" not in html


# ---------------------------------------------------------------- pagination


def test_pagination_pages_by_50_and_keeps_region_and_filter(admin_client):
    bulk_keys(MAIN, "us-east-1", 120, alias_prefix="k-")
    bulk_keys(MAIN, "us-east-1", 3, alias_prefix="other-")
    first = admin_client.get(LIST, {"region": "us-east-1", "filter": "k-"}).content.decode()
    assert rows(first) == 50
    assert "Viewing 1 to 50 of 120 keys" in first
    assert ">k-00000</a>" in first and ">k-00049</a>" in first and ">k-00050</a>" not in first
    assert 'href="/iam/encryption-keys/?region=us-east-1&amp;filter=k-&amp;page=2"' in first
    assert '<span class="pagination__disabled">Previous</span>' in first
    second = admin_client.get(LIST, {"region": "us-east-1", "filter": "k-", "page": 2}).content.decode()
    assert ">k-00050</a>" in second and "Viewing 51 to 100 of 120 keys" in second
    assert 'href="/iam/encryption-keys/?region=us-east-1&amp;filter=k-"' in second  # Previous, page 1
    third = admin_client.get(LIST, {"region": "us-east-1", "filter": "k-", "page": 3}).content.decode()
    assert rows(third) == 20 and '<span class="pagination__disabled">Next</span>' in third
    beyond = admin_client.get(LIST, {"region": "us-east-1", "filter": "k-", "page": 99}).content.decode()
    assert "Viewing 101 to 120 of 120 keys" in beyond
    garbage = admin_client.get(LIST, {"region": "us-east-1", "page": "abc"}).content.decode()
    assert "Viewing 1 to 50 of 123 keys" in garbage


def test_key_list_query_count_does_not_grow_with_the_number_of_keys(admin_client):
    region = "ap-south-1"
    bulk_keys(MAIN, region, 5, alias_prefix="few-")
    bulk_keys(MAIN, region, 5)
    url = f"{LIST}?region={region}"
    admin_client.get(url)  # the first visit saves the Region

    def queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as ctx:
            response = admin_client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    with_10, html = queries()
    assert rows(html) == 10
    bulk_keys(MAIN, region, 5_000, alias_prefix="many-")
    bulk_keys(MAIN, region, 4_990)
    with_10_000, html = queries()
    assert rows(html) == 50
    assert "Viewing 1 to 50 of 10000 keys" in html
    assert with_10_000 == with_10, (with_10, with_10_000)
    assert with_10 <= 12, "a handful: session, user, principal, preferences, due events, count, page"


# ---------------------------------------------------------------- the settings panel


def test_settings_button_is_a_real_form_without_javascript(admin_client):
    html = admin_client.get(LIST, {"region": "us-west-2", "filter": "x"}).content.decode()
    assert re.search(r'<button type="submit" class="btn btn--icon" aria-label="Settings"', html)
    assert 'hx-get="/iam/encryption-keys/?region=us-west-2&amp;filter=x&amp;settings=1"' in html
    assert '<input type="hidden" name="settings" value="1">' in html
    assert 'action="/iam/encryption-keys/settings/"' not in html  # the panel is closed


def test_settings_flow_without_javascript_posts_and_redirects_back(admin_client, demo):
    panel = admin_client.get(LIST, {"region": "eu-west-1", "filter": "abc", "settings": 1}).content.decode()
    assert '<form method="post" action="/iam/encryption-keys/settings/"' in panel
    assert re.search(
        r'<input type="checkbox" name="columns" value="expiration_date"[^>]*> Expiration Date</label>', panel
    )
    assert re.search(r'<input type="checkbox" name="columns" value="origin"[^>]*> Origin</label>', panel)
    assert '<button type="submit" class="btn btn--primary">Close</button>' in panel
    response = admin_client.post(
        SETTINGS, {"region": "eu-west-1", "filter": "abc", "columns": ["expiration_date", "origin"]}
    )
    assert response.status_code == 302
    assert response["Location"] == "/iam/encryption-keys/?region=eu-west-1&filter=abc"
    html = admin_client.get(response["Location"]).content.decode()
    assert '<th scope="col">Expiration Date</th>' in html and '<th scope="col">Origin</th>' in html
    assert ConsolePreferences.objects.get(principal=demo["Admin"]).key_list_columns == ["expiration_date", "origin"]
    # Unticking both and closing hides them again.
    admin_client.post(SETTINGS, {"region": "eu-west-1"})
    html = admin_client.get(LIST).content.decode()
    assert "Expiration Date</th>" not in html and "Origin</th>" not in html


def test_settings_panel_shows_the_saved_choice(admin_client, demo):
    directory.set_key_list_columns(demo["Admin"], ["origin"])
    panel = admin_client.get(LIST, {"settings": 1}).content.decode()
    assert re.search(r'value="origin" checked', panel)
    assert not re.search(r'value="expiration_date" checked', panel)


def test_settings_flow_with_htmx_returns_only_the_partials(admin_client):
    opened = admin_client.get(LIST, {"region": "us-west-2", "settings": 1}, HTTP_HX_TARGET="settings-slot", **HTMX)
    panel = opened.content.decode()
    assert panel.lstrip().startswith('<form method="post" action="/iam/encryption-keys/settings/" class="popover"')
    assert 'hx-post="/iam/encryption-keys/settings/" hx-target="#key-table" hx-swap="outerHTML"' in panel
    assert "<html" not in panel and "<table" not in panel
    assert "HX-Request" in opened["Vary"]

    closed = admin_client.post(SETTINGS, {"region": "us-west-2", "columns": ["origin"]}, **HTMX)
    table = closed.content.decode()
    assert closed.status_code == 200
    assert table.lstrip().startswith('<section class="panel panel--flush" id="key-table"')
    assert '<th scope="col">Origin</th>' in table and "Expiration Date</th>" not in table
    assert "<html" not in table and "region-select" not in table and "Show/Hide Columns" not in table
    assert re.search(r'aria-label="Settings"[^>]*autofocus', table)  # focus returns to the gear
    assert "HX-Request" in closed["Vary"]


def test_settings_persist_across_sign_out_and_sign_in(demo):
    client = Client()
    credentials = {"account": MAIN, "user_name": "KMSUser", "password": DEMO_PASSWORD}
    assert client.post("/signin/", credentials).status_code == 302
    client.post(SETTINGS, {"region": "us-west-2", "columns": ["expiration_date", "origin"]})
    client.post("/signout/")
    assert client.get(LIST).status_code == 302
    assert client.post("/signin/", credentials).status_code == 302
    html = client.get(LIST).content.decode()
    assert '<th scope="col">Expiration Date</th>' in html and '<th scope="col">Origin</th>' in html
    # Another user has their own settings.
    other = Client()
    other.post("/signin/", {**credentials, "user_name": "KMSAdminUser"})
    assert "Origin</th>" not in other.get(LIST).content.decode()


def test_settings_refuse_an_unknown_column(admin_client, demo):
    response = admin_client.post(SETTINGS, {"region": "us-west-2", "columns": ["origin", "password"]})
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    saved = ConsolePreferences.objects.filter(principal=demo["Admin"]).values_list("key_list_columns", flat=True)
    assert list(saved) in ([], [[]])


def test_settings_post_without_csrf_token_is_refused(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo["Admin"].user)
    assert client.get(LIST).status_code == 200
    response = client.post(SETTINGS, {"region": "us-west-2", "columns": ["origin"]})
    assert response.status_code == 403
    assert "Origin</th>" not in client.get(LIST).content.decode()


def test_settings_need_sign_in_and_a_post(client, demo):
    assert client.post(SETTINGS, {"columns": ["origin"]})["Location"].startswith("/signin/")
    client.force_login(demo["Admin"].user)
    assert client.get(SETTINGS).status_code == 405
