"""Through the API, each operation refuses each key state the key-state table forbids, with its error.

The expected refusal is read from keys/states.py (KEY_STATE_TABLE and ORIGIN_TABLE), so this test
covers every forbidden cell of the table and would fail if the API let one through or answered
with another error type or message.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from keys import states
from keys.services import cryptographic, importing
from keys.services import keys as key_service
from keys.tests.kms_api import b64, import_material

pytestmark = pytest.mark.django_db

NEEDS_CIPHERTEXT = {"Decrypt", "ReEncrypt"}


@dataclass
class Subject:
    key_id: str
    arn: str
    ciphertext: str | None
    other_alias: str


def _request(operation: str, subject: Subject) -> dict:
    key_id = subject.key_id
    return {
        "CancelKeyDeletion": {"KeyId": key_id},
        "CreateAlias": {"AliasName": "alias/state-table", "TargetKeyId": key_id},
        "Decrypt": {"CiphertextBlob": subject.ciphertext},
        "DeleteAlias": {"AliasName": subject.other_alias},
        "DeleteImportedKeyMaterial": {"KeyId": key_id},
        "DescribeKey": {"KeyId": key_id},
        "DisableKey": {"KeyId": key_id},
        "DisableKeyRotation": {"KeyId": key_id},
        "EnableKey": {"KeyId": key_id},
        "EnableKeyRotation": {"KeyId": key_id},
        "Encrypt": {"KeyId": key_id, "Plaintext": b64(b"state table")},
        "GenerateDataKey": {"KeyId": key_id, "KeySpec": "AES_256"},
        "GenerateDataKeyWithoutPlaintext": {"KeyId": key_id, "NumberOfBytes": 16},
        "GetKeyPolicy": {"KeyId": key_id},
        "GetKeyRotationStatus": {"KeyId": key_id},
        "GetParametersForImport": {
            "KeyId": key_id,
            "WrappingAlgorithm": "RSAES_OAEP_SHA_256",
            "WrappingKeySpec": "RSA_2048",
        },
        "ImportKeyMaterial": {
            "KeyId": key_id,
            "ImportToken": b64(b"token"),
            "EncryptedKeyMaterial": b64(b"material"),
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
        },
        "ListAliases": {"KeyId": key_id},
        "ListKeyPolicies": {"KeyId": key_id},
        "ListResourceTags": {"KeyId": key_id},
        "PutKeyPolicy": {"KeyId": key_id, "Policy": "{}"},
        "ReEncrypt": {"CiphertextBlob": subject.ciphertext, "DestinationKeyId": key_id},
        "ScheduleKeyDeletion": {"KeyId": key_id},
        "TagResource": {"KeyId": key_id, "Tags": [{"TagKey": "team", "TagValue": "blue"}]},
        "UntagResource": {"KeyId": key_id, "TagKeys": ["team"]},
        "UpdateAlias": {"AliasName": subject.other_alias, "TargetKeyId": key_id},
        "UpdateKeyDescription": {"KeyId": key_id, "Description": "changed"},
    }[operation]


def make_key(actor, *, state: str, origin: str, with_ciphertext: bool) -> Subject:
    """A key of `origin` in `state`, made through the services (and a ciphertext made while it was Enabled)."""
    key = key_service.create_key(actor, origin=origin, description=f"{origin} {state}")
    ciphertext = None
    has_material = origin == "AWS_KMS"
    if origin == "EXTERNAL" and (state in (states.ENABLED, states.DISABLED) or with_ciphertext):
        import_material(actor, key.key_id, secrets.token_bytes(32))
        has_material = True
    if with_ciphertext and has_material:
        blob = cryptographic.encrypt(actor, key_id=key.key_id, plaintext=b"made while enabled")["CiphertextBlob"]
        ciphertext = b64(blob)
    if state == states.DISABLED:
        key_service.disable_key(actor, key_id=key.key_id)
    elif state == states.PENDING_DELETION:
        key_service.schedule_key_deletion(actor, key_id=key.key_id, pending_window_days=7)
    elif state == states.PENDING_IMPORT and has_material:
        importing.delete_imported_key_material(actor, key_id=key.key_id)
    key.refresh_from_db()
    assert key.state == state
    other = key_service.create_key(actor, description="alias holder")
    alias = key_service.create_alias(actor, alias_name=f"alias/holder-{other.key_id[:8]}", target_key_id=other.key_id)
    return Subject(key_id=key.key_id, arn=key.arn, ciphertext=ciphertext, other_alias=alias.name)


def _origin_for(operation: str, state: str) -> str:
    """The origin that reaches the state check: import operations need EXTERNAL; Pending Import is EXTERNAL only."""
    if state == states.PENDING_IMPORT:
        return "EXTERNAL"
    if "AWS_KMS" in states.ORIGIN_TABLE.get(operation, {}):
        return "EXTERNAL"
    return "AWS_KMS"


STATE_CELLS = [
    (operation, state)
    for operation, row in sorted(states.KEY_STATE_TABLE.items())
    for state in states.ALL_STATES
    if states.refusal(operation, state=state, origin=_origin_for(operation, state)) is not None
    and (operation, _origin_for(operation, state))
    not in {(op, o) for op, by in states.ORIGIN_TABLE.items() for o in by}
]
ORIGIN_CELLS = [
    (operation, origin, state)
    for operation, by_origin in sorted(states.ORIGIN_TABLE.items())
    for origin in by_origin
    for state in states.ALL_STATES
    if not (origin == "AWS_KMS" and state == states.PENDING_IMPORT)
]


def test_the_table_has_forbidden_cells_to_test():
    assert len(STATE_CELLS) >= 30
    assert ("Encrypt", states.DISABLED) in STATE_CELLS
    assert ("CancelKeyDeletion", states.ENABLED) in STATE_CELLS
    assert ("ImportKeyMaterial", states.ENABLED) in STATE_CELLS


@pytest.mark.parametrize("operation, state", STATE_CELLS, ids=[f"{o}-{s}" for o, s in STATE_CELLS])
def test_each_operation_refuses_each_state_the_table_forbids(admin, admin_api, operation, state):
    origin = _origin_for(operation, state)
    subject = make_key(admin, state=state, origin=origin, with_ciphertext=operation in NEEDS_CIPHERTEXT)
    expected = states.refusal(operation, state=state, origin=origin)
    result = admin_api.call(operation, **_request(operation, subject))
    assert result.status == 400
    assert result.error_type == expected.error
    assert result.body["message"] == expected.message(subject.arn)


@pytest.mark.parametrize(
    "operation, origin, state", ORIGIN_CELLS, ids=[f"{o}-{origin}-{s}" for o, origin, s in ORIGIN_CELLS]
)
def test_operations_an_origin_does_not_support_are_refused_in_every_state(admin, admin_api, operation, origin, state):
    subject = make_key(admin, state=state, origin=origin, with_ciphertext=False)
    expected = states.ORIGIN_TABLE[operation][origin]
    result = admin_api.call(operation, **_request(operation, subject))
    assert result.error_type == expected.error == "UnsupportedOperationException"
    assert result.body["message"] == expected.message(subject.arn)


ALLOWED_SAMPLES = [
    ("DescribeKey", states.PENDING_DELETION, "AWS_KMS"),
    ("EnableKey", states.DISABLED, "AWS_KMS"),
    ("DisableKey", states.DISABLED, "AWS_KMS"),
    ("CreateAlias", states.PENDING_IMPORT, "EXTERNAL"),
    ("CancelKeyDeletion", states.PENDING_DELETION, "EXTERNAL"),
    ("DeleteImportedKeyMaterial", states.PENDING_DELETION, "EXTERNAL"),
    ("GetParametersForImport", states.PENDING_IMPORT, "EXTERNAL"),
    ("TagResource", states.PENDING_IMPORT, "EXTERNAL"),
    ("Encrypt", states.ENABLED, "EXTERNAL"),
    ("ScheduleKeyDeletion", states.PENDING_IMPORT, "EXTERNAL"),
]


@pytest.mark.parametrize("operation, state, origin", ALLOWED_SAMPLES)
def test_cells_the_table_allows_succeed(admin, admin_api, operation, state, origin):
    assert states.refusal(operation, state=state, origin=origin) is None
    subject = make_key(admin, state=state, origin=origin, with_ciphertext=operation in NEEDS_CIPHERTEXT)
    result = admin_api.call(operation, **_request(operation, subject))
    assert result.status == 200, result.body


def test_cancel_key_deletion_returns_a_key_without_material_to_pending_import(admin, admin_api):
    subject = make_key(admin, state=states.PENDING_DELETION, origin="EXTERNAL", with_ciphertext=False)
    assert admin_api.call("CancelKeyDeletion", KeyId=subject.key_id).body == {"KeyId": subject.arn}
    meta = admin_api.call("DescribeKey", KeyId=subject.key_id).body["KeyMetadata"]
    assert meta["KeyState"] == "PendingImport"
    assert "DeletionDate" not in meta


def test_cancel_key_deletion_returns_a_key_with_material_to_disabled(admin, admin_api):
    subject = make_key(admin, state=states.PENDING_DELETION, origin="AWS_KMS", with_ciphertext=False)
    admin_api.call("CancelKeyDeletion", KeyId=subject.key_id)
    meta = admin_api.call("DescribeKey", KeyId=subject.key_id).body["KeyMetadata"]
    assert (meta["KeyState"], meta["Enabled"]) == ("Disabled", False)
