"""The JSON 1.1 protocol: what goes to the API, how members are read, how answers and errors look."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.test import Client

from keys.api import operations
from keys.api.protocol import MAX_BODY_BYTES
from keys.models import AuditEvent, Key
from keys.services import gate
from keys.tests.kms_api import CONTENT_TYPE, answer, b64

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_id(admin_api) -> str:
    return admin_api.call("CreateKey", Description="protocol tests").body["KeyMetadata"]["KeyId"]


# ---------------------------------------------------------------- routing


def test_get_of_the_root_is_the_console(client: Client):
    response = client.get("/")
    assert response["Content-Type"] != CONTENT_TYPE
    assert "x-amzn-RequestId" not in response


def test_a_form_post_to_the_root_without_target_is_the_consoles(client: Client):
    response = client.post("/", {"a": "b"})
    assert "x-amzn-RequestId" not in response
    assert response["Content-Type"].startswith("text/html")


def test_a_post_with_x_amz_target_is_the_api_even_without_a_csrf_token(admin_api):
    result = admin_api.call("ListKeys")
    assert result.status == 200
    assert result.headers["Content-Type"] == CONTENT_TYPE
    assert result.headers["x-amzn-RequestId"]


def test_an_unsigned_post_with_x_amz_target_gets_a_json_error_not_a_csrf_page(client: Client):
    response = client.post("/", b"{}", content_type=CONTENT_TYPE, HTTP_X_AMZ_TARGET="TrentService.ListKeys")
    assert response.status_code == 400
    assert response["Content-Type"] == CONTENT_TYPE
    assert json.loads(response.content) == {
        "__type": "MissingAuthenticationTokenException",
        "message": "Missing Authentication Token",
    }
    assert response["x-amzn-RequestId"]


def test_the_moto_reset_path_does_not_exist_without_open_mode(client: Client, settings):
    settings.KMS_API_AUTH = "sigv4"
    response = client.post("/moto-api/reset")
    assert response.status_code == 404


# ---------------------------------------------------------------- the request


def test_an_unknown_operation_is_unknown_operation_exception(admin_api):
    response = answer(admin_api.send("TrentService.MakeCoffee", b"{}"))
    assert response.status == 400
    assert response.error_type == "UnknownOperationException"


def test_a_target_of_another_service_is_unknown(admin_api):
    response = answer(admin_api.send("DynamoDB_20120810.ListTables", b"{}"))
    assert response.error_type == "UnknownOperationException"


def test_a_kms_operation_the_replica_does_not_implement_is_unsupported(admin_api):
    response = answer(admin_api.send("TrentService.CreateGrant", b"{}"))
    assert response.status == 400
    assert response.error_type == "UnsupportedOperationException"
    assert "CreateGrant" in response.body["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_body_that_is_not_json_by_content_type_is_refused(admin_api, content_type):
    response = answer(admin_api.send("TrentService.ListKeys", b"{}", content_type=content_type))
    assert response.status == 400
    assert response.error_type == "SerializationException"


@pytest.mark.parametrize("content_type", ["application/x-amz-json-1.1", "application/x-amz-json-1.1; charset=utf-8"])
def test_the_json_content_types_are_accepted(admin_api, content_type):
    assert answer(admin_api.send("TrentService.ListKeys", b"{}", content_type=content_type)).status == 200


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"not json",
        b"[]",
        b'"text"',
        b"42",
        b"null",
        b'{"Limit": NaN}',
        b'{"a":1,"a":2}',
        b"\xff\xfe",
        b"[" * 100000,
    ],
    ids=["truncated", "text", "array", "string", "number", "null", "nan", "duplicate", "not-utf8", "deep"],
)
def test_a_body_that_is_not_a_json_object_is_a_serialization_exception(admin_api, body):
    response = answer(admin_api.send("TrentService.ListKeys", body))
    assert response.status == 400
    assert response.error_type == "SerializationException"


def test_an_empty_body_is_an_empty_request(admin_api):
    assert answer(admin_api.send("TrentService.ListKeys", b"")).status == 200


def test_an_oversized_body_is_a_client_error(admin_api):
    body = json.dumps({"Description": "x" * (MAX_BODY_BYTES + 10)}).encode()
    response = answer(admin_api.send("TrentService.CreateKey", body))
    assert response.status == 400
    assert response.error_type == "ValidationException"
    assert str(MAX_BODY_BYTES) in response.body["message"]
    assert Key.objects.filter(description__startswith="xxx").count() == 0


def test_a_body_just_under_the_limit_is_read(admin_api):
    body = json.dumps({"Limit": 5, "Marker": None}).encode().ljust(MAX_BODY_BYTES - 10, b" ")
    assert answer(admin_api.send("TrentService.ListKeys", body)).status == 200


def test_an_unknown_member_is_named_in_a_validation_exception(admin_api, key_id):
    result = admin_api.call("DescribeKey", KeyId=key_id, KeyIdentifier="x")
    assert result.status == 400
    assert result.error_type == "ValidationException"
    assert result.body["message"].startswith("1 validation error detected: 'KeyIdentifier' is not a member of")


def test_missing_required_members_are_each_named(admin_api):
    result = admin_api.call("CreateAlias")
    assert result.error_type == "ValidationException"
    assert result.body["message"] == (
        "2 validation errors detected: "
        "Value null at 'aliasName' failed to satisfy constraint: Member must not be null; "
        "Value null at 'targetKeyId' failed to satisfy constraint: Member must not be null"
    )


def test_a_null_member_is_an_absent_member(admin_api):
    assert admin_api.call("ListKeys", Limit=None, Marker=None).status == 200
    assert admin_api.call("DescribeKey", KeyId=None).error_type == "ValidationException"


@pytest.mark.parametrize(
    "operation, members, path",
    [
        ("DescribeKey", {"KeyId": 42}, "keyId"),
        ("DescribeKey", {"KeyId": ["a"]}, "keyId"),
        ("ListKeys", {"Limit": "10"}, "limit"),
        ("ListKeys", {"Limit": 2.5}, "limit"),
        ("ListKeys", {"Limit": True}, "limit"),
        ("CreateKey", {"BypassPolicyLockoutSafetyCheck": "true"}, "bypassPolicyLockoutSafetyCheck"),
        ("CreateKey", {"Tags": {"TagKey": "a", "TagValue": "b"}}, "tags"),
        ("CreateKey", {"Tags": ["a"]}, "tags.1.member"),
        ("CreateKey", {"Tags": [{"TagKey": 1, "TagValue": "b"}]}, "tags.1.member.tagKey"),
        ("Encrypt", {"KeyId": "k", "Plaintext": 12}, "plaintext"),
        ("Encrypt", {"KeyId": "k", "Plaintext": "aGk=", "EncryptionContext": ["a"]}, "encryptionContext"),
        ("Encrypt", {"KeyId": "k", "Plaintext": "aGk=", "EncryptionContext": {"a": 1}}, "encryptionContext"),
        ("UntagResource", {"KeyId": "k", "TagKeys": "a"}, "tagKeys"),
        ("UntagResource", {"KeyId": "k", "TagKeys": [None]}, "tagKeys.1.member"),
        ("ListKeys", {"Limit": 2**40}, "limit"),
    ],
)
def test_a_member_of_the_wrong_type_is_a_serialization_exception_naming_it(admin_api, operation, members, path):
    result = admin_api.call(operation, **members)
    assert result.status == 400
    assert result.error_type == "SerializationException"
    assert f"'{path}'" in result.body["message"]


@pytest.mark.parametrize("blob", ["not base64!", "aGk", "aGk=\n", "====", "a" * 5])
def test_a_blob_that_is_not_base64_is_a_serialization_exception(admin_api, key_id, blob):
    result = admin_api.call("Encrypt", KeyId=key_id, Plaintext=blob)
    assert result.error_type == "SerializationException"
    assert "'plaintext'" in result.body["message"]


@pytest.mark.parametrize("text", ["a\x00b", "\ud800"])
def test_strings_with_nul_or_lone_surrogates_are_refused(admin_api, text):
    result = answer(admin_api.send("TrentService.CreateKey", json.dumps({"Description": text}).encode()))
    assert result.status == 400
    assert result.error_type in ("ValidationException", "SerializationException")
    assert "'description'" in result.body["message"]


def test_a_member_the_replica_does_not_support_is_refused_unless_neutral(admin_api, key_id):
    assert admin_api.call("DescribeKey", KeyId=key_id, GrantTokens=[]).status == 200
    assert admin_api.call("CreateKey", MultiRegion=False).status == 200
    result = admin_api.call("DescribeKey", KeyId=key_id, GrantTokens=["token"])
    assert result.error_type == "UnsupportedOperationException"
    assert result.body["message"] == "GrantTokens is not supported by this replica."
    assert admin_api.call("CreateKey", MultiRegion=True).error_type == "UnsupportedOperationException"


def test_an_iso_8601_valid_to_is_read_as_the_same_instant_as_epoch_seconds(admin_api):
    # ValidTo is checked by ImportKeyMaterial after the token: a malformed time is refused before that.
    create = admin_api.call("CreateKey", Origin="EXTERNAL").body["KeyMetadata"]["KeyId"]
    bad = admin_api.call(
        "ImportKeyMaterial", KeyId=create, ImportToken=b64(b"t"), EncryptedKeyMaterial=b64(b"m"), ValidTo="soon"
    )
    assert bad.error_type == "SerializationException"
    assert "'validTo'" in bad.body["message"]
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)
    for valid_to in (
        soon.isoformat().replace("+00:00", "Z"),
        soon.astimezone(dt.timezone(dt.timedelta(hours=-8))).isoformat(),
        soon.replace(tzinfo=None).isoformat(),
        soon.timestamp(),
        int(soon.timestamp()),
    ):
        result = admin_api.call(
            "ImportKeyMaterial", KeyId=create, ImportToken=b64(b"t"), EncryptedKeyMaterial=b64(b"m"), ValidTo=valid_to
        )
        # Past the parsing: the service then judges the token.
        assert result.error_type == "InvalidImportTokenException", valid_to


# ---------------------------------------------------------------- the answer


def test_times_are_epoch_seconds_and_blobs_base64(admin_api, key_id):
    meta = admin_api.call("DescribeKey", KeyId=key_id).body["KeyMetadata"]
    created = Key.objects.get(key_id=key_id).creation_date
    assert isinstance(meta["CreationDate"], float)
    assert meta["CreationDate"] == pytest.approx(created.timestamp(), abs=0.001)
    encrypted = admin_api.call("Encrypt", KeyId=key_id, Plaintext=b64(b"secret"))
    decrypted = admin_api.call("Decrypt", CiphertextBlob=encrypted.body["CiphertextBlob"])
    assert decrypted.body["Plaintext"] == b64(b"secret")


def test_an_operation_without_output_answers_an_empty_body(admin_api, key_id):
    response = admin_api.send("TrentService.DisableKey", json.dumps({"KeyId": key_id}).encode())
    assert response.status_code == 200
    assert response.content == b""
    assert response["x-amzn-RequestId"]


def test_the_request_id_is_the_audit_records_request_id(admin_api, key_id):
    result = admin_api.call("DescribeKey", KeyId=key_id)
    event = AuditEvent.objects.filter(event_name="DescribeKey", key_id=key_id).latest("event_time")
    assert event.record["requestID"] == result.headers["x-amzn-RequestId"]


def test_a_request_refused_for_its_members_is_audited_as_the_callers_call(admin_api, demo):
    result = admin_api.call("ScheduleKeyDeletion", KeyId=7)
    event = AuditEvent.objects.filter(event_name="ScheduleKeyDeletion").latest("event_time")
    assert event.error_code == "SerializationException"
    assert event.principal_arn == demo["Admin"].arn
    assert event.record["requestID"] == result.headers["x-amzn-RequestId"]
    assert event.record["requestParameters"] is None


def test_client_faults_are_400_with_type_and_message(admin_api):
    result = admin_api.call("DescribeKey", KeyId="1234abcd-12ab-34cd-56ef-1234567890ab")
    assert result.status == 400
    assert set(result.body) == {"__type", "message"}
    assert result.body["__type"] == "NotFoundException"
    assert result.body["message"] == (
        "Key 'arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' does not exist"
    )


def test_an_unexpected_fault_is_a_500_kms_internal_exception_logged_without_the_body(admin_api, monkeypatch, caplog):
    def explode(actor, members):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setitem(
        operations.OPERATIONS,
        "Explode",
        operations.Operation("Explode", {"Plaintext": operations.Member(operations.BLOB)}, explode),
    )
    with caplog.at_level(logging.ERROR, logger="keys.api"):
        response = admin_api.send("TrentService.Explode", json.dumps({"Plaintext": b64(b"TOP-SECRET")}).encode())
    assert response.status_code == 500
    assert json.loads(response.content)["__type"] == "KMSInternalException"
    assert response["x-amzn-RequestId"] in caplog.text
    assert "the disk is on fire" in caplog.text
    assert "TOP-SECRET" not in caplog.text and b64(b"TOP-SECRET") not in caplog.text


def test_the_request_id_of_one_call_does_not_leak_into_the_next(admin_api, key_id):
    admin_api.call("DescribeKey", KeyId=key_id)
    assert gate.current_request_id.get() is None


def test_the_region_of_the_credential_scope_is_the_callers_region(admin_api, demo):
    from keys.tests.kms_api import KmsApi

    ireland = KmsApi(admin_api.access_key_id, admin_api.secret, region="eu-west-1")
    created = ireland.call("CreateKey").body["KeyMetadata"]
    assert created["Arn"].startswith("arn:aws:kms:eu-west-1:111122223333:key/")
    assert Key.objects.get(key_id=created["KeyId"]).region == "eu-west-1"
    # Keys are regional: Oregon does not know the Ireland key.
    assert admin_api.call("DescribeKey", KeyId=created["KeyId"]).error_type == "NotFoundException"
    assert ireland.call("DescribeKey", KeyId=created["Arn"]).status == 200


def test_schedule_key_deletion_answers_the_arn_the_date_and_the_state(admin_api, key_id, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC), tick=False)
    result = admin_api.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    assert result.body == {
        "KeyId": f"arn:aws:kms:us-west-2:111122223333:key/{key_id}",
        "DeletionDate": dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC).timestamp(),
        "KeyState": "PendingDeletion",
        "PendingWindowInDays": 7,
    }
