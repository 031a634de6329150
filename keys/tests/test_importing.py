"""The import rules of keys.services.importing (spec 1.4, 4.4-4.8, 5), exercised through the services."""

from __future__ import annotations

import datetime as dt
import shlex
import subprocess

import pytest
import time_machine

from keys import crypto, states, vault
from keys.errors import KmsError
from keys.models import AuditEvent, ImportParameters, Key
from keys.services import cryptographic, importing
from keys.services import keys as key_service
from keys.tests.helpers import (
    ACCOUNT,
    OAEP_256,
    console_policy,
    fresh,
    import_material,
    import_wrapped,
    parameters,
    wrap,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(admin) -> Key:
    return key_service.create_key(admin, origin="EXTERNAL", policy_text=console_policy(), alias="alias/byok")


def new_key(actor) -> Key:
    return key_service.create_key(actor, origin="EXTERNAL", policy_text=console_policy())


def refused(code: str, call, *args, **kwargs) -> KmsError:
    with pytest.raises(KmsError) as info:
        call(*args, **kwargs)
    assert info.value.code == code, info.value.message
    return info.value


def material_of(key: Key) -> bytes:
    return vault.unseal(fresh(key).sealed_material, context=f"key-material:{key.key_id}")


def unchanged(key: Key) -> None:
    """Nothing was imported: still Pending Import, no material, no fingerprint."""
    key = fresh(key)
    assert key.state == states.PENDING_IMPORT
    assert key.sealed_material is None and key.material_fingerprint == ""


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("algorithm", crypto.WRAPPING_ALGORITHMS)
@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072"])
def test_round_trip_for_each_algorithm_and_spec(admin, key, algorithm, spec):
    params, token = parameters(admin, key, algorithm, spec)
    assert params.wrapping_key_spec == spec
    assert crypto._load_public(params.public_key_der).key_size == crypto.WRAPPING_KEY_SPECS[spec]
    material = crypto.generate_key_material()
    imported = import_wrapped(admin, key, token, wrap(params, material))
    assert imported.state == states.ENABLED
    assert material_of(key) == material
    blob = cryptographic.encrypt(admin, key_id=key.key_id, plaintext=b"hello")["CiphertextBlob"]
    assert crypto.decrypt_with_material(material, blob, None) == b"hello"
    assert cryptographic.decrypt(admin, ciphertext_blob=blob)["Plaintext"] == b"hello"


def test_round_trip_with_an_rsa_4096_wrapping_key(admin, key):
    params, token = parameters(admin, key, "RSA_AES_KEY_WRAP_SHA_256", "RSA_4096")
    assert crypto._load_public(params.public_key_der).key_size == 4096
    material = crypto.generate_key_material()
    import_wrapped(admin, key, token, wrap(params, material))
    assert material_of(key) == material


def run_openssl(tmp_path, algorithm: str, public_der: bytes, material: bytes) -> bytes:
    """Wrap with the real openssl binary, with the exact commands the console shows."""
    (tmp_path / "wrappingKey").write_bytes(public_der)
    (tmp_path / "PlaintextKeyMaterial.bin").write_bytes(material)
    for line in crypto.render_openssl_commands(
        algorithm, public_key="wrappingKey", plaintext="PlaintextKeyMaterial.bin", output="EncryptedKeyMaterial.bin"
    ):
        subprocess.run(["sh", "-c", line], cwd=tmp_path, check=True, capture_output=True, timeout=30)
    return (tmp_path / "EncryptedKeyMaterial.bin").read_bytes()


@pytest.mark.parametrize("algorithm", crypto.WRAPPING_ALGORITHMS)
def test_openssl_wrapped_material_imports(admin, key, tmp_path, algorithm):
    params, token = parameters(admin, key, algorithm)
    material = crypto.generate_key_material()
    wrapped = run_openssl(tmp_path, algorithm, bytes(params.public_key_der), material)
    import_wrapped(admin, key, token, wrapped)
    assert material_of(key) == material
    assert not list(tmp_path.glob("AesKey*")), "the AES key file is removed"


def test_openssl_generate_command_makes_32_bytes(tmp_path):
    line = crypto.OPENSSL_GENERATE_MATERIAL.format(plaintext=shlex.quote("PlaintextKeyMaterial.bin"))
    subprocess.run(["sh", "-c", line], cwd=tmp_path, check=True, timeout=30)
    assert len((tmp_path / "PlaintextKeyMaterial.bin").read_bytes()) == 32


# ---------------------------------------------------------------- parameters


def test_parameters_expire_24_hours_after_download(admin, key):
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        params, _ = parameters(admin, key)
    assert params.created == now and params.valid_to == now + dt.timedelta(hours=24)


def test_parameters_private_key_is_sealed_not_stored(admin, key):
    params, _ = parameters(admin, key)
    private_der = vault.unseal(params.sealed_private_key, context=f"wrapping-key:{params.id}")
    assert private_der not in bytes(params.sealed_private_key)
    assert crypto._load_private(private_der).public_key().public_bytes(
        crypto.serialization.Encoding.DER, crypto.serialization.PublicFormat.SubjectPublicKeyInfo
    ) == bytes(params.public_key_der)


def test_pkcs1_v1_5_is_refused_with_the_reason(admin, key):
    error = refused(
        "ValidationException",
        importing.get_parameters_for_import,
        admin,
        key_id=key.key_id,
        wrapping_algorithm="RSAES_PKCS1_V1_5",
        wrapping_key_spec="RSA_2048",
    )
    assert "As of October 10, 2023, KMS does not support the RSAES_PKCS1_V1_5 wrapping algorithm" in error.message
    assert not ImportParameters.objects.exists()


@pytest.mark.parametrize(
    ("algorithm", "spec", "member"),
    [("RSA_OAEP", "RSA_2048", "wrappingAlgorithm"), (OAEP_256, "RSA_1024", "wrappingKeySpec")],
)
def test_unknown_algorithm_or_spec_is_a_validation_error(admin, key, algorithm, spec, member):
    error = refused(
        "ValidationException",
        importing.get_parameters_for_import,
        admin,
        key_id=key.key_id,
        wrapping_algorithm=algorithm,
        wrapping_key_spec=spec,
    )
    assert member in error.message


def test_each_download_is_a_new_pair(admin, key):
    first, first_token = parameters(admin, key)
    second, second_token = parameters(admin, key)
    assert first.id != second.id
    assert bytes(first.public_key_der) != bytes(second.public_key_der)
    assert first_token != second_token


def test_an_older_unexpired_pair_still_works_after_a_newer_download(admin, key):
    older, older_token = parameters(admin, key)
    parameters(admin, key)
    material = crypto.generate_key_material()
    import_wrapped(admin, key, older_token, wrap(older, material))
    assert fresh(key).state == states.ENABLED


def test_a_used_pair_cannot_be_used_again_but_another_unused_one_can(admin, key):
    first, first_token = parameters(admin, key)
    second, second_token = parameters(admin, key)
    material = crypto.generate_key_material()
    import_wrapped(admin, key, first_token, wrap(first, material))
    importing.delete_imported_key_material(admin, key_id=key.key_id)
    error = refused("InvalidImportTokenException", import_wrapped, admin, key, first_token, wrap(first, material))
    assert "already used" in error.message
    import_wrapped(admin, key, second_token, wrap(second, material))
    assert material_of(key) == material


# ---------------------------------------------------------------- tokens


def test_token_works_until_just_before_24_hours(admin, key):
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        params, token = parameters(admin, key)
    with time_machine.travel(start + dt.timedelta(hours=24) - dt.timedelta(seconds=1), tick=False):
        import_wrapped(admin, key, token, wrap(params, crypto.generate_key_material()))
    assert fresh(key).state == states.ENABLED


@pytest.mark.parametrize("after", [dt.timedelta(hours=24), dt.timedelta(hours=24, seconds=1), dt.timedelta(days=3)])
def test_token_used_after_24_hours_is_expired(admin, key, after):
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        params, token = parameters(admin, key)
    with time_machine.travel(start + after, tick=False):
        error = refused(
            "ExpiredImportTokenException",
            import_wrapped,
            admin,
            key,
            token,
            wrap(params, crypto.generate_key_material()),
        )
    assert "The import token is expired" in error.message
    unchanged(key)


def test_token_expired_and_swept_is_still_reported_expired(admin, key):
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        params, token = parameters(admin, key)
        wrapped = wrap(params, crypto.generate_key_material())
    with time_machine.travel(start + dt.timedelta(days=2), tick=False):
        importing.sweep()
        assert not ImportParameters.objects.filter(id=params.id).exists()
        refused("ExpiredImportTokenException", import_wrapped, admin, key, token, wrapped)
    unchanged(key)


def test_token_of_another_key_is_invalid(admin, key):
    other = new_key(admin)
    params, token = parameters(admin, other)
    error = refused(
        "InvalidImportTokenException", import_wrapped, admin, key, token, wrap(params, crypto.generate_key_material())
    )
    assert "associated with a different KMS key" in error.message
    unchanged(key)
    unchanged(other)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda t: t[:-1] + bytes([t[-1] ^ 0x01]), id="last-byte-flipped"),
        pytest.param(lambda t: t[:20] + bytes([t[20] ^ 0x80]) + t[21:], id="payload-byte-flipped"),
        pytest.param(lambda t: t[: len(t) // 2], id="truncated"),
        pytest.param(lambda t: t[:-1], id="one-byte-short"),
        pytest.param(lambda t: t + b"\0", id="one-byte-long"),
        pytest.param(lambda t: b"\0" * len(t), id="zeros"),
        pytest.param(lambda t: crypto.issue_import_token(crypto.MasterKey.generate(), {"p": "x"}), id="other-master"),
    ],
)
def test_forged_or_truncated_token_is_invalid(admin, key, forge):
    params, token = parameters(admin, key)
    refused(
        "InvalidImportTokenException",
        import_wrapped,
        admin,
        key,
        forge(token),
        wrap(params, crypto.generate_key_material()),
    )
    unchanged(key)
    assert ImportParameters.objects.filter(id=params.id).exists()


def test_a_token_minted_with_the_right_claims_but_a_foreign_master_key_is_invalid(admin, key):
    params, _ = parameters(admin, key)
    claims = {"p": params.id, "k": key.arn, "a": OAEP_256, "v": params.valid_to.timestamp()}
    forged = crypto.issue_import_token(crypto.MasterKey.generate(), claims)
    refused(
        "InvalidImportTokenException", import_wrapped, admin, key, forged, wrap(params, crypto.generate_key_material())
    )


# ---------------------------------------------------------------- wrapped material


@pytest.mark.parametrize(
    ("downloaded", "used"),
    [
        (OAEP_256, "RSAES_OAEP_SHA_1"),
        ("RSAES_OAEP_SHA_1", OAEP_256),
        (OAEP_256, "RSA_AES_KEY_WRAP_SHA_256"),
        ("RSA_AES_KEY_WRAP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1"),
        ("RSA_AES_KEY_WRAP_SHA_1", "RSAES_OAEP_SHA_1"),
    ],
)
def test_material_wrapped_with_another_algorithm_is_invalid_ciphertext(admin, key, downloaded, used):
    params, token = parameters(admin, key, downloaded)
    error = refused(
        "InvalidCiphertextException",
        import_wrapped,
        admin,
        key,
        token,
        wrap(params, crypto.generate_key_material(), used),
    )
    assert "could not decrypt the encrypted (wrapped) key material" in error.message
    unchanged(key)


def test_material_wrapped_with_another_wrapping_key_is_invalid_ciphertext(admin, key):
    params, token = parameters(admin, key)
    other, _ = parameters(admin, key)
    refused(
        "InvalidCiphertextException", import_wrapped, admin, key, token, wrap(other, crypto.generate_key_material())
    )
    unchanged(key)


@pytest.mark.parametrize("algorithm", crypto.WRAPPING_ALGORITHMS)
def test_truncated_or_damaged_wrapped_material_is_invalid_ciphertext(admin, key, algorithm):
    params, token = parameters(admin, key, algorithm)
    wrapped = wrap(params, crypto.generate_key_material())
    for damaged in (wrapped[:-8], wrapped[:-1], wrapped[:-1] + bytes([wrapped[-1] ^ 1]), b"\x01" * len(wrapped)):
        refused("InvalidCiphertextException", import_wrapped, admin, key, token, damaged)
    unchanged(key)


@pytest.mark.parametrize("size", [1, 16, 31, 33, 64])
@pytest.mark.parametrize("algorithm", [OAEP_256, "RSA_AES_KEY_WRAP_SHA_1"])
def test_material_not_32_bytes_is_incorrect_key_material(admin, key, size, algorithm):
    params, token = parameters(admin, key, algorithm)
    error = refused(
        "IncorrectKeyMaterialException", import_wrapped, admin, key, token, wrap(params, crypto.generate_random(size))
    )
    assert "256-bit (32-byte)" in error.message
    unchanged(key)
    assert ImportParameters.objects.filter(id=params.id).exists(), "a refused import leaves the pair usable"


@pytest.mark.parametrize("size", [0, 6145])
def test_blob_sizes_outside_1_to_6144_bytes_are_validation_errors(admin, key, size):
    params, token = parameters(admin, key)
    for arguments in (
        {"import_token": b"\0" * size, "encrypted_key_material": wrap(params, b"k" * 32)},
        {"import_token": token, "encrypted_key_material": b"\0" * size},
    ):
        error = refused(
            "ValidationException",
            importing.import_key_material,
            admin,
            key_id=key.key_id,
            expiration_model=importing.DOES_NOT_EXPIRE,
            **arguments,
        )
        assert "between 1 and 6144 bytes" in error.message
    unchanged(key)


# ---------------------------------------------------------------- reimport


def test_reimport_of_different_material_is_incorrect_key_material(admin, key):
    import_material(admin, key, b"A" * 32)
    importing.delete_imported_key_material(admin, key_id=key.key_id)
    error = refused("IncorrectKeyMaterialException", import_material, admin, key, b"B" * 32)
    assert "not the same key material that was previously imported" in error.message
    assert fresh(key).state == states.PENDING_IMPORT and fresh(key).sealed_material is None


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"])
def test_reimport_of_the_same_material_with_a_new_token_works(admin, key, algorithm):
    material = crypto.generate_key_material()
    import_material(admin, key, material)
    fingerprint = fresh(key).material_fingerprint
    importing.delete_imported_key_material(admin, key_id=key.key_id)
    valid_to = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    import_material(admin, key, material, algorithm, expiration_model=importing.EXPIRES, valid_to=valid_to)
    key = fresh(key)
    assert key.state == states.ENABLED and key.material_fingerprint == fingerprint
    assert key.expiration_model == importing.EXPIRES and key.valid_to == valid_to, "reimport may change expiry"
    assert material_of(key) == material


def test_import_over_existing_material_is_refused_until_deleted(admin, key):
    material = crypto.generate_key_material()
    import_material(admin, key, material)
    error = refused("KMSInvalidStateException", import_material, admin, key, material)
    assert error.message == f"{key.arn} is not pending import."


def test_ciphertext_from_before_deletion_decrypts_after_reimport(admin, key):
    material = crypto.generate_key_material()
    import_material(admin, key, material)
    blob = cryptographic.encrypt(admin, key_id=key.key_id, plaintext=b"secret", encryption_context={"purpose": "test"})[
        "CiphertextBlob"
    ]
    importing.delete_imported_key_material(admin, key_id=key.key_id)
    refused("KMSInvalidStateException", cryptographic.decrypt, admin, ciphertext_blob=blob,
            encryption_context={"purpose": "test"})  # fmt: skip
    import_material(admin, key, material, "RSA_AES_KEY_WRAP_SHA_1")
    result = cryptographic.decrypt(admin, ciphertext_blob=blob, encryption_context={"purpose": "test"})
    assert result["Plaintext"] == b"secret" and result["KeyId"] == key.arn


# ---------------------------------------------------------------- ValidTo and ExpirationModel


def valid_to_refusal(admin, key, **expiry) -> str:
    params, token = parameters(admin, key)
    error = refused(
        "ValidationException",
        importing.import_key_material,
        admin,
        key_id=key.key_id,
        import_token=token,
        encrypted_key_material=wrap(params, crypto.generate_key_material()),
        **expiry,
    )
    unchanged(key)
    return error.message


def test_valid_to_in_the_past_or_now_is_refused(admin, key):
    now = dt.datetime.now(dt.UTC)
    with time_machine.travel(now, tick=False):
        for when in (now - dt.timedelta(seconds=1), now):
            message = valid_to_refusal(admin, key, expiration_model=importing.EXPIRES, valid_to=when)
            assert message == "ValidTo must be a future date and time."


def test_valid_to_over_365_days_is_refused_and_365_days_is_accepted(admin, key):
    now = dt.datetime.now(dt.UTC)
    with time_machine.travel(now, tick=False):
        message = valid_to_refusal(
            admin, key, expiration_model=importing.EXPIRES, valid_to=now + dt.timedelta(days=365, seconds=1)
        )
        assert message == "ValidTo must be at most 365 days from the request date."
        imported = import_material(
            admin, key, expiration_model=importing.EXPIRES, valid_to=now + dt.timedelta(days=365)
        )
    assert imported.valid_to == now + dt.timedelta(days=365)


def test_expiring_material_needs_valid_to_and_it_is_the_default_model(admin, key):
    assert "ValidTo is required" in valid_to_refusal(admin, key, expiration_model=importing.EXPIRES)
    assert "ValidTo is required" in valid_to_refusal(admin, key)


def test_never_expiring_material_must_omit_valid_to(admin, key):
    message = valid_to_refusal(
        admin,
        key,
        expiration_model=importing.DOES_NOT_EXPIRE,
        valid_to=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
    )
    assert "ValidTo must be omitted" in message


def test_unknown_expiration_model_is_refused(admin, key):
    assert "expirationModel" in valid_to_refusal(admin, key, expiration_model="SOMETIMES")


def test_default_model_with_valid_to_expires(admin, key):
    valid_to = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    params, token = parameters(admin, key)
    imported = importing.import_key_material(
        admin,
        key_id=key.key_id,
        import_token=token,
        encrypted_key_material=wrap(params, crypto.generate_key_material()),
        valid_to=valid_to,
    )
    assert imported.expiration_model == importing.EXPIRES
    meta = key_service.describe_key(admin, key_id=key.key_id)
    assert meta["ExpirationModel"] == importing.EXPIRES and meta["ValidTo"] == valid_to


# ---------------------------------------------------------------- the key-state table


def key_in_state(actor, state: str) -> Key:
    return key_with_spare_pair(actor, state)[0]


def key_with_spare_pair(actor, state: str) -> tuple[Key, ImportParameters, bytes]:
    """A key in `state`, with an unused, unexpired pair downloaded while it was still Pending Import."""
    key = new_key(actor)
    spare, spare_token = parameters(actor, key)
    if state in (states.ENABLED, states.DISABLED):
        import_material(actor, key)
    if state == states.DISABLED:
        key_service.disable_key(actor, key_id=key.key_id)
    if state == states.PENDING_DELETION:
        key_service.schedule_key_deletion(actor, key_id=key.key_id, pending_window_days=7)
    assert fresh(key).state == state
    return fresh(key), spare, spare_token


@pytest.mark.parametrize("state", states.ALL_STATES)
def test_import_key_material_needs_pending_import(admin, state):
    key, spare, token = key_with_spare_pair(admin, state)
    material = material_of(key) if key.sealed_material is not None else crypto.generate_key_material()
    call = {
        "key_id": key.key_id,
        "import_token": token,
        "encrypted_key_material": wrap(spare, material),
        "expiration_model": importing.DOES_NOT_EXPIRE,
    }
    refusal = states.refusal("ImportKeyMaterial", state=state, origin="EXTERNAL")
    if refusal is None:
        assert importing.import_key_material(admin, **call).state == states.ENABLED
        return
    error = refused(refusal.error, importing.import_key_material, admin, **call)
    assert error.message == refusal.message(key.arn)
    assert fresh(key).state == state
    assert ImportParameters.objects.filter(id=spare.id).exists()


@pytest.mark.parametrize("state", states.ALL_STATES)
def test_get_parameters_for_import_follows_the_key_state_table(admin, state):
    key = key_in_state(admin, state)
    refusal = states.refusal("GetParametersForImport", state=state, origin="EXTERNAL")
    if refusal is None:
        params, _ = parameters(admin, key)
        assert params.key_id == key.key_id
        return
    before = ImportParameters.objects.filter(key=key).count()
    error = refused(refusal.error, parameters, admin, key)
    assert error.message == refusal.message(key.arn)
    assert ImportParameters.objects.filter(key=key).count() == before


def test_import_with_a_valid_pair_in_pending_import_enables_the_key(admin, key):
    assert import_material(admin, key).state == states.ENABLED


def test_import_enables_a_key_that_was_disabled_before_its_material_was_deleted(admin):
    key = key_in_state(admin, states.DISABLED)
    material = material_of(key)
    importing.delete_imported_key_material(admin, key_id=key.key_id)
    assert fresh(key).state == states.PENDING_IMPORT
    assert import_material(admin, key, material).state == states.ENABLED


@pytest.mark.parametrize(
    ("state", "after"),
    [
        (states.ENABLED, states.PENDING_IMPORT),
        (states.DISABLED, states.PENDING_IMPORT),
        (states.PENDING_IMPORT, states.PENDING_IMPORT),
        (states.PENDING_DELETION, states.PENDING_DELETION),
    ],
)
def test_delete_imported_key_material_in_every_state(admin, state, after):
    key = key_in_state(admin, state)
    deleted = importing.delete_imported_key_material(admin, key_id=key.key_id)
    assert deleted.state == after and fresh(key).state == after
    assert fresh(key).sealed_material is None


def test_delete_imported_key_material_keeps_expiration_model_and_valid_to(admin, key):
    valid_to = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    import_material(admin, key, expiration_model=importing.EXPIRES, valid_to=valid_to)
    importing.delete_imported_key_material(admin, key_id=key.key_id)
    meta = key_service.describe_key(admin, key_id=key.key_id)
    assert meta["KeyState"] == "PendingImport" and meta["Enabled"] is False
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES" and meta["ValidTo"] == valid_to
    refused("KMSInvalidStateException", cryptographic.encrypt, admin, key_id=key.key_id, plaintext=b"x")


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, k: importing.get_parameters_for_import(
            a, key_id=k, wrapping_algorithm=OAEP_256, wrapping_key_spec="RSA_2048"
        ),
        lambda a, k: importing.import_key_material(
            a, key_id=k, import_token=b"t", encrypted_key_material=b"m", expiration_model=importing.DOES_NOT_EXPIRE
        ),
        lambda a, k: importing.delete_imported_key_material(a, key_id=k),
    ],
    ids=["GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial"],
)
def test_import_operations_on_an_aws_kms_key_are_unsupported(admin, operation):
    own = key_service.create_key(admin)
    error = refused("UnsupportedOperationException", operation, admin, own.key_id)
    assert error.message == f"{own.arn} origin is AWS_KMS which is not valid for this operation."
    assert fresh(own).state == states.ENABLED and fresh(own).sealed_material is not None


def test_aliases_are_not_accepted_for_import_operations(admin, key):
    refused(
        "InvalidArnException",
        importing.get_parameters_for_import,
        admin,
        key_id="alias/byok",
        wrapping_algorithm=OAEP_256,
        wrapping_key_spec="RSA_2048",
    )


def test_the_state_is_checked_before_the_token(admin):
    key = key_in_state(admin, states.ENABLED)
    refused(
        "KMSInvalidStateException",
        importing.import_key_material,
        admin,
        key_id=key.key_id,
        import_token=b"garbage",
        encrypted_key_material=b"garbage",
    )


# ---------------------------------------------------------------- expiry of material


def test_material_past_valid_to_makes_the_key_pending_import_at_once(admin, key):
    start = dt.datetime.now(dt.UTC)
    valid_to = start + dt.timedelta(days=2)
    with time_machine.travel(start, tick=False):
        import_material(admin, key, expiration_model=importing.EXPIRES, valid_to=valid_to)
    with time_machine.travel(valid_to - dt.timedelta(seconds=1), tick=False):
        assert key_service.describe_key(admin, key_id=key.key_id)["KeyState"] == "Enabled"
    with time_machine.travel(valid_to, tick=False):
        meta = key_service.describe_key(admin, key_id=key.key_id)
        assert meta["KeyState"] == "PendingImport" and meta["Enabled"] is False
        assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES" and meta["ValidTo"] == valid_to
        refused("KMSInvalidStateException", cryptographic.encrypt, admin, key_id=key.key_id, plaintext=b"x")
    assert fresh(key).sealed_material is None
    event = AuditEvent.objects.get(event_name="DeleteExpiredKeyMaterial")
    assert event.event_type == "AwsServiceEvent" and event.key_id == key.key_id
    assert event.event_time == valid_to
    assert event.record["userIdentity"] == {"accountId": ACCOUNT, "invokedBy": "AWS Internal"}
    assert event.record["serviceEventDetails"] == {"keyId": key.key_id}


def test_any_use_after_valid_to_sees_the_expiry_first(admin, key):
    start = dt.datetime.now(dt.UTC)
    valid_to = start + dt.timedelta(hours=1)
    with time_machine.travel(start, tick=False):
        import_material(admin, key, expiration_model=importing.EXPIRES, valid_to=valid_to)
        blob = cryptographic.encrypt(admin, key_id=key.key_id, plaintext=b"x")["CiphertextBlob"]
    with time_machine.travel(valid_to + dt.timedelta(minutes=1), tick=False):
        error = refused("KMSInvalidStateException", cryptographic.decrypt, admin, ciphertext_blob=blob)
    assert error.message == f"{key.arn} is pending import."
    assert AuditEvent.objects.filter(event_name="DeleteExpiredKeyMaterial").count() == 1


def test_expired_material_can_be_reimported_and_decrypts_old_ciphertext(admin, key):
    start = dt.datetime.now(dt.UTC)
    material = crypto.generate_key_material()
    with time_machine.travel(start, tick=False):
        import_material(
            admin, key, material, expiration_model=importing.EXPIRES, valid_to=start + dt.timedelta(hours=1)
        )
        blob = cryptographic.encrypt(admin, key_id=key.key_id, plaintext=b"kept")["CiphertextBlob"]
    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        import_material(admin, key, material)
        assert cryptographic.decrypt(admin, ciphertext_blob=blob)["Plaintext"] == b"kept"


def test_material_that_never_expires_survives_time(admin, key):
    import_material(admin, key)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=3650), tick=False):
        assert key_service.describe_key(admin, key_id=key.key_id)["KeyState"] == "Enabled"
    assert not AuditEvent.objects.filter(event_name="DeleteExpiredKeyMaterial").exists()


def test_disabled_key_whose_material_expires_becomes_pending_import(admin):
    key = new_key(admin)
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        import_material(admin, key, expiration_model=importing.EXPIRES, valid_to=start + dt.timedelta(hours=1))
        key_service.disable_key(admin, key_id=key.key_id)
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        assert key_service.describe_key(admin, key_id=key.key_id)["KeyState"] == "PendingImport"


def test_key_pending_deletion_whose_material_expires_stays_pending_deletion(admin):
    key = new_key(admin)
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        import_material(admin, key, expiration_model=importing.EXPIRES, valid_to=start + dt.timedelta(hours=1))
        key_service.schedule_key_deletion(admin, key_id=key.key_id, pending_window_days=7)
    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        assert key_service.describe_key(admin, key_id=key.key_id)["KeyState"] == "PendingDeletion"
        assert fresh(key).sealed_material is None
        key_service.cancel_key_deletion(admin, key_id=key.key_id)
    assert fresh(key).state == states.PENDING_IMPORT, "cancelled deletion of a key without material"


# ---------------------------------------------------------------- the gate


def test_kms_user_is_denied_each_import_operation_and_each_denial_is_audited(admin, kms_user, key):
    params, token = parameters(admin, key)
    refused("AccessDeniedException", parameters, kms_user, key)
    refused("AccessDeniedException", import_wrapped, kms_user, key, token, wrap(params, crypto.generate_key_material()))
    refused("AccessDeniedException", importing.delete_imported_key_material, kms_user, key_id=key.key_id)
    denied = AuditEvent.objects.filter(
        error_code="AccessDeniedException", principal_arn=f"arn:aws:iam::{ACCOUNT}:user/KMSUser"
    )
    assert set(denied.values_list("event_name", flat=True)) == {
        "GetParametersForImport",
        "ImportKeyMaterial",
        "DeleteImportedKeyMaterial",
    }
    unchanged(key)


def test_kms_admin_named_in_the_key_policy_may_import_and_delete(kms_admin, key):
    import_material(kms_admin, key)
    importing.delete_imported_key_material(kms_admin, key_id=key.key_id)
    assert fresh(key).state == states.PENDING_IMPORT


def test_another_account_cannot_reach_the_key(external_user, key):
    refused("NotFoundException", parameters, external_user, key)


def test_audit_records_the_import_without_the_blobs(admin, key):
    valid_to = dt.datetime.now(dt.UTC) + dt.timedelta(days=5)
    params, token = parameters(admin, key)
    wrapped = wrap(params, crypto.generate_key_material())
    importing.import_key_material(
        admin,
        key_id=key.key_id,
        import_token=token,
        encrypted_key_material=wrapped,
        expiration_model=importing.EXPIRES,
        valid_to=valid_to,
    )
    event = AuditEvent.objects.get(event_name="ImportKeyMaterial")
    assert event.error_code == "" and event.key_id == key.key_id
    assert event.record["requestParameters"] == {
        "keyId": key.key_id,
        "expirationModel": "KEY_MATERIAL_EXPIRES",
        "validTo": valid_to.isoformat(),
    }
    get = AuditEvent.objects.get(event_name="GetParametersForImport")
    assert get.record["requestParameters"]["wrappingAlgorithm"] == OAEP_256
    assert get.record["responseElements"]["parametersValidTo"] == params.valid_to.isoformat()
