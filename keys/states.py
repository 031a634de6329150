"""The key-state machine and the per-operation key-state table (spec 4.10, 4.11), as data."""

from __future__ import annotations

from dataclasses import dataclass

ENABLED = "Enabled"
DISABLED = "Disabled"
PENDING_IMPORT = "PendingImport"
PENDING_DELETION = "PendingDeletion"
ALL_STATES = (ENABLED, DISABLED, PENDING_IMPORT, PENDING_DELETION)

# How the console writes each state (old IAM console words).
DISPLAY = {
    ENABLED: "Enabled",
    DISABLED: "Disabled",
    PENDING_IMPORT: "Pending Import",
    PENDING_DELETION: "Pending Deletion",
}
# The status indicator's modifier class (status--<class> in console.css), which gives it its colour and icon.
STATUS_CLASS = {
    ENABLED: "enabled",
    DISABLED: "disabled",
    PENDING_IMPORT: "pending-import",
    PENDING_DELETION: "pending-deletion",
}


@dataclass(frozen=True)
class Refusal:
    """Why an operation is refused in a state: the error type and its message, {arn} filled in."""

    error: str
    template: str

    def message(self, arn: str) -> str:
        return self.template.format(arn=arn)


DISABLED_1 = Refusal("DisabledException", "{arn} is disabled.")
DISABLED_2 = Refusal("DisabledException", "{arn} is pending deletion.")
PENDING_DELETION_3 = Refusal("KMSInvalidStateException", "{arn} is pending deletion.")
NOT_PENDING_DELETION_4 = Refusal("KMSInvalidStateException", "{arn} is not pending deletion.")
PENDING_IMPORT_5 = Refusal("KMSInvalidStateException", "{arn} is pending import.")
EXTERNAL_6 = Refusal("UnsupportedOperationException", "{arn} origin is EXTERNAL which is not valid for this operation.")
# Clone choice (spec 4.7): importing over existing material is refused until it is deleted.
NOT_PENDING_IMPORT = Refusal("KMSInvalidStateException", "{arn} is not pending import.")
NOT_EXTERNAL_9 = Refusal(
    "UnsupportedOperationException", "{arn} origin is AWS_KMS which is not valid for this operation."
)

OK = None
_CRYPTO = {ENABLED: OK, DISABLED: DISABLED_1, PENDING_IMPORT: PENDING_IMPORT_5, PENDING_DELETION: DISABLED_2}
_ALWAYS = {ENABLED: OK, DISABLED: OK, PENDING_IMPORT: OK, PENDING_DELETION: OK}
_NOT_WHILE_DELETING = {ENABLED: OK, DISABLED: OK, PENDING_IMPORT: OK, PENDING_DELETION: PENDING_DELETION_3}
_IMPORT = {
    ENABLED: NOT_PENDING_IMPORT,
    DISABLED: NOT_PENDING_IMPORT,
    PENDING_IMPORT: OK,
    PENDING_DELETION: PENDING_DELETION_3,
}
_ROTATION = {ENABLED: OK, DISABLED: DISABLED_1, PENDING_IMPORT: PENDING_IMPORT_5, PENDING_DELETION: PENDING_DELETION_3}

# Operation -> state -> Refusal (or OK). Rows of spec 4.10; [2] is used for crypto in PendingDeletion.
KEY_STATE_TABLE: dict[str, dict[str, Refusal | None]] = {
    "CancelKeyDeletion": {
        ENABLED: NOT_PENDING_DELETION_4,
        DISABLED: NOT_PENDING_DELETION_4,
        PENDING_IMPORT: NOT_PENDING_DELETION_4,
        PENDING_DELETION: OK,
    },
    "CreateAlias": _NOT_WHILE_DELETING,
    "Decrypt": _CRYPTO,
    "DeleteAlias": _ALWAYS,
    "DeleteImportedKeyMaterial": _ALWAYS,
    "DescribeKey": _ALWAYS,
    "DisableKey": {ENABLED: OK, DISABLED: OK, PENDING_IMPORT: PENDING_IMPORT_5, PENDING_DELETION: PENDING_DELETION_3},
    "DisableKeyRotation": _ROTATION,
    "EnableKey": {ENABLED: OK, DISABLED: OK, PENDING_IMPORT: PENDING_IMPORT_5, PENDING_DELETION: PENDING_DELETION_3},
    "EnableKeyRotation": _ROTATION,
    "Encrypt": _CRYPTO,
    "GenerateDataKey": _CRYPTO,
    "GenerateDataKeyWithoutPlaintext": _CRYPTO,
    "GetKeyPolicy": _ALWAYS,
    "GetKeyRotationStatus": _ALWAYS,
    "GetParametersForImport": _IMPORT,
    "ImportKeyMaterial": _IMPORT,
    "ListAliases": _ALWAYS,
    "ListKeyPolicies": _ALWAYS,
    "ListResourceTags": _ALWAYS,
    "PutKeyPolicy": _ALWAYS,
    "ReEncrypt": _CRYPTO,
    "ScheduleKeyDeletion": _NOT_WHILE_DELETING,
    "TagResource": _NOT_WHILE_DELETING,
    "UntagResource": _NOT_WHILE_DELETING,
    # [10]: the destination of UpdateAlias must not be pending deletion; the source may be.
    "UpdateAlias": _NOT_WHILE_DELETING,
    "UpdateKeyDescription": _NOT_WHILE_DELETING,
}

# Operations an origin does not support, checked before the state (spec 4.9, 5.3).
ORIGIN_TABLE: dict[str, dict[str, Refusal]] = {
    "EnableKeyRotation": {"EXTERNAL": EXTERNAL_6},
    "DisableKeyRotation": {"EXTERNAL": EXTERNAL_6},
    "GetKeyRotationStatus": {"EXTERNAL": EXTERNAL_6},
    "GetParametersForImport": {"AWS_KMS": NOT_EXTERNAL_9},
    "ImportKeyMaterial": {"AWS_KMS": NOT_EXTERNAL_9},
    "DeleteImportedKeyMaterial": {"AWS_KMS": NOT_EXTERNAL_9},
}

# The state CreateKey gives a new key, by origin: an External key waits for its material.
INITIAL_STATE = {"AWS_KMS": ENABLED, "EXTERNAL": PENDING_IMPORT}

# The transitions the services make, as data: (operation, from state) -> to state.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("ImportKeyMaterial", PENDING_IMPORT): ENABLED,
    ("EnableKey", ENABLED): ENABLED,
    ("EnableKey", DISABLED): ENABLED,
    ("DisableKey", ENABLED): DISABLED,
    ("DisableKey", DISABLED): DISABLED,
    ("DeleteImportedKeyMaterial", ENABLED): PENDING_IMPORT,
    ("DeleteImportedKeyMaterial", DISABLED): PENDING_IMPORT,
    ("DeleteImportedKeyMaterial", PENDING_IMPORT): PENDING_IMPORT,
    ("DeleteImportedKeyMaterial", PENDING_DELETION): PENDING_DELETION,
    ("DeleteExpiredKeyMaterial", ENABLED): PENDING_IMPORT,
    ("DeleteExpiredKeyMaterial", DISABLED): PENDING_IMPORT,
    ("DeleteExpiredKeyMaterial", PENDING_DELETION): PENDING_DELETION,
    ("ScheduleKeyDeletion", ENABLED): PENDING_DELETION,
    ("ScheduleKeyDeletion", DISABLED): PENDING_DELETION,
    ("ScheduleKeyDeletion", PENDING_IMPORT): PENDING_DELETION,
    ("CancelKeyDeletion", PENDING_DELETION): DISABLED,
}


def refusal(operation: str, *, state: str, origin: str) -> Refusal | None:
    """Why `operation` may not run on a key of this origin in this state, or None when it may."""
    by_origin = ORIGIN_TABLE.get(operation, {})
    if origin in by_origin:
        return by_origin[origin]
    return KEY_STATE_TABLE[operation][state]


def next_state(operation: str, state: str, *, has_material: bool = True) -> str:
    """The state after `operation` succeeds; a key without material cancels deletion to Pending Import."""
    target = TRANSITIONS.get((operation, state), state)
    if operation == "CancelKeyDeletion" and not has_material:
        return PENDING_IMPORT
    return target


def allowed(operation: str, *, state: str, origin: str) -> bool:
    """Whether the key-state table lets `operation` run (used by the console to offer actions)."""
    return refusal(operation, state=state, origin=origin) is None
