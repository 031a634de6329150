"""The key details page: what it shows, what it offers, and its editors (description, policy, tags)."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from django.urls import reverse
from django.utils.html import escape

from keys import clock, policy, states
from keys.models import Alias, AuditEvent, Key
from keys.services import importing
from keys.services import keys as key_service
from keys.tests.conftest import REGION
from keys.tests.helpers import console_policy, import_material, signed_in

pytestmark = pytest.mark.django_db

# ---------------------------------------------------------------- helpers shared with test_key_actions


# kind: (origin, has material, state to reach)
KINDS = {
    "kms-enabled": ("AWS_KMS", True, states.ENABLED),
    "kms-disabled": ("AWS_KMS", True, states.DISABLED),
    "kms-pending-deletion": ("AWS_KMS", True, states.PENDING_DELETION),
    "external-pending-import": ("EXTERNAL", False, states.PENDING_IMPORT),
    "external-enabled": ("EXTERNAL", True, states.ENABLED),
    "external-disabled": ("EXTERNAL", True, states.DISABLED),
    "external-pending-deletion-with-material": ("EXTERNAL", True, states.PENDING_DELETION),
    "external-pending-deletion-without-material": ("EXTERNAL", False, states.PENDING_DELETION),
}


def make_key(kind: str, demo, actor, *, alias: str | None = None) -> Key:
    """A key of one kind of the table, built through the services as a trainee would."""
    if kind == "aws-managed":
        return Alias.objects.get(account_id="111122223333", region=REGION, name="alias/aws/s3").target_key
    origin, material, state = KINDS[kind]
    key = key_service.create_key(
        actor,
        origin=origin,
        alias=alias or f"alias/{kind}",
        policy_text=console_policy(external=origin == "EXTERNAL"),
    )
    if origin == "EXTERNAL" and material:
        import_material(actor, key, os.urandom(32), valid_to=clock.now() + dt.timedelta(days=90))
    if state == states.DISABLED:
        key_service.disable_key(actor, key_id=key.key_id)
    if state == states.PENDING_DELETION:
        key_service.schedule_key_deletion(actor, key_id=key.key_id, pending_window_days=30)
    key.refresh_from_db()
    assert key.state == state and key.has_material == material
    return key


def detail(key: Key) -> str:
    return reverse("console:key-detail", kwargs={"region": key.region, "key_id": key.key_id})


def html(response) -> str:
    return response.content.decode()


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def external_key(demo, kms_admin):
    return make_key("external-pending-import", demo, kms_admin, alias="alias/byok")


# ---------------------------------------------------------------- the summary


def test_summary_shows_alias_arn_id_status_origin_dates_and_expiration(kms_admin_client, demo, kms_admin):
    key = make_key("external-enabled", demo, kms_admin, alias="alias/imported")

    page = html(kms_admin_client.get(detail(key)))

    assert "imported" in page
    assert key.arn in page and key.key_id in page
    assert '<span class="status status--enabled">Enabled</span>' in page
    assert "<dt>Origin</dt><dd>External</dd>" in page
    assert f"{key.creation_date:%b} {key.creation_date.day}, {key.creation_date.year}" in page
    assert f"{key.valid_to:%b} {key.valid_to.day}, {key.valid_to.year}" in page
    assert "Key Material" in page


def test_summary_of_material_that_does_not_expire_says_so(kms_admin_client, external_key, kms_admin):
    import_material(kms_admin, external_key, os.urandom(32))

    assert "This key material does not expire" in html(kms_admin_client.get(detail(external_key)))


def test_a_pending_deletion_key_shows_its_deletion_date(kms_admin_client, demo, kms_admin):
    key = make_key("kms-pending-deletion", demo, kms_admin)

    page = html(kms_admin_client.get(detail(key)))

    assert "Pending Deletion" in page
    assert "<dt>Deletion date</dt>" in page
    assert f"{key.deletion_date:%b} {key.deletion_date.day}, {key.deletion_date.year}" in page


def test_aws_origin_keys_have_no_key_material_section(kms_admin_client, demo, kms_admin):
    key = make_key("kms-enabled", demo, kms_admin)

    page = html(kms_admin_client.get(detail(key)))

    assert "<dt>Origin</dt><dd>AWS</dd>" in page
    assert "Key Material</h2>" not in page
    assert "Download wrapping key and import token" not in page


def test_the_list_reaches_the_page_by_alias(kms_admin_client, external_key):
    listing = html(kms_admin_client.get(reverse("console:encryption-keys") + f"?region={REGION}"))

    assert detail(external_key) in listing


# ---------------------------------------------------------------- what the page offers


OFFERED = {
    "kms-enabled": {"disable", "schedule-deletion", "edit-tags"},
    "kms-disabled": {"enable", "schedule-deletion", "edit-tags"},
    "kms-pending-deletion": {"cancel-deletion"},
    "external-pending-import": {"schedule-deletion", "edit-tags"},
    "external-enabled": {"disable", "schedule-deletion", "delete-key-material", "edit-tags"},
    "external-disabled": {"enable", "schedule-deletion", "delete-key-material", "edit-tags"},
    "external-pending-deletion-with-material": {"cancel-deletion", "delete-key-material"},
    "external-pending-deletion-without-material": {"cancel-deletion"},
    "aws-managed": set(),
}
OPERATION = {
    "enable": "EnableKey",
    "disable": "DisableKey",
    "schedule-deletion": "ScheduleKeyDeletion",
    "cancel-deletion": "CancelKeyDeletion",
    "delete-key-material": "DeleteImportedKeyMaterial",
    "edit-tags": "TagResource",
}
LABEL = {
    "enable": "Enable",
    "disable": "Disable",
    "schedule-deletion": "Schedule key deletion",
    "cancel-deletion": "Cancel key deletion",
    "delete-key-material": "Delete key material",
    "edit-tags": "Add or edit tags",
}


@pytest.mark.parametrize("kind", list(OFFERED))
def test_key_actions_offered_are_what_the_key_state_table_allows(client, demo, kms_admin, kind):
    key = make_key(kind, demo, kms_admin)
    user = demo["Admin"] if kind == "aws-managed" else demo["KMSAdminUser"]

    response = signed_in(user, client).get(detail(key))

    offered = {action for action, _label in response.context["actions"]}
    assert offered == OFFERED[kind]
    for action in offered:
        assert states.allowed(OPERATION[action], state=key.state, origin=key.origin)
    menu = html(response).split('<summary class="btn">Key actions</summary>', 1)
    if offered:
        items = menu[1].split("</details>", 1)[0]
        for action in LABEL:
            assert (f">{LABEL[action]}<" in items) is (action in offered), action
    else:
        assert len(menu) == 1  # AWS managed keys: no Key actions menu at all


@pytest.mark.parametrize(
    ("kind", "download", "upload", "delete"),
    [
        ("external-pending-import", True, True, False),
        ("external-enabled", False, False, True),
        ("external-disabled", False, False, True),
        ("external-pending-deletion-with-material", False, False, True),
        ("external-pending-deletion-without-material", False, False, False),
    ],
)
def test_key_material_links_follow_the_state(kms_admin_client, demo, kms_admin, kind, download, upload, delete):
    key = make_key(kind, demo, kms_admin)
    wizard = reverse("console:import-key-material", kwargs={"region": REGION, "key_id": key.key_id})

    page = html(kms_admin_client.get(detail(key)))

    assert (f'href="{wizard}?step=download">Download wrapping key and import token<' in page) is download
    assert (f'href="{wizard}?step=upload">Upload key material<' in page) is upload
    confirm = reverse(
        "console:key-action", kwargs={"region": REGION, "key_id": key.key_id, "action": "delete-key-material"}
    )
    assert (f'href="{confirm}">Delete key material<' in page) is delete


def test_aws_managed_keys_are_read_only(client, demo):
    key = make_key("aws-managed", demo, None)

    page = html(signed_in(demo["Admin"], client).get(detail(key)))

    assert "AWS managed key" in page
    assert "Save Changes" not in page
    assert "Add or edit tags" not in page
    assert "<textarea" not in page
    assert 'class="code-block"' in page  # the policy, to read


# ---------------------------------------------------------------- refusals of the page itself


def test_another_accounts_key_by_url_is_not_found(client, demo, external_user):
    theirs = key_service.create_key(external_user, description="external account's key")

    response = signed_in(demo["KMSAdminUser"], client).get(detail(theirs))

    assert response.status_code == 404
    page = html(response)
    assert "NotFoundException" in page
    assert escape(f"Key 'arn:aws:kms:{REGION}:111122223333:key/{theirs.key_id}' does not exist") in page
    assert "external account&#x27;s key" not in page


def test_an_unknown_key_or_region_is_not_found_never_a_server_error(kms_admin_client):
    missing = reverse("console:key-detail", kwargs={"region": REGION, "key_id": "00000000-0000-0000-0000-000000000000"})
    assert kms_admin_client.get(missing).status_code == 404
    junk = reverse("console:key-detail", kwargs={"region": REGION, "key_id": "not-a-key"})
    assert kms_admin_client.get(junk).status_code == 404
    nowhere = reverse("console:key-detail", kwargs={"region": "xx-nowhere-9", "key_id": "not-a-key"})
    assert kms_admin_client.get(nowhere).status_code == 404


def test_access_denied_is_a_403_page_in_the_apis_words(client, demo, admin):
    key = key_service.create_key(admin, origin="EXTERNAL", alias="alias/admins-only")

    response = signed_in(demo["KMSUser"], client).get(detail(key))

    assert response.status_code == 403
    assert "AccessDeniedException" in html(response)
    assert "is not authorized to perform: kms:DescribeKey" in html(response)


def test_signed_out_visitors_are_sent_to_sign_in(client, external_key):
    response = client.get(detail(external_key))

    assert response.status_code == 302
    assert reverse("console:signin") in response["Location"]


def test_a_key_user_sees_the_key_but_not_its_policy_or_tags(client, demo, external_key):
    page = html(signed_in(demo["KMSUser"], client).get(detail(external_key)))

    assert external_key.arn in page
    assert "is not authorized to perform: kms:GetKeyPolicy" in page
    assert "is not authorized to perform: kms:ListResourceTags" in page
    assert "<textarea" not in page.split('id="key-policy"', 1)[1]


# ---------------------------------------------------------------- description


def test_save_changes_updates_the_description(kms_admin_client, external_key):
    url = reverse("console:key-description", kwargs={"region": REGION, "key_id": external_key.key_id})

    response = kms_admin_client.post(url, {"description": "Imported for the audit"}, follow=True)

    external_key.refresh_from_db()
    assert external_key.description == "Imported for the audit"
    assert "Description saved." in html(response)
    assert AuditEvent.objects.filter(
        event_name="UpdateKeyDescription", key_id=external_key.key_id, error_code=""
    ).exists()


def test_a_description_over_8192_characters_is_refused_and_kept_in_the_box(kms_admin_client, external_key):
    url = reverse("console:key-description", kwargs={"region": REGION, "key_id": external_key.key_id})
    typed = "x" * 8193

    response = kms_admin_client.post(url, {"description": typed})

    assert response.status_code == 400
    assert "ValidationException" in html(response)
    assert typed in html(response)
    external_key.refresh_from_db()
    assert external_key.description == ""


def test_html_in_the_description_is_shown_as_text(kms_admin_client, external_key, kms_admin):
    key_service.update_key_description(kms_admin, key_id=external_key.key_id, description="<script>alert(1)</script>")

    page = html(kms_admin_client.get(detail(external_key)))

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_pending_deletion_key_offers_no_description_editor_and_refuses_one(kms_admin_client, demo, kms_admin):
    key = make_key("external-pending-deletion-without-material", demo, kms_admin)
    url = reverse("console:key-description", kwargs={"region": REGION, "key_id": key.key_id})

    assert 'action="' + url not in html(kms_admin_client.get(detail(key)))
    response = kms_admin_client.post(url, {"description": "late"})

    assert response.status_code == 400
    assert "KMSInvalidStateException" in html(response) and f"{key.arn} is pending deletion." in html(response)
    key.refresh_from_db()
    assert key.description == ""


# ---------------------------------------------------------------- key policy


def policy_url(key: Key) -> str:
    return reverse("console:key-policy", kwargs={"region": key.region, "key_id": key.key_id})


def test_default_view_lists_administrators_users_and_the_delete_check_box(kms_admin_client, external_key):
    page = html(kms_admin_client.get(detail(external_key)))

    assert "Key Administrators" in page and "Key Users" in page
    admins, users = page.split('id="administrators-title"', 1)[1].split('id="users-title"', 1)
    assert "KMSAdminUser" in admins and "KMSUser" not in admins.replace("KMSAdminUser", "")
    assert "KMSUser" in users
    assert 'name="admins_can_delete" checked' in page
    assert "Allow key administrators to delete this key" in page
    assert "Switch to policy view" in page


def test_policy_view_shows_the_json_in_a_labelled_text_box_and_switches_back(kms_admin_client, external_key):
    page = html(kms_admin_client.get(detail(external_key) + "?view=policy"))

    assert '<label class="field__label" for="id_policy">Key policy</label>' in page
    assert json.loads(external_key.policy)["Id"] == "key-consolepolicy-2"
    assert "key-consolepolicy-2" in page.split('id="id_policy"', 1)[1]
    assert "Switch to default view" in page


def test_switching_views_with_htmx_renders_only_the_policy_section(kms_admin_client, external_key):
    response = kms_admin_client.get(detail(external_key) + "?view=policy", headers={"HX-Request": "true"})

    page = html(response)
    assert page.lstrip().startswith('<section class="panel section" id="key-policy"')
    assert "Summary" not in page
    assert "HX-Request" in response["Vary"]


def test_saving_a_policy_in_the_policy_view(kms_admin_client, external_key, demo):
    document = json.loads(external_key.policy)
    document["Statement"][2]["Principal"]["AWS"] = [demo["KMSUser"].arn, "arn:aws:iam::111122223333:role/KMSRole"]
    typed = json.dumps(document, indent=4)

    response = kms_admin_client.post(policy_url(external_key), {"policy": typed}, follow=True)

    external_key.refresh_from_db()
    assert external_key.policy == typed
    assert "Key policy saved." in html(response)


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ('{"Version": "2012-10-17", "Statement": [', "MalformedPolicyDocumentException"),
        ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}', "MalformedPolicyDocumentException"),
        ("{" + " " * 33000 + "}", "LimitExceededException"),
    ],
    ids=["not-json", "no-principal", "over-32kb"],
)
def test_a_bad_policy_is_refused_in_the_consoles_words_and_kept_in_the_box(
    kms_admin_client, external_key, typed, error
):
    before = external_key.policy

    response = kms_admin_client.post(policy_url(external_key), {"policy": typed})

    assert response.status_code == 400
    page = html(response)
    assert error in page
    box = page.split('id="id_policy"', 1)[1].split("</textarea>", 1)[0]
    assert box.split(">", 1)[1] == typed.replace('"', "&quot;")
    external_key.refresh_from_db()
    assert external_key.policy == before


def test_a_policy_that_locks_the_editor_out_is_refused(kms_admin_client, external_key, demo):
    document = json.loads(external_key.policy)
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] != policy.SID_ROOT]
    document["Statement"][0]["Action"] = ["kms:Describe*"]

    response = kms_admin_client.post(policy_url(external_key), {"policy": json.dumps(document)})

    assert response.status_code == 400
    assert policy.LOCKOUT_MESSAGE in html(response)


def test_a_policy_not_in_the_console_layout_offers_only_the_policy_view(kms_admin_client, external_key, kms_admin):
    document = json.loads(external_key.policy)
    document["Statement"][1]["Sid"] = "Custom administrators"
    key_service.put_key_policy(kms_admin, key_id=external_key.key_id, policy_text=json.dumps(document))

    page = html(kms_admin_client.get(detail(external_key)))

    assert 'id="id_policy"' in page
    assert "does not follow the layout the console creates" in page
    assert "Switch to default view" not in page and "Switch to policy view" not in page


def principals_url(key: Key, role: str) -> str:
    return reverse("console:key-principals", kwargs={"region": key.region, "key_id": key.key_id, "role": role})


def test_add_picks_from_the_accounts_users_and_roles(kms_admin_client, external_key, demo):
    page = html(kms_admin_client.get(principals_url(external_key, "administrators")))
    assert "KMSAdminRole" in page and "KMSRole" in page and "Admin" in page
    assert 'value="' + demo["KMSAdminUser"].arn + '"' not in page  # already an administrator

    role = "arn:aws:iam::111122223333:role/KMSAdminRole"
    response = kms_admin_client.post(
        principals_url(external_key, "administrators"), {"op": "add", "principal": [role]}, follow=True
    )

    external_key.refresh_from_db()
    document = json.loads(external_key.policy)
    assert policy.key_administrators(document) == [demo["KMSAdminUser"].arn, role]
    assert policy.IMPORT_ACTION in document["Statement"][1]["Action"]
    assert "Added to Key Administrators: KMSAdminRole." in html(response)


def test_add_refuses_a_principal_of_another_account(kms_admin_client, external_key):
    before = external_key.policy
    response = kms_admin_client.post(
        principals_url(external_key, "users"),
        {"op": "add", "principal": ["arn:aws:iam::444455556666:user/ExternalUser"]},
    )

    assert response.status_code == 400
    assert "is not a user or role of this account" in html(response)
    external_key.refresh_from_db()
    assert external_key.policy == before


def test_remove_takes_key_users_out_of_both_statements(kms_admin_client, external_key, demo):
    response = kms_admin_client.post(
        principals_url(external_key, "users"), {"op": "remove", "principal": [demo["KMSUser"].arn]}, follow=True
    )

    external_key.refresh_from_db()
    document = json.loads(external_key.policy)
    assert policy.key_users(document) == []
    assert {s["Sid"] for s in document["Statement"]} == {policy.SID_ROOT, policy.SID_ADMINS}
    assert "Removed from Key Users: KMSUser." in html(response)


def test_removing_yourself_as_the_only_administrator_is_refused(kms_admin_client, external_key, demo):
    before = external_key.policy

    response = kms_admin_client.post(
        principals_url(external_key, "administrators"), {"op": "remove", "principal": [demo["KMSAdminUser"].arn]}
    )

    assert response.status_code == 400
    assert policy.LOCKOUT_MESSAGE in html(response)
    external_key.refresh_from_db()
    assert external_key.policy == before


def test_clearing_allow_key_administrators_to_delete_removes_the_deletion_permissions(kms_admin_client, external_key):
    url = reverse("console:key-admins-can-delete", kwargs={"region": REGION, "key_id": external_key.key_id})

    kms_admin_client.post(url, {})

    external_key.refresh_from_db()
    document = json.loads(external_key.policy)
    assert not policy.admins_can_delete(document)
    assert not set(policy.DELETE_ACTIONS) & set(document["Statement"][1]["Action"])

    kms_admin_client.post(url, {"admins_can_delete": "on"})
    external_key.refresh_from_db()
    assert policy.admins_can_delete(json.loads(external_key.policy))


# ---------------------------------------------------------------- tags


def tags_url(key: Key) -> str:
    return reverse("console:key-tags", kwargs={"region": key.region, "key_id": key.key_id})


def tag_post(rows, **extra):
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": "0"}
    for i, (tag_key, tag_value) in enumerate(rows):
        data[f"form-{i}-tag_key"] = tag_key
        data[f"form-{i}-tag_value"] = tag_value
    data.update(extra)
    return data


def key_tags(key: Key) -> list[tuple[str, str]]:
    return list(key.tags.order_by("tag_key").values_list("tag_key", "tag_value"))


def test_tags_are_added_edited_and_removed(kms_admin_client, external_key, kms_admin):
    key_service.tag_resource(kms_admin, key_id=external_key.key_id, tags=[("team", "red"), ("old", "x")])
    page = html(kms_admin_client.get(tags_url(external_key)))
    assert 'value="team"' in page and 'value="red"' in page

    response = kms_admin_client.post(
        tags_url(external_key), tag_post([("team", "blue"), ("env", "training"), ("", "")]), follow=True
    )

    assert key_tags(external_key) == [("env", "training"), ("team", "blue")]
    assert "Tags saved." in html(response)
    assert "training" in html(response)


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ([("aws:reserved", "x")], "Tags beginning with aws: are reserved for AWS use."),
        ([("dup", "1"), ("dup", "2")], "Duplicate tag key"),
        ([("", "value without a key")], "Tag keys must be 1 to 128 characters."),
        ([("k" * 129, "")], "Tag keys must be 1 to 128 characters."),
        ([(f"k{i}", "") for i in range(51)], "A key can have at most 50 tags."),
    ],
    ids=["reserved", "duplicate", "no-key", "long-key", "too-many"],
)
def test_bad_tags_are_refused_with_what_was_typed_kept(kms_admin_client, external_key, kms_admin, rows, error):
    key_service.tag_resource(kms_admin, key_id=external_key.key_id, tags=[("keep", "me")])

    response = kms_admin_client.post(tags_url(external_key), tag_post(rows))

    assert response.status_code == 400
    page = html(response)
    assert error in page.replace("&#x27;", "'")
    assert f'value="{rows[0][0]}"' in page or f'value="{rows[0][1]}"' in page
    assert key_tags(external_key) == [("keep", "me")]


def test_add_tag_and_remove_rearrange_rows_without_saving(kms_admin_client, external_key):
    added = html(kms_admin_client.post(tags_url(external_key), tag_post([("a", "1")], add_row="1")))
    assert added.count('name="form-') >= 4 and "form-1-tag_key" in added

    removed = html(kms_admin_client.post(tags_url(external_key), tag_post([("a", "1"), ("b", "2")], remove_row="0")))
    assert 'value="b"' in removed and 'value="a"' not in removed
    assert key_tags(external_key) == []


def test_tags_with_html_are_shown_as_text(kms_admin_client, external_key, kms_admin):
    key_service.tag_resource(
        kms_admin, key_id=external_key.key_id, tags=[("<b>k</b>", '"><img src=x onerror=alert(1)>')]
    )

    page = html(kms_admin_client.get(detail(external_key)))

    assert "<b>k</b>" not in page and "<img src=x" not in page
    assert "&lt;b&gt;k&lt;/b&gt;" in page


def test_the_tag_editor_of_a_pending_deletion_key_shows_the_refusal(kms_admin_client, demo, kms_admin):
    key = make_key("external-pending-deletion-without-material", demo, kms_admin)

    page = html(kms_admin_client.get(tags_url(key)))
    assert f"{key.arn} is pending deletion." in page

    response = kms_admin_client.post(tags_url(key), tag_post([("late", "tag")], save="1"))
    assert response.status_code == 400
    assert key_tags(key) == []


# ---------------------------------------------------------------- lifecycle


def test_lifecycle_of_a_created_imported_deleted_reimported_key(kms_admin_client, external_key, kms_admin):
    material = os.urandom(32)
    import_material(kms_admin, external_key, material, valid_to=clock.now() + dt.timedelta(days=30))
    importing.delete_imported_key_material(kms_admin, key_id=external_key.key_id)
    import_material(kms_admin, external_key, material, valid_to=clock.now() + dt.timedelta(days=60))

    response = kms_admin_client.get(detail(external_key))

    marks = [m.label for m in response.context["timeline"].marks]
    assert marks == [
        "Key created",
        "Import parameters downloaded",
        "Key material imported",
        "Key material deleted",
        "Import parameters downloaded",
        "Key material reimported",
        "Key material expires",
    ]
    page = html(response)
    svg = page.split('<svg class="timeline__svg', 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg
    for label in ("Key created", "Key material imported", "Key material deleted", "Key material reimported"):
        assert f">{label}</text>" in svg
        assert f"<td>{label}<br>" in page  # and in the table under it
    assert "timeline__mark--future" in svg
    assert "by KMSAdminUser" in svg


def test_lifecycle_shows_who_was_denied(client, demo, external_key, kms_user):
    with pytest.raises(Exception, match="AccessDeniedException"):
        key_service.schedule_key_deletion(kms_user, key_id=external_key.key_id, pending_window_days=7)

    page = html(signed_in(demo["KMSAdminUser"], client).get(detail(external_key)))

    assert "Schedule key deletion denied" in page
    assert "Denied: KMSUser" in page
    assert "timeline__mark--denied" in page


def test_lifecycle_shows_expiry_as_a_service_event(kms_admin_client, external_key, kms_admin, time_machine):
    time_machine.move_to(clock.now())
    import_material(kms_admin, external_key, os.urandom(32), valid_to=clock.now() + dt.timedelta(days=2))
    time_machine.shift(dt.timedelta(days=3))

    response = kms_admin_client.get(detail(external_key))

    external_key.refresh_from_db()
    assert external_key.state == states.PENDING_IMPORT
    labels = [m.label for m in response.context["timeline"].marks]
    assert labels[-1] == "Key material expired"
    assert "AWS <span" in html(response)  # the service event's Who


def test_the_page_costs_the_same_queries_whatever_the_history(
    kms_admin_client, demo, kms_admin, django_assert_num_queries
):
    quiet = make_key("external-pending-import", demo, kms_admin, alias="alias/quiet")
    busy = make_key("external-enabled", demo, kms_admin, alias="alias/busy")
    for _ in range(15):
        key_service.disable_key(kms_admin, key_id=busy.key_id)
        key_service.enable_key(kms_admin, key_id=busy.key_id)
    key_service.tag_resource(kms_admin, key_id=busy.key_id, tags=[(f"t{i}", "v") for i in range(20)])
    key_service.create_alias(kms_admin, alias_name="alias/busy-2", target_key_id=busy.key_id)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as quiet_queries:
        assert kms_admin_client.get(detail(quiet)).status_code == 200
    with django_assert_num_queries(len(quiet_queries)):
        response = kms_admin_client.get(detail(busy))
    assert len(response.context["timeline"].marks) > 30
