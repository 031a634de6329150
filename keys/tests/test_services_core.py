"""The core under both faces: the gate, the key-state table, audit records, creation rules."""

from __future__ import annotations

import json

import pytest

from keys import states
from keys.errors import KmsError
from keys.models import Alias, AuditEvent, Key, Tag, WrappingKeyPair
from keys.services import cryptographic, importing
from keys.services import keys as key_service
from keys.tests.helpers import SEED_MEMBERS, console_policy

pytestmark = pytest.mark.django_db

ACCOUNT = "111122223333"


# KMSAdminUser administers the keys; KMSUser and the account 444455556666 use them.
EXTERNAL_ORIGIN_POLICY = console_policy(external_accounts=["444455556666"])
KMS_ORIGIN_POLICY = console_policy(external_accounts=["444455556666"], external=False)


@pytest.fixture
def external_key(admin) -> Key:
    return key_service.create_key(admin, origin="EXTERNAL", policy_text=EXTERNAL_ORIGIN_POLICY, alias="alias/imported")


def test_external_key_starts_pending_import_without_material(external_key):
    assert external_key.state == states.PENDING_IMPORT
    assert external_key.sealed_material is None
    meta = key_service.key_metadata(external_key)
    assert set(meta) == SEED_MEMBERS
    assert meta["Enabled"] is False and meta["Origin"] == "EXTERNAL" and meta["KeyState"] == "PendingImport"


def test_kms_key_is_enabled_with_sealed_256_bit_material(admin):
    key = key_service.create_key(admin, description="d")
    assert key.state == states.ENABLED
    assert key.sealed_material is not None and len(bytes(key.sealed_material)) > 32


def test_create_key_records_create_key_create_alias_and_tag_resource(admin):
    key_service.create_key(
        admin, origin="EXTERNAL", policy_text=EXTERNAL_ORIGIN_POLICY, alias="alias/a", tags=[("team", "x")]
    )
    names = list(AuditEvent.objects.order_by("event_time", "event_name").values_list("event_name", flat=True))
    assert {"CreateKey", "CreateAlias", "TagResource"} <= set(names)
    record = AuditEvent.objects.get(event_name="CreateKey").record
    assert record["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/Admin"
    assert record["eventSource"] == "kms.amazonaws.com"
    assert record["requestParameters"]["origin"] == "EXTERNAL"
    assert record["responseElements"]["keyMetadata"]["KeyState"] == "PendingImport"


def test_replayed_creation_token_creates_exactly_one_key(admin):
    first = key_service.create_key(admin, alias="alias/once", creation_token="tok-1")
    again = key_service.create_key(admin, alias="alias/once", creation_token="tok-1")
    assert first.key_id == again.key_id
    assert Key.objects.filter(account_id=ACCOUNT, key_manager="CUSTOMER").count() == 1


def test_taken_alias_refuses_creation_and_leaves_nothing_half_made(admin):
    key_service.create_key(admin, alias="alias/taken")
    before = Key.objects.count()
    with pytest.raises(KmsError) as caught:
        key_service.create_key(admin, alias="alias/taken", tags=[("a", "b")])
    assert caught.value.code == "AlreadyExistsException"
    assert Key.objects.count() == before
    assert AuditEvent.objects.filter(event_name="CreateKey", error_code="AlreadyExistsException").exists()


def test_same_alias_is_free_in_another_region(admin):
    key_service.create_key(admin, alias="alias/regional")
    other = key_service.create_key(admin.in_region("eu-west-1"), alias="alias/regional")
    assert other.region == "eu-west-1"


def test_kms_user_may_encrypt_but_not_schedule_deletion_and_the_denial_is_audited(admin, kms_user, external_key):
    material_key = key_service.create_key(admin, policy_text=KMS_ORIGIN_POLICY)
    result = cryptographic.encrypt(kms_user, key_id=material_key.key_id, plaintext=b"hello")
    assert result["KeyId"] == material_key.arn
    with pytest.raises(KmsError) as caught:
        key_service.schedule_key_deletion(kms_user, key_id=material_key.key_id, pending_window_days=7)
    assert caught.value.code == "AccessDeniedException"
    assert "is not authorized to perform: kms:ScheduleKeyDeletion" in caught.value.message
    material_key.refresh_from_db()
    assert material_key.state == states.ENABLED
    denial = AuditEvent.objects.get(event_name="ScheduleKeyDeletion")
    assert denial.error_code == "AccessDeniedException" and denial.key_id == material_key.key_id


def test_kms_admin_may_schedule_deletion(kms_admin, external_key):
    key = key_service.schedule_key_deletion(kms_admin, key_id=external_key.key_id, pending_window_days=7)
    assert key.state == states.PENDING_DELETION and key.pending_window_days == 7


def test_external_account_uses_key_by_arn_only_when_policy_names_it(admin, external_user):
    named = key_service.create_key(admin, policy_text=KMS_ORIGIN_POLICY)
    assert cryptographic.encrypt(external_user, key_id=named.arn, plaintext=b"x")["KeyId"] == named.arn
    unnamed = key_service.create_key(admin)
    with pytest.raises(KmsError) as caught:
        cryptographic.encrypt(external_user, key_id=unnamed.arn, plaintext=b"x")
    assert caught.value.code == "AccessDeniedException"


def test_other_account_cannot_find_key_by_id_or_manage_it_by_arn(admin, external_user):
    key = key_service.create_key(admin, policy_text=KMS_ORIGIN_POLICY)
    for identifier in (key.key_id, key.arn):
        with pytest.raises(KmsError) as caught:
            key_service.schedule_key_deletion(external_user, key_id=identifier)
        assert caught.value.code == "NotFoundException"


def test_alias_is_refused_where_only_ids_are_accepted(admin, external_key):
    with pytest.raises(KmsError) as caught:
        key_service.enable_key(admin, key_id="alias/imported")
    assert caught.value.code == "InvalidArnException"
    assert key_service.describe_key(admin, key_id="alias/imported")["KeyId"] == external_key.key_id


def _key_in(admin, state: str, origin: str) -> Key:
    key = key_service.create_key(admin, origin=origin)
    if state == states.DISABLED:
        if origin == "EXTERNAL":
            key.sealed_material, key.state = b"x" * 40, states.DISABLED
            key.save()
        else:
            key_service.disable_key(admin, key_id=key.key_id)
    elif state == states.ENABLED and origin == "EXTERNAL":
        key.sealed_material, key.state = b"x" * 40, states.ENABLED
        key.save()
    elif state == states.PENDING_DELETION:
        key_service.schedule_key_deletion(admin, key_id=key.key_id, pending_window_days=7)
    key.refresh_from_db()
    assert key.state == state
    return key


LIFECYCLE = {
    "EnableKey": lambda a, k: key_service.enable_key(a, key_id=k),
    "DisableKey": lambda a, k: key_service.disable_key(a, key_id=k),
    "ScheduleKeyDeletion": lambda a, k: key_service.schedule_key_deletion(a, key_id=k, pending_window_days=7),
    "CancelKeyDeletion": lambda a, k: key_service.cancel_key_deletion(a, key_id=k),
    "UpdateKeyDescription": lambda a, k: key_service.update_key_description(a, key_id=k, description="new"),
    "TagResource": lambda a, k: key_service.tag_resource(a, key_id=k, tags=[("k", "v")]),
    "UntagResource": lambda a, k: key_service.untag_resource(a, key_id=k, tag_keys=["k"]),
    "CreateAlias": lambda a, k: key_service.create_alias(a, alias_name="alias/state-test", target_key_id=k),
    "EnableKeyRotation": lambda a, k: key_service.set_key_rotation(a, key_id=k, enabled=True),
    "DisableKeyRotation": lambda a, k: key_service.set_key_rotation(a, key_id=k, enabled=False),
    "GetKeyRotationStatus": lambda a, k: key_service.get_key_rotation_status(a, key_id=k),
    "PutKeyPolicy": lambda a, k: key_service.put_key_policy(a, key_id=k, policy_text=EXTERNAL_ORIGIN_POLICY),
    "GetKeyPolicy": lambda a, k: key_service.get_key_policy(a, key_id=k),
    "DeleteImportedKeyMaterial": lambda a, k: importing.delete_imported_key_material(a, key_id=k),
    "GetParametersForImport": lambda a, k: importing.get_parameters_for_import(
        a, key_id=k, wrapping_algorithm="RSAES_OAEP_SHA_256", wrapping_key_spec="RSA_2048"
    ),
}
CASES = [
    (operation, state, origin)
    for operation in LIFECYCLE
    for origin in ("AWS_KMS", "EXTERNAL")
    for state in states.ALL_STATES
    if not (origin == "AWS_KMS" and state == states.PENDING_IMPORT)
]


@pytest.mark.parametrize(("operation", "state", "origin"), CASES)
def test_each_operation_follows_the_key_state_table(admin, operation, state, origin):
    key = _key_in(admin, state, origin)
    expected = states.refusal(operation, state=state, origin=origin)
    if expected is None:
        LIFECYCLE[operation](admin, key.key_id)
        return
    before = (
        key.state,
        key.description,
        Tag.objects.filter(key=key).count(),
        Alias.objects.filter(target_key=key).count(),
    )
    with pytest.raises(KmsError) as caught:
        LIFECYCLE[operation](admin, key.key_id)
    assert (caught.value.code, caught.value.message) == (expected.error, expected.message(key.arn))
    key.refresh_from_db()
    assert before == (key.state, key.description, key.tags.count(), Alias.objects.filter(target_key=key).count())


def test_cancel_deletion_returns_key_to_disabled(admin):
    key = _key_in(admin, states.PENDING_DELETION, "AWS_KMS")
    assert key_service.cancel_key_deletion(admin, key_id=key.key_id).state == states.DISABLED


def test_cancel_deletion_of_key_without_material_returns_to_pending_import(admin):
    key = _key_in(admin, states.PENDING_DELETION, "EXTERNAL")
    assert key_service.cancel_key_deletion(admin, key_id=key.key_id).state == states.PENDING_IMPORT


def test_put_key_policy_refuses_a_policy_that_locks_the_caller_out(kms_admin, external_key):
    locked = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/KMSUser"}, "Action": "kms:Encrypt", "Resource": "*"}
    ]}  # fmt: skip
    with pytest.raises(KmsError) as caught:
        key_service.put_key_policy(kms_admin, key_id=external_key.key_id, policy_text=json.dumps(locked))
    assert caught.value.code == "MalformedPolicyDocumentException"


def test_aws_managed_keys_refuse_changes(admin):
    managed = Alias.objects.get(account_id=ACCOUNT, name="alias/aws/s3").target_key
    with pytest.raises(KmsError) as caught:
        key_service.disable_key(admin, key_id=managed.key_id)
    assert caught.value.code in {"UnsupportedOperationException", "AccessDeniedException"}
    managed.refresh_from_db()
    assert managed.state == states.ENABLED


@pytest.mark.parametrize(
    "alias",
    ["", "a" * 251, "bad name", "aws", "AWSkey", "Aws-thing", "x!"],
)
def test_console_alias_rules(alias):
    with pytest.raises(KmsError):
        key_service.check_console_alias(alias)


def test_console_alias_accepts_documented_characters():
    assert key_service.check_console_alias("my/app_key-1") == "alias/my/app_key-1"


@pytest.mark.parametrize(
    "tags",
    [
        [("", "v")],
        [("k" * 129, "v")],
        [("k", "v" * 257)],
        [("aws:reserved", "v")],
        [("dup", "1"), ("dup", "2")],
        [(f"k{i}", "v") for i in range(51)],
    ],
)
def test_tag_rules(tags):
    with pytest.raises(KmsError):
        key_service.check_tags(tags)


def test_wrapping_key_pairs_come_from_the_pool_once_each(admin, external_key):
    assert importing.fill_wrapping_key_pool(per_spec={"RSA_2048": 2}) == 2
    pooled = set(WrappingKeyPair.objects.values_list("id", flat=True))
    taken = [
        importing.get_parameters_for_import(
            admin, key_id=external_key.key_id, wrapping_algorithm="RSAES_OAEP_SHA_1", wrapping_key_spec="RSA_2048"
        ).id
        for _ in range(3)
    ]
    assert set(taken[:2]) == pooled and taken[2] not in pooled
    assert WrappingKeyPair.objects.count() == 0


def test_the_key_lists_alias_follows_every_alias_change(admin):
    first = key_service.create_key(admin, alias="alias/zeta")
    second = key_service.create_key(admin)
    assert Key.objects.get(pk=first.pk).list_alias == "alias/zeta"
    key_service.create_alias(admin, alias_name="alias/alpha", target_key_id=first.key_id)
    assert Key.objects.get(pk=first.pk).list_alias == "alias/alpha"
    key_service.update_alias(admin, alias_name="alias/alpha", target_key_id=second.key_id)
    assert Key.objects.get(pk=first.pk).list_alias == "alias/zeta"
    assert Key.objects.get(pk=second.pk).list_alias == "alias/alpha"
    key_service.delete_alias(admin, alias_name="alias/alpha")
    assert Key.objects.get(pk=second.pk).list_alias is None


def test_reencrypt_is_authorized_as_reencrypt_from_and_to(admin, kms_user):
    """A policy granting only kms:ReEncryptFrom and kms:ReEncryptTo is enough, as in AWS."""
    user = f"arn:aws:iam::{ACCOUNT}:user/KMSUser"
    document = json.loads(console_policy(external=False))
    document["Statement"].append(
        {"Sid": "ReEncrypt only", "Effect": "Allow", "Principal": {"AWS": user}, "Resource": "*",
         "Action": ["kms:ReEncryptFrom", "kms:ReEncryptTo"]}
    )  # fmt: skip
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "Allow use of the key"]
    key = key_service.create_key(admin, policy_text=json.dumps(document))
    blob = cryptographic.encrypt(admin, key_id=key.key_id, plaintext=b"secret")["CiphertextBlob"]
    result = cryptographic.re_encrypt(kms_user, ciphertext_blob=blob, destination_key_id=key.key_id)
    assert result["SourceKeyId"] == key.arn == result["KeyId"]
    with pytest.raises(KmsError) as caught:
        cryptographic.encrypt(kms_user, key_id=key.key_id, plaintext=b"x")
    assert caught.value.code == "AccessDeniedException"


@pytest.mark.parametrize(
    ("state", "origin", "material"),
    [
        (states.PENDING_IMPORT, "EXTERNAL", b"sealed"),  # Pending Import with material
        (states.PENDING_IMPORT, "AWS_KMS", None),  # only External keys wait for an import
        (states.ENABLED, "EXTERNAL", None),  # Enabled without material
        ("Creating", "AWS_KMS", b"sealed"),  # not a state of this replica
    ],
)
def test_the_database_refuses_an_impossible_key(admin, state, origin, material):
    from django.db import IntegrityError, transaction

    key = key_service.create_key(admin)
    key.state, key.origin, key.sealed_material = state, origin, material
    with pytest.raises(IntegrityError), transaction.atomic():
        key.save()


def test_a_call_on_another_accounts_key_is_recorded_in_both_accounts(admin, external_user):
    key = key_service.create_key(admin, policy_text=console_policy(external_accounts=["444455556666"], external=False))
    cryptographic.encrypt(external_user, key_id=key.arn, plaintext=b"x")
    owner = AuditEvent.objects.get(account_id=ACCOUNT, event_name="Encrypt")
    caller = AuditEvent.objects.get(account_id="444455556666", event_name="Encrypt")
    assert owner.record["sharedEventID"] == caller.record["sharedEventID"]
    assert (owner.record["recipientAccountId"], caller.record["recipientAccountId"]) == (ACCOUNT, "444455556666")
    assert owner.event_id != caller.event_id and caller.key_id == key.key_id
    cryptographic.encrypt(admin, key_id=key.key_id, plaintext=b"x")
    assert AuditEvent.objects.filter(event_name="Encrypt").count() == 3
