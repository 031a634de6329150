"""The KMS operations of the JSON API: each one's members, and a small function that calls one service.

A function gets the request's members already decoded by keys.api.protocol (blobs as bytes,
timestamps as datetimes, Tags as (key, value) pairs) and returns the output members, or None for
operations without output. Every rule lives in the services; here are only names and shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keys.errors import KmsError, validation
from keys.services import cryptographic, importing
from keys.services import keys as key_service
from keys.services.gate import Actor

# Member types, as the KMS model names them.
STRING = "string"
INTEGER = "integer"
BOOLEAN = "boolean"
BLOB = "blob"
TIMESTAMP = "timestamp"
STRING_MAP = "map"  # map of string to string (EncryptionContext)
STRING_LIST = "list"  # list of strings
TAG_LIST = "tags"  # list of {"TagKey": ..., "TagValue": ...}
STRUCTURE = "structure"  # any object (only for members the replica does not support)

KEY_ID_MAX = 2048  # KeyIdType
MARKER_MAX = 1024  # MarkerType


@dataclass(frozen=True)
class Member:
    type: str
    required: bool = False
    max_length: int | None = None
    # A member of the KMS model this replica does not implement: accepted only when absent or
    # at its neutral value (false, empty), otherwise UnsupportedOperationException.
    unsupported: bool = False


@dataclass(frozen=True)
class Operation:
    name: str
    members: dict[str, Member]
    run: Callable[[Actor, dict[str, Any]], dict[str, Any] | None] = field(repr=False)


OPERATIONS: dict[str, Operation] = {}

KEY_ID = Member(STRING, required=True, max_length=KEY_ID_MAX)
OPTIONAL_KEY_ID = Member(STRING, max_length=KEY_ID_MAX)
LIMIT = Member(INTEGER)
MARKER = Member(STRING, max_length=MARKER_MAX)
CONTEXT = Member(STRING_MAP)
GRANT_TOKENS = Member(STRING_LIST, unsupported=True)
DRY_RUN = Member(BOOLEAN, unsupported=True)
RECIPIENT = Member(STRUCTURE, unsupported=True)

# The KMS operations this replica does not implement (the rest of the 2014-11-01 model).
NOT_IMPLEMENTED = frozenset(
    {
        "ConnectCustomKeyStore",
        "CreateCustomKeyStore",
        "CreateGrant",
        "Decapsulate",
        "DeleteCustomKeyStore",
        "DeriveSharedSecret",
        "DescribeCustomKeyStores",
        "DisconnectCustomKeyStore",
        "Encapsulate",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateMac",
        "GetKeyLastUsage",
        "GetPublicKey",
        "ListGrants",
        "ListKeyRotations",
        "ListRetirableGrants",
        "ReplicateKey",
        "RetireGrant",
        "RevokeGrant",
        "RotateKeyOnDemand",
        "Sign",
        "UpdateCustomKeyStore",
        "UpdatePrimaryRegion",
        "Verify",
        "VerifyMac",
    }
)


def operation(name: str, **members: Member):
    def register(run: Callable[[Actor, dict[str, Any]], dict[str, Any] | None]):
        OPERATIONS[name] = Operation(name=name, members=members, run=run)
        return run

    return register


# ---------------------------------------------------------------- keys


@operation(
    "CreateKey",
    Policy=Member(STRING),
    Description=Member(STRING),
    KeyUsage=Member(STRING),
    CustomerMasterKeySpec=Member(STRING),
    KeySpec=Member(STRING),
    Origin=Member(STRING),
    CustomKeyStoreId=Member(STRING, unsupported=True),
    BypassPolicyLockoutSafetyCheck=Member(BOOLEAN),
    Tags=Member(TAG_LIST),
    MultiRegion=Member(BOOLEAN, unsupported=True),
    XksKeyId=Member(STRING, unsupported=True),
)
def create_key(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    key_spec = m.get("KeySpec")
    legacy_spec = m.get("CustomerMasterKeySpec")
    if key_spec is not None and legacy_spec is not None and key_spec != legacy_spec:
        raise validation("You cannot specify KeySpec and CustomerMasterKeySpec with different values.")
    key = key_service.create_key(
        actor,
        description=m.get("Description", ""),
        key_usage=m.get("KeyUsage", "ENCRYPT_DECRYPT"),
        key_spec=key_spec or legacy_spec or "SYMMETRIC_DEFAULT",
        origin=m.get("Origin", "AWS_KMS"),
        policy_text=m.get("Policy"),
        bypass_policy_lockout_safety_check=m.get("BypassPolicyLockoutSafetyCheck", False),
        tags=m.get("Tags", ()),
    )
    return {"KeyMetadata": key_service.key_metadata(key)}


@operation("DescribeKey", KeyId=KEY_ID, GrantTokens=GRANT_TOKENS)
def describe_key(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return {"KeyMetadata": key_service.describe_key(actor, key_id=m["KeyId"])}


@operation("ListKeys", Limit=LIMIT, Marker=MARKER, ResourceOwners=Member(STRING_LIST, unsupported=True))
def list_keys(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return key_service.list_keys(actor, limit=m.get("Limit"), marker=m.get("Marker"))


@operation("UpdateKeyDescription", KeyId=KEY_ID, Description=Member(STRING, required=True))
def update_key_description(actor: Actor, m: dict[str, Any]) -> None:
    key_service.update_key_description(actor, key_id=m["KeyId"], description=m["Description"])


@operation("EnableKey", KeyId=KEY_ID)
def enable_key(actor: Actor, m: dict[str, Any]) -> None:
    key_service.enable_key(actor, key_id=m["KeyId"])


@operation("DisableKey", KeyId=KEY_ID)
def disable_key(actor: Actor, m: dict[str, Any]) -> None:
    key_service.disable_key(actor, key_id=m["KeyId"])


@operation("ScheduleKeyDeletion", KeyId=KEY_ID, PendingWindowInDays=Member(INTEGER))
def schedule_key_deletion(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    key = key_service.schedule_key_deletion(actor, key_id=m["KeyId"], pending_window_days=m.get("PendingWindowInDays"))
    return {
        "KeyId": key.arn,
        "DeletionDate": key.deletion_date,
        "KeyState": key.state,
        "PendingWindowInDays": key.pending_window_days,
    }


@operation("CancelKeyDeletion", KeyId=KEY_ID)
def cancel_key_deletion(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return {"KeyId": key_service.cancel_key_deletion(actor, key_id=m["KeyId"]).arn}


# ---------------------------------------------------------------- aliases


@operation("CreateAlias", AliasName=Member(STRING, required=True), TargetKeyId=KEY_ID)
def create_alias(actor: Actor, m: dict[str, Any]) -> None:
    key_service.create_alias(actor, alias_name=m["AliasName"], target_key_id=m["TargetKeyId"])


@operation("UpdateAlias", AliasName=Member(STRING, required=True), TargetKeyId=KEY_ID)
def update_alias(actor: Actor, m: dict[str, Any]) -> None:
    key_service.update_alias(actor, alias_name=m["AliasName"], target_key_id=m["TargetKeyId"])


@operation("DeleteAlias", AliasName=Member(STRING, required=True))
def delete_alias(actor: Actor, m: dict[str, Any]) -> None:
    key_service.delete_alias(actor, alias_name=m["AliasName"])


@operation("ListAliases", KeyId=OPTIONAL_KEY_ID, Limit=LIMIT, Marker=MARKER)
def list_aliases(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return key_service.list_aliases(actor, key_id=m.get("KeyId"), limit=m.get("Limit"), marker=m.get("Marker"))


# ---------------------------------------------------------------- policies


@operation("GetKeyPolicy", KeyId=KEY_ID, PolicyName=Member(STRING))
def get_key_policy(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    name = m.get("PolicyName", "default")
    return {"Policy": key_service.get_key_policy(actor, key_id=m["KeyId"], policy_name=name), "PolicyName": name}


@operation(
    "PutKeyPolicy",
    KeyId=KEY_ID,
    PolicyName=Member(STRING),
    Policy=Member(STRING, required=True),
    BypassPolicyLockoutSafetyCheck=Member(BOOLEAN),
)
def put_key_policy(actor: Actor, m: dict[str, Any]) -> None:
    key_service.put_key_policy(
        actor,
        key_id=m["KeyId"],
        policy_text=m["Policy"],
        policy_name=m.get("PolicyName", "default"),
        bypass_policy_lockout_safety_check=m.get("BypassPolicyLockoutSafetyCheck", False),
    )


@operation("ListKeyPolicies", KeyId=KEY_ID, Limit=LIMIT, Marker=MARKER)
def list_key_policies(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    names = key_service.list_key_policies(actor, key_id=m["KeyId"], limit=m.get("Limit"), marker=m.get("Marker"))
    return {"PolicyNames": names, "Truncated": False}


# ---------------------------------------------------------------- tags


@operation("TagResource", KeyId=KEY_ID, Tags=Member(TAG_LIST, required=True))
def tag_resource(actor: Actor, m: dict[str, Any]) -> None:
    key_service.tag_resource(actor, key_id=m["KeyId"], tags=m["Tags"])


@operation("UntagResource", KeyId=KEY_ID, TagKeys=Member(STRING_LIST, required=True))
def untag_resource(actor: Actor, m: dict[str, Any]) -> None:
    key_service.untag_resource(actor, key_id=m["KeyId"], tag_keys=m["TagKeys"])


@operation("ListResourceTags", KeyId=KEY_ID, Limit=LIMIT, Marker=MARKER)
def list_resource_tags(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return key_service.list_resource_tags(actor, key_id=m["KeyId"], limit=m.get("Limit"), marker=m.get("Marker"))


# ---------------------------------------------------------------- importing key material


@operation(
    "GetParametersForImport",
    KeyId=KEY_ID,
    WrappingAlgorithm=Member(STRING, required=True),
    WrappingKeySpec=Member(STRING, required=True),
)
def get_parameters_for_import(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    params = importing.get_parameters_for_import(
        actor, key_id=m["KeyId"], wrapping_algorithm=m["WrappingAlgorithm"], wrapping_key_spec=m["WrappingKeySpec"]
    )
    return {
        "KeyId": params.key.arn,
        "ImportToken": importing.import_token(params),
        "PublicKey": bytes(params.public_key_der),
        "ParametersValidTo": params.valid_to,
    }


@operation(
    "ImportKeyMaterial",
    KeyId=KEY_ID,
    ImportToken=Member(BLOB, required=True),
    EncryptedKeyMaterial=Member(BLOB, required=True),
    ValidTo=Member(TIMESTAMP),
    ExpirationModel=Member(STRING),
    ImportType=Member(STRING, unsupported=True),
    KeyMaterialDescription=Member(STRING, unsupported=True),
    KeyMaterialId=Member(STRING, unsupported=True),
)
def import_key_material(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    key = importing.import_key_material(
        actor,
        key_id=m["KeyId"],
        import_token=m["ImportToken"],
        encrypted_key_material=m["EncryptedKeyMaterial"],
        expiration_model=m.get("ExpirationModel"),
        valid_to=m.get("ValidTo"),
    )
    return {"KeyId": key.arn, "KeyMaterialId": importing.key_material_id(key)}


@operation("DeleteImportedKeyMaterial", KeyId=KEY_ID, KeyMaterialId=Member(STRING, unsupported=True))
def delete_imported_key_material(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    key = importing.delete_imported_key_material(actor, key_id=m["KeyId"])
    return {"KeyId": key.arn, "KeyMaterialId": importing.key_material_id(key)}


# ---------------------------------------------------------------- cryptographic operations


@operation(
    "Encrypt",
    KeyId=KEY_ID,
    Plaintext=Member(BLOB, required=True),
    EncryptionContext=CONTEXT,
    GrantTokens=GRANT_TOKENS,
    EncryptionAlgorithm=Member(STRING),
    DryRun=DRY_RUN,
)
def encrypt(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return cryptographic.encrypt(
        actor,
        key_id=m["KeyId"],
        plaintext=m["Plaintext"],
        encryption_context=m.get("EncryptionContext"),
        encryption_algorithm=m.get("EncryptionAlgorithm"),
    )


@operation(
    "Decrypt",
    CiphertextBlob=Member(BLOB),
    EncryptionContext=CONTEXT,
    GrantTokens=GRANT_TOKENS,
    KeyId=OPTIONAL_KEY_ID,
    EncryptionAlgorithm=Member(STRING),
    Recipient=RECIPIENT,
    DryRun=DRY_RUN,
    DryRunModifiers=Member(STRING_LIST, unsupported=True),
)
def decrypt(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return cryptographic.decrypt(
        actor,
        ciphertext_blob=m.get("CiphertextBlob"),
        encryption_context=m.get("EncryptionContext"),
        key_id=m.get("KeyId"),
        encryption_algorithm=m.get("EncryptionAlgorithm"),
    )


@operation(
    "ReEncrypt",
    CiphertextBlob=Member(BLOB),
    SourceEncryptionContext=CONTEXT,
    SourceKeyId=OPTIONAL_KEY_ID,
    DestinationKeyId=KEY_ID,
    DestinationEncryptionContext=CONTEXT,
    SourceEncryptionAlgorithm=Member(STRING),
    DestinationEncryptionAlgorithm=Member(STRING),
    GrantTokens=GRANT_TOKENS,
    DryRun=DRY_RUN,
    DryRunModifiers=Member(STRING_LIST, unsupported=True),
)
def re_encrypt(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return cryptographic.re_encrypt(
        actor,
        ciphertext_blob=m.get("CiphertextBlob"),
        destination_key_id=m["DestinationKeyId"],
        source_encryption_context=m.get("SourceEncryptionContext"),
        destination_encryption_context=m.get("DestinationEncryptionContext"),
        source_key_id=m.get("SourceKeyId"),
        source_encryption_algorithm=m.get("SourceEncryptionAlgorithm"),
        destination_encryption_algorithm=m.get("DestinationEncryptionAlgorithm"),
    )


_DATA_KEY_MEMBERS = {
    "KeyId": KEY_ID,
    "EncryptionContext": CONTEXT,
    "NumberOfBytes": Member(INTEGER),
    "KeySpec": Member(STRING),
    "GrantTokens": GRANT_TOKENS,
    "DryRun": DRY_RUN,
}


def _data_key(actor: Actor, m: dict[str, Any], *, with_plaintext: bool) -> dict[str, Any]:
    return cryptographic.generate_data_key(
        actor,
        key_id=m["KeyId"],
        key_spec=m.get("KeySpec"),
        number_of_bytes=m.get("NumberOfBytes"),
        encryption_context=m.get("EncryptionContext"),
        with_plaintext=with_plaintext,
    )


@operation("GenerateDataKey", **_DATA_KEY_MEMBERS, Recipient=RECIPIENT)
def generate_data_key(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return _data_key(actor, m, with_plaintext=True)


@operation("GenerateDataKeyWithoutPlaintext", **_DATA_KEY_MEMBERS)
def generate_data_key_without_plaintext(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return _data_key(actor, m, with_plaintext=False)


@operation(
    "GenerateRandom",
    NumberOfBytes=Member(INTEGER),
    CustomKeyStoreId=Member(STRING, unsupported=True),
    Recipient=RECIPIENT,
)
def generate_random(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return {"Plaintext": cryptographic.generate_random(actor, number_of_bytes=m.get("NumberOfBytes"))}


# ---------------------------------------------------------------- rotation


@operation("GetKeyRotationStatus", KeyId=KEY_ID)
def get_key_rotation_status(actor: Actor, m: dict[str, Any]) -> dict[str, Any]:
    return {"KeyRotationEnabled": key_service.get_key_rotation_status(actor, key_id=m["KeyId"])}


@operation("EnableKeyRotation", KeyId=KEY_ID, RotationPeriodInDays=Member(INTEGER, unsupported=True))
def enable_key_rotation(actor: Actor, m: dict[str, Any]) -> None:
    key_service.set_key_rotation(actor, key_id=m["KeyId"], enabled=True)


@operation("DisableKeyRotation", KeyId=KEY_ID)
def disable_key_rotation(actor: Actor, m: dict[str, Any]) -> None:
    key_service.set_key_rotation(actor, key_id=m["KeyId"], enabled=False)


def unsupported_member(name: str) -> KmsError:
    return KmsError("UnsupportedOperationException", f"{name} is not supported by this replica.")
