"""Every error the API answers, table-driven: the situation, the `__type`, the message, HTTP 400."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable

import pytest

from keys import crypto, policy
from keys.services import cryptographic, importing
from keys.services import keys as key_service
from keys.tests.kms_api import Answer, KmsApi, answer, b64, import_material

pytestmark = pytest.mark.django_db

UNKNOWN_KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"


class World:
    """Keys in the situations the errors need, made through the services as Admin."""

    def __init__(self, admin, api: KmsApi, kms_user_api: KmsApi):
        self.admin, self.api, self.kms_user_api = admin, api, kms_user_api
        self.key = key_service.create_key(admin, description="errors")
        self.arn = self.key.arn
        self.alias = key_service.create_alias(admin, alias_name="alias/errors", target_key_id=self.key.key_id)
        self.external = key_service.create_key(admin, origin="EXTERNAL")
        self.ciphertext = cryptographic.encrypt(
            admin, key_id=self.key.key_id, plaintext=b"hello", encryption_context={"purpose": "test"}
        )["CiphertextBlob"]

    def call(self, operation: str, **members) -> Answer:
        return self.api.call(operation, **members)

    def disabled_key(self) -> str:
        key = key_service.create_key(self.admin)
        key_service.disable_key(self.admin, key_id=key.key_id)
        return key.key_id

    def parameters(self, key_id: str | None = None):
        return importing.get_parameters_for_import(
            self.admin,
            key_id=key_id or self.external.key_id,
            wrapping_algorithm="RSAES_OAEP_SHA_1",
            wrapping_key_spec="RSA_2048",
        )

    def import_call(self, params, wrapped: bytes, *, key_id: str | None = None, **extra) -> Answer:
        return self.call(
            "ImportKeyMaterial",
            KeyId=key_id or self.external.key_id,
            ImportToken=b64(importing.import_token(params)),
            EncryptedKeyMaterial=b64(wrapped),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
            **extra,
        )


def _wrong_material_on_reimport(w: World) -> Answer:
    import_material(w.admin, w.external.key_id, secrets.token_bytes(32))
    importing.delete_imported_key_material(w.admin, key_id=w.external.key_id)
    params = w.parameters()
    wrapped = crypto.wrap_key_material(bytes(params.public_key_der), "RSAES_OAEP_SHA_1", secrets.token_bytes(32))
    return w.import_call(params, wrapped)


def _short_material(w: World) -> Answer:
    params = w.parameters()
    wrapped = crypto.wrap_key_material(bytes(params.public_key_der), "RSAES_OAEP_SHA_1", secrets.token_bytes(16))
    return w.import_call(params, wrapped)


def _token_of_another_key(w: World) -> Answer:
    other = key_service.create_key(w.admin, origin="EXTERNAL")
    params = w.parameters(other.key_id)
    wrapped = crypto.wrap_key_material(bytes(params.public_key_der), "RSAES_OAEP_SHA_1", secrets.token_bytes(32))
    return w.import_call(params, wrapped)


def _expired_token(w: World) -> Answer:
    import time_machine

    params = w.parameters()
    wrapped = crypto.wrap_key_material(bytes(params.public_key_der), "RSAES_OAEP_SHA_1", secrets.token_bytes(32))
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)):
        return w.import_call(params, wrapped)


def _material_wrapped_with_another_key(w: World) -> Answer:
    params = w.parameters()
    _private, other_public = crypto.generate_wrapping_key_pair("RSA_2048")
    wrapped = crypto.wrap_key_material(other_public, "RSAES_OAEP_SHA_1", secrets.token_bytes(32))
    return w.import_call(params, wrapped)


def _valid_to_too_far(w: World) -> Answer:
    params = w.parameters()
    wrapped = crypto.wrap_key_material(bytes(params.public_key_der), "RSAES_OAEP_SHA_1", secrets.token_bytes(32))
    return w.call(
        "ImportKeyMaterial",
        KeyId=w.external.key_id,
        ImportToken=b64(importing.import_token(params)),
        EncryptedKeyMaterial=b64(wrapped),
        ValidTo=(dt.datetime.now(dt.UTC) + dt.timedelta(days=400)).timestamp(),
    )


def _lockout_policy(w: World) -> Answer:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Only use",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:user/KMSUser"},
                "Action": "kms:Encrypt",
                "Resource": "*",
            }
        ],
    }
    # Admin's AdministratorAccess IAM policy does not count: the key policy no longer delegates to the account.
    return w.call("PutKeyPolicy", KeyId=w.key.key_id, Policy=json.dumps(document))


def _aws_managed_key_id(w: World) -> str:
    return w.call("DescribeKey", KeyId="alias/aws/s3").body["KeyMetadata"]["KeyId"]


def _unsigned(w: World) -> Answer:
    return answer(
        w.api.client.post(
            "/", b"{}", content_type="application/x-amz-json-1.1", HTTP_X_AMZ_TARGET="TrentService.ListKeys"
        )
    )


# case -> (make the call, __type, the exact message ({arn}: the test key's ARN) or None)
CASES: dict[str, tuple[Callable[[World], Answer], str, str | None]] = {
    "NotFound: key ID": (
        lambda w: w.call("DescribeKey", KeyId=UNKNOWN_KEY),
        "NotFoundException",
        f"Key 'arn:aws:kms:us-west-2:111122223333:key/{UNKNOWN_KEY}' does not exist",
    ),
    "NotFound: key ARN of another region": (
        lambda w: w.call("DescribeKey", KeyId=w.arn.replace("us-west-2", "eu-west-1")),
        "NotFoundException",
        None,
    ),
    "NotFound: alias": (
        lambda w: w.call("Encrypt", KeyId="alias/nothing-here", Plaintext=b64(b"x")),
        "NotFoundException",
        "Alias arn:aws:kms:us-west-2:111122223333:alias/nothing-here is not found.",
    ),
    "NotFound: not a key ID": (
        lambda w: w.call("DescribeKey", KeyId="my-key"),
        "NotFoundException",
        "Invalid keyId my-key",
    ),
    "NotFound: policy name": (
        lambda w: w.call("GetKeyPolicy", KeyId=w.key.key_id, PolicyName="other"),
        "NotFoundException",
        "No such policy exists",
    ),
    "InvalidArn: alias where only an ID or ARN is allowed": (
        lambda w: w.call(
            "GetParametersForImport",
            KeyId="alias/errors",
            WrappingAlgorithm="RSAES_OAEP_SHA_1",
            WrappingKeySpec="RSA_2048",
        ),
        "InvalidArnException",
        "Key Aliases are not supported for this operation.",
    ),
    "InvalidArn: malformed ARN": (
        lambda w: w.call("DescribeKey", KeyId="arn:aws:kms:us-west-2:key"),
        "InvalidArnException",
        "Invalid arn",
    ),
    "AlreadyExists: alias": (
        lambda w: w.call("CreateAlias", AliasName="alias/errors", TargetKeyId=w.key.key_id),
        "AlreadyExistsException",
        "An alias with the name arn:aws:kms:us-west-2:111122223333:alias/errors already exists",
    ),
    "InvalidAliasName": (
        lambda w: w.call("CreateAlias", AliasName="alias/bad name!", TargetKeyId=w.key.key_id),
        "InvalidAliasNameException",
        None,
    ),
    "Validation: alias without prefix": (
        lambda w: w.call("CreateAlias", AliasName="errors2", TargetKeyId=w.key.key_id),
        "ValidationException",
        'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    ),
    "Validation: reserved alias prefix": (
        lambda w: w.call("CreateAlias", AliasName="alias/aws/mine", TargetKeyId=w.key.key_id),
        "ValidationException",
        None,
    ),
    "Validation: waiting period": (
        lambda w: w.call("ScheduleKeyDeletion", KeyId=w.key.key_id, PendingWindowInDays=3),
        "ValidationException",
        "1 validation error detected: Value '3' at 'pendingWindowInDays' failed to satisfy constraint: "
        "Member must have value between 7 and 30",
    ),
    "Validation: limit": (
        lambda w: w.call("ListKeys", Limit=0),
        "ValidationException",
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000",
    ),
    "Validation: data key size twice": (
        lambda w: w.call("GenerateDataKey", KeyId=w.key.key_id, KeySpec="AES_256", NumberOfBytes=32),
        "ValidationException",
        None,
    ),
    "Validation: deprecated wrapping algorithm": (
        lambda w: w.call(
            "GetParametersForImport",
            KeyId=w.external.key_id,
            WrappingAlgorithm="RSAES_PKCS1_V1_5",
            WrappingKeySpec="RSA_2048",
        ),
        "ValidationException",
        None,
    ),
    "Validation: ValidTo too far": (
        _valid_to_too_far,
        "ValidationException",
        "ValidTo must be at most 365 days from the request date.",
    ),
    "Validation: unknown member": (
        lambda w: w.call("ListKeys", Limit=5, Foo="bar"),
        "ValidationException",
        None,
    ),
    "Validation: missing member": (
        lambda w: w.call("Encrypt", KeyId=w.key.key_id),
        "ValidationException",
        "1 validation error detected: Value null at 'plaintext' failed to satisfy constraint: Member must not be null",
    ),
    "Validation: empty plaintext": (
        lambda w: w.call("Encrypt", KeyId=w.key.key_id, Plaintext=""),
        "ValidationException",
        None,
    ),
    "Disabled": (
        lambda w: w.call("Encrypt", KeyId=w.disabled_key(), Plaintext=b64(b"x")),
        "DisabledException",
        None,
    ),
    "KMSInvalidState: pending import": (
        lambda w: w.call("EnableKey", KeyId=w.external.key_id),
        "KMSInvalidStateException",
        None,
    ),
    "UnsupportedOperation: rotation of an EXTERNAL key": (
        lambda w: w.call("EnableKeyRotation", KeyId=w.external.key_id),
        "UnsupportedOperationException",
        None,
    ),
    "UnsupportedOperation: import into an AWS_KMS key": (
        lambda w: w.call(
            "GetParametersForImport",
            KeyId=w.key.key_id,
            WrappingAlgorithm="RSAES_OAEP_SHA_1",
            WrappingKeySpec="RSA_2048",
        ),
        "UnsupportedOperationException",
        None,
    ),
    "AccessDenied: changing an AWS managed key": (
        lambda w: w.call("DisableKey", KeyId=_aws_managed_key_id(w)),
        "AccessDeniedException",
        None,
    ),
    "UnsupportedOperation: origin the replica lacks": (
        lambda w: w.call("CreateKey", Origin="AWS_CLOUDHSM"),
        "UnsupportedOperationException",
        None,
    ),
    "InvalidCiphertext: not a KMS ciphertext": (
        lambda w: w.call("Decrypt", CiphertextBlob=b64(b"definitely not a ciphertext")),
        "InvalidCiphertextException",
        None,
    ),
    "InvalidCiphertext: wrong encryption context": (
        lambda w: w.call("Decrypt", CiphertextBlob=b64(w.ciphertext), EncryptionContext={"purpose": "other"}),
        "InvalidCiphertextException",
        None,
    ),
    "InvalidCiphertext: material wrapped with another public key": (
        _material_wrapped_with_another_key,
        "InvalidCiphertextException",
        None,
    ),
    "IncorrectKeyMaterial: other material on reimport": (
        _wrong_material_on_reimport,
        "IncorrectKeyMaterialException",
        "The key material is not the same key material that was previously imported into this KMS key.",
    ),
    "IncorrectKeyMaterial: not 256 bits": (_short_material, "IncorrectKeyMaterialException", None),
    "InvalidImportToken: token of another key": (
        _token_of_another_key,
        "InvalidImportTokenException",
        "The import token is invalid or is associated with a different KMS key.",
    ),
    "ExpiredImportToken": (_expired_token, "ExpiredImportTokenException", None),
    "IncorrectKey: KeyId is not the ciphertext's key": (
        lambda w: w.call(
            "Decrypt", CiphertextBlob=b64(w.ciphertext), EncryptionContext={"purpose": "test"}, KeyId=w.external.key_id
        ),
        "IncorrectKeyException",
        None,
    ),
    "InvalidKeyUsage: asymmetric algorithm": (
        lambda w: w.call("Encrypt", KeyId=w.key.key_id, Plaintext=b64(b"x"), EncryptionAlgorithm="RSAES_OAEP_SHA_1"),
        "InvalidKeyUsageException",
        None,
    ),
    "InvalidMarker": (lambda w: w.call("ListKeys", Marker="***"), "InvalidMarkerException", "Invalid marker"),
    "MalformedPolicyDocument: not a policy": (
        lambda w: w.call("PutKeyPolicy", KeyId=w.key.key_id, Policy="{}"),
        "MalformedPolicyDocumentException",
        None,
    ),
    "MalformedPolicyDocument: lockout": (
        _lockout_policy,
        "MalformedPolicyDocumentException",
        policy.LOCKOUT_MESSAGE,
    ),
    "LimitExceeded: policy over 32 KB": (
        lambda w: w.call(
            "PutKeyPolicy",
            KeyId=w.key.key_id,
            Policy=json.dumps({"Version": "2012-10-17", "Id": "x" * 33000, "Statement": []}),
        ),
        "LimitExceededException",
        None,
    ),
    "Tag: reserved prefix": (
        lambda w: w.call("TagResource", KeyId=w.key.key_id, Tags=[{"TagKey": "aws:owner", "TagValue": "me"}]),
        "TagException",
        "Tags beginning with aws: are reserved for AWS use.",
    ),
    "AccessDenied: key user schedules deletion": (
        lambda w: w.kms_user_api.call("ScheduleKeyDeletion", KeyId=w.key.key_id),
        "AccessDeniedException",
        "User: arn:aws:iam::111122223333:user/KMSUser is not authorized to perform: kms:ScheduleKeyDeletion on "
        "resource: {arn} because no resource-based policy allows the kms:ScheduleKeyDeletion action",
    ),
    "UnknownOperation": (
        lambda w: answer(w.api.send("TrentService.DeleteKey", b"{}")),
        "UnknownOperationException",
        None,
    ),
    "Serialization: malformed JSON": (
        lambda w: answer(w.api.send("TrentService.ListKeys", b"{'Limit': 1}")),
        "SerializationException",
        None,
    ),
    "MissingAuthenticationToken": (_unsigned, "MissingAuthenticationTokenException", "Missing Authentication Token"),
}


@pytest.fixture
def world(admin, admin_api, kms_user_api) -> World:
    return World(admin, admin_api, kms_user_api)


@pytest.mark.parametrize("case", list(CASES))
def test_each_error_has_its_type_and_message(world, case):
    make, error_type, message = CASES[case]
    result = make(world)
    assert result.status == 400, result.body
    assert result.error_type == error_type, result.body
    assert set(result.body) == {"__type", "message"}
    assert result.body["message"]
    if message:
        assert result.body["message"] == message.format(arn=world.arn)
    assert result.headers["x-amzn-RequestId"]


def test_every_client_error_type_of_the_kms_model_that_the_replica_can_raise_is_covered():
    raised = {error_type for _make, error_type, _message in CASES.values()}
    assert {
        "AlreadyExistsException",
        "DisabledException",
        "ExpiredImportTokenException",
        "IncorrectKeyException",
        "IncorrectKeyMaterialException",
        "InvalidAliasNameException",
        "InvalidArnException",
        "InvalidCiphertextException",
        "InvalidImportTokenException",
        "InvalidKeyUsageException",
        "InvalidMarkerException",
        "KMSInvalidStateException",
        "LimitExceededException",
        "MalformedPolicyDocumentException",
        "NotFoundException",
        "TagException",
        "UnsupportedOperationException",
    } <= raised
