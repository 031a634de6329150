"""Helpers the test modules share, built on the services (fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import Sequence

from django.test import Client

from keys import crypto, policy
from keys.models import ImportParameters, Key, Principal
from keys.services import importing

ACCOUNT = "111122223333"
OAEP_256 = "RSAES_OAEP_SHA_256"
# The KeyMetadata members of the seed's `aws kms create-key --origin EXTERNAL` (spec 1.3, plus KeyManager,
# KeySpec and EncryptionAlgorithms as the issue asks).
SEED_MEMBERS = frozenset(
    {"AWSAccountId", "KeyId", "Arn", "CreationDate", "Enabled", "Description", "KeyUsage", "KeyState", "Origin",
     "KeyManager", "KeySpec", "EncryptionAlgorithms"}
)  # fmt: skip


def assert_seed_key_metadata(meta: dict, *, region: str = "us-west-2") -> None:
    """`meta` is what the seed's `create-key --origin EXTERNAL` prints: its members and their values."""
    assert set(meta) == SEED_MEMBERS
    assert meta["Origin"] == "EXTERNAL"
    assert meta["Enabled"] is False
    assert meta["KeyState"] == "PendingImport"
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["Description"] == ""
    assert meta["AWSAccountId"] == ACCOUNT
    assert meta["KeyManager"] == "CUSTOMER"
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert meta["Arn"] == f"arn:aws:kms:{region}:{ACCOUNT}:key/{meta['KeyId']}"
    assert isinstance(meta["CreationDate"], float)


def console_policy(
    *,
    admins: Sequence[str] = ("KMSAdminUser",),
    users: Sequence[str] = ("KMSUser",),
    external_accounts: Sequence[str] = (),
    external: bool = True,
) -> str:
    """The policy the console's Create key wizard stores (spec 2.2), naming IAM users of the demo account."""
    return policy.render_policy(
        policy.build_console_key_policy(
            account_id=ACCOUNT,
            admin_arns=[f"arn:aws:iam::{ACCOUNT}:user/{name}" for name in admins],
            user_arns=[f"arn:aws:iam::{ACCOUNT}:user/{name}" for name in users],
            external_account_ids=list(external_accounts),
            external_origin=external,
        )
    )


def parameters(actor, key: Key, algorithm: str = OAEP_256, spec: str = "RSA_2048") -> tuple[ImportParameters, bytes]:
    """GetParametersForImport: the wrapping key pair's row and its import token."""
    params = importing.get_parameters_for_import(
        actor, key_id=key.key_id, wrapping_algorithm=algorithm, wrapping_key_spec=spec
    )
    return params, importing.import_token(params)


def wrap(params: ImportParameters, material: bytes, algorithm: str | None = None) -> bytes:
    """Material wrapped with the parameters' public key (with their algorithm unless told another)."""
    return crypto.wrap_key_material(bytes(params.public_key_der), algorithm or params.wrapping_algorithm, material)


def import_wrapped(actor, key: Key, token: bytes, wrapped: bytes, **expiry) -> Key:
    """ImportKeyMaterial of this token and wrapped material; material that never expires unless told."""
    expiry = expiry or {"expiration_model": importing.DOES_NOT_EXPIRE}
    return importing.import_key_material(
        actor, key_id=key.key_id, import_token=token, encrypted_key_material=wrapped, **expiry
    )


def import_material(actor, key: Key, material: bytes | None = None, algorithm: str = OAEP_256, **expiry) -> Key:
    """Steps 2-4 through the services: parameters, wrap with their public key, import (new material by default)."""
    params, token = parameters(actor, key, algorithm)
    material = crypto.generate_key_material() if material is None else material
    return import_wrapped(actor, key, token, wrap(params, material), **expiry)


def fresh(key: Key) -> Key:
    """The key as the database has it now."""
    return Key.objects.get(key_id=key.key_id)


def signed_in(principal: Principal, client: Client | None = None) -> Client:
    """A test client (a new one unless given) with this IAM user's console session."""
    client = client or Client()
    client.force_login(principal.user)
    return client
