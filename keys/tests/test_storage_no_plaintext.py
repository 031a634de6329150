"""After imports, nothing stored holds plaintext key material or a wrapping private key, in any encoding."""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models
from django.urls import reverse

from keys import crypto, vault
from keys.models import ImportParameters, Key, WrappingKeyPair
from keys.services import cryptographic, importing
from keys.services import keys as key_service
from keys.tests.helpers import console_policy, import_wrapped, parameters, signed_in, wrap

pytestmark = pytest.mark.django_db(transaction=True)

REGION = "us-west-2"
POLICY = console_policy(admins=("Admin",), users=())


def encodings(secret: bytes, *, prefix: bool = True) -> dict[str, bytes]:
    """The forms in which a secret could leak into text or bytes."""
    forms = {
        "raw": secret,
        "hex": secret.hex().encode(),
        "HEX": secret.hex().upper().encode(),
        "base64": base64.b64encode(secret),
        "base64url": base64.urlsafe_b64encode(secret),
        "base64-unpadded": base64.b64encode(secret).rstrip(b"="),
    }
    if prefix:
        # Random material cut short still leaks (DER keys start with the same header: no prefix for them).
        forms["base64-prefix"] = base64.b64encode(secret[:24])
    return forms


def private_key_encodings(private_der: bytes) -> dict[str, bytes]:
    key = serialization.load_der_private_key(private_der, password=None)
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pkcs1 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    forms = {f"pkcs8-{k}": v for k, v in encodings(private_der, prefix=False).items()}
    forms.update({f"pkcs1-{k}": v for k, v in encodings(pkcs1, prefix=False).items()})
    for fmt, name in (
        (serialization.PrivateFormat.PKCS8, "pem8"),
        (serialization.PrivateFormat.TraditionalOpenSSL, "pem1"),
    ):
        pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        body = [line for line in pem.splitlines() if line and not line.startswith(b"-----")]
        # Lines that hold only the public modulus and exponent also appear in the public key: skip those.
        private_lines = [line for line in body[:-1] if base64.b64decode(line) not in public_der]
        assert len(private_lines) > len(body) // 2
        for n, line in enumerate(private_lines):
            forms[f"{name}-line-{n}"] = line
    numbers = key.private_numbers()
    for part in ("p", "q", "d"):
        value = getattr(numbers, part)
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        forms[f"{part}-raw"] = raw
        forms[f"{part}-hex"] = raw.hex().encode()
        forms[f"{part}-decimal"] = str(value).encode()
    return forms


def stored_values() -> list[tuple[str, bytes]]:
    """Every text, binary and JSON value of every row of every model, as bytes."""
    found: list[tuple[str, bytes]] = []
    for model in apps.get_models():
        fields = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, (models.BinaryField, models.TextField, models.CharField, models.JSONField))
        ]
        for row in model._base_manager.values_list(*(f.attname for f in fields)):
            for field, value in zip(fields, row, strict=True):
                if value is None:
                    continue
                data = bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()
                found.append((f"{model.__name__}.{field.name}", data))
    return found


def raw_database_bytes() -> bytes:
    """The SQLite database image (the file and its WAL, or the in-memory database serialized)."""
    if connection.vendor != "sqlite":
        return b""
    name = str(connection.settings_dict["NAME"])
    if name and not connection.is_in_memory_db():
        path = Path(name)
        return b"".join(p.read_bytes() for p in (path, Path(f"{name}-wal")) if p.exists())
    connection.ensure_connection()
    return connection.connection.serialize()


@pytest.fixture
def secrets_after_imports(demo, admin, settings, caplog):
    """Import material into several keys (services and console), keeping every secret for the search."""
    caplog.set_level(logging.DEBUG)
    settings.KMS_WRAPPING_KEY_POOL = {"RSA_2048": 2}
    importing.fill_wrapping_key_pool()
    secrets: dict[str, bytes] = {}

    def remember_private(params: ImportParameters, label: str) -> None:
        private_der = vault.unseal(params.sealed_private_key, context=f"wrapping-key:{params.id}")
        for form, value in private_key_encodings(private_der).items():
            secrets[f"{label} private key {form}"] = value

    def download(key: Key, algorithm: str, label: str) -> ImportParameters:
        params, _ = parameters(admin, key, algorithm)
        remember_private(params, label)
        return params

    def upload(key: Key, params: ImportParameters, material: bytes) -> None:
        import_wrapped(admin, key, importing.import_token(params), wrap(params, material))

    for i, algorithm in enumerate(crypto.WRAPPING_ALGORITHMS):
        key = key_service.create_key(admin, origin="EXTERNAL", policy_text=POLICY, alias=f"alias/k{i}")
        material = crypto.generate_key_material()
        for form, value in encodings(material).items():
            secrets[f"{algorithm} material {form}"] = value
        first = download(key, algorithm, f"{algorithm} first")
        second = download(key, algorithm, f"{algorithm} second")
        upload(key, first, material)
        cryptographic.encrypt(admin, key_id=key.key_id, plaintext=b"data")
        importing.delete_imported_key_material(admin, key_id=key.key_id)
        upload(key, second, material)

    # One import through the console, so the session and request handling are in the dump too.
    key = key_service.create_key(admin, origin="EXTERNAL", policy_text=POLICY, alias="alias/console")
    client = signed_in(demo["Admin"])
    kwargs = {"region": REGION, "key_id": key.key_id}
    client.post(
        reverse("console:download-import-parameters", kwargs=kwargs),
        {"wrapping_algorithm": "RSA_AES_KEY_WRAP_SHA_256", "wrapping_key_spec": "RSA_2048"},
    )
    params = ImportParameters.objects.get(key=key)
    remember_private(params, "console")
    material = crypto.generate_key_material()
    for form, value in encodings(material).items():
        secrets[f"console material {form}"] = value
    wrapped = io.BytesIO(crypto.wrap_key_material(bytes(params.public_key_der), "RSA_AES_KEY_WRAP_SHA_256", material))
    wrapped.name = "EncryptedKeyMaterial.bin"
    token = io.BytesIO(importing.import_token(params))
    token.name = "importToken"
    response = client.post(
        reverse("console:import-key-material-step", kwargs={**kwargs, "step": "upload"}),
        {"encrypted_key_material": wrapped, "import_token": token, "expiration": "never"},
    )
    assert response.status_code == 302

    # Unused pairs: two downloads for a key left Pending Import, and the pool's pre-generated ones.
    waiting = key_service.create_key(admin, origin="EXTERNAL", policy_text=POLICY)
    download(waiting, "RSAES_OAEP_SHA_1", "unused 1")
    download(waiting, "RSA_AES_KEY_WRAP_SHA_1", "unused 2")
    assert ImportParameters.objects.count() == 2
    importing.fill_wrapping_key_pool()
    assert WrappingKeyPair.objects.count() == 2
    for pair in WrappingKeyPair.objects.all():
        private_der = vault.unseal(pair.sealed_private_key, context=f"wrapping-key:{pair.id}")
        for form, value in private_key_encodings(private_der).items():
            secrets[f"pool {pair.id} private key {form}"] = value

    # The AWS managed and AWS_KMS keys' generated material must not be stored in the clear either.
    own = key_service.create_key(admin)
    for key in Key.objects.filter(origin="AWS_KMS"):
        material = vault.unseal(key.sealed_material, context=f"key-material:{key.key_id}")
        for form, value in encodings(material).items():
            secrets[f"{key.key_id} generated material {form}"] = value
    assert Key.objects.filter(sealed_material__isnull=False).count() >= 7
    assert own.sealed_material is not None
    return secrets, caplog


def leaks(secrets: dict[str, bytes], haystack: bytes) -> list[str]:
    return [name for name, value in secrets.items() if value in haystack]


def test_after_imports_nothing_stored_or_logged_holds_plaintext_material_or_a_private_key(secrets_after_imports):
    secrets, caplog = secrets_after_imports
    assert sum(name.endswith("private key pkcs8-raw") for name in secrets) == 13

    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    dump = out.getvalue().encode()
    assert b'"model": "keys.key"' in dump and b'"model": "sessions.session"' in dump
    assert leaks(secrets, dump) == [], "dumpdata"

    values = stored_values()
    names = {name for name, _ in values}
    assert {"Key.sealed_material", "ImportParameters.sealed_private_key", "WrappingKeyPair.sealed_private_key"} <= names
    assert [(name, secret) for name, data in values for secret in leaks(secrets, data)] == [], "stored values"

    if connection.vendor == "sqlite":
        image = raw_database_bytes()
        key_id = Key.objects.filter(origin="EXTERNAL").values_list("key_id", flat=True).first()
        assert key_id.encode() in image, "the image covers the committed rows"
        assert leaks(secrets, image) == [], "raw SQLite bytes"

    logged = "\n".join(record.getMessage() for record in caplog.records).encode()
    assert leaks(secrets, logged) == [], "log records"
