"""Cryptographic operations with a key's material: Encrypt, Decrypt, ReEncrypt, data keys, random."""

from __future__ import annotations

from typing import Any

from keys import crypto, vault
from keys.errors import KmsError, validation
from keys.models import Key
from keys.services.gate import Actor, Call, kms_call

MAX_PLAINTEXT = 4096
DATA_KEY_SPECS = {"AES_256": 32, "AES_128": 16}


def _context(encryption_context: Any) -> dict[str, str] | None:
    if encryption_context is None:
        return None
    if not isinstance(encryption_context, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in encryption_context.items()
    ):
        raise validation("EncryptionContext must be a map of strings to strings.")
    return encryption_context


def _material(key: Key) -> bytes:
    return vault.unseal(key.sealed_material, context=f"key-material:{key.key_id}")


def _seal_for(key: Key, plaintext: bytes, context: dict[str, str] | None) -> bytes:
    return crypto.encrypt_with_material(_material(key), key.key_id, plaintext, context)


def _check_algorithm(algorithm: Any) -> None:
    if algorithm not in (None, "SYMMETRIC_DEFAULT"):
        raise KmsError(
            "InvalidKeyUsageException", f"Encryption algorithm {algorithm} is not valid for a symmetric key."
        )


def encrypt(
    actor: Actor, *, key_id: str, plaintext: Any, encryption_context: Any = None, encryption_algorithm: Any = None
) -> dict[str, Any]:
    context = _context(encryption_context)
    request = {"keyId": key_id, "encryptionContext": context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    with kms_call(actor, "Encrypt", request=request, read_only=True) as call:
        key = call.key(key_id)
        _check_algorithm(encryption_algorithm)
        if not isinstance(plaintext, (bytes, bytearray)) or not 1 <= len(plaintext) <= MAX_PLAINTEXT:
            raise validation(
                "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
                f"Member must have length between 1 and {MAX_PLAINTEXT} bytes"
            )
        blob = _seal_for(key, bytes(plaintext), context)
        return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}


def _key_of_ciphertext(call: Call, blob: Any, key_id: str | None, operation: str, action: str | None = None) -> Key:
    if not isinstance(blob, (bytes, bytearray)) or not 1 <= len(blob) <= 6144:
        raise validation(
            "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: "
            "Member must have length between 1 and 6144 bytes"
        )
    try:
        embedded = crypto.ciphertext_key_id(bytes(blob))
    except crypto.InvalidCiphertext:
        raise KmsError("InvalidCiphertextException", "The ciphertext is invalid or was not produced by KMS.") from None
    owner = Key.objects.filter(key_id=embedded).values_list("account_id", "region").first()
    if owner is None:
        raise KmsError("InvalidCiphertextException", "The ciphertext refers to a KMS key that does not exist.")
    arn = f"arn:aws:kms:{owner[1]}:{owner[0]}:key/{embedded}"
    key = call.key(arn, operation=operation, action=action)
    if key_id is not None:
        named = call.key(key_id, operation=operation, action=action, check_state=False)
        if named.key_id != key.key_id:
            raise KmsError(
                "IncorrectKeyException",
                "The key ID in the request does not identify a KMS key that can perform this operation.",
            )
    return key


def _open(key: Key, blob: bytes, context: dict[str, str] | None) -> bytes:
    try:
        return crypto.decrypt_with_material(_material(key), bytes(blob), context)
    except crypto.InvalidCiphertext:
        raise KmsError("InvalidCiphertextException", "The ciphertext or its encryption context is not valid.") from None


def decrypt(
    actor: Actor,
    *,
    ciphertext_blob: Any,
    encryption_context: Any = None,
    key_id: str | None = None,
    encryption_algorithm: Any = None,
) -> dict[str, Any]:
    context = _context(encryption_context)
    request = {"keyId": key_id, "encryptionContext": context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    with kms_call(actor, "Decrypt", request=request, read_only=True) as call:
        key = _key_of_ciphertext(call, ciphertext_blob, key_id, "Decrypt")
        _check_algorithm(encryption_algorithm)
        plaintext = _open(key, ciphertext_blob, context)
        return {"KeyId": key.arn, "Plaintext": plaintext, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}


def re_encrypt(
    actor: Actor,
    *,
    ciphertext_blob: Any,
    destination_key_id: str,
    source_encryption_context: Any = None,
    destination_encryption_context: Any = None,
    source_key_id: str | None = None,
    source_encryption_algorithm: Any = None,
    destination_encryption_algorithm: Any = None,
) -> dict[str, Any]:
    source_context = _context(source_encryption_context)
    destination_context = _context(destination_encryption_context)
    request = {
        "sourceKeyId": source_key_id,
        "destinationKeyId": destination_key_id,
        "sourceEncryptionContext": source_context,
        "destinationEncryptionContext": destination_context,
    }
    with kms_call(actor, "ReEncrypt", request=request, read_only=True) as call:
        source = _key_of_ciphertext(call, ciphertext_blob, source_key_id, "ReEncrypt", action="ReEncryptFrom")
        _check_algorithm(source_encryption_algorithm)
        _check_algorithm(destination_encryption_algorithm)
        destination = call.key(destination_key_id, operation="ReEncrypt", action="ReEncryptTo")
        plaintext = _open(source, ciphertext_blob, source_context)
        return {
            "CiphertextBlob": _seal_for(destination, plaintext, destination_context),
            "SourceKeyId": source.arn,
            "KeyId": destination.arn,
            "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }


def generate_data_key(
    actor: Actor,
    *,
    key_id: str,
    key_spec: Any = None,
    number_of_bytes: Any = None,
    encryption_context: Any = None,
    with_plaintext: bool = True,
) -> dict[str, Any]:
    operation = "GenerateDataKey" if with_plaintext else "GenerateDataKeyWithoutPlaintext"
    context = _context(encryption_context)
    request = {"keyId": key_id, "keySpec": key_spec, "numberOfBytes": number_of_bytes, "encryptionContext": context}
    with kms_call(actor, operation, request=request, read_only=True) as call:
        key = call.key(key_id)
        if (key_spec is None) == (number_of_bytes is None):
            raise validation("Please specify either number of bytes or key spec.")
        if key_spec is not None:
            if key_spec not in DATA_KEY_SPECS:
                raise validation(
                    f"1 validation error detected: Value '{key_spec}' at 'keySpec' failed to satisfy constraint: "
                    "Member must satisfy enum value set: [AES_256, AES_128]"
                )
            size = DATA_KEY_SPECS[key_spec]
        else:
            size = _check_number_of_bytes(number_of_bytes)
        data_key = crypto.generate_random(size)
        result: dict[str, Any] = {"CiphertextBlob": _seal_for(key, data_key, context), "KeyId": key.arn}
        if with_plaintext:
            result["Plaintext"] = data_key
        return result


def _quoted(value: Any) -> str:
    """A value as AWS's validation messages write it: null, or in single quotes."""
    return "null" if value is None else f"'{value}'"


def _check_number_of_bytes(number_of_bytes: Any) -> int:
    if isinstance(number_of_bytes, bool) or not isinstance(number_of_bytes, int) or not 1 <= number_of_bytes <= 1024:
        raise validation(
            f"1 validation error detected: Value {_quoted(number_of_bytes)} at 'numberOfBytes' failed to satisfy "
            "constraint: Member must have value between 1 and 1024"
        )
    return number_of_bytes


def generate_random(actor: Actor, *, number_of_bytes: Any = None) -> bytes:
    with kms_call(actor, "GenerateRandom", request={"numberOfBytes": number_of_bytes}, read_only=True) as call:
        call.authorize()
        size = _check_number_of_bytes(number_of_bytes)
        return crypto.generate_random(size)
