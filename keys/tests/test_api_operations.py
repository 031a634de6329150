"""Each operation through the API: its members in, its output out, and the same data the console sees."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets

import pytest

from keys import policy
from keys.api.operations import OPERATIONS
from keys.models import AuditEvent, Key, Tag
from keys.services import keys as key_service
from keys.tests.helpers import assert_seed_key_metadata
from keys.tests.kms_api import b64

pytestmark = pytest.mark.django_db

ARN = re.compile(r"^arn:aws:kms:us-west-2:111122223333:key/[0-9a-f-]{36}$")


def _create(api, **members) -> dict:
    result = api.call("CreateKey", **members)
    assert result.status == 200, result.body
    return result.body["KeyMetadata"]


def test_the_thirty_operations_of_the_issue_are_all_there():
    assert set(OPERATIONS) == {
        "CreateKey", "DescribeKey", "ListKeys", "UpdateKeyDescription", "EnableKey", "DisableKey",
        "ScheduleKeyDeletion", "CancelKeyDeletion", "CreateAlias", "UpdateAlias", "DeleteAlias", "ListAliases",
        "GetKeyPolicy", "PutKeyPolicy", "ListKeyPolicies", "TagResource", "UntagResource", "ListResourceTags",
        "GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial", "Encrypt", "Decrypt",
        "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateRandom",
        "GetKeyRotationStatus", "EnableKeyRotation", "DisableKeyRotation",
    }  # fmt: skip


def test_create_key_external_answers_the_seeds_key_metadata(admin_api):
    meta = _create(admin_api, Origin="EXTERNAL")
    assert_seed_key_metadata(meta)


def test_create_key_without_policy_gets_the_default_policy_text(admin_api):
    meta = _create(admin_api)
    result = admin_api.call("GetKeyPolicy", KeyId=meta["KeyId"], PolicyName="default")
    assert result.body == {
        "Policy": policy.render_aws_style(policy.default_api_key_policy("111122223333")),
        "PolicyName": "default",
    }
    assert json.loads(result.body["Policy"])["Id"] == "key-default-1"


def test_create_key_with_tags_description_and_a_policy(admin_api):
    document = policy.build_console_key_policy(
        account_id="111122223333",
        admin_arns=["arn:aws:iam::111122223333:user/Admin"],
        user_arns=[],
        external_account_ids=[],
    )
    text = policy.render_aws_style(document)
    meta = _create(
        admin_api,
        Description="payroll",
        Policy=text,
        Tags=[{"TagKey": "team", "TagValue": "blue"}, {"TagKey": "empty", "TagValue": ""}],
    )
    assert meta["Description"] == "payroll"
    assert sorted(Tag.objects.filter(key_id=meta["KeyId"]).values_list("tag_key", "tag_value")) == [
        ("empty", ""),
        ("team", "blue"),
    ]
    assert admin_api.call("GetKeyPolicy", KeyId=meta["KeyId"]).body["Policy"] == text


def test_the_key_the_api_creates_is_the_key_the_services_see(admin_api, admin):
    meta = _create(admin_api, Description="same key")
    assert key_service.get_key(admin, key_id=meta["KeyId"]).description == "same key"
    console_made = key_service.create_key(admin, description="made by the console")
    described = admin_api.call("DescribeKey", KeyId=console_made.arn).body["KeyMetadata"]
    assert described["Description"] == "made by the console"


def test_describe_key_by_id_arn_alias_and_alias_arn(admin_api):
    meta = _create(admin_api)
    assert admin_api.call("CreateAlias", AliasName="alias/by-name", TargetKeyId=meta["KeyId"]).status == 200
    for identifier in (
        meta["KeyId"],
        meta["Arn"],
        "alias/by-name",
        "arn:aws:kms:us-west-2:111122223333:alias/by-name",
    ):
        assert admin_api.call("DescribeKey", KeyId=identifier).body["KeyMetadata"]["KeyId"] == meta["KeyId"]


def test_lifecycle_enable_disable_description_deletion_and_cancel(admin_api):
    key_id = _create(admin_api)["KeyId"]
    assert admin_api.call("UpdateKeyDescription", KeyId=key_id, Description="new words").status == 200
    assert admin_api.call("DisableKey", KeyId=key_id).status == 200
    meta = admin_api.call("DescribeKey", KeyId=key_id).body["KeyMetadata"]
    assert (meta["KeyState"], meta["Enabled"], meta["Description"]) == ("Disabled", False, "new words")
    assert admin_api.call("EnableKey", KeyId=key_id).status == 200
    scheduled = admin_api.call("ScheduleKeyDeletion", KeyId=key_id)
    assert scheduled.body["KeyState"] == "PendingDeletion"
    assert scheduled.body["PendingWindowInDays"] == 30
    meta = admin_api.call("DescribeKey", KeyId=key_id).body["KeyMetadata"]
    assert meta["DeletionDate"] == scheduled.body["DeletionDate"]
    assert meta["PendingDeletionWindowInDays"] == 30
    assert admin_api.call("CancelKeyDeletion", KeyId=key_id).body == {"KeyId": meta["Arn"]}
    assert admin_api.call("DescribeKey", KeyId=key_id).body["KeyMetadata"]["KeyState"] == "Disabled"


def test_aliases_create_update_list_and_delete(admin_api):
    first = _create(admin_api)["KeyId"]
    second = _create(admin_api)["KeyId"]
    admin_api.call("CreateAlias", AliasName="alias/moving", TargetKeyId=first)
    assert admin_api.call("UpdateAlias", AliasName="alias/moving", TargetKeyId=second).status == 200
    listed = admin_api.call("ListAliases", KeyId=second).body
    assert [a["AliasName"] for a in listed["Aliases"]] == ["alias/moving"]
    entry = listed["Aliases"][0]
    assert entry["AliasArn"] == "arn:aws:kms:us-west-2:111122223333:alias/moving"
    assert entry["TargetKeyId"] == second
    assert isinstance(entry["CreationDate"], float) and isinstance(entry["LastUpdatedDate"], float)
    everything = admin_api.call("ListAliases").body["Aliases"]
    assert {"alias/moving", "alias/aws/s3", "alias/aws/ebs"} <= {a["AliasName"] for a in everything}
    assert admin_api.call("DeleteAlias", AliasName="alias/moving").status == 200
    assert admin_api.call("ListAliases", KeyId=second).body["Aliases"] == []


def test_list_keys_pages_with_limit_and_marker(admin_api):
    made = {_create(admin_api)["KeyId"] for _ in range(5)}
    seen: list[str] = []
    marker = None
    pages = 0
    while True:
        members = {"Limit": 2} | ({"Marker": marker} if marker else {})
        page = admin_api.call("ListKeys", **members).body
        pages += 1
        assert len(page["Keys"]) <= 2
        seen += [k["KeyId"] for k in page["Keys"]]
        assert all(ARN.match(k["KeyArn"]) for k in page["Keys"])
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert made <= set(seen)
    assert len(seen) == len(set(seen)) == Key.objects.filter(account_id="111122223333", region="us-west-2").count()
    assert pages == (len(seen) + 1) // 2


def test_tags_tag_untag_and_list(admin_api):
    key_id = _create(admin_api)["KeyId"]
    tags = [{"TagKey": f"k{i}", "TagValue": f"v{i}"} for i in range(3)]
    assert admin_api.call("TagResource", KeyId=key_id, Tags=tags).status == 200
    first = admin_api.call("ListResourceTags", KeyId=key_id, Limit=2).body
    assert first["Tags"] == tags[:2] and first["Truncated"] is True
    rest = admin_api.call("ListResourceTags", KeyId=key_id, Marker=first["NextMarker"]).body
    assert rest == {"Tags": tags[2:], "Truncated": False}
    assert admin_api.call("UntagResource", KeyId=key_id, TagKeys=["k0", "k2"]).status == 200
    assert admin_api.call("ListResourceTags", KeyId=key_id).body["Tags"] == [{"TagKey": "k1", "TagValue": "v1"}]


def test_put_and_list_key_policies(admin_api):
    key_id = _create(admin_api)["KeyId"]
    document = policy.default_api_key_policy("111122223333")
    document["Statement"][0]["Sid"] = "Renamed"
    text = json.dumps(document)
    assert admin_api.call("PutKeyPolicy", KeyId=key_id, PolicyName="default", Policy=text).status == 200
    assert admin_api.call("GetKeyPolicy", KeyId=key_id).body["Policy"] == text
    assert admin_api.call("ListKeyPolicies", KeyId=key_id).body == {"PolicyNames": ["default"], "Truncated": False}


def test_encrypt_decrypt_round_trip_with_authenticated_encryption_context(admin_api):
    key_id = _create(admin_api)["KeyId"]
    context = {"department": "payroll", "year": "2026"}
    encrypted = admin_api.call("Encrypt", KeyId=key_id, Plaintext=b64(b"salary"), EncryptionContext=context).body
    assert encrypted["KeyId"].endswith(key_id) and encrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    decrypted = admin_api.call("Decrypt", CiphertextBlob=encrypted["CiphertextBlob"], EncryptionContext=context).body
    assert base64.b64decode(decrypted["Plaintext"]) == b"salary"
    assert decrypted["KeyId"] == encrypted["KeyId"]
    missing = admin_api.call("Decrypt", CiphertextBlob=encrypted["CiphertextBlob"])
    assert missing.error_type == "InvalidCiphertextException"


def test_re_encrypt_moves_a_ciphertext_to_another_key(admin_api):
    source = _create(admin_api)["KeyId"]
    destination = _create(admin_api)["KeyId"]
    blob = admin_api.call("Encrypt", KeyId=source, Plaintext=b64(b"moving"), EncryptionContext={"a": "1"}).body
    moved = admin_api.call(
        "ReEncrypt",
        CiphertextBlob=blob["CiphertextBlob"],
        SourceEncryptionContext={"a": "1"},
        DestinationKeyId=destination,
        DestinationEncryptionContext={"b": "2"},
    ).body
    assert moved["SourceKeyId"].endswith(source) and moved["KeyId"].endswith(destination)
    back = admin_api.call("Decrypt", CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"b": "2"}).body
    assert base64.b64decode(back["Plaintext"]) == b"moving"
    assert back["KeyId"].endswith(destination)


def test_data_keys_and_random_bytes(admin_api):
    key_id = _create(admin_api)["KeyId"]
    data_key = admin_api.call("GenerateDataKey", KeyId=key_id, KeySpec="AES_256").body
    assert len(base64.b64decode(data_key["Plaintext"])) == 32
    opened = admin_api.call("Decrypt", CiphertextBlob=data_key["CiphertextBlob"]).body
    assert opened["Plaintext"] == data_key["Plaintext"]
    without = admin_api.call("GenerateDataKeyWithoutPlaintext", KeyId=key_id, NumberOfBytes=16).body
    assert "Plaintext" not in without
    assert (
        len(base64.b64decode(admin_api.call("Decrypt", CiphertextBlob=without["CiphertextBlob"]).body["Plaintext"]))
        == 16
    )
    random = admin_api.call("GenerateRandom", NumberOfBytes=64).body
    assert len(base64.b64decode(random["Plaintext"])) == 64


def test_rotation_of_an_aws_kms_key(admin_api):
    key_id = _create(admin_api)["KeyId"]
    assert admin_api.call("GetKeyRotationStatus", KeyId=key_id).body == {"KeyRotationEnabled": False}
    assert admin_api.call("EnableKeyRotation", KeyId=key_id).status == 200
    assert admin_api.call("GetKeyRotationStatus", KeyId=key_id).body == {"KeyRotationEnabled": True}
    assert admin_api.call("DisableKeyRotation", KeyId=key_id).status == 200
    assert admin_api.call("GetKeyRotationStatus", KeyId=key_id).body == {"KeyRotationEnabled": False}


def _import(api, key_id: str, material: bytes, **members):
    from keys import crypto

    params = api.call(
        "GetParametersForImport", KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    ).body
    wrapped = crypto.wrap_key_material(base64.b64decode(params["PublicKey"]), "RSAES_OAEP_SHA_256", material)
    return params, api.call(
        "ImportKeyMaterial",
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=b64(wrapped),
        **members,
    )


def test_the_import_path_get_parameters_import_and_describe(admin_api):
    meta = _create(admin_api, Origin="EXTERNAL")
    valid_to = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)
    params, imported = _import(admin_api, meta["KeyId"], secrets.token_bytes(32), ValidTo=valid_to.isoformat())
    assert set(params) == {"KeyId", "ImportToken", "PublicKey", "ParametersValidTo"}
    assert params["KeyId"] == meta["Arn"]
    assert params["ParametersValidTo"] == pytest.approx(
        (dt.datetime.now(dt.UTC) + dt.timedelta(hours=24)).timestamp(), abs=60
    )
    assert imported.status == 200, imported.body
    assert imported.body["KeyId"] == meta["Arn"]
    assert re.fullmatch(r"[0-9a-f]{64}", imported.body["KeyMaterialId"])
    described = admin_api.call("DescribeKey", KeyId=meta["KeyId"]).body["KeyMetadata"]
    assert described["KeyState"] == "Enabled" and described["Enabled"] is True
    assert described["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert described["ValidTo"] == valid_to.timestamp()


def test_a_ciphertext_from_before_deleting_the_material_decrypts_after_reimporting_it(admin_api):
    key_id = _create(admin_api, Origin="EXTERNAL")["KeyId"]
    material = secrets.token_bytes(32)
    _, first = _import(admin_api, key_id, material, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    blob = admin_api.call("Encrypt", KeyId=key_id, Plaintext=b64(b"kept")).body["CiphertextBlob"]
    deleted = admin_api.call("DeleteImportedKeyMaterial", KeyId=key_id)
    assert deleted.body == {"KeyId": first.body["KeyId"], "KeyMaterialId": first.body["KeyMaterialId"]}
    assert admin_api.call("Decrypt", CiphertextBlob=blob).error_type == "KMSInvalidStateException"
    meta = admin_api.call("DescribeKey", KeyId=key_id).body["KeyMetadata"]
    assert (meta["KeyState"], meta["ExpirationModel"]) == ("PendingImport", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    _, again = _import(admin_api, key_id, material, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert again.body["KeyMaterialId"] == first.body["KeyMaterialId"]
    assert base64.b64decode(admin_api.call("Decrypt", CiphertextBlob=blob).body["Plaintext"]) == b"kept"


def test_kms_user_may_encrypt_but_not_schedule_deletion_of_a_key_whose_policy_makes_it_a_user(
    admin, kms_user_api, demo
):
    document = policy.build_console_key_policy(
        account_id="111122223333",
        admin_arns=[demo["KMSAdminUser"].arn],
        user_arns=[demo["KMSUser"].arn],
        external_account_ids=[],
    )
    key = key_service.create_key(admin, policy_text=policy.render_aws_style(document))
    assert kms_user_api.call("Encrypt", KeyId=key.key_id, Plaintext=b64(b"ok")).status == 200
    refused = kms_user_api.call("ScheduleKeyDeletion", KeyId=key.key_id)
    assert refused.error_type == "AccessDeniedException"
    assert refused.body["message"] == (
        f"User: {demo['KMSUser'].arn} is not authorized to perform: kms:ScheduleKeyDeletion on resource: "
        f"{key.arn} because no resource-based policy allows the kms:ScheduleKeyDeletion action"
    )
    key.refresh_from_db()
    assert key.state == "Enabled"
    assert AuditEvent.objects.filter(event_name="ScheduleKeyDeletion", error_code="AccessDeniedException").exists()


def test_external_user_encrypts_with_the_key_arn_only_when_its_account_is_in_the_policy(admin, external_api):
    shared = policy.build_console_key_policy(
        account_id="111122223333", admin_arns=[], user_arns=[], external_account_ids=["444455556666"]
    )
    shared_key = key_service.create_key(admin, policy_text=policy.render_aws_style(shared))
    private_key = key_service.create_key(admin)
    assert external_api.call("Encrypt", KeyId=shared_key.arn, Plaintext=b64(b"x")).status == 200
    denied = external_api.call("Encrypt", KeyId=private_key.arn, Plaintext=b64(b"x"))
    assert denied.error_type == "AccessDeniedException"
    # By bare key ID the key is looked for in the caller's own account.
    assert external_api.call("Encrypt", KeyId=shared_key.key_id, Plaintext=b64(b"x")).error_type == "NotFoundException"
    # Management operations are not cross-account.
    assert external_api.call("DisableKey", KeyId=shared_key.arn).error_type == "NotFoundException"
