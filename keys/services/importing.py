"""Importing key material (spec 1, 4.4-4.8, 5): parameters, import, deletion, expiry, and the sweep."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from keys import clock, crypto, states, vault
from keys.errors import KmsError, validation
from keys.models import ImportParameters, Key, WrappingKeyPair
from keys.services import audit
from keys.services.gate import Actor, kms_call

TOKEN_LIFETIME = dt.timedelta(hours=24)
MAX_VALID_TO = dt.timedelta(days=365)
MAX_BLOB_BYTES = 6144
EXPIRES = "KEY_MATERIAL_EXPIRES"
DOES_NOT_EXPIRE = "KEY_MATERIAL_DOES_NOT_EXPIRE"
DEPRECATED_ALGORITHMS = {
    "RSAES_PKCS1_V1_5": "As of October 10, 2023, KMS does not support the RSAES_PKCS1_V1_5 wrapping algorithm. "
    "Choose RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1.",
}


def get_parameters_for_import(
    actor: Actor, *, key_id: str, wrapping_algorithm: str, wrapping_key_spec: str
) -> ImportParameters:
    """A new wrapping key pair and import token for one key, valid for 24 hours."""
    request = {"keyId": key_id, "wrappingAlgorithm": wrapping_algorithm, "wrappingKeySpec": wrapping_key_spec}
    with kms_call(actor, "GetParametersForImport", request=request) as call:
        key = call.key(key_id)
        if wrapping_algorithm in DEPRECATED_ALGORITHMS:
            raise validation(DEPRECATED_ALGORITHMS[wrapping_algorithm])
        if wrapping_algorithm not in crypto.WRAPPING_ALGORITHMS:
            raise validation(
                f"1 validation error detected: Value '{wrapping_algorithm}' at 'wrappingAlgorithm' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(crypto.WRAPPING_ALGORITHMS)}]"
            )
        if wrapping_key_spec not in crypto.WRAPPING_KEY_SPECS:
            raise validation(
                f"1 validation error detected: Value '{wrapping_key_spec}' at 'wrappingKeySpec' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(crypto.WRAPPING_KEY_SPECS)}]"
            )
        pair = take_wrapping_key_pair(wrapping_key_spec)
        now = clock.now()
        params = ImportParameters.objects.create(
            id=pair.id,
            key=key,
            wrapping_algorithm=wrapping_algorithm,
            wrapping_key_spec=wrapping_key_spec,
            public_key_der=pair.public_key_der,
            sealed_private_key=pair.sealed_private_key,
            created=now,
            valid_to=now + TOKEN_LIFETIME,
        )
        call.response = {"keyId": key.arn, "parametersValidTo": params.valid_to.isoformat()}
        return params


def _new_wrapping_key_pair(spec: str) -> WrappingKeyPair:
    pair_id = str(uuid.uuid4())
    private_der, public_der = crypto.generate_wrapping_key_pair(spec)
    return WrappingKeyPair(
        id=pair_id,
        wrapping_key_spec=spec,
        public_key_der=public_der,
        # Sealed under the id it keeps as ImportParameters, so taking it from the pool needs no reseal.
        sealed_private_key=vault.seal(private_der, context=f"wrapping-key:{pair_id}"),
        created=clock.now(),
    )


def take_wrapping_key_pair(spec: str) -> WrappingKeyPair:
    """A wrapping key pair from the database pool (each used once), or a fresh one when it is empty."""
    query = WrappingKeyPair.objects.filter(wrapping_key_spec=spec).order_by("created")
    if connection.features.has_select_for_update_skip_locked:
        query = query.select_for_update(skip_locked=True)
    pair = query.first()
    if pair is None:
        return _new_wrapping_key_pair(spec)
    # Deleted by primary key: when two callers race for one row, only one delete counts.
    if WrappingKeyPair.objects.filter(id=pair.id).delete()[0] == 0:
        return _new_wrapping_key_pair(spec)
    return pair


def fill_wrapping_key_pool(*, per_spec: dict[str, int] | None = None) -> int:
    """Top the pool up to `per_spec` pairs per wrapping key spec; returns how many were made."""
    targets = settings.KMS_WRAPPING_KEY_POOL if per_spec is None else per_spec
    made = 0
    for spec, target in targets.items():
        missing = target - WrappingKeyPair.objects.filter(wrapping_key_spec=spec).count()
        pairs = [_new_wrapping_key_pair(spec) for _ in range(max(missing, 0))]
        WrappingKeyPair.objects.bulk_create(pairs)
        made += len(pairs)
    return made


def import_token(params: ImportParameters) -> bytes:
    """The opaque, tamper-evident token that binds a parameters row to its key, algorithm and expiry."""
    claims = {
        "p": params.id,
        "k": params.key.arn,
        "a": params.wrapping_algorithm,
        "v": params.valid_to.timestamp(),
    }
    return crypto.issue_import_token(vault.master_key(), claims)


def key_material_id(key: Key) -> str | None:
    """ImportKeyMaterial's KeyMaterialId: 64 hex digits, the same for every import of the same material."""
    if not key.material_fingerprint:
        return None
    return hashlib.sha256(f"key-material-id:{key.key_id}:{key.material_fingerprint}".encode()).hexdigest()


def _check_blob(name: str, value: Any) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or not 1 <= len(value) <= MAX_BLOB_BYTES:
        raise validation(
            f"1 validation error detected: Value at '{name}' failed to satisfy constraint: "
            f"Member must have length between 1 and {MAX_BLOB_BYTES} bytes"
        )
    return bytes(value)


def _check_expiration(expiration_model: str | None, valid_to: dt.datetime | None) -> tuple[str, dt.datetime | None]:
    model = expiration_model or EXPIRES
    if model not in (EXPIRES, DOES_NOT_EXPIRE):
        raise validation(
            f"1 validation error detected: Value '{model}' at 'expirationModel' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{EXPIRES}, {DOES_NOT_EXPIRE}]"
        )
    if model == DOES_NOT_EXPIRE:
        if valid_to is not None:
            raise validation("ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.")
        return model, None
    if valid_to is None:
        raise validation("ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.")
    now = clock.now()
    if valid_to <= now:
        raise validation("ValidTo must be a future date and time.")
    if valid_to > now + MAX_VALID_TO:
        raise validation("ValidTo must be at most 365 days from the request date.")
    return model, valid_to


def import_key_material(
    actor: Actor,
    *,
    key_id: str,
    import_token: Any,
    encrypted_key_material: Any,
    expiration_model: str | None = None,
    valid_to: dt.datetime | None = None,
) -> Key:
    """Unwrap and store 256-bit material; the key becomes Enabled (spec 5.3's order of checks)."""
    request = {
        "keyId": key_id,
        "expirationModel": expiration_model or EXPIRES,
        "validTo": valid_to.isoformat() if valid_to else None,
    }
    with kms_call(actor, "ImportKeyMaterial", request=request) as call:
        key = call.key(key_id, lock=True)
        token = _check_blob("importToken", import_token)
        wrapped = _check_blob("encryptedKeyMaterial", encrypted_key_material)
        model, valid_to = _check_expiration(expiration_model, valid_to)
        invalid_token = KmsError(
            "InvalidImportTokenException", "The import token is invalid or is associated with a different KMS key."
        )
        try:
            claims = crypto.open_import_token(vault.master_key(), token)
        except crypto.InvalidToken:
            raise invalid_token from None
        if claims.get("k") != key.arn:
            raise invalid_token
        params = ImportParameters.objects.filter(id=claims.get("p"), key=key).first()
        expired = clock.now().timestamp() >= claims.get("v", 0) if params is None else clock.now() >= params.valid_to
        if params is None and not expired:
            raise KmsError(
                "InvalidImportTokenException",
                "The import token was already used or is no longer valid. "
                "Use GetParametersForImport to get a new import token and public key.",
            )
        # A swept (deleted) expired pair is still reported as expired: the token carries its expiry.
        if expired:
            raise KmsError(
                "ExpiredImportTokenException",
                "The import token is expired. Use GetParametersForImport to get a new import token and public key, "
                "use the new public key to encrypt the key material, and then try the request again.",
            )
        private_der = vault.unseal(params.sealed_private_key, context=f"wrapping-key:{params.id}")
        try:
            material = crypto.unwrap_key_material(private_der, params.wrapping_algorithm, wrapped)
        except crypto.InvalidCiphertext:
            raise KmsError(
                "InvalidCiphertextException",
                f"KMS could not decrypt the encrypted (wrapped) key material. Wrap it with the public key of this "
                f"import token and the {params.wrapping_algorithm} wrapping algorithm.",
            ) from None
        if len(material) != crypto.KEY_MATERIAL_BYTES:
            raise KmsError(
                "IncorrectKeyMaterialException",
                f"The key material must be a 256-bit (32-byte) symmetric key; this one is {len(material)} bytes.",
            )
        fingerprint = crypto.fingerprint(vault.master_key(), material)
        if key.material_fingerprint and key.material_fingerprint != fingerprint:
            raise KmsError(
                "IncorrectKeyMaterialException",
                "The key material is not the same key material that was previously imported into this KMS key.",
            )
        now = clock.now()
        key.sealed_material = vault.seal(material, context=f"key-material:{key.key_id}")
        key.material_fingerprint = fingerprint
        key.expiration_model = model
        key.valid_to = valid_to
        key.imported_at = now
        key.state = states.next_state("ImportKeyMaterial", key.state)
        key.save()
        # A wrapping key pair serves one import: the next import needs a new download.
        params.delete()
        call.response = {"keyId": key.arn}
        return key


def delete_imported_key_material(actor: Actor, *, key_id: str) -> Key:
    """Remove the material; the key returns to Pending Import (or stays Pending Deletion)."""
    with kms_call(actor, "DeleteImportedKeyMaterial", request={"keyId": key_id}) as call:
        key = call.key(key_id, lock=True)
        key.state = states.next_state("DeleteImportedKeyMaterial", key.state)
        key.sealed_material = None
        key.save(update_fields=["state", "sealed_material"])
        call.response = {"keyId": key.arn}
        return key


def apply_due_events() -> None:
    """Make what is due true now: expired material is gone and keys past their deletion date are deleted.

    Every call and every key list runs this first, so nothing shows a state that time has ended.
    """
    now = clock.now()
    due = list(
        Key.objects.filter(sealed_material__isnull=False, valid_to__lte=now).values_list(
            "key_id", "account_id", "region", "state", "valid_to"
        )
    )
    for key_id, account_id, region, state, valid_to in due:
        with transaction.atomic():
            changed = Key.objects.filter(key_id=key_id, sealed_material__isnull=False, valid_to__lte=now).update(
                sealed_material=None, state=states.next_state("DeleteExpiredKeyMaterial", state)
            )
            if changed:
                audit.record_service_event(
                    account_id=account_id,
                    region=region,
                    key_id=key_id,
                    event_name="DeleteExpiredKeyMaterial",
                    when=valid_to,
                )
    doomed = list(
        Key.objects.filter(state=states.PENDING_DELETION, deletion_date__lte=now).values_list(
            "key_id", "account_id", "region", "deletion_date"
        )
    )
    for key_id, account_id, region, deletion_date in doomed:
        with transaction.atomic():
            deleted, _ = Key.objects.filter(key_id=key_id, state=states.PENDING_DELETION).delete()
            if deleted:
                audit.record_service_event(
                    account_id=account_id, region=region, key_id=key_id, event_name="DeleteKey", when=deletion_date
                )


def sweep() -> dict[str, int]:
    """The bulk form of apply_due_events, plus removal of expired wrapping key pairs (manage.py sweep)."""
    now = clock.now()
    expiring = Key.objects.filter(sealed_material__isnull=False, valid_to__lte=now).count()
    deleting = Key.objects.filter(state=states.PENDING_DELETION, deletion_date__lte=now).count()
    apply_due_events()
    removed, _ = ImportParameters.objects.filter(valid_to__lte=now).delete()
    made = fill_wrapping_key_pool()
    return {
        "expired_material": expiring,
        "deleted_keys": deleting,
        "expired_import_parameters": removed,
        "wrapping_keys_made": made,
    }
