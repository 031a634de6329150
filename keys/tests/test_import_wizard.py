"""The console's Import key material wizard (spec 1.1.2 steps 2-4): pages, the zip, uploads and refusals."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from django.test import Client
from django.urls import reverse

from keys import crypto, states, vault
from keys.console import import_wizard
from keys.models import AuditEvent, ImportParameters, Key
from keys.services import importing
from keys.services import keys as key_service
from keys.tests.helpers import console_policy, fresh, signed_in

pytestmark = pytest.mark.django_db

REGION = "us-west-2"


@pytest.fixture
def key(admin) -> Key:
    return key_service.create_key(admin, origin="EXTERNAL", policy_text=console_policy(), alias="alias/training-import")


@pytest.fixture
def console(demo) -> Client:
    return signed_in(demo["Admin"])


def step_url(key: Key, step: str) -> str:
    return reverse("console:import-key-material-step", kwargs={"region": REGION, "key_id": key.key_id, "step": step})


def download_url(key: Key) -> str:
    return reverse("console:download-import-parameters", kwargs={"region": REGION, "key_id": key.key_id})


def download(client: Client, key: Key, algorithm: str = "RSAES_OAEP_SHA_256", spec: str = "RSA_2048"):
    return client.post(download_url(key), {"wrapping_algorithm": algorithm, "wrapping_key_spec": spec})


def unzip(response) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def parameters_files(client: Client, key: Key, algorithm: str = "RSAES_OAEP_SHA_256") -> tuple[bytes, bytes]:
    """Download the zip; return (wrapping key DER, import token)."""
    files = unzip(download(client, key, algorithm))
    public = next(v for k, v in files.items() if k.startswith("wrappingKey_"))
    token = next(v for k, v in files.items() if k.startswith("importToken_"))
    return public, token


def upload(client: Client, key: Key, *, material: bytes, token: bytes, **fields):
    data = {
        "encrypted_key_material": io.BytesIO(material),
        "import_token": io.BytesIO(token),
        "expiration": "never",
        **fields,
    }
    data["encrypted_key_material"].name = "EncryptedKeyMaterial.bin"
    data["import_token"].name = "importToken"
    return client.post(step_url(key, "upload"), data)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# ---------------------------------------------------------------- the wizard's pages


def test_entry_opens_the_download_step_and_accepts_step_links(console, key):
    base = reverse("console:import-key-material", kwargs={"region": REGION, "key_id": key.key_id})
    assert console.get(base).url == step_url(key, "download")
    assert console.get(base + "?step=upload").url == step_url(key, "upload")
    assert console.get(base + "?step=download").url == step_url(key, "download")
    assert console.get(base + "?step=nonsense").url == step_url(key, "download")


def test_wizard_requires_sign_in(key):
    response = Client().get(step_url(key, "download"))
    assert response.status_code == 302 and "/signin/" in response.url


def test_download_step_offers_the_algorithms_and_specs_with_the_defaults_selected(console, key):
    response = console.get(step_url(key, "download"))
    page = text(response)
    assert response.status_code == 200
    assert "Import key material" in page and "Download wrapping key and import token" in page
    assert "Select wrapping algorithm" in page and "Select wrapping key spec" in page
    for algorithm in crypto.WRAPPING_ALGORITHMS:
        assert f'value="{algorithm}"' in page
    for spec in ("RSA_2048", "RSA_3072", "RSA_4096"):
        assert f'value="{spec}"' in page
    assert re.search(r'value="RSAES_OAEP_SHA_256"[^>]*checked', page)
    assert re.search(r'value="RSA_2048"[^>]*checked', page)
    assert not re.search(r'value="RSAES_OAEP_SHA_1"[^>]*checked', page)
    assert 'value="RSAES_PKCS1_V1_5"' not in page
    assert "October 10, 2023" in page
    assert "I am ready to upload my exported key material" in page
    assert f'href="/iam/encryption-keys/?region={REGION}">Skip and do this later' in page
    assert f'formaction="{download_url(key)}"' in page


def test_every_step_shows_the_step_list_with_the_current_step(console, key):
    for step, title in [
        ("download", "Download wrapping key and import token"),
        ("encrypt", "Encrypt key material"),
        ("upload", "Upload key material"),
    ]:
        page = text(console.get(step_url(key, step)))
        assert f'aria-current="step">{title}<' in page
        assert "Step 2" in page and "Step 3" in page and "Step 4" in page
        others = {s for s in ("download", "encrypt", "upload") if s != step}
        for other in others:
            assert f'href="{step_url(key, other)}"' in page


def test_pages_have_no_inline_script_or_style(console, key):
    for step in ("download", "encrypt", "upload"):
        page = console.get(step_url(key, step)).content.decode()
        assert "<script>" not in page and " style=" not in page and " onclick=" not in page
        for tag in re.findall(r"<script[^>]*>", page):
            assert "src=" in tag


# ---------------------------------------------------------------- ImportParameters.zip


def test_time_stamp_is_the_utc_creation_time_as_mmddhhmmss():
    assert import_wizard.stamp(dt.datetime(2016, 8, 9, 9, 29, 9, 949000, tzinfo=dt.UTC)) == "0809092909"
    pacific = dt.timezone(dt.timedelta(hours=-8))
    assert import_wizard.stamp(dt.datetime(2016, 12, 31, 20, 0, 0, tzinfo=pacific)) == "0101040000"


def test_download_gives_import_parameters_zip_with_named_files(console, key):
    response = download(console, key, "RSAES_OAEP_SHA_1", "RSA_2048")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="ImportParameters.zip"'
    files = unzip(response)
    params = ImportParameters.objects.get(key=key)
    stamp = params.created.astimezone(dt.UTC).strftime("%m%d%H%M%S")
    assert set(files) == {
        f"wrappingKey_{key.key_id}_{stamp}",
        f"importToken_{key.key_id}_{stamp}",
        f"README_{key.key_id}_{stamp}.txt",
    }
    assert files[f"wrappingKey_{key.key_id}_{stamp}"] == bytes(params.public_key_der)
    public = serialization.load_der_public_key(files[f"wrappingKey_{key.key_id}_{stamp}"])
    assert public.key_size == 2048
    claims = crypto.open_import_token(vault.master_key(), files[f"importToken_{key.key_id}_{stamp}"])
    assert claims["p"] == params.id and claims["k"] == key.arn


def test_readme_names_key_algorithm_spec_exact_expiry_and_commands(console, key):
    now = dt.datetime.now(dt.UTC).replace(microsecond=250000)
    with time_machine.travel(now, tick=False):
        files = unzip(download(console, key, "RSA_AES_KEY_WRAP_SHA_256", "RSA_3072"))
    stamp = now.strftime("%m%d%H%M%S")
    readme = files[f"README_{key.key_id}_{stamp}.txt"].decode()
    params = ImportParameters.objects.get(key=key)
    assert params.valid_to == now + dt.timedelta(hours=24)
    assert key.arn in readme
    assert "Wrapping algorithm: RSA_AES_KEY_WRAP_SHA_256" in readme
    assert "Wrapping key spec: RSA_3072" in readme
    assert f"expire at (UTC): {(now + dt.timedelta(hours=24)).isoformat()}" in readme
    assert readme.count("+00:00") >= 2
    assert "openssl rand -out PlaintextKeyMaterial.bin 32" in readme
    assert f"-inkey wrappingKey_{key.key_id}_{stamp}" in readme
    assert "openssl enc -id-aes256-wrap-pad -iv A65959A6" in readme
    assert "rsa_oaep_md:sha256" in readme


@pytest.mark.parametrize("algorithm", crypto.WRAPPING_ALGORITHMS)
def test_readme_has_the_openssl_commands_of_its_algorithm(console, key, algorithm):
    files = unzip(download(console, key, algorithm))
    readme = next(v for k, v in files.items() if k.startswith("README_")).decode()
    wrapping = next(k for k in files if k.startswith("wrappingKey_"))
    for line in crypto.render_openssl_commands(
        algorithm, public_key=wrapping, plaintext="PlaintextKeyMaterial.bin", output="EncryptedKeyMaterial.bin"
    ):
        assert line in readme


def test_each_download_is_a_new_pair(console, key):
    first = parameters_files(console, key)
    second = parameters_files(console, key)
    assert first[0] != second[0] and first[1] != second[1]
    assert ImportParameters.objects.filter(key=key).count() == 2


def test_crafted_pkcs1_download_is_refused_with_the_reason(console, key):
    response = download(console, key, "RSAES_PKCS1_V1_5")
    page = text(response)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "ValidationException" in page
    assert "As of October 10, 2023, KMS does not support the RSAES_PKCS1_V1_5 wrapping algorithm" in page
    assert not ImportParameters.objects.filter(key=key).exists()
    assert AuditEvent.objects.filter(event_name="GetParametersForImport", error_code="ValidationException").exists()


def test_unknown_wrapping_key_spec_is_refused_by_the_service(console, key):
    response = download(console, key, spec="RSA_1024")
    assert response.status_code == 400
    assert "ValidationException" in text(response) and "wrappingKeySpec" in text(response)
    assert not ImportParameters.objects.filter(key=key).exists()


def test_download_is_post_only(console, key):
    assert console.get(download_url(key)).status_code == 405


def test_download_needs_a_csrf_token(demo, key):
    client = signed_in(demo["Admin"], Client(enforce_csrf_checks=True))
    response = client.post(
        download_url(key), {"wrapping_algorithm": "RSAES_OAEP_SHA_1", "wrapping_key_spec": "RSA_2048"}
    )
    assert response.status_code == 403
    assert not ImportParameters.objects.filter(key=key).exists()


def test_next_refuses_until_ready_is_ticked(console, key):
    response = console.post(
        step_url(key, "download"), {"wrapping_algorithm": "RSAES_OAEP_SHA_1", "wrapping_key_spec": "RSA_2048"}
    )
    assert response.status_code == 400
    assert "Select the check box for I am ready to upload my exported key material" in text(response)
    response = console.post(
        step_url(key, "download"),
        {"wrapping_algorithm": "RSAES_OAEP_SHA_1", "wrapping_key_spec": "RSA_2048", "ready": "on"},
    )
    assert response.status_code == 302 and response.url == step_url(key, "encrypt")


# ---------------------------------------------------------------- the encrypt step


@pytest.mark.parametrize("algorithm", crypto.WRAPPING_ALGORITHMS)
def test_encrypt_step_shows_the_commands_for_the_downloaded_algorithm_and_files(console, key, algorithm):
    download(console, key, algorithm)
    stamp = ImportParameters.objects.get(key=key).created.astimezone(dt.UTC).strftime("%m%d%H%M%S")
    console.post(
        step_url(key, "download"), {"wrapping_algorithm": algorithm, "wrapping_key_spec": "RSA_2048", "ready": "on"}
    )
    response = console.get(step_url(key, "encrypt"))
    page = response.content.decode()
    commands = [
        re.sub(r"</?span[^>]*>", "", command)
        for command in re.findall(r'<span class="import-wizard__command">(.*?)</span></span>', page)
    ]
    wrapping = f"wrappingKey_{key.key_id}_{stamp}"
    assert commands[0] == "openssl rand -out PlaintextKeyMaterial.bin 32"
    assert commands[1:] == [
        c.replace('"', "&quot;").replace("'", "&#x27;").replace(">", "&gt;")
        for c in crypto.render_openssl_commands(
            algorithm, public_key=wrapping, plaintext="PlaintextKeyMaterial.bin", output="EncryptedKeyMaterial.bin"
        )
    ]
    if algorithm.startswith("RSA_AES_KEY_WRAP"):
        assert "openssl enc -id-aes256-wrap-pad" in page
    assert f"importToken_{key.key_id}_{stamp}" in page
    assert re.search(rf'<option value="{algorithm}" selected>', page)


def test_encrypt_step_without_a_download_says_which_algorithm_it_assumes(console, key):
    page = text(console.get(step_url(key, "encrypt")))
    assert "No wrapping key was downloaded in this session" in page
    assert "MMDDhhmmss" in page
    assert "rsa_oaep_md:sha256" in page


def test_next_without_download_keeps_the_chosen_algorithm_for_the_commands(console, key):
    console.post(
        step_url(key, "download"),
        {"wrapping_algorithm": "RSA_AES_KEY_WRAP_SHA_1", "wrapping_key_spec": "RSA_2048", "ready": "on"},
    )
    page = text(console.get(step_url(key, "encrypt")))
    assert "id-aes256-wrap-pad" in page and "rsa_oaep_md:sha1" in page
    assert "No wrapping key was downloaded" not in page


def test_encrypt_step_carries_the_in_browser_helper_as_a_script_file(console, key):
    page = text(console.get(step_url(key, "encrypt")))
    assert re.search(r'<script src="/static/console/js/wrap_helper\.js" defer></script>', page)
    assert "Download EncryptedKeyMaterial.bin" in page and "Download PlaintextKeyMaterial.bin" in page
    assert "secure context" in page
    assert "Wrapping key file" in page


# ---------------------------------------------------------------- the upload step


def test_upload_step_has_the_file_inputs_and_expiration_options_in_utc(console, key):
    page = text(console.get(step_url(key, "upload")))
    assert "Specify key material details" in page
    assert 'type="file" name="encrypted_key_material"' in page and 'type="file" name="import_token"' in page
    assert "Choose an expiration option" in page
    assert "Key material never expires" in page and "Key material expires" in page
    assert 'type="date"' in page and 'type="time"' in page and "UTC" in page
    assert 'enctype="multipart/form-data"' in page
    assert ">Finish<" in page


def test_finish_imports_the_material_and_returns_to_the_list_enabled(console, key):
    public, token = parameters_files(console, key, "RSAES_OAEP_SHA_1")
    material = crypto.generate_key_material()
    response = upload(
        console, key, material=crypto.wrap_key_material(public, "RSAES_OAEP_SHA_1", material), token=token
    )
    assert response.status_code == 302 and response.url == f"/iam/encryption-keys/?region={REGION}"
    key = fresh(key)
    assert key.state == states.ENABLED
    assert key.expiration_model == importing.DOES_NOT_EXPIRE and key.valid_to is None
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Key material imported. training-import is now Enabled. The key material does not expire."]
    assert not ImportParameters.objects.filter(key=key).exists()


def test_finish_with_an_expiration_date_and_time_in_utc(console, key):
    public, token = parameters_files(console, key)
    material = crypto.generate_key_material()
    valid = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(second=0, microsecond=0)
    response = upload(
        console,
        key,
        material=crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", material),
        token=token,
        expiration="expires",
        expiration_date=valid.date().isoformat(),
        expiration_time=valid.strftime("%H:%M"),
    )
    assert response.status_code == 302
    key = fresh(key)
    assert key.state == states.ENABLED
    assert key.expiration_model == importing.EXPIRES and key.valid_to == valid


def failure(response) -> str:
    assert response.status_code == 400
    return text(response)


def test_wrong_wrapping_algorithm_shows_invalid_ciphertext_and_changes_nothing(console, key):
    public, token = parameters_files(console, key, "RSAES_OAEP_SHA_256")
    wrapped = crypto.wrap_key_material(public, "RSAES_OAEP_SHA_1", crypto.generate_key_material())
    page = failure(upload(console, key, material=wrapped, token=token))
    assert "InvalidCiphertextException" in page and "could not decrypt the encrypted (wrapped) key material" in page
    assert fresh(key).state == states.PENDING_IMPORT and fresh(key).sealed_material is None
    assert ImportParameters.objects.filter(key=key).count() == 1


def test_token_of_another_key_shows_invalid_import_token(console, admin, key):
    other = key_service.create_key(admin, origin="EXTERNAL", policy_text=console_policy())
    public, token = parameters_files(console, other)
    wrapped = crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", crypto.generate_key_material())
    page = failure(upload(console, key, material=wrapped, token=token))
    assert "InvalidImportTokenException" in page and "associated with a different KMS key" in page
    assert fresh(key).state == states.PENDING_IMPORT and fresh(other).state == states.PENDING_IMPORT


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_forged_or_truncated_token_shows_invalid_import_token(console, key, damage):
    public, token = parameters_files(console, key)
    forged = {
        "flip": token[:-1] + bytes([token[-1] ^ 1]),
        "truncate": token[: len(token) // 2],
        "garbage": b"not an import token",
    }[damage]
    wrapped = crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", crypto.generate_key_material())
    page = failure(upload(console, key, material=wrapped, token=forged))
    assert "InvalidImportTokenException" in page
    assert fresh(key).state == states.PENDING_IMPORT


def test_truncated_encrypted_key_material_shows_invalid_ciphertext(console, key):
    public, token = parameters_files(console, key)
    wrapped = crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", crypto.generate_key_material())
    page = failure(upload(console, key, material=wrapped[:100], token=token))
    assert "InvalidCiphertextException" in page


def test_expired_token_shows_expired_import_token(console, key):
    public, token = parameters_files(console, key)
    wrapped = crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", crypto.generate_key_material())
    later = ImportParameters.objects.get(key=key).valid_to + dt.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        page = failure(upload(console, key, material=wrapped, token=token))
    assert "ExpiredImportTokenException" in page and "The import token is expired" in page
    assert fresh(key).state == states.PENDING_IMPORT


@pytest.mark.parametrize("size", [31, 33])
def test_material_of_the_wrong_size_shows_incorrect_key_material(console, key, size):
    public, token = parameters_files(console, key)
    wrapped = crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", crypto.generate_random(size))
    page = failure(upload(console, key, material=wrapped, token=token))
    assert "IncorrectKeyMaterialException" in page and "256-bit (32-byte)" in page
    assert fresh(key).state == states.PENDING_IMPORT


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"expiration": "expires"}, "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES."),
        ({"expiration": "expires", "expiration_date": "2020-01-01"}, "ValidTo must be a future date and time."),
        (
            {"expiration": "expires", "expiration_date": "2099-01-01", "expiration_time": "12:00"},
            "ValidTo must be at most 365 days from the request date.",
        ),
    ],
)
def test_valid_to_rules_show_validation_exception(console, key, fields, message):
    public, token = parameters_files(console, key)
    wrapped = crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", crypto.generate_key_material())
    page = failure(upload(console, key, material=wrapped, token=token, **fields))
    assert "ValidationException" in page and message in page
    assert fresh(key).state == states.PENDING_IMPORT
    assert ImportParameters.objects.filter(key=key).count() == 1


def test_malformed_date_is_a_form_error(console, key):
    public, token = parameters_files(console, key)
    page = failure(upload(console, key, material=b"x", token=token, expiration="expires", expiration_date="31/12"))
    assert "Enter the date as YYYY-MM-DD." in page


def test_missing_files_are_named(console, key):
    page = failure(console.post(step_url(key, "upload"), {"expiration": "never"}))
    assert "Choose the file that contains your encrypted key material." in page
    assert "Choose the file that contains the import token that you downloaded." in page


def test_reimport_of_different_material_shows_incorrect_key_material(console, admin, key):
    public, token = parameters_files(console, key)
    upload(console, key, material=crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", b"A" * 32), token=token)
    importing.delete_imported_key_material(admin, key_id=key.key_id)
    public, token = parameters_files(console, key)
    page = failure(
        upload(console, key, material=crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", b"B" * 32), token=token)
    )
    assert "IncorrectKeyMaterialException" in page and "not the same key material" in page
    assert fresh(key).state == states.PENDING_IMPORT


# ---------------------------------------------------------------- size limits


def test_a_6144_byte_file_reaches_the_service(console, key):
    public, token = parameters_files(console, key)
    page = failure(upload(console, key, material=b"\0" * 6144, token=token))
    assert "InvalidCiphertextException" in page


def test_a_5_mb_file_is_refused_with_a_clear_message(console, key):
    public, token = parameters_files(console, key)
    response = upload(console, key, material=b"\0" * (5 * 1024 * 1024), token=token)
    page = failure(response)
    assert "Encrypted key material: the file is 5,242,880 bytes, larger than the 6,144-byte limit." in page
    assert fresh(key).state == states.PENDING_IMPORT
    assert not AuditEvent.objects.filter(event_name="ImportKeyMaterial").exists()


def test_a_5_mb_token_is_refused_too(console, key):
    page = failure(upload(console, key, material=b"x", token=b"\0" * (5 * 1024 * 1024)))
    assert "Import token: the file is 5,242,880 bytes" in page


def test_a_huge_form_field_gives_a_friendly_400_page(console, key):
    response = console.post(step_url(key, "upload"), {"expiration": "never", "padding": "x" * (2 * 1024 * 1024)})
    page = failure(response)
    assert "Request refused" in page and "Upload key material" in page
    assert "6,144 bytes" in page


def test_a_huge_body_for_an_unknown_region_is_404_not_500(console, key):
    response = console.post(
        f"/iam/encryption-keys/xx-nowhere-1/{key.key_id}/import/upload/", {"padding": "x" * (2 * 1024 * 1024)}
    )
    assert response.status_code == 404


def test_a_huge_body_on_the_download_gives_a_friendly_400_page(console, key):
    response = console.post(download_url(key), {"wrapping_algorithm": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 400 and "Request refused" in text(response)
    assert not ImportParameters.objects.filter(key=key).exists()


def test_an_empty_file_is_refused_by_the_service(console, key):
    public, token = parameters_files(console, key)
    page = failure(upload(console, key, material=b"", token=token))
    assert "ValidationException" in page and "encryptedKeyMaterial" in page


# ---------------------------------------------------------------- keys that cannot take material now


def test_an_enabled_key_says_why_instead_of_showing_the_form(console, key):
    public, token = parameters_files(console, key)
    upload(console, key, material=crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", b"k" * 32), token=token)
    for step in ("download", "encrypt", "upload"):
        page = text(console.get(step_url(key, step)))
        assert "KMSInvalidStateException" in page and f"{key.arn} is not pending import." in page
        assert "Delete key material" in page
        assert "Select wrapping algorithm" not in page and 'type="file" name="import_token"' not in page


def test_a_key_pending_deletion_says_why(console, admin, key):
    key_service.schedule_key_deletion(admin, key_id=key.key_id, pending_window_days=7)
    page = text(console.get(step_url(key, "download")))
    assert "KMSInvalidStateException" in page and f"{key.arn} is pending deletion." in page
    assert "Cancel key deletion" in page


def test_an_aws_kms_key_says_its_origin_is_not_valid(console, admin):
    own = key_service.create_key(admin)
    page = text(console.get(step_url(own, "download")))
    assert "UnsupportedOperationException" in page and "origin is AWS_KMS which is not valid" in page


def test_an_unknown_key_is_not_found(console):
    response = console.get(
        reverse(
            "console:import-key-material-step",
            kwargs={"region": REGION, "key_id": "00000000-0000-0000-0000-000000000000", "step": "download"},
        )
    )
    assert response.status_code == 404 and "NotFoundException" in text(response)


def test_unknown_region_or_step_is_404(console, key):
    assert console.get(f"/iam/encryption-keys/xx-nowhere-1/{key.key_id}/import/download/").status_code == 404
    assert console.get(f"/iam/encryption-keys/{REGION}/{key.key_id}/import/elsewhere/").status_code == 404


def test_kms_user_is_denied_the_download_and_the_denial_is_audited(demo, key):
    client = signed_in(demo["KMSUser"])
    response = download(client, key)
    assert response.status_code == 400
    page = text(response)
    assert "AccessDeniedException" in page and "kms:GetParametersForImport" in page
    assert not ImportParameters.objects.filter(key=key).exists()
    denied = AuditEvent.objects.get(event_name="GetParametersForImport", error_code="AccessDeniedException")
    assert denied.principal_arn == demo["KMSUser"].arn


def test_kms_admin_from_the_key_policy_imports(demo, key):
    client = signed_in(demo["KMSAdminUser"])
    public, token = parameters_files(client, key, "RSA_AES_KEY_WRAP_SHA_1")
    wrapped = crypto.wrap_key_material(public, "RSA_AES_KEY_WRAP_SHA_1", crypto.generate_key_material())
    assert upload(client, key, material=wrapped, token=token).status_code == 302
    assert fresh(key).state == states.ENABLED


def test_another_accounts_user_cannot_reach_the_key(demo, key):
    client = signed_in(demo["ExternalUser"])
    response = client.get(step_url(key, "download"))
    assert response.status_code == 404 and "NotFoundException" in text(response)


# ---------------------------------------------------------------- after the import, in time


def test_material_past_valid_to_shows_the_key_pending_import_in_the_list(console, key):
    public, token = parameters_files(console, key)
    valid = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    upload(
        console,
        key,
        material=crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", crypto.generate_key_material()),
        token=token,
        expiration="expires",
        expiration_date=valid.date().isoformat(),
        expiration_time=valid.strftime("%H:%M"),
    )
    list_url = f"/iam/encryption-keys/?region={REGION}"

    def row() -> str:
        page = text(console.get(list_url))
        return re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{key.key_id}(?:(?!</tr>).)*</tr>", page).group(0)

    with time_machine.travel(valid - dt.timedelta(minutes=1), tick=False):
        assert "Enabled" in row()
    with time_machine.travel(valid, tick=False):
        assert "Pending Import" in row()
    key = fresh(key)
    assert key.sealed_material is None and key.valid_to == valid
    assert AuditEvent.objects.filter(event_name="DeleteExpiredKeyMaterial", key_id=key.key_id).count() == 1


def test_a_crafted_download_for_an_enabled_key_is_refused_once_on_the_page(console, key):
    public, token = parameters_files(console, key)
    upload(console, key, material=crypto.wrap_key_material(public, "RSAES_OAEP_SHA_256", b"k" * 32), token=token)
    response = download(console, key)
    assert response.status_code == 400
    assert text(response).count(f"{key.arn} is not pending import.") == 1
    assert not ImportParameters.objects.filter(key=key).exists()
