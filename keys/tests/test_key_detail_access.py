"""The key details page's Effective permissions: who could administer the key and who could use it.

The table must say what the gate does: for each principal and action it shows, calling the service as that
principal succeeds exactly when the table says Allowed.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keys.errors import KmsError
from keys.management.commands.seed_demo import EXTERNAL_ACCOUNT, MAIN_ACCOUNT
from keys.models import Alias, AuditEvent, Key, Principal
from keys.services import cryptographic, directory
from keys.services import keys as key_service
from keys.tests.conftest import DEMO_PASSWORD, actor_for
from keys.tests.helpers import console_policy, signed_in

pytestmark = pytest.mark.django_db

NO_DELETION = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}],
}
ADMIN_COLUMNS = [
    "PutKeyPolicy",
    "DisableKey",
    "ScheduleKeyDeletion",
    "CancelKeyDeletion",
    "ImportKeyMaterial",
    "DeleteImportedKeyMaterial",
    "GetParametersForImport",
    "TagResource",
]
USE_COLUMNS = ["Encrypt", "Decrypt", "GenerateDataKey", "ReEncryptFrom", "ReEncryptTo", "DescribeKey"]
ALLOWED, NOT_ALLOWED = "Allowed", "Not allowed"
ACROSS = "Not allowed across accounts (KMS refuses this operation on another account's key)"
ROOT_ARN = f"arn:aws:iam::{MAIN_ACCOUNT}:root"
EXTERNAL_ROOT_ARN = f"arn:aws:iam::{EXTERNAL_ACCOUNT}:root"


# ---------------------------------------------------------------- reading the section as a browser shows it


class _SectionTable(HTMLParser):
    """The Effective permissions table: its action columns and, per row, the ARN, How and each cell's text."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # inside <section id="effective-permissions">: the nesting depth, else 0
        self.in_section = False
        self.columns: list[str] = []
        self.rows: list[dict] = []
        self.section_text: list[str] = []
        self._cell: list[str] | None = None
        self._cell_kind = ""
        self._row: dict | None = None
        self._in_thead = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id") == "effective-permissions":
            self.in_section = True
        if not self.in_section:
            return
        if tag == "section":
            self.depth += 1
        if tag == "thead":
            self._in_thead = True
        elif tag == "tr" and not self._in_thead:
            self._row = {"cells": []}
        elif tag in ("th", "td"):
            self._cell, self._cell_kind = [], f"{tag}:{attrs.get('scope', '')}"

    def handle_endtag(self, tag):
        if not self.in_section:
            return
        if tag == "section":
            self.depth -= 1
            self.in_section = self.depth > 0
        elif tag == "thead":
            self._in_thead = False
        elif tag in ("th", "td") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if self._in_thead and self._cell_kind == "th:col" and text not in ("Principal", "How"):
                self.columns.append(text)
            elif self._row is not None:
                self._row["cells"].append(text)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self.in_section:
            self.section_text.append(data)
            if self._cell is not None:
                self._cell.append(data)


def effective_permissions(html: str) -> tuple[dict[str, dict[str, str]], dict[str, str], str]:
    """(ARN -> column -> cell text, ARN -> How, the section's whole text) of a details page."""
    parser = _SectionTable()
    parser.feed(html)
    assert parser.columns, "no Effective permissions table on the page"
    table, how = {}, {}
    for row in parser.rows:
        principal, how_text, *cells = row["cells"]
        arn = principal.split()[-1]
        assert arn.startswith("arn:aws:iam::"), principal
        table[arn] = dict(zip(parser.columns, cells, strict=True))
        how[arn] = how_text
    return table, how, " ".join("".join(parser.section_text).split())


def detail_url(key: Key) -> str:
    return reverse("console:key-detail", kwargs={"region": key.region, "key_id": key.key_id})


def page_of(client, key: Key) -> str:
    response = client.get(detail_url(key))
    assert response.status_code == 200
    return response.content.decode()


def arn(name: str, kind: str = "user") -> str:
    return f"arn:aws:iam::{MAIN_ACCOUNT}:{kind}/{name}"


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def admin_without_deletion(demo) -> Principal:
    """Admin keeps AdministratorAccess and gets an IAM policy that denies kms:ScheduleKeyDeletion."""
    return directory.ensure_principal(
        demo["Admin"].account,
        kind="user",
        name="Admin",
        iam_policies=[directory.ADMINISTRATOR_ACCESS, NO_DELETION],
        iam_policy_names=["AdministratorAccess", "NoKeyDeletion"],
        password=DEMO_PASSWORD,
    )


def audited_key(actor, *, origin: str = "EXTERNAL", alias: str = "alias/audited") -> Key:
    """The wizard's policy: KMSAdminUser administers; KMSUser and account 444455556666 use the key."""
    return key_service.create_key(
        actor,
        origin=origin,
        alias=alias,
        policy_text=console_policy(external_accounts=[EXTERNAL_ACCOUNT], external=origin == "EXTERNAL"),
    )


def every(columns: list[str], text: str) -> dict[str, str]:
    return dict.fromkeys(columns, text)


EXPECTED = {
    ROOT_ARN: {**every(ADMIN_COLUMNS, ALLOWED), **every(USE_COLUMNS, ALLOWED)},
    arn("Admin"): {
        **every(ADMIN_COLUMNS, ALLOWED),
        "ScheduleKeyDeletion": "Explicitly denied (by IAM policy NoKeyDeletion)",
        **every(USE_COLUMNS, ALLOWED),
    },
    arn("KMSAdminUser"): {**every(ADMIN_COLUMNS, ALLOWED), **every(USE_COLUMNS, NOT_ALLOWED), "DescribeKey": ALLOWED},
    arn("KMSUser"): {**every(ADMIN_COLUMNS, NOT_ALLOWED), **every(USE_COLUMNS, ALLOWED)},
    arn("KMSAdminRole", "role"): {**every(ADMIN_COLUMNS, NOT_ALLOWED), **every(USE_COLUMNS, NOT_ALLOWED)},
    arn("KMSRole", "role"): {**every(ADMIN_COLUMNS, NOT_ALLOWED), **every(USE_COLUMNS, NOT_ALLOWED)},
    EXTERNAL_ROOT_ARN: {**every(ADMIN_COLUMNS, ACROSS), **every(USE_COLUMNS, ALLOWED)},
}
EXPECTED_HOW = {
    ROOT_ARN: 'The account itself: the key policy\'s "Enable IAM User Permissions" statement names it',
    arn("Admin"): "Through IAM policies: AdministratorAccess",
    arn("KMSAdminUser"): "Named in the key policy as key administrator",
    arn("KMSUser"): "Named in the key policy as key user",
    arn("KMSAdminRole", "role"): "No access: not named in the key policy, and no IAM policies",
    arn("KMSRole", "role"): "No access: not named in the key policy, and no IAM policies",
    EXTERNAL_ROOT_ARN: (
        "Named in the key policy as key user; its own IAM policies decide which of its users and roles may"
    ),
}


# ---------------------------------------------------------------- what the section shows


def test_the_section_lists_exactly_each_principals_outcomes(kms_admin_client, kms_admin, admin_without_deletion):
    key = audited_key(kms_admin)

    table, how, text = effective_permissions(page_of(kms_admin_client, key))

    assert list(table) == list(EXPECTED)  # the root, the users, the roles, then the external account
    assert table == EXPECTED
    assert how == EXPECTED_HOW
    assert "Can administer 111122223333 (account root user), Admin (all but ScheduleKeyDeletion), KMSAdminUser" in text
    assert "Explicit denies Admin: kms:ScheduleKeyDeletion is denied by IAM policy NoKeyDeletion" in text
    assert "Its users and roles also need permission from their own account's IAM policies" in text


def test_a_key_user_whom_get_key_policy_refuses_still_sees_the_section(client, demo, kms_admin, admin_without_deletion):
    key = audited_key(kms_admin)

    page = page_of(signed_in(demo["KMSUser"], client), key)

    assert "is not authorized to perform: kms:GetKeyPolicy" in page
    table, how, _ = effective_permissions(page)
    assert table == EXPECTED and how == EXPECTED_HOW


def test_the_section_makes_no_service_call_of_its_own(kms_admin_client, kms_admin):
    key = audited_key(kms_admin)
    before = set(AuditEvent.objects.values_list("pk", flat=True))

    page_of(kms_admin_client, key)

    recorded = sorted(AuditEvent.objects.exclude(pk__in=before).values_list("event_name", flat=True))
    # The calls the page made before it had the section: DescribeKey, GetKeyPolicy, ListResourceTags.
    assert recorded == ["DescribeKey", "GetKeyPolicy", "ListResourceTags"]


def test_an_aws_managed_key_shows_that_no_one_administers_it(client, demo):
    key = Alias.objects.get(account_id=MAIN_ACCOUNT, region="us-west-2", name="alias/aws/s3").target_key

    table, _, text = effective_permissions(page_of(signed_in(demo["Admin"], client), key))

    assert "No one: AWS manages this key" in text
    assert set(next(iter(table.values()))) == set(USE_COLUMNS)
    # Its policy lets principals use it only through S3 (kms:ViaService), which a direct call never is.
    assert all(table[a]["Encrypt"] == NOT_ALLOWED for a in table)
    assert table[ROOT_ARN]["DescribeKey"] == ALLOWED


def test_a_disabled_key_says_its_state_refuses_use_whoever_calls(kms_admin_client, kms_admin):
    key = audited_key(kms_admin, origin="AWS_KMS")
    key_service.disable_key(kms_admin, key_id=key.key_id)

    _, _, text = effective_permissions(page_of(kms_admin_client, key))

    assert "while the key is Disabled, KMS refuses" in text
    assert "Encrypt, Decrypt, GenerateDataKey, ReEncryptFrom, ReEncryptTo whoever calls" in text


# ---------------------------------------------------------------- the table agrees with the gate


def actors(demo) -> dict[str, object]:
    """Who acts for each row: the principal itself; for the external account, its user ExternalUser, whose own
    IAM policies allow KMS (the footnote's "their users also need their own IAM permission")."""
    principals = {p.arn: p for p in Principal.objects.filter(account_id=MAIN_ACCOUNT)}
    found = {arn: actor_for(principals[arn]) for arn in EXPECTED if arn in principals}
    found[EXTERNAL_ROOT_ARN] = actor_for(demo["ExternalUser"])
    return found


def succeeds(call) -> bool:
    try:
        call()
    except KmsError as exc:
        assert exc.code in ("AccessDeniedException", "NotFoundException"), exc
        return False
    return True


def test_encrypt_and_describe_key_succeed_exactly_where_the_table_says_allowed(
    kms_admin_client, demo, kms_admin, admin_without_deletion
):
    key = audited_key(kms_admin, origin="AWS_KMS", alias="alias/in-use")
    table, _, _ = effective_permissions(page_of(kms_admin_client, key))
    callers = actors(demo)
    assert set(callers) == set(table)

    for principal, actor in callers.items():
        encrypted = succeeds(lambda actor=actor: cryptographic.encrypt(actor, key_id=key.arn, plaintext=b"audit"))
        described = succeeds(lambda actor=actor: key_service.describe_key(actor, key_id=key.arn))
        assert encrypted == (table[principal]["Encrypt"] == ALLOWED), principal
        assert described == (table[principal]["DescribeKey"] == ALLOWED), principal


def test_schedule_key_deletion_succeeds_exactly_where_the_table_says_allowed(
    kms_admin_client, demo, kms_admin, admin_without_deletion
):
    callers = actors(demo)
    outcomes = {}
    for number, (principal, actor) in enumerate(callers.items()):
        # A key of its own each: a successful call leaves the key pending deletion.
        key = audited_key(kms_admin, origin="AWS_KMS", alias=f"alias/deletion-{number}")
        cell = effective_permissions(page_of(kms_admin_client, key))[0][principal]["ScheduleKeyDeletion"]
        try:
            key_service.schedule_key_deletion(actor, key_id=key.arn, pending_window_days=7)
        except KmsError as exc:
            outcomes[principal] = (cell, exc.code, "explicit deny" in exc.message)
        else:
            outcomes[principal] = (cell, "PendingDeletion", False)
            assert Key.objects.get(pk=key.pk).state == "PendingDeletion"

    assert outcomes == {
        ROOT_ARN: (ALLOWED, "PendingDeletion", False),
        arn("Admin"): ("Explicitly denied (by IAM policy NoKeyDeletion)", "AccessDeniedException", True),
        arn("KMSAdminUser"): (ALLOWED, "PendingDeletion", False),
        arn("KMSUser"): (NOT_ALLOWED, "AccessDeniedException", False),
        arn("KMSAdminRole", "role"): (NOT_ALLOWED, "AccessDeniedException", False),
        arn("KMSRole", "role"): (NOT_ALLOWED, "AccessDeniedException", False),
        # Another account's key is not found for ScheduleKeyDeletion: KMS does not offer it across accounts.
        EXTERNAL_ROOT_ARN: (ACROSS, "NotFoundException", False),
    }


# ---------------------------------------------------------------- cost


def test_the_section_costs_the_same_queries_for_5_and_50_principals(
    kms_admin_client, demo, kms_admin, django_assert_num_queries
):
    key = audited_key(kms_admin)
    assert Principal.objects.filter(account_id=MAIN_ACCOUNT).exclude(kind="root").count() == 5
    with CaptureQueriesContext(connection) as five:
        page_of(kms_admin_client, key)

    main = demo["Admin"].account
    for number in range(45):
        directory.ensure_principal(
            main,
            kind="user" if number % 3 else "role",
            name=f"Team{number:02d}",
            iam_policies=[NO_DELETION] if number % 2 else [],
            iam_policy_names=["NoKeyDeletion"] if number % 2 else [],
        )
    assert Principal.objects.filter(account_id=MAIN_ACCOUNT).exclude(kind="root").count() == 50

    with django_assert_num_queries(len(five)):
        table, _, _ = effective_permissions(page_of(kms_admin_client, key))
    assert len(table) == 50 + 2  # and the account root and the external account


# ---------------------------------------------------------------- Lifecycle: the key's events in the Event history


def test_lifecycle_links_to_the_event_history_of_this_key_only(kms_admin_client, kms_admin):
    key = audited_key(kms_admin)
    other = audited_key(kms_admin, alias="alias/other")
    page = page_of(kms_admin_client, key)
    lifecycle = page.split('id="lifecycle"', 1)[1]
    url = f"{reverse('console:event-history')}?region=us-west-2&amp;key_id={key.key_id}"
    assert f'<a href="{url}">View in Event history</a>' in lifecycle

    history = kms_admin_client.get(url.replace("&amp;", "&"))

    assert history.status_code == 200
    rows = history.context["page"].rows
    assert rows and {r.key_id for r in rows} == {key.key_id}
    assert "CreateKey" in {r.event_name for r in rows}
    assert other.key_id not in history.content.decode()
