"""All cryptography of the clone: master key, sealing at rest, wrapping keys, import tokens, ciphertext blobs.

Pure module: it imports nothing from Django or the rest of the project.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import shlex
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap_with_padding,
)

__all__ = [
    "KEY_MATERIAL_BYTES",
    "MAX_IMPORT_TOKEN_BYTES",
    "OPENSSL_COMMANDS",
    "OPENSSL_GENERATE_MATERIAL",
    "WRAPPING_ALGORITHMS",
    "WRAPPING_KEY_SPECS",
    "CryptoError",
    "InvalidCiphertext",
    "InvalidToken",
    "MasterKey",
    "canonical_encryption_context",
    "ciphertext_key_id",
    "decrypt_with_material",
    "encrypt_with_material",
    "fingerprint",
    "generate_key_material",
    "generate_random",
    "generate_wrapping_key_pair",
    "issue_import_token",
    "open_import_token",
    "render_openssl_commands",
    "seal",
    "unseal",
    "unwrap_key_material",
    "wrap_key_material",
]

WRAPPING_ALGORITHMS: tuple[str, ...] = (
    "RSAES_OAEP_SHA_256",
    "RSAES_OAEP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
)
WRAPPING_KEY_SPECS: dict[str, int] = {
    "RSA_2048": 2048,
    "RSA_3072": 3072,
    "RSA_4096": 4096,
}
KEY_MATERIAL_BYTES = 32
MAX_IMPORT_TOKEN_BYTES = 6144

# Shell commands a trainee runs to wrap key material, per wrapping algorithm. Placeholders:
# {public_key} (DER file from the download), {plaintext} (raw key material), {output} (the file
# to upload). Tested against the real OpenSSL 3 binary: `-id-aes256-wrap-pad` needs no `-nopad`,
# and `-iv A65959A6` (the RFC 5649 alternative IV) must be given explicitly or `enc` refuses
# with "iv undefined". `od -v` because plain `od` folds repeated lines into `*`.
_PKEYUTL = (
    "openssl pkeyutl -in {plaintext} -out {output} -inkey {public_key} -keyform DER -pubin"
    " -encrypt -pkeyopt rsa_padding_mode:oaep"
)
_PKEYUTL_AES = (
    "openssl pkeyutl -in AesKey.bin -out EncryptedAesKey.bin -inkey {public_key} -keyform DER"
    " -pubin -encrypt -pkeyopt rsa_padding_mode:oaep"
)
_SHA1 = " -pkeyopt rsa_oaep_md:sha1"
_SHA256 = " -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256"
_AES_WRAP_ENC = (
    "openssl enc -id-aes256-wrap-pad -iv A65959A6"
    " -K \"$(od -An -v -tx1 AesKey.bin | tr -d ' \\n')\""
    " -in {plaintext} -out WrappedKeyMaterial.bin"
)
_AES_WRAP = [
    _AES_WRAP_ENC,
    "cat EncryptedAesKey.bin WrappedKeyMaterial.bin > {output}",
    "rm -f AesKey.bin EncryptedAesKey.bin WrappedKeyMaterial.bin",
]
OPENSSL_COMMANDS: dict[str, list[str]] = {
    "RSAES_OAEP_SHA_256": [_PKEYUTL + _SHA256],
    "RSAES_OAEP_SHA_1": [_PKEYUTL + _SHA1],
    "RSA_AES_KEY_WRAP_SHA_256": [
        "openssl rand -out AesKey.bin 32",
        _PKEYUTL_AES + _SHA256,
        *_AES_WRAP,
    ],
    "RSA_AES_KEY_WRAP_SHA_1": [
        "openssl rand -out AesKey.bin 32",
        _PKEYUTL_AES + _SHA1,
        *_AES_WRAP,
    ],
}
OPENSSL_GENERATE_MATERIAL = "openssl rand -out {plaintext} 32"

_HKDF_SALT = b"consoleclone/master-key/v1"
_SEAL_VERSION = b"\x01"
_TOKEN_MAGIC = b"CCIT\x01"
_BLOB_MAGIC = b"CCKB\x01"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_AES_WRAP_KEY_BYTES = 32
_MAX_KEY_ID_BYTES = 255


class CryptoError(Exception):
    """Base class of the errors this module raises on bad input data."""


class InvalidCiphertext(CryptoError):
    """Data cannot be unwrapped, decrypted or unsealed, or is not in our format."""


class InvalidToken(CryptoError):
    """The import token was not issued by this master key, or was altered."""


def _as_bytes(value: object, name: str) -> bytes:
    """Return bytes-like `value` as bytes (PostgreSQL hands back memoryview), else TypeError."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{name} must be bytes, not {type(value).__name__}")


@dataclass(frozen=True)
class MasterKey:
    """The 256-bit root secret from which every other server-side key is derived."""

    raw: bytes = field(repr=False)

    def __post_init__(self) -> None:
        """Check the key is exactly 32 bytes."""
        raw = _as_bytes(self.raw, "raw")
        if len(raw) != 32:
            raise ValueError(f"master key must be 32 bytes, got {len(raw)}")
        object.__setattr__(self, "raw", raw)

    def derive(self, purpose: str) -> bytes:
        """Derive a 32-byte subkey for `purpose` with HKDF-SHA256."""
        if not isinstance(purpose, str) or not purpose:
            raise ValueError("purpose must be a non-empty string")
        hkdf = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=_HKDF_SALT,
            info=purpose.encode("utf-8"),
        )
        return hkdf.derive(self.raw)

    @classmethod
    def generate(cls) -> MasterKey:
        """Create a new random master key."""
        return cls(os.urandom(32))

    @classmethod
    def from_b64(cls, text: str | bytes) -> MasterKey:
        """Read a key from standard or URL-safe base64 (padding optional); ValueError if malformed."""
        if isinstance(text, bytes):
            text = text.decode("ascii", errors="replace")
        cleaned = "".join(text.split()).replace("-", "+").replace("_", "/").rstrip("=")
        try:
            raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
        except ValueError as exc:
            raise ValueError("master key is not valid base64") from exc
        return cls(raw)

    def to_b64(self) -> str:
        """Return the key as URL-safe base64 with padding."""
        return base64.urlsafe_b64encode(self.raw).decode("ascii")


def _seal_aad(context: str) -> bytes:
    """Associated data of a sealed value: version byte and context."""
    if not isinstance(context, str):
        raise TypeError("context must be a str")
    return _SEAL_VERSION + context.encode("utf-8")


def seal(master: MasterKey, plaintext: bytes, *, context: str) -> bytes:
    """Encrypt data at rest with AES-256-GCM, bound to `context` (e.g. "key-material:<key id>")."""
    plaintext = _as_bytes(plaintext, "plaintext")
    aad = _seal_aad(context)
    nonce = os.urandom(_NONCE_BYTES)
    return _SEAL_VERSION + nonce + AESGCM(master.derive("seal")).encrypt(nonce, plaintext, aad)


def unseal(master: MasterKey, sealed: bytes, *, context: str) -> bytes:
    """Reverse `seal`; InvalidCiphertext if the data, context or master key do not match."""
    sealed = _as_bytes(sealed, "sealed")
    aad = _seal_aad(context)
    if len(sealed) < 1 + _NONCE_BYTES + _TAG_BYTES or sealed[:1] != _SEAL_VERSION:
        raise InvalidCiphertext("not a sealed value")
    nonce = sealed[1 : 1 + _NONCE_BYTES]
    try:
        return AESGCM(master.derive("seal")).decrypt(nonce, sealed[1 + _NONCE_BYTES :], aad)
    except InvalidTag:
        raise InvalidCiphertext("sealed value cannot be opened") from None


def generate_wrapping_key_pair(spec: str) -> tuple[bytes, bytes]:
    """Create an RSA wrapping key pair: (PKCS#8 DER private key, DER SubjectPublicKeyInfo)."""
    if spec not in WRAPPING_KEY_SPECS:
        raise ValueError(f"unknown wrapping key spec: {spec!r}")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=WRAPPING_KEY_SPECS[spec])
    private_der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_der, public_der


def _algorithm_hash(algorithm: str) -> hashes.HashAlgorithm:
    """Return the OAEP hash of a wrapping algorithm; ValueError for unsupported ones."""
    if algorithm not in WRAPPING_ALGORITHMS:
        raise ValueError(f"unsupported wrapping algorithm: {algorithm!r}")
    return hashes.SHA256() if algorithm.endswith("_SHA_256") else hashes.SHA1()


def _oaep(digest: hashes.HashAlgorithm, mgf1: hashes.HashAlgorithm | None = None) -> padding.OAEP:
    """Build OAEP padding; MGF1 uses the same hash unless told otherwise."""
    return padding.OAEP(mgf=padding.MGF1(algorithm=mgf1 or digest), algorithm=digest, label=None)


def _load_private(private_der: bytes) -> rsa.RSAPrivateKey:
    """Load our own PKCS#8 DER RSA private key; ValueError if unreadable, TypeError if not RSA."""
    # Our keys come out of an authenticated seal, so OpenSSL's costly RSA consistency check (~40 ms) is skipped.
    key = serialization.load_der_private_key(
        _as_bytes(private_der, "private_der"), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("wrapping private key is not an RSA key")
    return key


def _load_public(public_der: bytes) -> rsa.RSAPublicKey:
    """Load a DER SubjectPublicKeyInfo RSA public key; ValueError if unreadable, TypeError if not RSA."""
    key = serialization.load_der_public_key(_as_bytes(public_der, "public_der"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError("wrapping public key is not an RSA key")
    return key


def _rsa_decrypt(key: rsa.RSAPrivateKey, data: bytes, paddings: list[padding.OAEP]) -> bytes:
    """Try each OAEP variant in turn; InvalidCiphertext if none decrypts."""
    for pad in paddings:
        try:
            return key.decrypt(data, pad)
        except ValueError:
            continue
    raise InvalidCiphertext("wrapped key material cannot be decrypted")


def unwrap_key_material(private_der: bytes, algorithm: str, wrapped: bytes) -> bytes:
    """Recover key material wrapped under the public half of `private_der` with `algorithm`."""
    digest = _algorithm_hash(algorithm)
    wrapped = _as_bytes(wrapped, "wrapped")
    key = _load_private(private_der)
    modulus_bytes = (key.key_size + 7) // 8
    if algorithm.startswith("RSAES_OAEP_"):
        if len(wrapped) != modulus_bytes:
            raise InvalidCiphertext("wrapped key material has the wrong length")
        paddings = [_oaep(digest)]
        if isinstance(digest, hashes.SHA256):
            # Leniency: some tools pair OAEP-SHA-256 with the MGF1-SHA-1 default.
            paddings.append(_oaep(digest, hashes.SHA1()))
        return _rsa_decrypt(key, wrapped, paddings)
    # RFC 5649 output is at least 16 bytes and a multiple of 8.
    rest = len(wrapped) - modulus_bytes
    if rest < 16 or rest % 8:
        raise InvalidCiphertext("wrapped key material has the wrong length")
    aes_key = _rsa_decrypt(key, wrapped[:modulus_bytes], [_oaep(digest)])
    if len(aes_key) != _AES_WRAP_KEY_BYTES:
        raise InvalidCiphertext("the wrapped AES key is not 256 bits")
    try:
        return aes_key_unwrap_with_padding(aes_key, wrapped[modulus_bytes:])
    except (InvalidUnwrap, ValueError):
        raise InvalidCiphertext("wrapped key material cannot be unwrapped") from None


def wrap_key_material(public_der: bytes, algorithm: str, material: bytes) -> bytes:
    """Wrap key material as OPENSSL_COMMANDS[algorithm] would."""
    digest = _algorithm_hash(algorithm)
    material = _as_bytes(material, "material")
    key = _load_public(public_der)
    if algorithm.startswith("RSAES_OAEP_"):
        return key.encrypt(material, _oaep(digest))
    aes_key = os.urandom(_AES_WRAP_KEY_BYTES)
    return key.encrypt(aes_key, _oaep(digest)) + aes_key_wrap_with_padding(aes_key, material)


def _token_cipher(master: MasterKey) -> AESGCM:
    """Return the AEAD that protects import tokens."""
    return AESGCM(master.derive("import-token"))


def issue_import_token(master: MasterKey, claims: dict) -> bytes:
    """Encrypt and authenticate JSON-serialisable `claims` into an opaque import token."""
    if not isinstance(claims, dict):
        raise TypeError("claims must be a dict")
    payload = json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    overhead = len(_TOKEN_MAGIC) + _NONCE_BYTES + _TAG_BYTES
    if overhead + len(payload) > MAX_IMPORT_TOKEN_BYTES:
        raise ValueError(f"import token would exceed {MAX_IMPORT_TOKEN_BYTES} bytes")
    nonce = os.urandom(_NONCE_BYTES)
    return _TOKEN_MAGIC + nonce + _token_cipher(master).encrypt(nonce, payload, _TOKEN_MAGIC)


def open_import_token(master: MasterKey, token: bytes) -> dict:
    """Return the claims of a token issued by `master`; InvalidToken for anything else."""
    token = _as_bytes(token, "token")
    header = len(_TOKEN_MAGIC) + _NONCE_BYTES
    if len(token) < header + _TAG_BYTES or len(token) > MAX_IMPORT_TOKEN_BYTES:
        raise InvalidToken("import token has the wrong length")
    if not token.startswith(_TOKEN_MAGIC):
        raise InvalidToken("not an import token")
    nonce = token[len(_TOKEN_MAGIC) : header]
    try:
        payload = _token_cipher(master).decrypt(nonce, token[header:], _TOKEN_MAGIC)
        claims = json.loads(payload.decode("utf-8"))
    except (InvalidTag, ValueError):
        raise InvalidToken("import token is invalid") from None
    if not isinstance(claims, dict):
        raise InvalidToken("import token is invalid")
    return claims


def fingerprint(master: MasterKey, material: bytes) -> str:
    """Keyed fingerprint (HMAC-SHA256, hex) that identifies material without storing it."""
    material = _as_bytes(material, "material")
    return hmac.new(master.derive("fingerprint"), material, hashlib.sha256).hexdigest()


def generate_key_material() -> bytes:
    """Return fresh 256-bit symmetric key material."""
    return secrets.token_bytes(KEY_MATERIAL_BYTES)


def generate_random(n: int) -> bytes:
    """Return `n` cryptographically secure random bytes."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("n must be an int")
    if n < 0:
        raise ValueError("n must not be negative")
    return secrets.token_bytes(n)


def canonical_encryption_context(ctx: dict[str, str] | None) -> bytes:
    """Serialise an encryption context canonically; None and {} are the same context."""
    ctx = {} if ctx is None else ctx
    if not isinstance(ctx, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in ctx.items()):
        raise TypeError("encryption context must map str to str")
    return json.dumps(ctx, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _blob_header(key_id: str) -> bytes:
    """Return magic + length-prefixed ASCII key id."""
    if not isinstance(key_id, str) or not key_id:
        raise ValueError("key id must be a non-empty string")
    try:
        encoded = key_id.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("key id must be ASCII") from None
    if len(encoded) > _MAX_KEY_ID_BYTES:
        raise ValueError(f"key id longer than {_MAX_KEY_ID_BYTES} bytes")
    return _BLOB_MAGIC + struct.pack("B", len(encoded)) + encoded


def _parse_blob(blob: bytes) -> tuple[str, bytes, bytes, bytes]:
    """Split a ciphertext blob into (key id, header, nonce, ciphertext+tag)."""
    blob = _as_bytes(blob, "blob")
    magic_len = len(_BLOB_MAGIC)
    if len(blob) < magic_len + 1 or not blob.startswith(_BLOB_MAGIC):
        raise InvalidCiphertext("not a ciphertext blob of this service")
    id_len = blob[magic_len]
    header_len = magic_len + 1 + id_len
    if id_len == 0 or len(blob) < header_len + _NONCE_BYTES + _TAG_BYTES:
        raise InvalidCiphertext("ciphertext blob is truncated or malformed")
    try:
        key_id = blob[magic_len + 1 : header_len].decode("ascii")
    except UnicodeDecodeError:
        raise InvalidCiphertext("ciphertext blob is malformed") from None
    nonce_end = header_len + _NONCE_BYTES
    return key_id, blob[:header_len], blob[header_len:nonce_end], blob[nonce_end:]


def _material_cipher(material: bytes) -> AESGCM:
    """Return AES-256-GCM under 32-byte key material; ValueError for any other length."""
    material = _as_bytes(material, "material")
    if len(material) != KEY_MATERIAL_BYTES:
        raise ValueError(f"key material must be {KEY_MATERIAL_BYTES} bytes")
    return AESGCM(material)


def encrypt_with_material(
    material: bytes,
    key_id: str,
    plaintext: bytes,
    encryption_context: dict[str, str] | None,
) -> bytes:
    """Encrypt under key material into a blob that names `key_id` and binds the encryption context."""
    cipher = _material_cipher(material)
    header = _blob_header(key_id)
    aad = header + canonical_encryption_context(encryption_context)
    nonce = os.urandom(_NONCE_BYTES)
    return header + nonce + cipher.encrypt(nonce, _as_bytes(plaintext, "plaintext"), aad)


def ciphertext_key_id(blob: bytes) -> str:
    """Return the key id a ciphertext blob was made under; InvalidCiphertext if not our format."""
    return _parse_blob(blob)[0]


def decrypt_with_material(material: bytes, blob: bytes, encryption_context: dict[str, str] | None) -> bytes:
    """Decrypt a blob from `encrypt_with_material`; InvalidCiphertext on any mismatch."""
    cipher = _material_cipher(material)
    aad_context = canonical_encryption_context(encryption_context)
    _, header, nonce, sealed = _parse_blob(blob)
    try:
        return cipher.decrypt(nonce, sealed, header + aad_context)
    except InvalidTag:
        raise InvalidCiphertext("ciphertext cannot be decrypted") from None


def render_openssl_commands(algorithm: str, *, public_key: str, plaintext: str, output: str) -> list[str]:
    """Return OPENSSL_COMMANDS[algorithm] with file names filled in, shell-quoted where needed."""
    _algorithm_hash(algorithm)
    names = {
        "public_key": shlex.quote(public_key),
        "plaintext": shlex.quote(plaintext),
        "output": shlex.quote(output),
    }
    return [line.format(**names) for line in OPENSSL_COMMANDS[algorithm]]
