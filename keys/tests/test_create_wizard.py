"""The Create key wizard of the old IAM console: steps, rules, Finish, replays and the policy it stores."""

from __future__ import annotations

import copy
import html
import json
import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from keys import states
from keys.models import Alias, AuditEvent, Key
from keys.services import keys as key_service
from keys.tests.test_policy import SPEC_EXAMPLE_TEXT

pytestmark = pytest.mark.django_db

REGION = "us-west-2"
OTHER_REGION = "eu-west-1"
ACCOUNT = "111122223333"
ARN = {
    "KMSAdminUser": f"arn:aws:iam::{ACCOUNT}:user/KMSAdminUser",
    "KMSAdminRole": f"arn:aws:iam::{ACCOUNT}:role/KMSAdminRole",
    "KMSUser": f"arn:aws:iam::{ACCOUNT}:user/KMSUser",
    "KMSRole": f"arn:aws:iam::{ACCOUNT}:role/KMSRole",
}

# The "Example Key Policy" of spec 2.2 (the literal text is test_policy's).
SPEC_POLICY = json.loads(SPEC_EXAMPLE_TEXT)

# The same document for origin External: kms:ImportKeyMaterial appended to the administrators' actions.
SPEC_POLICY_EXTERNAL = copy.deepcopy(SPEC_POLICY)
SPEC_POLICY_EXTERNAL["Statement"][1]["Action"].append("kms:ImportKeyMaterial")


# ---------------------------------------------------------------- helpers


def normalised(document) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def management(step: str, region: str = REGION) -> dict[str, str]:
    return {f"create_key_{region.replace('-', '_')}-current_step": step}


def step_url(step: str, region: str = REGION) -> str:
    return reverse("console:create-key-step", kwargs={"region": region, "step": step})


def start(client: Client, region: str = REGION):
    response = client.get(reverse("console:create-key", kwargs={"region": region}))
    assert response.status_code == 302
    assert response.headers["Location"] == step_url("alias", region)
    return response


def post_step(client: Client, step: str, data: dict, region: str = REGION, **extra):
    return client.post(step_url(step, region), {**management(step, region), **data}, **extra)


def alias_data(alias="training-key", description="", origin="AWS_KMS", acknowledge=False) -> dict:
    data = {"alias-alias": alias, "alias-description": description, "alias-origin": origin}
    if acknowledge:
        data["alias-acknowledge"] = "on"
    return data


def tags_data(tags=()) -> dict:
    return {"tags-key": [k for k, _ in tags], "tags-value": [v for _, v in tags]}


def admins_data(arns=(), allow_delete=True) -> dict:
    data = {"administrators-principal": list(arns)}
    if allow_delete:
        data["administrators-allow_delete"] = "on"
    return data


def users_data(arns=(), accounts=()) -> dict:
    return {"users-principal": list(arns), "users-account": list(accounts)}


def assert_next(response, step: str, region: str = REGION):
    errors = ""
    if response.status_code == 200 and response.context and "form" in response.context:
        errors = str(response.context["form"].errors)
    assert response.status_code == 302, errors
    assert response.headers["Location"] == step_url(step, region)


def walk_to_review(
    client: Client,
    *,
    alias="training-key",
    description="",
    origin="AWS_KMS",
    tags=(),
    admins=(),
    allow_delete=True,
    users=(),
    accounts=(),
    region=REGION,
):
    start(client, region)
    assert_next(
        post_step(client, "alias", alias_data(alias, description, origin, origin == "EXTERNAL"), region), "tags", region
    )
    assert_next(post_step(client, "tags", tags_data(tags), region), "administrators", region)
    assert_next(post_step(client, "administrators", admins_data(admins, allow_delete), region), "users", region)
    assert_next(post_step(client, "users", users_data(users, accounts), region), "review", region)
    review = client.get(step_url("review", region))
    assert review.status_code == 200
    return review


def finish_data(review) -> dict:
    return {
        **management("review", review.context["region"]),
        "review-creation_token": review.context["creation_token"],
        "review-policy_digest": review.context["policy_digest"],
    }


def finish(client: Client, review, region: str = REGION):
    return client.post(step_url("review", region), finish_data(review))


def text(response) -> str:
    return response.content.decode()


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[dict] = []
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input":
            self.found.append(attributes)
        elif tag == "textarea":
            self._textarea = {**attributes, "value": ""}
            self.found.append(self._textarea)

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data


def inputs(response, name: str) -> list[dict]:
    parser = _Inputs()
    parser.feed(text(response))
    return [i for i in parser.found if i.get("name") == name]


def values(response, name: str) -> list[str]:
    return [i.get("value", "") for i in inputs(response, name)]


def checked(response, name: str) -> list[str]:
    return [i["value"] for i in inputs(response, name) if "checked" in i]


@pytest.fixture
def client_for(demo):
    def make(name: str = "Admin", **kwargs) -> Client:
        client = Client(**kwargs)
        client.force_login(demo[name].user)
        return client

    return make


@pytest.fixture
def console(client_for) -> Client:
    return client_for("Admin")


def keys_of_account() -> list[Key]:
    return list(Key.objects.filter(account_id=ACCOUNT, key_manager="CUSTOMER"))


# ---------------------------------------------------------------- pages and navigation


def test_create_key_starts_a_new_draft_at_the_alias_step(console):
    start(console)
    page = console.get(step_url("alias"))
    assert page.status_code == 200
    body = text(page)
    assert "<h1>Create Alias and Description</h1>" in body
    assert "<summary>Advanced Options</summary>" in body
    assert checked(page, "alias-origin") == ["AWS_KMS"]
    assert re.search(r"aria-current=\"step\">\s*<span class=\"wizard__step-label\">Step 1</span>", body)


def test_every_step_has_its_own_url_and_title(console):
    walk_to_review(console)
    titles = {
        "alias": "Create Alias and Description",
        "tags": "Add Tags",
        "administrators": "Define Key Administrative Permissions",
        "users": "Define Key Usage Permissions",
        "review": "Preview Key Policy",
    }
    for step, title in titles.items():
        page = console.get(step_url(step))
        assert page.status_code == 200
        assert f"<h1>{title}</h1>" in text(page)


def test_a_step_cannot_be_opened_before_the_steps_before_it(console):
    start(console)
    response = console.get(step_url("users"))
    assert response.headers["Location"] == step_url("alias")


def test_the_wizard_needs_a_signed_in_user():
    response = Client().get(step_url("alias"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("console:signin"))


def test_an_unknown_region_is_not_found(console):
    assert console.get(reverse("console:create-key", kwargs={"region": "xx-nowhere-9"})).status_code == 404


def test_visited_steps_are_links_and_later_steps_are_not(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data()), "tags")
    body = text(console.get(step_url("tags")))
    assert f'href="{step_url("alias")}"' in body
    assert f'href="{step_url("administrators")}"' not in body


def test_the_implications_page_has_the_four_considerations(console):
    body = text(console.get(reverse("console:import-implications")))
    for heading in (
        "Availability and durability",
        "Secure key generation",
        "One key per CMK",
        "Ciphertexts are not portable between CMKs",
    ):
        assert f"<h2>{heading}</h2>" in body
    assert "AWS KMS does not delete the CMK or its metadata." in body
    assert "The key material you import must be a 256-bit symmetric encryption key" in body


def test_the_acknowledgement_links_to_the_implications_in_a_new_tab(console):
    start(console)
    body = text(console.get(step_url("alias")))
    link = re.search(r'<a href="([^"]+)" target="_blank" rel="noopener"[^>]*>([^<]+)</a>', body)
    assert link.group(1) == reverse("console:import-implications")
    assert link.group(2) == "security, availability, and durability implications"


# ---------------------------------------------------------------- step 1: alias, description, origin


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("", "Alias is required."),
        ("a" * 251, "Alias must be 250 characters or fewer."),
        (
            "my key!",
            "Alias can contain only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-).",
        ),
        ("alias:colon", "Alias can contain only alphanumeric characters"),
        ("aws-backup", "An alias cannot begin with aws."),
        ("AWSkey", "An alias cannot begin with aws."),
        ("Awsome", "An alias cannot begin with aws."),
    ],
)
def test_alias_rules_are_enforced_on_step_one(console, alias, message):
    start(console)
    response = post_step(console, "alias", alias_data(alias=alias))
    assert response.status_code == 200
    assert message in html.unescape(text(response))
    assert inputs(response, "alias-alias")[0]["aria-invalid"] == "true"


@pytest.mark.parametrize("alias", ["a" * 250, "team/app_key-1", "x"])
def test_valid_aliases_pass_step_one(console, alias):
    start(console)
    assert_next(post_step(console, "alias", alias_data(alias=alias)), "tags")


def test_an_alias_already_used_in_the_region_is_refused(console, admin):
    key_service.create_key(admin, alias="alias/taken")
    start(console)
    response = post_step(console, "alias", alias_data(alias="taken"))
    assert response.status_code == 200
    assert f"An alias with the name arn:aws:kms:{REGION}:{ACCOUNT}:alias/taken already exists" in html.unescape(
        text(response)
    )


def test_the_same_alias_is_accepted_in_another_region(console, admin):
    key_service.create_key(admin, alias="alias/taken")
    start(console, OTHER_REGION)
    assert_next(post_step(console, "alias", alias_data(alias="taken"), OTHER_REGION), "tags", OTHER_REGION)


def test_a_description_longer_than_8192_characters_is_refused(console):
    start(console)
    response = post_step(console, "alias", alias_data(description="d" * 8193))
    assert response.status_code == 200
    assert "Description must be a string of at most 8192 characters." in text(response)
    assert_next(post_step(console, "alias", alias_data(description="d" * 8192)), "tags")


def test_external_origin_requires_the_acknowledgement(console):
    start(console)
    data = alias_data(origin="EXTERNAL")
    response = post_step(console, "alias", data)
    assert response.status_code == 200
    body = text(response)
    assert "select the check box to confirm that you understand" in body
    assert '<details class="advanced" open>' in body  # the error is not hidden in a closed disclosure
    assert_next(post_step(console, "alias", {**data, "alias-acknowledge": "on"}), "tags")


def test_an_origin_outside_the_choices_is_refused(console):
    start(console)
    response = post_step(console, "alias", alias_data(origin="AWS_CLOUDHSM"))
    assert response.status_code == 200
    assert "Select a valid choice." in text(response)


# ---------------------------------------------------------------- step 2: tags


def test_tags_step_starts_with_one_empty_row(console):
    walk_to_review(console)
    start(console)
    assert_next(post_step(console, "alias", alias_data()), "tags")
    page = console.get(step_url("tags"))
    assert values(page, "tags-key") == [""]
    assert values(page, "tags-value") == [""]


def test_add_tag_without_javascript_keeps_what_was_typed_and_adds_a_row(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data()), "tags")
    response = post_step(console, "tags", {**tags_data([("Team", "Payments")]), "wizard_refresh": "add-tag"})
    assert response.status_code == 200
    assert values(response, "tags-key") == ["Team", ""]
    assert values(response, "tags-value") == ["Payments", ""]
    assert "autofocus" in inputs(response, "tags-key")[1]


def test_remove_tag_removes_that_row_only(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data()), "tags")
    rows = [("A", "1"), ("B", "2"), ("C", "3")]
    response = post_step(console, "tags", {**tags_data(rows), "wizard_refresh": "remove-tag-1"})
    assert values(response, "tags-key") == ["A", "C"]
    assert values(response, "tags-value") == ["1", "3"]


def test_blank_tag_rows_are_ignored(console):
    review = walk_to_review(console, tags=[("", ""), ("Team", ""), ("", "")])
    assert review.context["choices"]["tags"] == [("Team", "")]


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ([(f"k{i}", "v") for i in range(51)], "A key can have at most 50 tags."),
        ([("k" * 129, "v")], "Tag keys must be 1 to 128 characters."),
        ([("", "value without a key")], "Tag keys must be 1 to 128 characters."),
        ([("Team", "v" * 257)], "The value of tag &#x27;Team&#x27; must be 0 to 256 characters."),
        ([("Team", "a"), ("Team", "b")], "Duplicate tag key &#x27;Team&#x27;."),
        ([("aws:owner", "me")], "Tags beginning with aws: are reserved for AWS use."),
        ([("AWS:owner", "me")], "Tags beginning with aws: are reserved for AWS use."),
    ],
)
def test_tag_rules_are_enforced_on_step_two(console, tags, message):
    start(console)
    assert_next(post_step(console, "alias", alias_data()), "tags")
    response = post_step(console, "tags", tags_data(tags))
    assert response.status_code == 200
    assert message in text(response)
    assert values(response, "tags-key") == [k for k, _ in tags]  # what was typed stays


def test_fifty_tags_with_the_longest_keys_and_values_pass(console):
    tags = [(f"{i:03d}" + "k" * 125, "v" * 256) for i in range(50)]
    review = walk_to_review(console, tags=tags)
    assert len(review.context["choices"]["tags"]) == 50


# ---------------------------------------------------------------- steps 3 and 4: principals and accounts


def test_administrators_step_lists_the_accounts_users_and_roles_only(console):
    walk_to_review(console)
    page = console.get(step_url("administrators"))
    body = text(page)
    offered = values(page, "administrators-principal")
    assert offered == [  # users, then roles, each by name
        f"arn:aws:iam::{ACCOUNT}:user/Admin",
        ARN["KMSAdminUser"],
        ARN["KMSUser"],
        ARN["KMSAdminRole"],
        ARN["KMSRole"],
    ]
    assert "444455556666" not in body
    assert ">User</td>" in body and ">Role</td>" in body
    assert "The AWS account (root user) has full permissions by default." in body
    assert "<h2>Key Deletion</h2>" in body


def test_allow_key_administrators_to_delete_is_checked_by_default(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data()), "tags")
    assert_next(post_step(console, "tags", tags_data()), "administrators")
    page = console.get(step_url("administrators"))
    assert "checked" in inputs(page, "administrators-allow_delete")[0]


def test_the_filter_hides_rows_but_keeps_their_choices(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data()), "tags")
    assert_next(post_step(console, "tags", tags_data()), "administrators")
    data = {**admins_data([ARN["KMSUser"]]), "administrators-filter": "admin", "wizard_refresh": "filter"}
    response = post_step(console, "administrators", data)
    assert response.status_code == 200
    rows = re.findall(r"<tr data-filter-text=\"([^\"]+)\"( hidden)?>", text(response))
    shown = [row.split()[0] for row, hidden in rows if not hidden]
    assert shown == ["admin", "kmsadminuser", "kmsadminrole"]
    assert checked(response, "administrators-principal") == [ARN["KMSUser"]]  # still in the form, hidden


def test_a_forged_administrator_arn_is_refused(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data()), "tags")
    assert_next(post_step(console, "tags", tags_data()), "administrators")
    response = post_step(console, "administrators", admins_data(["arn:aws:iam::444455556666:user/ExternalUser"]))
    assert response.status_code == 200
    assert "arn:aws:iam::444455556666:user/ExternalUser is not a user or role of this account." in text(response)


def _to_users_step(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data()), "tags")
    assert_next(post_step(console, "tags", tags_data()), "administrators")
    assert_next(post_step(console, "administrators", admins_data()), "users")


def test_add_an_external_account_without_javascript_adds_a_row(console):
    _to_users_step(console)
    page = console.get(step_url("users"))
    assert values(page, "users-account") == []
    response = post_step(console, "users", {**users_data([ARN["KMSUser"]]), "wizard_refresh": "add-account"})
    assert values(response, "users-account") == [""]
    assert checked(response, "users-principal") == [ARN["KMSUser"]]
    response = post_step(
        console, "users", {**users_data([ARN["KMSUser"]], ["444455556666"]), "wizard_refresh": "add-account"}
    )
    assert values(response, "users-account") == ["444455556666", ""]
    body = text(response)
    assert "arn:aws:iam::</span>" in body and ":root</span>" in body


def test_remove_an_external_account_removes_that_row(console):
    _to_users_step(console)
    data = {**users_data(accounts=["444455556666", "777788889999"]), "wizard_refresh": "remove-account-0"}
    assert values(post_step(console, "users", data), "users-account") == ["777788889999"]


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        (["12345"], "An AWS account ID is exactly 12 digits."),
        (["4444555566667"], "An AWS account ID is exactly 12 digits."),
        (["44445555666a"], "An AWS account ID is exactly 12 digits."),
        ([ACCOUNT], "This is your own account."),
        (["444455556666", "444455556666"], "The account 444455556666 is already in the list."),
    ],
)
def test_external_account_rules_are_enforced_on_step_four(console, accounts, message):
    _to_users_step(console)
    response = post_step(console, "users", users_data(accounts=accounts))
    assert response.status_code == 200
    assert message in text(response)
    assert values(response, "users-account") == accounts


# ---------------------------------------------------------------- Previous and Cancel


def test_previous_keeps_what_was_typed_on_the_current_step(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data(alias="first")), "tags")
    response = post_step(console, "tags", {**tags_data([("Team", "half-typed")]), "wizard_goto_step": "alias"})
    assert response.headers["Location"] == step_url("alias")
    alias_page = console.get(step_url("alias"))
    assert values(alias_page, "alias-alias") == ["first"]
    assert_next(post_step(console, "alias", alias_data(alias="second")), "tags")
    tags_page = console.get(step_url("tags"))
    assert values(tags_page, "tags-key") == ["Team"]
    assert values(tags_page, "tags-value") == ["half-typed"]


def test_previous_keeps_unsaved_choices_of_the_principal_steps(console):
    _to_users_step(console)
    post_step(
        console, "users", {**users_data([ARN["KMSRole"]], ["444455556666"]), "wizard_goto_step": "administrators"}
    )
    assert_next(post_step(console, "administrators", admins_data([ARN["KMSAdminUser"]], allow_delete=False)), "users")
    page = console.get(step_url("users"))
    assert checked(page, "users-principal") == [ARN["KMSRole"]]
    assert values(page, "users-account") == ["444455556666"]
    admins_page = console.get(step_url("administrators"))
    assert checked(admins_page, "administrators-principal") == [ARN["KMSAdminUser"]]
    assert "checked" not in inputs(admins_page, "administrators-allow_delete")[0]


def test_cancel_discards_the_draft(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data(alias="never-made")), "tags")
    response = post_step(console, "tags", {**tags_data([("Team", "x")]), "wizard_cancel": "1"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{reverse('console:encryption-keys')}?region={REGION}"
    assert console.get(step_url("tags")).headers["Location"] == step_url("alias")
    assert values(console.get(step_url("alias")), "alias-alias") == [""]
    assert keys_of_account() == []


def test_create_key_again_restarts_the_draft(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data(alias="draft-one")), "tags")
    start(console)
    assert values(console.get(step_url("alias")), "alias-alias") == [""]


# ---------------------------------------------------------------- Finish


def test_finish_with_kms_origin_creates_an_enabled_key_with_alias_and_tags(console):
    review = walk_to_review(console, alias="payments", description="Payments data", tags=[("Team", "Payments")])
    response = finish(console, review)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{reverse('console:encryption-keys')}?region={REGION}"
    (key,) = keys_of_account()
    assert key.state == states.ENABLED and key.origin == "AWS_KMS" and key.has_material
    assert key.description == "Payments data"
    assert [(t.tag_key, t.tag_value) for t in key.tags.all()] == [("Team", "Payments")]
    assert Alias.objects.get(target_key=key).name == "alias/payments"
    assert key.region == REGION
    listing = console.get(response.headers["Location"])
    assert "The key alias/payments was created." in [str(m) for m in listing.context["messages"]]


def test_finish_with_external_origin_creates_a_pending_import_key_and_opens_the_import_page(console):
    review = walk_to_review(console, alias="byok", origin="EXTERNAL")
    response = finish(console, review)
    (key,) = keys_of_account()
    assert key.state == states.PENDING_IMPORT and key.origin == "EXTERNAL" and not key.has_material
    assert response.headers["Location"] == reverse(
        "console:import-key-material", kwargs={"region": REGION, "key_id": key.key_id}
    )


def test_the_stored_policy_is_the_spec_document_for_the_documented_choices(console):
    review = walk_to_review(
        console,
        admins=[ARN["KMSAdminUser"], ARN["KMSAdminRole"]],
        users=[ARN["KMSUser"], ARN["KMSRole"]],
        accounts=["444455556666"],
    )
    preview = html.unescape(re.search(r"<pre[^>]*>(.*?)</pre>", text(review), re.S).group(1))
    finish(console, review)
    (key,) = keys_of_account()
    assert normalised(json.loads(key.policy)) == normalised(SPEC_POLICY)
    assert key.policy == preview  # the preview is the exact stored text


def test_the_policy_lists_principals_in_the_tables_order_whatever_the_post_order(console):
    review = walk_to_review(
        console,
        admins=[ARN["KMSAdminRole"], ARN["KMSAdminUser"]],
        users=[ARN["KMSRole"], ARN["KMSUser"]],
        accounts=["444455556666"],
    )
    finish(console, review)
    (key,) = keys_of_account()
    assert normalised(json.loads(key.policy)) == normalised(SPEC_POLICY)


def test_the_stored_policy_for_external_origin_appends_import_key_material(console):
    review = walk_to_review(
        console,
        origin="EXTERNAL",
        admins=[ARN["KMSAdminUser"], ARN["KMSAdminRole"]],
        users=[ARN["KMSUser"], ARN["KMSRole"]],
        accounts=["444455556666"],
    )
    assert "kms:ImportKeyMaterial" in text(review)
    finish(console, review)
    (key,) = keys_of_account()
    assert normalised(json.loads(key.policy)) == normalised(SPEC_POLICY_EXTERNAL)


def test_clearing_allow_delete_drops_the_deletion_actions(console):
    review = walk_to_review(console, admins=[ARN["KMSAdminUser"]], allow_delete=False)
    finish(console, review)
    (key,) = keys_of_account()
    statement = json.loads(key.policy)["Statement"][1]
    assert statement["Principal"] == {"AWS": ARN["KMSAdminUser"]}
    assert "kms:ScheduleKeyDeletion" not in statement["Action"]
    assert "kms:CancelKeyDeletion" not in statement["Action"]


def test_finish_records_createkey_createalias_and_tagresource_as_cloudtrail_events(console, demo):
    review = walk_to_review(console, alias="audited", tags=[("Team", "Audit")])
    finish(console, review, REGION)
    (key,) = keys_of_account()
    events = {e.event_name: e.record for e in AuditEvent.objects.filter(key_id=key.key_id)}
    assert {"CreateKey", "CreateAlias", "TagResource"} <= set(events)
    create = events["CreateKey"]
    assert create["userIdentity"]["arn"] == demo["Admin"].arn
    assert create["userIdentity"]["type"] == "IAMUser"
    assert create["userIdentity"]["userName"] == "Admin"
    assert create["userIdentity"]["accountId"] == ACCOUNT
    assert create["sourceIPAddress"] == "127.0.0.1"
    assert create["userAgent"].startswith("AWS Internal (console)")
    assert create["awsRegion"] == REGION
    assert create["requestParameters"]["origin"] == "AWS_KMS"
    assert create["responseElements"]["keyMetadata"]["KeyId"] == key.key_id
    assert events["CreateAlias"]["requestParameters"] == {"aliasName": "alias/audited", "targetKeyId": key.key_id}
    assert events["TagResource"]["requestParameters"]["tags"] == [{"tagKey": "Team", "tagValue": "Audit"}]


def test_a_user_without_kms_create_key_sees_access_denied_and_nothing_is_created(client_for):
    console = client_for("KMSUser")
    review = walk_to_review(console, alias="not-allowed")
    response = finish(console, review)
    assert response.status_code == 200
    body = text(response)
    assert "AccessDeniedException" in body
    assert "is not authorized to perform: kms:CreateKey" in body
    assert keys_of_account() == []
    assert Alias.objects.filter(name="alias/not-allowed").count() == 0
    denied = AuditEvent.objects.get(event_name="CreateKey")
    assert denied.error_code == "AccessDeniedException"


def test_an_alias_taken_meanwhile_is_refused_by_the_service_at_finish(console, admin):
    review = walk_to_review(console, alias="contested")
    other = key_service.create_key(admin, alias="alias/contested")
    response = finish(console, review)
    assert response.status_code == 200
    body = html.unescape(text(response))
    assert "AlreadyExistsException" in body
    assert f"An alias with the name arn:aws:kms:{REGION}:{ACCOUNT}:alias/contested already exists" in body
    assert "Choose a different alias" in body
    assert [k.key_id for k in keys_of_account()] == [other.key_id]  # nothing new, not even a key without alias
    refused = AuditEvent.objects.filter(event_name="CreateKey", error_code="AlreadyExistsException")
    assert refused.count() == 1
    # The draft is kept: step 1 shows the problem at the field, and a new alias finishes.
    assert "already exists" in text(console.get(step_url("alias")))
    assert_next(post_step(console, "alias", alias_data(alias="uncontested")), "tags")
    review = console.get(step_url("review"))
    assert finish(console, review).status_code == 302
    assert Alias.objects.filter(name="alias/uncontested").count() == 1


def test_descriptions_and_tags_from_the_wizard_are_escaped_on_the_key_details_page(console):
    review = walk_to_review(console, alias="detail-escaped", description=XSS_DESCRIPTION, tags=[("Team", XSS_TAG)])
    finish(console, review)
    (key,) = keys_of_account()
    body = text(console.get(reverse("console:key-detail", kwargs={"region": REGION, "key_id": key.key_id})))
    assert XSS_DESCRIPTION not in body and XSS_TAG not in body
    assert html.escape(XSS_DESCRIPTION) in body


# ---------------------------------------------------------------- one key per draft


def test_a_double_click_on_finish_creates_one_key(console):
    review = walk_to_review(console, alias="once", tags=[("Team", "One")])
    # Both requests of a double click read the session before either has written it back.
    session = console.session
    draft = dict(session.items())
    first = finish(console, review)
    session = console.session
    for name, value in draft.items():
        session[name] = value
    session.save()
    second = finish(console, review)
    assert len(keys_of_account()) == 1
    assert first.headers["Location"] == second.headers["Location"]
    assert AuditEvent.objects.filter(event_name="CreateKey").count() == 1


def test_refreshing_the_finish_post_creates_no_second_key(console):
    review = walk_to_review(console, alias="refreshed", origin="EXTERNAL")
    first = finish(console, review)
    again = finish(console, review)  # the browser re-sends the same POST
    (key,) = keys_of_account()
    assert again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert key.key_id in again.headers["Location"]


def test_a_replayed_finish_after_a_new_draft_creates_no_key(console):
    review = walk_to_review(console, alias="replayed")
    finish(console, review)
    start(console)  # a new draft with a new token
    replay = finish(console, review)
    assert replay.status_code == 302
    assert len(keys_of_account()) == 1


def test_a_replayed_finish_in_another_session_creates_no_key(console, client_for):
    review = walk_to_review(console, alias="stolen")
    data = finish_data(review)
    other = client_for("Admin")
    response = other.post(step_url("review"), data)
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("console:create-key", kwargs={"region": REGION})
    assert keys_of_account() == []


def test_a_get_of_the_done_url_creates_nothing(console):
    walk_to_review(console, alias="by-get")
    response = console.get(step_url("done"))
    assert response.status_code == 302
    assert keys_of_account() == []


def test_a_finish_without_csrf_token_is_refused(console):
    review = walk_to_review(console, alias="forged-by-another-site")
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = console.cookies  # the same signed-in browser, but the POST carries no CSRF token
    response = strict.post(step_url("review"), finish_data(review))
    assert response.status_code == 403
    assert keys_of_account() == []
    token = console.cookies["csrftoken"].value
    accepted = strict.post(step_url("review"), {**finish_data(review), "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert len(keys_of_account()) == 1


# ---------------------------------------------------------------- tampered and stale posts


def test_a_post_without_management_form_is_refused(console):
    start(console)
    response = console.post(step_url("alias"), alias_data())
    assert response.status_code == 400
    assert "Nothing was created." in text(response)


@pytest.mark.parametrize("posted_step", ["done", "bogus", "review"])
def test_a_management_step_that_does_not_match_the_url_is_refused(console, posted_step):
    walk_to_review(console)
    response = console.post(step_url("users"), {**management(posted_step), **users_data()})
    assert response.status_code == 400
    assert keys_of_account() == []


def test_a_finish_that_skips_steps_is_refused(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data(alias="skipper")), "tags")
    response = post_step(console, "review", {"review-creation_token": "x", "review-policy_digest": "y"})
    assert response.status_code == 200
    assert "no longer open" in text(response)
    assert keys_of_account() == []


def test_a_finish_with_the_right_token_but_missing_steps_sends_back_to_the_first_missing_step(console):
    review = walk_to_review(console, alias="gap")
    data = finish_data(review)
    session = console.session
    prefix = "wizard_create_key_us_west_2"
    draft = session[prefix]
    del draft["step_data"]["administrators"]
    session[prefix] = draft
    session.save()
    response = console.post(step_url("review"), data)
    assert response.headers["Location"] == step_url("administrators")
    assert keys_of_account() == []


def _tamper(console, step: str, field: str, value):
    session = console.session
    prefix = "wizard_create_key_us_west_2"
    draft = session[prefix]
    draft["step_data"][step][field] = value
    session[prefix] = draft
    session.save()


def test_a_forged_administrator_in_the_stored_draft_is_refused_at_finish(console):
    review = walk_to_review(console, alias="forged", admins=[ARN["KMSAdminUser"]])
    _tamper(console, "administrators", "administrators-principal", ["arn:aws:iam::444455556666:root"])
    response = finish(console, review)
    assert response.headers["Location"] == step_url("administrators")
    assert keys_of_account() == []
    page = console.get(step_url("administrators"))
    assert "arn:aws:iam::444455556666:root is not a user or role of this account." in text(page)


def test_external_origin_without_acknowledgement_in_the_stored_draft_is_refused_at_finish(console):
    review = walk_to_review(console, alias="unacknowledged", origin="EXTERNAL")
    _tamper(console, "alias", "alias-acknowledge", [])
    response = finish(console, review)
    assert response.headers["Location"] == step_url("alias")
    assert keys_of_account() == []
    assert "select the check box to confirm" in text(console.get(step_url("alias")))


def test_a_finish_after_the_draft_changed_elsewhere_is_refused(console):
    review = walk_to_review(console, alias="changed", admins=[ARN["KMSAdminUser"]])
    # Another tab of the same draft changes the administrators after this preview was shown.
    assert_next(post_step(console, "administrators", admins_data([ARN["KMSAdminRole"]])), "users")
    response = finish(console, review)
    assert response.status_code == 200
    assert "The key policy changed since this preview was shown" in text(response)
    assert keys_of_account() == []


def test_a_post_after_the_session_lost_the_draft_starts_again(console, client_for):
    other = client_for("Admin")
    response = post_step(other, "users", users_data())
    assert response.headers["Location"] == reverse("console:create-key", kwargs={"region": REGION})


# ---------------------------------------------------------------- escaping


XSS_DESCRIPTION = '<script>alert("description")</script>'
XSS_TAG = '"><img src=x onerror=alert(1)>'


def test_xss_payloads_come_back_escaped_on_every_step_and_the_review(console):
    review = walk_to_review(console, alias="escaped", description=XSS_DESCRIPTION, tags=[("Team", XSS_TAG)])
    body = text(review)
    assert XSS_DESCRIPTION not in body and XSS_TAG not in body
    assert html.escape(XSS_DESCRIPTION) in body
    assert html.escape(XSS_TAG) in body
    alias_page = text(console.get(step_url("alias")))
    assert XSS_DESCRIPTION not in alias_page
    assert values(console.get(step_url("alias")), "alias-description") == [XSS_DESCRIPTION]
    tags_page = console.get(step_url("tags"))
    assert XSS_TAG not in text(tags_page)
    assert values(tags_page, "tags-value") == [XSS_TAG]
    finish(console, review)
    (key,) = keys_of_account()
    assert key.description == XSS_DESCRIPTION


def test_a_tag_key_payload_is_escaped_in_its_error_message(console):
    start(console)
    assert_next(post_step(console, "alias", alias_data()), "tags")
    payload = "<b>bold</b>"
    response = post_step(console, "tags", tags_data([(payload, "x"), (payload, "y")]))
    assert "Duplicate tag key" in text(response)
    assert "<b>bold</b>" not in text(response)


def test_pages_send_a_content_security_policy_without_inline_script(console):
    start(console)
    page = console.get(step_url("alias"))
    policy_header = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy_header and "unsafe-inline" not in policy_header
    assert "<script>" not in text(page)
    assert " onclick=" not in text(page) and ' style="' not in text(page)
