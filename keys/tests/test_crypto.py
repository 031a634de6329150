"""Tests of keys.crypto: plain functions, no Django, real OpenSSL for interoperability."""

from __future__ import annotations

import ast
import base64
import contextlib
import functools
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keys import crypto
from keys.crypto import (
    KEY_MATERIAL_BYTES,
    OPENSSL_COMMANDS,
    OPENSSL_GENERATE_MATERIAL,
    WRAPPING_ALGORITHMS,
    WRAPPING_KEY_SPECS,
    CryptoError,
    InvalidCiphertext,
    InvalidToken,
    MasterKey,
    canonical_encryption_context,
    ciphertext_key_id,
    decrypt_with_material,
    encrypt_with_material,
    fingerprint,
    generate_key_material,
    generate_random,
    generate_wrapping_key_pair,
    issue_import_token,
    open_import_token,
    render_openssl_commands,
    seal,
    unseal,
    unwrap_key_material,
    wrap_key_material,
)

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
MASTER = MasterKey(bytes(range(32)))
OTHER_MASTER = MasterKey(bytes(range(1, 33)))
KEY_A = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_B = "0987dcba-09fe-87dc-65ba-ab0987654321"
MATERIAL_A = bytes.fromhex("11" * 32)
MATERIAL_B = bytes.fromhex("22" * 32)
CLAIMS = {
    "key_arn": f"arn:aws:kms:us-east-1:111122223333:key/{KEY_A}",
    "wrapping_key_id": "wk-0001",
    "algorithm": "RSAES_OAEP_SHA_256",
    "valid_to": 1735689600,
}
SPEC_ALGORITHM_PAIRS = [(spec, algorithm) for spec in WRAPPING_KEY_SPECS for algorithm in WRAPPING_ALGORITHMS]
ALGORITHM_PAIRS = [(a, b) for a in WRAPPING_ALGORITHMS for b in WRAPPING_ALGORITHMS if a != b]


@functools.cache
def key_pair(spec: str = "RSA_2048", n: int = 0) -> tuple[bytes, bytes]:
    """Return a wrapping key pair, generated once per (spec, n) for the whole run."""
    return generate_wrapping_key_pair(spec)


def flip_bit(data: bytes, bit: int) -> bytes:
    """Return `data` with one bit inverted."""
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def openssl(*args: str, cwd: Path) -> None:
    """Run the openssl binary, failing the test with its stderr on error."""
    result = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def oaep_opts(digest: str) -> list[str]:
    """The documented -pkeyopt options for OAEP with `digest` ("sha1" or "sha256")."""
    opts = ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", f"rsa_oaep_md:{digest}"]
    if digest == "sha256":
        opts += ["-pkeyopt", "rsa_mgf1_md:sha256"]
    return opts


def digest_of(algorithm: str) -> str:
    """Map a wrapping algorithm to its openssl digest name."""
    return "sha256" if algorithm.endswith("_SHA_256") else "sha1"


# --- constants -----------------------------------------------------------------------------


def test_public_constants():
    assert WRAPPING_ALGORITHMS == (
        "RSAES_OAEP_SHA_256",
        "RSAES_OAEP_SHA_1",
        "RSA_AES_KEY_WRAP_SHA_256",
        "RSA_AES_KEY_WRAP_SHA_1",
    )
    assert WRAPPING_KEY_SPECS == {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
    assert KEY_MATERIAL_BYTES == 32
    assert set(OPENSSL_COMMANDS) == set(WRAPPING_ALGORITHMS)


def test_errors_are_distinct_from_value_error():
    assert issubclass(InvalidCiphertext, CryptoError)
    assert issubclass(InvalidToken, CryptoError)
    assert not issubclass(CryptoError, ValueError)
    assert not issubclass(InvalidToken, InvalidCiphertext)


# --- master key ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_master_key_must_be_32_bytes(size):
    with pytest.raises(ValueError):
        MasterKey(b"k" * size)


def test_master_key_accepts_memoryview_and_stores_bytes():
    key = MasterKey(memoryview(bytes(range(32))))
    assert key.raw == bytes(range(32))
    assert type(key.raw) is bytes
    assert key == MASTER


def test_master_key_repr_hides_the_secret():
    assert bytes(range(32)).hex() not in repr(MASTER)
    assert repr(bytes(range(32))) not in repr(MASTER)


def test_generate_master_key_is_random():
    a, b = MasterKey.generate(), MasterKey.generate()
    assert len(a.raw) == 32
    assert a != b


def test_derive_is_32_bytes_deterministic_and_distinct():
    purposes = ["seal", "import-token", "fingerprint", "x"]
    derived = [MASTER.derive(p) for p in purposes]
    assert all(len(d) == 32 for d in derived)
    assert len(set(derived)) == len(purposes)
    assert MASTER.derive("seal") == MasterKey(bytes(range(32))).derive("seal")
    assert MASTER.derive("seal") != OTHER_MASTER.derive("seal")
    assert MASTER.derive("seal") != MASTER.raw


def test_derive_rejects_empty_purpose():
    with pytest.raises(ValueError):
        MASTER.derive("")


def test_b64_round_trip_and_both_alphabets():
    raw = bytes([0xFB, 0xFF, 0xBF] * 10 + [0xFE, 0xFF])  # produces '+', '/' / '-', '_'
    key = MasterKey(raw)
    text = key.to_b64()
    assert MasterKey.from_b64(text) == key
    assert MasterKey.from_b64(base64.b64encode(raw).decode()) == key
    assert MasterKey.from_b64(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == key
    assert MasterKey.from_b64("  " + text + "\n") == key
    assert MasterKey.from_b64(text.encode()) == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64!!",
        base64.b64encode(b"x" * 31).decode(),
        base64.b64encode(b"x" * 33).decode(),
        "é" * 44,
    ],
)
def test_from_b64_rejects_bad_input(text):
    with pytest.raises(ValueError):
        MasterKey.from_b64(text)


# --- seal / unseal -------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [b"", b"x", MATERIAL_A, bytes(3000)])
def test_seal_round_trip(plaintext):
    sealed = seal(MASTER, plaintext, context="key-material:" + KEY_A)
    assert unseal(MASTER, sealed, context="key-material:" + KEY_A) == plaintext
    assert unseal(MASTER, memoryview(sealed), context="key-material:" + KEY_A) == plaintext


def test_seal_format_and_random_nonce():
    a = seal(MASTER, MATERIAL_A, context="c")
    b = seal(MASTER, MATERIAL_A, context="c")
    assert len(a) == 1 + 12 + len(MATERIAL_A) + 16
    assert a[0] == 1
    assert a != b
    assert MATERIAL_A not in a


def test_seal_is_bound_to_context():
    sealed = seal(MASTER, MATERIAL_A, context="key-material:" + KEY_A)
    for other in [
        "key-material:" + KEY_B,
        "wrapping-key:" + KEY_A,
        "",
        "key-material:" + KEY_A + " ",
    ]:
        with pytest.raises(InvalidCiphertext):
            unseal(MASTER, sealed, context=other)


def test_seal_is_bound_to_master():
    sealed = seal(MASTER, MATERIAL_A, context="c")
    with pytest.raises(InvalidCiphertext):
        unseal(OTHER_MASTER, sealed, context="c")


def test_unseal_detects_every_flipped_bit():
    sealed = seal(MASTER, MATERIAL_A, context="c")
    for bit in range(len(sealed) * 8):
        with pytest.raises(InvalidCiphertext):
            unseal(MASTER, flip_bit(sealed, bit), context="c")


def test_unseal_detects_truncation_and_extension():
    sealed = seal(MASTER, MATERIAL_A, context="c")
    for length in range(len(sealed)):
        with pytest.raises(InvalidCiphertext):
            unseal(MASTER, sealed[:length], context="c")
    with pytest.raises(InvalidCiphertext):
        unseal(MASTER, sealed + b"\x00", context="c")


def test_unseal_rejects_unknown_version():
    sealed = seal(MASTER, MATERIAL_A, context="c")
    with pytest.raises(InvalidCiphertext):
        unseal(MASTER, b"\x02" + sealed[1:], context="c")


# --- wrapping key pairs ----------------------------------------------------------------------


@pytest.mark.parametrize("spec", list(WRAPPING_KEY_SPECS))
def test_wrapping_key_pair_matches_spec(spec):
    private_der, public_der = key_pair(spec)
    private = serialization.load_der_private_key(private_der, password=None)
    public = serialization.load_der_public_key(public_der)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert isinstance(public, rsa.RSAPublicKey)
    assert private.key_size == public.key_size == WRAPPING_KEY_SPECS[spec]
    assert public.public_numbers().e == 65537
    assert private.public_key().public_numbers() == public.public_numbers()
    # Exactly the encodings asked for: PKCS#8 and SubjectPublicKeyInfo, both DER.
    assert private_der == private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert public_der == public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_openssl_reads_the_public_key_as_documented(tmp_path):
    _, public_der = key_pair("RSA_2048")
    (tmp_path / "PublicKey.bin").write_bytes(public_der)
    result = subprocess.run(
        [
            OPENSSL,
            "pkey",
            "-pubin",
            "-inform",
            "DER",
            "-in",
            "PublicKey.bin",
            "-noout",
            "-text",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "2048 bit" in result.stdout
    assert "65537" in result.stdout


def test_each_key_pair_is_new():
    assert generate_wrapping_key_pair("RSA_2048") != key_pair("RSA_2048")


@pytest.mark.parametrize("spec", ["RSA_1024", "rsa_2048", "", "ECC_NIST_P256", "2048"])
def test_unknown_wrapping_key_spec(spec):
    with pytest.raises(ValueError):
        generate_wrapping_key_pair(spec)


# --- wrap / unwrap ---------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "algorithm"), SPEC_ALGORITHM_PAIRS)
def test_wrap_unwrap_round_trip(spec, algorithm):
    private_der, public_der = key_pair(spec)
    material = generate_key_material()
    wrapped = wrap_key_material(public_der, algorithm, material)
    modulus_bytes = WRAPPING_KEY_SPECS[spec] // 8
    if algorithm.startswith("RSAES_"):
        assert len(wrapped) == modulus_bytes
    else:
        assert len(wrapped) == modulus_bytes + 40  # RFC 5649 of 32 bytes: 32 + 8
    assert unwrap_key_material(private_der, algorithm, wrapped) == material


@pytest.mark.parametrize("algorithm", WRAPPING_ALGORITHMS)
@pytest.mark.parametrize("material", [b"\x00", b"short material", bytes(range(64))])
def test_wrap_unwrap_other_lengths(algorithm, material):
    private_der, public_der = key_pair()
    assert unwrap_key_material(private_der, algorithm, wrap_key_material(public_der, algorithm, material)) == material


@pytest.mark.parametrize("algorithm", WRAPPING_ALGORITHMS)
def test_unwrap_with_wrong_private_key(algorithm):
    _, public_der = key_pair("RSA_2048", 0)
    other_private, _ = key_pair("RSA_2048", 1)
    wrapped = wrap_key_material(public_der, algorithm, MATERIAL_A)
    with pytest.raises(InvalidCiphertext):
        unwrap_key_material(other_private, algorithm, wrapped)


def test_unwrap_with_private_key_of_another_size():
    _, public_der = key_pair("RSA_2048")
    private_3072, _ = key_pair("RSA_3072")
    for algorithm in WRAPPING_ALGORITHMS:
        with pytest.raises(InvalidCiphertext):
            unwrap_key_material(
                private_3072,
                algorithm,
                wrap_key_material(public_der, algorithm, MATERIAL_A),
            )


@pytest.mark.parametrize(("wrapped_with", "unwrapped_with"), ALGORITHM_PAIRS)
def test_unwrap_with_wrong_algorithm(wrapped_with, unwrapped_with):
    private_der, public_der = key_pair()
    wrapped = wrap_key_material(public_der, wrapped_with, MATERIAL_A)
    with pytest.raises(InvalidCiphertext):
        unwrap_key_material(private_der, unwrapped_with, wrapped)


@pytest.mark.parametrize("algorithm", WRAPPING_ALGORITHMS)
def test_unwrap_truncated_or_extended(algorithm):
    private_der, public_der = key_pair()
    wrapped = wrap_key_material(public_der, algorithm, MATERIAL_A)
    for bad in [
        b"",
        wrapped[:1],
        wrapped[:-1],
        wrapped[:-8],
        wrapped[:256],
        wrapped + b"\x00",
        wrapped + bytes(8),
    ]:
        if bad == wrapped[:256] and algorithm.startswith("RSAES_"):
            continue  # that is the whole blob
        with pytest.raises(InvalidCiphertext):
            unwrap_key_material(private_der, algorithm, bad)


@pytest.mark.parametrize("algorithm", WRAPPING_ALGORITHMS)
def test_unwrap_detects_flipped_bits(algorithm):
    private_der, public_der = key_pair()
    wrapped = wrap_key_material(public_der, algorithm, MATERIAL_A)
    # First and last byte of the RSA part, and every byte of the AES key wrap part.
    bits = [0, 7, 255 * 8] + list(range(256 * 8, len(wrapped) * 8, 5))
    for bit in bits:
        with pytest.raises(InvalidCiphertext):
            unwrap_key_material(private_der, algorithm, flip_bit(wrapped, bit))


@pytest.mark.parametrize(
    "algorithm",
    [
        "RSAES_PKCS1_V1_5",
        "",
        "rsaes_oaep_sha_256",
        "RSAES_OAEP_SHA_512",
        "SYMMETRIC_DEFAULT",
    ],
)
def test_unknown_wrapping_algorithm(algorithm):
    private_der, public_der = key_pair()
    with pytest.raises(ValueError):
        wrap_key_material(public_der, algorithm, MATERIAL_A)
    with pytest.raises(ValueError):
        unwrap_key_material(private_der, algorithm, bytes(256))


def test_pkcs1_v1_5_wrapped_material_is_refused():
    private_der, public_der = key_pair()
    wrapped = serialization.load_der_public_key(public_der).encrypt(MATERIAL_A, padding.PKCS1v15())
    with pytest.raises(ValueError):
        unwrap_key_material(private_der, "RSAES_PKCS1_V1_5", wrapped)
    for algorithm in WRAPPING_ALGORITHMS:
        with pytest.raises(InvalidCiphertext):
            unwrap_key_material(private_der, algorithm, wrapped)


def test_oaep_sha256_accepts_mgf1_sha1_for_leniency():
    private_der, public_der = key_pair()
    public = serialization.load_der_public_key(public_der)
    wrapped = public.encrypt(
        MATERIAL_A,
        padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA256(), label=None),
    )
    assert unwrap_key_material(private_der, "RSAES_OAEP_SHA_256", wrapped) == MATERIAL_A
    # The leniency does not extend to a different OAEP hash.
    with pytest.raises(InvalidCiphertext):
        unwrap_key_material(private_der, "RSAES_OAEP_SHA_1", wrapped)


def test_rsa_aes_key_wrap_requires_a_256_bit_aes_key():
    private_der, public_der = key_pair()
    public = serialization.load_der_public_key(public_der)
    aes_key = bytes(range(16))
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    wrapped = public.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, MATERIAL_A)
    with pytest.raises(InvalidCiphertext):
        unwrap_key_material(private_der, "RSA_AES_KEY_WRAP_SHA_256", wrapped)


def test_rsa_aes_key_wrap_matches_manual_construction():
    private_der, public_der = key_pair()
    public = serialization.load_der_public_key(public_der)
    aes_key = bytes(range(32))
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    wrapped = public.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, MATERIAL_B)
    assert unwrap_key_material(private_der, "RSA_AES_KEY_WRAP_SHA_1", wrapped) == MATERIAL_B


def test_wrap_needs_an_rsa_public_key():
    with pytest.raises(ValueError):
        wrap_key_material(b"not a key", "RSAES_OAEP_SHA_1", MATERIAL_A)
    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key()
    ec_der = ec_public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(TypeError):
        wrap_key_material(ec_der, "RSAES_OAEP_SHA_1", MATERIAL_A)


# --- interoperability with the openssl binary ------------------------------------------------


def openssl_wrap_documented(algorithm: str, cwd: Path) -> bytes:
    """Wrap Plaintext.bin with PublicKey.bin by the documented openssl commands, called directly."""
    digest = digest_of(algorithm)
    if algorithm.startswith("RSAES_"):
        openssl(
            "pkeyutl", "-in", "Plaintext.bin", "-out", "Enc.bin", "-inkey", "PublicKey.bin",
            "-keyform", "DER", "-pubin", "-encrypt", *oaep_opts(digest),
            cwd=cwd,
        )  # fmt: skip
        return (cwd / "Enc.bin").read_bytes()
    openssl("rand", "-out", "aes.bin", "32", cwd=cwd)
    openssl(
        "pkeyutl", "-in", "aes.bin", "-out", "EncAes.bin", "-inkey", "PublicKey.bin",
        "-keyform", "DER", "-pubin", "-encrypt", *oaep_opts(digest),
        cwd=cwd,
    )  # fmt: skip
    aes_hex = (cwd / "aes.bin").read_bytes().hex()
    openssl(
        "enc", "-id-aes256-wrap-pad", "-iv", "A65959A6", "-K", aes_hex,
        "-in", "Plaintext.bin", "-out", "wrapped_material.bin",
        cwd=cwd,
    )  # fmt: skip
    return (cwd / "EncAes.bin").read_bytes() + (cwd / "wrapped_material.bin").read_bytes()


@pytest.mark.parametrize(("spec", "algorithm"), SPEC_ALGORITHM_PAIRS)
def test_unwrap_material_wrapped_by_openssl(tmp_path, spec, algorithm):
    private_der, public_der = key_pair(spec)
    material = generate_key_material()
    (tmp_path / "PublicKey.bin").write_bytes(public_der)
    (tmp_path / "Plaintext.bin").write_bytes(material)
    wrapped = openssl_wrap_documented(algorithm, tmp_path)
    assert unwrap_key_material(private_der, algorithm, wrapped) == material


def test_openssl_sha256_without_mgf1_option_is_accepted(tmp_path):
    private_der, public_der = key_pair()
    (tmp_path / "PublicKey.bin").write_bytes(public_der)
    (tmp_path / "Plaintext.bin").write_bytes(MATERIAL_A)
    openssl(
        "pkeyutl", "-in", "Plaintext.bin", "-out", "Enc.bin", "-inkey", "PublicKey.bin", "-keyform", "DER",
        "-pubin", "-encrypt", "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
        cwd=tmp_path,
    )  # fmt: skip
    assert unwrap_key_material(private_der, "RSAES_OAEP_SHA_256", (tmp_path / "Enc.bin").read_bytes()) == MATERIAL_A


@pytest.mark.parametrize("algorithm", WRAPPING_ALGORITHMS)
def test_openssl_unwraps_what_wrap_key_material_produces(tmp_path, algorithm):
    private_der, public_der = key_pair()
    (tmp_path / "Private.der").write_bytes(private_der)
    wrapped = wrap_key_material(public_der, algorithm, MATERIAL_B)
    decrypt = [
        "pkeyutl",
        "-decrypt",
        "-inkey",
        "Private.der",
        "-keyform",
        "DER",
        *oaep_opts(digest_of(algorithm)),
    ]
    if algorithm.startswith("RSAES_"):
        (tmp_path / "Enc.bin").write_bytes(wrapped)
        openssl(*decrypt, "-in", "Enc.bin", "-out", "Out.bin", cwd=tmp_path)
    else:
        (tmp_path / "EncAes.bin").write_bytes(wrapped[:256])
        (tmp_path / "Wrapped.bin").write_bytes(wrapped[256:])
        openssl(*decrypt, "-in", "EncAes.bin", "-out", "aes.bin", cwd=tmp_path)
        aes_hex = (tmp_path / "aes.bin").read_bytes().hex()
        openssl(
            "enc", "-d", "-id-aes256-wrap-pad", "-iv", "A65959A6", "-K", aes_hex,
            "-in", "Wrapped.bin", "-out", "Out.bin",
            cwd=tmp_path,
        )  # fmt: skip
    assert (tmp_path / "Out.bin").read_bytes() == MATERIAL_B


def run_bash(lines: list[str], cwd: Path) -> None:
    """Run shell command lines as a trainee would paste them, stopping at the first failure."""
    result = subprocess.run(
        ["bash", "-e", "-u", "-o", "pipefail", "-c", "\n".join(lines)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [("RSA_2048", a) for a in WRAPPING_ALGORITHMS] + [("RSA_4096", "RSA_AES_KEY_WRAP_SHA_256")],
)
def test_openssl_command_templates_work(tmp_path, spec, algorithm):
    private_der, public_der = key_pair(spec)
    (tmp_path / "wrappingKey_test").write_bytes(public_der)
    names = {
        "public_key": "wrappingKey_test",
        "plaintext": "PlaintextKeyMaterial.bin",
        "output": "EncryptedKeyMaterial.bin",
    }
    lines = [OPENSSL_GENERATE_MATERIAL.format(**names)] + [line.format(**names) for line in OPENSSL_COMMANDS[algorithm]]
    run_bash(lines, tmp_path)
    material = (tmp_path / "PlaintextKeyMaterial.bin").read_bytes()
    assert len(material) == KEY_MATERIAL_BYTES
    wrapped = (tmp_path / "EncryptedKeyMaterial.bin").read_bytes()
    assert unwrap_key_material(private_der, algorithm, wrapped) == material
    # The ephemeral AES key must not be left lying around.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names.values())


@pytest.mark.parametrize("algorithm", ["RSA_AES_KEY_WRAP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1"])
def test_openssl_aes_wrap_template_with_repetitive_aes_key(tmp_path, algorithm):
    # An AES key of repeated bytes makes plain `od` print "*" lines; the hex must still be right.
    private_der, public_der = key_pair()
    (tmp_path / "pub.der").write_bytes(public_der)
    (tmp_path / "material.bin").write_bytes(MATERIAL_A)
    (tmp_path / "AesKey.bin").write_bytes(bytes(32))
    lines = render_openssl_commands(algorithm, public_key="pub.der", plaintext="material.bin", output="out.bin")
    assert lines[0] == "openssl rand -out AesKey.bin 32"
    run_bash(lines[1:], tmp_path)
    wrapped = (tmp_path / "out.bin").read_bytes()
    assert wrapped[256:] == aes_key_wrap_with_padding(bytes(32), MATERIAL_A)
    assert unwrap_key_material(private_der, algorithm, wrapped) == MATERIAL_A


@pytest.mark.parametrize("algorithm", WRAPPING_ALGORITHMS)
def test_rendered_commands_quote_awkward_file_names(tmp_path, algorithm):
    private_der, public_der = key_pair()
    (tmp_path / "my key $HOME.der").write_bytes(public_der)
    (tmp_path / "plain 'text'.bin").write_bytes(MATERIAL_A)
    lines = render_openssl_commands(
        algorithm,
        public_key="my key $HOME.der",
        plaintext="plain 'text'.bin",
        output="out put.bin",
    )
    run_bash(lines, tmp_path)
    assert unwrap_key_material(private_der, algorithm, (tmp_path / "out put.bin").read_bytes()) == MATERIAL_A


def test_rendered_commands_keep_plain_names_readable():
    lines = render_openssl_commands(
        "RSAES_OAEP_SHA_1",
        public_key="wrappingKey_1234abcd_0904120000",
        plaintext="PlaintextKeyMaterial.bin",
        output="EncryptedKeyMaterial.bin",
    )
    # The DG-2022/2023 command, word for word.
    documented = (
        "openssl pkeyutl -in PlaintextKeyMaterial.bin -out EncryptedKeyMaterial.bin"
        " -inkey wrappingKey_1234abcd_0904120000 -keyform DER -pubin -encrypt"
        " -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1"
    )
    assert lines == [documented]
    with pytest.raises(ValueError):
        render_openssl_commands("RSAES_PKCS1_V1_5", public_key="a", plaintext="b", output="c")


# --- import token ----------------------------------------------------------------------------


def test_import_token_round_trip():
    token = issue_import_token(MASTER, CLAIMS)
    assert isinstance(token, bytes)
    assert open_import_token(MASTER, token) == CLAIMS
    assert open_import_token(MASTER, memoryview(token)) == CLAIMS


def test_import_token_unicode_and_nested_claims():
    claims = {"description": "clé ✓ 鍵", "list": [1, 2, {"a": None}], "ok": True}
    assert open_import_token(MASTER, issue_import_token(MASTER, claims)) == claims


def test_import_token_is_confidential_and_prefixed():
    a = issue_import_token(MASTER, CLAIMS)
    b = issue_import_token(MASTER, CLAIMS)
    assert a != b
    assert a[:5] == b[:5]
    assert KEY_A.encode() not in a
    assert b"wk-0001" not in a
    assert b"RSAES" not in a


def test_import_token_size_limit():
    assert len(issue_import_token(MASTER, CLAIMS)) <= 6144
    big = {"pad": "x" * 6000}
    assert len(issue_import_token(MASTER, big)) <= 6144
    with pytest.raises(ValueError):
        issue_import_token(MASTER, {"pad": "x" * 6144})


def test_import_token_from_another_master():
    with pytest.raises(InvalidToken):
        open_import_token(OTHER_MASTER, issue_import_token(MASTER, CLAIMS))


def test_import_token_every_flipped_bit():
    token = issue_import_token(MASTER, CLAIMS)
    for bit in range(len(token) * 8):
        with pytest.raises(InvalidToken):
            open_import_token(MASTER, flip_bit(token, bit))


def test_import_token_truncated_or_extended():
    token = issue_import_token(MASTER, CLAIMS)
    for length in range(len(token)):
        with pytest.raises(InvalidToken):
            open_import_token(MASTER, token[:length])
    with pytest.raises(InvalidToken):
        open_import_token(MASTER, token + b"\x00")


def test_import_token_forged():
    payload = json.dumps(CLAIMS).encode()
    token = issue_import_token(MASTER, CLAIMS)
    forgeries = [
        b"",
        b"\x00" * 100,
        token[:17] + payload + bytes(16),  # right prefix and nonce, plaintext claims, zero tag
        base64.b64encode(token),  # still base64-encoded
        token[:17] + issue_import_token(MASTER, {"other": 1})[17:],  # spliced from another token
        issue_import_token(OTHER_MASTER, CLAIMS),
    ]
    for forged in forgeries:
        with pytest.raises(InvalidToken):
            open_import_token(MASTER, forged)


def test_import_token_authentic_but_not_a_claims_object():
    # Made with the real token key, so only the payload checks can refuse them.
    cipher = AESGCM(MASTER.derive("import-token"))
    for payload in [b"not json", b"[1, 2]", b"\xff\xfe", b'"claims"']:
        nonce = bytes(12)
        token = b"CCIT\x01" + nonce + cipher.encrypt(nonce, payload, b"CCIT\x01")
        with pytest.raises(InvalidToken):
            open_import_token(MASTER, token)


def test_import_token_needs_a_dict():
    with pytest.raises(TypeError):
        issue_import_token(MASTER, [1, 2])  # type: ignore[arg-type]


# --- fingerprint and randomness --------------------------------------------------------------


def test_fingerprint():
    fp = fingerprint(MASTER, MATERIAL_A)
    assert fp == fingerprint(MASTER, bytes(MATERIAL_A))
    assert len(fp) == 64
    int(fp, 16)
    assert fp != fingerprint(MASTER, MATERIAL_B)
    assert fp != fingerprint(OTHER_MASTER, MATERIAL_A)
    assert fp != hashlib.sha256(MATERIAL_A).hexdigest()  # keyed, not a plain hash
    assert MATERIAL_A.hex() not in fp


def test_generate_key_material():
    a, b = generate_key_material(), generate_key_material()
    assert len(a) == len(b) == 32
    assert a != b


@pytest.mark.parametrize("n", [0, 1, 32, 1024])
def test_generate_random_length(n):
    assert len(generate_random(n)) == n


def test_generate_random_is_random_and_checks_input():
    assert generate_random(32) != generate_random(32)
    with pytest.raises(ValueError):
        generate_random(-1)
    with pytest.raises(TypeError):
        generate_random(1.5)  # type: ignore[arg-type]


# --- ciphertext blobs ------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [b"", b"hello", bytes(4096)])
@pytest.mark.parametrize("context", [None, {}, {"purpose": "test"}, {"b": "2", "a": "ü", "": ""}])
def test_blob_round_trip(plaintext, context):
    blob = encrypt_with_material(MATERIAL_A, KEY_A, plaintext, context)
    assert decrypt_with_material(MATERIAL_A, blob, context) == plaintext
    assert ciphertext_key_id(blob) == KEY_A


def test_blob_format():
    blob = encrypt_with_material(MATERIAL_A, KEY_A, b"hello", None)
    assert KEY_A.encode("ascii") in blob[:64]
    assert len(blob) == 5 + 1 + len(KEY_A) + 12 + 5 + 16
    assert blob != encrypt_with_material(MATERIAL_A, KEY_A, b"hello", None)
    assert b"hello" not in blob


def test_no_context_equals_empty_context():
    blob = encrypt_with_material(MATERIAL_A, KEY_A, b"x", None)
    assert decrypt_with_material(MATERIAL_A, blob, {}) == b"x"


def test_context_is_required_and_exact():
    ctx = {"department": "finance", "project": "alpha"}
    blob = encrypt_with_material(MATERIAL_A, KEY_A, b"secret", ctx)
    assert decrypt_with_material(MATERIAL_A, blob, dict(reversed(ctx.items()))) == b"secret"
    wrong = [
        None,
        {},
        {"department": "finance"},
        {**ctx, "extra": ""},
        {"department": "Finance", "project": "alpha"},
        {"department": "finance", "Project": "alpha"},
        {"departmentfinance": "", "project": "alpha"},
    ]
    for other in wrong:
        with pytest.raises(InvalidCiphertext):
            decrypt_with_material(MATERIAL_A, blob, other)


def test_context_given_at_decrypt_only_fails():
    blob = encrypt_with_material(MATERIAL_A, KEY_A, b"secret", None)
    with pytest.raises(InvalidCiphertext):
        decrypt_with_material(MATERIAL_A, blob, {"a": "b"})


def test_blob_of_one_key_does_not_decrypt_under_another_material():
    blob = encrypt_with_material(MATERIAL_A, KEY_A, b"secret", None)
    with pytest.raises(InvalidCiphertext):
        decrypt_with_material(MATERIAL_B, blob, None)


def test_key_id_in_header_is_authenticated():
    blob = encrypt_with_material(MATERIAL_A, KEY_A, b"secret", None)
    assert len(KEY_A) == len(KEY_B)
    relabelled = blob.replace(KEY_A.encode(), KEY_B.encode())
    assert ciphertext_key_id(relabelled) == KEY_B
    with pytest.raises(InvalidCiphertext):
        decrypt_with_material(MATERIAL_A, relabelled, None)


def test_blob_every_flipped_bit():
    blob = encrypt_with_material(MATERIAL_A, KEY_A, b"secret", {"k": "v"})
    for bit in range(len(blob) * 8):
        with pytest.raises(InvalidCiphertext):
            decrypt_with_material(MATERIAL_A, flip_bit(blob, bit), {"k": "v"})


def test_blob_truncated():
    blob = encrypt_with_material(MATERIAL_A, KEY_A, b"secret", None)
    for length in range(len(blob)):
        with pytest.raises(InvalidCiphertext):
            decrypt_with_material(MATERIAL_A, blob[:length], None)


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"x",
        b"\x00" * 64,
        b"CCKB\x01",
        b"CCKB\x01\x00" + bytes(40),
        b"CCKB\x01\xff" + bytes(40),
        b"CCKB\x01\x01\xff" + bytes(28),
    ],
)
def test_garbage_blobs(garbage):
    with pytest.raises(InvalidCiphertext):
        ciphertext_key_id(garbage)
    with pytest.raises(InvalidCiphertext):
        decrypt_with_material(MATERIAL_A, garbage, None)


def test_canonical_encryption_context():
    assert canonical_encryption_context(None) == b"{}"
    assert canonical_encryption_context({}) == b"{}"
    assert canonical_encryption_context({"b": "2", "a": 'ü "x"'}) == '{"a":"ü \\"x\\"","b":"2"}'.encode()
    with pytest.raises(TypeError):
        canonical_encryption_context({"a": 1})  # type: ignore[dict-item]


@pytest.mark.parametrize("key_id", ["", "clé", "k" * 256])
def test_encrypt_rejects_bad_key_ids(key_id):
    with pytest.raises(ValueError):
        encrypt_with_material(MATERIAL_A, key_id, b"x", None)


def test_long_ascii_key_id_round_trips():
    arn = "arn:aws:kms:us-east-1:111122223333:key/" + KEY_A
    blob = encrypt_with_material(MATERIAL_A, arn, b"x", None)
    assert ciphertext_key_id(blob) == arn
    assert decrypt_with_material(MATERIAL_A, blob, None) == b"x"


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_material_must_be_32_bytes(size):
    with pytest.raises(ValueError):
        encrypt_with_material(b"m" * size, KEY_A, b"x", None)
    with pytest.raises(ValueError):
        decrypt_with_material(b"m" * size, encrypt_with_material(MATERIAL_A, KEY_A, b"x", None), None)


# --- fuzzing: only the documented errors ever escape ------------------------------------------

blob_like = st.one_of(
    st.binary(max_size=400),
    st.builds(lambda tail: b"CCKB\x01" + tail, st.binary(max_size=200)),
    st.builds(
        lambda n, tail: b"CCKB\x01" + bytes([n]) + tail,
        st.integers(0, 255),
        st.binary(max_size=300),
    ),
)
token_like = st.one_of(
    st.binary(max_size=7000),
    st.builds(lambda tail: b"CCIT\x01" + tail, st.binary(max_size=300)),
)


@given(token_like)
def test_fuzz_open_import_token(data):
    with pytest.raises(InvalidToken):
        open_import_token(MASTER, data)


@given(blob_like)
def test_fuzz_ciphertext_key_id(data):
    with contextlib.suppress(InvalidCiphertext):
        assert isinstance(ciphertext_key_id(data), str)


@given(
    blob_like,
    st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)),
)
def test_fuzz_decrypt_with_material(data, context):
    with pytest.raises(InvalidCiphertext):
        decrypt_with_material(MATERIAL_A, data, context)


@given(st.binary(max_size=200), st.text(max_size=20))
def test_fuzz_unseal(data, context):
    with pytest.raises(InvalidCiphertext):
        unseal(MASTER, data, context=context)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(WRAPPING_ALGORITHMS),
    st.one_of(st.binary(max_size=400), st.binary(min_size=256, max_size=256)),
)
def test_fuzz_unwrap_key_material(algorithm, data):
    private_der, _ = key_pair()
    with pytest.raises(InvalidCiphertext):
        unwrap_key_material(private_der, algorithm, data)


def test_module_is_pure():
    tree = ast.parse(Path(crypto.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {"." for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}
    top_level = {name.split(".")[0] for name in imported}
    assert top_level <= {
        "__future__",
        "base64",
        "dataclasses",
        "hashlib",
        "hmac",
        "json",
        "os",
        "secrets",
        "shlex",
        "struct",
        "cryptography",
    }
