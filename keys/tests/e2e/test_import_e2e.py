"""Chromium walks steps 2-4 of importing key material (spec 1.1.2, 1.4, 5): the zip, openssl, the helper.

Keys are made with the Create key wizard (External origin), whose Finish opens the Import key
material wizard. Every test signs in through the sign-in page. Screenshots of each step go to
/tmp/shots/ (or $CONSOLECLONE_SHOTS).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
from playwright.sync_api import Page, expect

from keys import crypto, states, vault
from keys.models import Key
from keys.services import importing
from keys.tests.e2e import conftest as e2e
from keys.tests.e2e.conftest import focus, sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

REGION = "us-west-2"
SHOTS = Path(os.environ.get("CONSOLECLONE_SHOTS") or "/tmp/shots")


def shot(page: Page, name: str) -> None:
    """These steps are always shot, into /tmp/shots unless CONSOLECLONE_SHOTS names a folder."""
    e2e.shot(page, f"import-{name}", folder=SHOTS)


@pytest.fixture
def trainee(trainee: Page) -> Page:
    """The 1280-wide console page, with Admin signed in through the sign-in page."""
    sign_in(trainee, trainee.base)
    return trainee


def create_external_key(page: Page, alias: str) -> Key:
    """The Create key wizard with Key Material Origin External; Finish opens the Import key material wizard."""
    page.goto(f"{page.base}/iam/encryption-keys/?region={REGION}")
    page.get_by_role("link", name="Create key").click()
    page.get_by_label("Alias").fill(alias)
    page.get_by_text("Advanced Options").click()
    page.get_by_role("radio", name="External").check()
    page.get_by_label(
        "I understand the security, availability, and durability implications of using an imported key"
    ).check()
    page.get_by_role("button", name="Next Step").click()
    expect(page.get_by_role("heading", name="Add Tags")).to_be_visible()
    page.get_by_role("button", name="Next Step").click()
    expect(page.get_by_role("heading", name="Define Key Administrative Permissions")).to_be_visible()
    page.get_by_label("KMSAdminUser", exact=True).check()
    page.get_by_role("button", name="Next Step").click()
    expect(page.get_by_role("heading", name="Define Key Usage Permissions")).to_be_visible()
    page.get_by_role("button", name="Next Step").click()
    page.get_by_role("button", name="Finish").click()
    expect(page.get_by_role("heading", name="Import key material", level=1)).to_be_visible()
    key = Key.objects.get(aliases__name=f"alias/{alias}")
    assert key.origin == "EXTERNAL" and key.state == states.PENDING_IMPORT
    expect(page).to_have_url(re.compile(rf"/iam/encryption-keys/{REGION}/{key.key_id}/import/download/$"))
    return key


def download_parameters(page: Page, folder: Path, algorithm: str, spec: str = "RSA_2048") -> dict[str, Path]:
    """On the download step: choose, download ImportParameters.zip, unzip it; returns the files by kind."""
    expect(page.get_by_role("heading", name="Step 2: Download wrapping key and import token")).to_be_visible()
    page.get_by_role("radio", name=algorithm, exact=True).check()
    page.get_by_role("radio", name=spec, exact=True).check()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download wrapping key and import token").click()
    download = info.value
    assert download.suggested_filename == "ImportParameters.zip"
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / "ImportParameters.zip"
    download.save_as(archive)
    with zipfile.ZipFile(archive) as z:
        z.extractall(folder)
        names = z.namelist()
    kinds = {"wrappingKey_": "wrapping_key", "importToken_": "import_token", "README_": "readme"}
    return {kinds[n.split("_")[0] + "_"]: folder / n for n in names}


def next_to_encrypt(page: Page) -> None:
    page.get_by_label("I am ready to upload my exported key material").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Step 3: Encrypt key material")).to_be_visible()


def shown_commands(page: Page) -> list[str]:
    text = page.get_by_role("region", name=re.compile("OpenSSL commands")).inner_text()
    return [line for line in text.splitlines() if line.strip()]


def run_shown_commands(page: Page, folder: Path) -> list[str]:
    """Run the exact commands the encrypt step shows, with the real openssl, in the unzipped folder."""
    commands = shown_commands(page)
    for line in commands:
        subprocess.run(["sh", "-c", line], cwd=folder, check=True, capture_output=True, timeout=60)
    return commands


def upload(page: Page, encrypted: Path, token: Path, *, expires: dt.datetime | None = None) -> None:
    """The upload step: the two files, the expiration option, Finish."""
    expect(page.get_by_role("heading", name="Step 4: Upload key material")).to_be_visible()
    page.get_by_label("Encrypted key material").set_input_files(encrypted)
    page.get_by_label("Import token").set_input_files(token)
    if expires is None:
        page.get_by_role("radio", name="Key material never expires").check()
    else:
        page.get_by_role("radio", name="Key material expires").check()
        page.get_by_label("Expiration date (UTC)").fill(expires.date().isoformat())
        page.get_by_label("Expiration time (UTC)").fill(expires.strftime("%H:%M"))


def finish(page: Page) -> None:
    page.get_by_role("button", name="Finish").click()


def show_expiration_column(page: Page) -> None:
    page.get_by_role("button", name="Settings").click()
    page.get_by_label("Expiration Date").check()
    page.get_by_label("Origin").check()
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_role("columnheader", name="Expiration Date")).to_be_visible()


def material_of(key: Key) -> bytes:
    key = Key.objects.get(key_id=key.key_id)
    return vault.unseal(key.sealed_material, context=f"key-material:{key.key_id}")


# ---------------------------------------------------------------- openssl, each algorithm


@pytest.mark.parametrize("algorithm", crypto.WRAPPING_ALGORITHMS)
def test_import_wrapped_with_the_real_openssl_for_each_algorithm(trainee: Page, tmp_path, algorithm):
    page = trainee
    slug = algorithm.lower().replace("_", "-")
    key = create_external_key(page, f"byok-{slug}")
    shot(page, f"{slug}-1-download")
    files = download_parameters(page, tmp_path, algorithm)
    readme = files["readme"].read_text()
    assert f"Wrapping algorithm: {algorithm}" in readme and key.arn in readme
    assert files["wrapping_key"].name == f"wrappingKey_{key.key_id}_{files['wrapping_key'].name[-10:]}"

    next_to_encrypt(page)
    expect(page.get_by_text(f"wrappingKey_{key.key_id}_")).not_to_have_count(0)
    shot(page, f"{slug}-2-encrypt")
    commands = run_shown_commands(page, tmp_path)
    assert commands[0] == "openssl rand -out PlaintextKeyMaterial.bin 32"
    if algorithm.startswith("RSA_AES_KEY_WRAP"):
        assert any(c.startswith("openssl enc -id-aes256-wrap-pad -iv A65959A6 -K ") for c in commands)
    material = (tmp_path / "PlaintextKeyMaterial.bin").read_bytes()
    assert len(material) == 32

    page.get_by_role("link", name="Next").click()
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=90)).replace(hour=12, minute=30, second=0, microsecond=0)
    upload(page, tmp_path / "EncryptedKeyMaterial.bin", files["import_token"], expires=expires)
    shot(page, f"{slug}-3-upload")
    finish(page)

    expect(page.get_by_text(f"Key material imported. byok-{slug} is now Enabled.")).to_be_visible()
    show_expiration_column(page)
    row = page.get_by_role("row", name=re.compile(f"byok-{slug}"))
    expect(row).to_contain_text("Enabled")
    expect(row).to_contain_text(f"{expires:%b} {expires.day}, {expires.year}")
    shot(page, f"{slug}-4-list")
    assert material_of(key) == material
    assert Key.objects.get(key_id=key.key_id).valid_to == expires


# ---------------------------------------------------------------- delete and reimport


def test_delete_then_reimport_the_same_material_and_refuse_different_material(trainee: Page, tmp_path):
    page = trainee
    key = create_external_key(page, "byok-reimport")
    first = download_parameters(page, tmp_path / "first", "RSAES_OAEP_SHA_1")
    next_to_encrypt(page)
    run_shown_commands(page, tmp_path / "first")
    page.get_by_role("link", name="Next").click()
    upload(page, tmp_path / "first" / "EncryptedKeyMaterial.bin", first["import_token"])
    finish(page)
    expect(page.get_by_text("Key material imported. byok-reimport is now Enabled.")).to_be_visible()
    material = material_of(key)

    # Delete key material from the key details page, with its confirmation.
    page.get_by_role("link", name="byok-reimport").click()
    page.get_by_role("link", name="Delete key material").click()
    shot(page, "reimport-1-delete-confirmation")
    page.get_by_role("button", name="Delete key material").click()
    expect(page.get_by_text("Pending Import").first).to_be_visible()
    assert Key.objects.get(key_id=key.key_id).state == states.PENDING_IMPORT

    # Reimport the same material with a new wrapping key and import token (from the details page).
    page.get_by_role("link", name="Download wrapping key and import token").click()
    second = download_parameters(page, tmp_path / "second", "RSA_AES_KEY_WRAP_SHA_256")
    assert second["import_token"].read_bytes() != first["import_token"].read_bytes()
    (tmp_path / "second" / "PlaintextKeyMaterial.bin").write_bytes(material)
    next_to_encrypt(page)
    commands = shown_commands(page)
    for line in commands[1:]:  # keep the material: skip `openssl rand`
        subprocess.run(["sh", "-c", line], cwd=tmp_path / "second", check=True, capture_output=True, timeout=60)
    page.get_by_role("link", name="Next").click()
    upload(page, tmp_path / "second" / "EncryptedKeyMaterial.bin", second["import_token"])
    finish(page)
    expect(page.get_by_text("Key material imported. byok-reimport is now Enabled.")).to_be_visible()
    assert material_of(key) == material

    # Different material is refused, in AWS's words, and nothing changes.
    page.get_by_role("link", name="byok-reimport").click()
    page.get_by_role("link", name="Delete key material").click()
    page.get_by_role("button", name="Delete key material").click()
    page.get_by_role("link", name="Download wrapping key and import token").click()
    third = download_parameters(page, tmp_path / "third", "RSAES_OAEP_SHA_256")
    next_to_encrypt(page)
    run_shown_commands(page, tmp_path / "third")  # new random material
    page.get_by_role("link", name="Next").click()
    upload(page, tmp_path / "third" / "EncryptedKeyMaterial.bin", third["import_token"])
    finish(page)
    alert = page.get_by_role("alert").filter(has_text="IncorrectKeyMaterialException")
    expect(alert).to_contain_text("not the same key material that was previously imported")
    shot(page, "reimport-2-incorrect-key-material")
    assert Key.objects.get(key_id=key.key_id).state == states.PENDING_IMPORT


def test_the_wizard_shows_each_refusal_on_the_page(trainee: Page, tmp_path):
    page = trainee
    create_external_key(page, "byok-refusals")
    # Next without the check box.
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Select the check box for I am ready to upload my exported key material")).to_be_visible()
    shot(page, "refusal-1-not-ready")
    files = download_parameters(page, tmp_path, "RSAES_OAEP_SHA_256")
    next_to_encrypt(page)
    page.get_by_role("link", name="Next").click()
    # The token as the key material, and a 5 MB file.
    upload(page, files["import_token"], files["import_token"])
    finish(page)
    expect(page.get_by_role("alert").filter(has_text="InvalidCiphertextException")).to_be_visible()
    shot(page, "refusal-2-invalid-ciphertext")
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (5 * 1024 * 1024))
    upload(page, big, files["import_token"])
    finish(page)
    expect(page.get_by_text("Encrypted key material: the file is 5,242,880 bytes")).to_be_visible()
    # ValidTo in the past.
    upload(page, files["import_token"], files["import_token"], expires=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    finish(page)
    expect(page.get_by_role("alert").filter(has_text="ValidationException")).to_contain_text(
        "ValidTo must be a future date and time."
    )
    shot(page, "refusal-3-valid-to")


def test_a_keyboard_user_at_1024_pixels_goes_through_every_step(trainee: Page, tmp_path):
    page = trainee
    page.set_viewport_size({"width": 1024, "height": 768})
    key = create_external_key(page, "keyboard-byok")
    shot(page, "keyboard-1024-1-download")
    focus(page, page.get_by_role("radio", name="RSAES_OAEP_SHA_256"))
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="RSAES_OAEP_SHA_1")).to_be_checked()
    focus(page, page.get_by_role("radio", name="RSA_2048"))
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="RSA_3072")).to_be_checked()
    focus(page, page.get_by_role("button", name="Download wrapping key and import token"))
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    info.value.save_as(tmp_path / "ImportParameters.zip")
    with zipfile.ZipFile(tmp_path / "ImportParameters.zip") as z:
        z.extractall(tmp_path)
        token = tmp_path / next(n for n in z.namelist() if n.startswith("importToken_"))
    focus(page, page.get_by_label("I am ready to upload my exported key material"))
    page.keyboard.press("Space")
    focus(page, page.get_by_role("button", name="Next"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Step 3: Encrypt key material")).to_be_visible()
    expect(page.get_by_role("region", name="OpenSSL commands for RSAES_OAEP_SHA_1")).to_be_visible()
    shot(page, "keyboard-1024-2-encrypt")
    run_shown_commands(page, tmp_path)
    focus(page, page.get_by_role("link", name="Next"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Step 4: Upload key material")).to_be_visible()
    focus(page, page.get_by_label("Encrypted key material"))
    page.get_by_label("Encrypted key material").set_input_files(tmp_path / "EncryptedKeyMaterial.bin")
    focus(page, page.get_by_label("Import token"))
    page.get_by_label("Import token").set_input_files(token)
    focus(page, page.get_by_role("radio", name="Key material never expires"))
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="Key material expires")).to_be_checked()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    focus(page, page.get_by_label("Expiration date (UTC)"))
    page.keyboard.type(expires.strftime("%m%d%Y"))
    shot(page, "keyboard-1024-3-upload")
    focus(page, page.get_by_role("button", name="Finish"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Key material imported. keyboard-byok is now Enabled.")).to_be_visible()
    stored = Key.objects.get(key_id=key.key_id)
    assert stored.state == states.ENABLED
    assert stored.valid_to == dt.datetime.combine(expires.date(), dt.time(0, 0), tzinfo=dt.UTC)


# ---------------------------------------------------------------- the in-browser helper


@pytest.mark.parametrize("algorithm", crypto.WRAPPING_ALGORITHMS)
def test_the_in_browser_helpers_files_import(trainee: Page, tmp_path, algorithm):
    page = trainee
    slug = algorithm.lower().replace("_", "-")
    key = create_external_key(page, f"helper-{slug}")
    files = download_parameters(page, tmp_path, algorithm)
    next_to_encrypt(page)
    expect(
        page.get_by_text("Choose the wrapping key file, then choose Generate and wrap key material.")
    ).to_be_visible()
    page.get_by_label("Wrapping key file").set_input_files(files["wrapping_key"])
    expect(page.get_by_label("Wrapping algorithm")).to_have_value(algorithm)
    page.get_by_role("button", name="Generate and wrap key material").click()
    expect(page.get_by_text(f"Wrapped 32 new random bytes of key material with {algorithm}.")).to_be_visible()
    shot(page, f"helper-{slug}-1-wrapped")
    saved = {}
    for name in ("EncryptedKeyMaterial.bin", "PlaintextKeyMaterial.bin"):
        with page.expect_download() as info:
            page.get_by_role("button", name=f"Download {name}").click()
        assert info.value.suggested_filename == name
        saved[name] = tmp_path / name
        info.value.save_as(saved[name])
    material = saved["PlaintextKeyMaterial.bin"].read_bytes()
    assert len(material) == 32

    page.get_by_role("link", name="Next").click()
    upload(page, saved["EncryptedKeyMaterial.bin"], files["import_token"])
    finish(page)
    expect(page.get_by_text(f"Key material imported. helper-{slug} is now Enabled.")).to_be_visible()
    assert material_of(key) == material


def test_the_helper_rewraps_kept_material_for_a_reimport(trainee: Page, tmp_path, admin):
    page = trainee
    key = create_external_key(page, "helper-reimport")
    files = download_parameters(page, tmp_path / "first", "RSA_AES_KEY_WRAP_SHA_1")
    next_to_encrypt(page)
    page.get_by_label("Wrapping key file").set_input_files(files["wrapping_key"])
    page.get_by_role("button", name="Generate and wrap key material").click()
    with page.expect_download() as encrypted:
        page.get_by_role("button", name="Download EncryptedKeyMaterial.bin").click()
    with page.expect_download() as plaintext:
        page.get_by_role("button", name="Download PlaintextKeyMaterial.bin").click()
    encrypted.value.save_as(tmp_path / "first.bin")
    plaintext.value.save_as(tmp_path / "PlaintextKeyMaterial.bin")
    page.get_by_role("link", name="Next").click()
    upload(page, tmp_path / "first.bin", files["import_token"])
    finish(page)
    expect(page.get_by_text("is now Enabled")).to_be_visible()

    importing.delete_imported_key_material(admin, key_id=key.key_id)
    page.goto(f"{page.base}/iam/encryption-keys/{REGION}/{key.key_id}/import/?step=download")
    again = download_parameters(page, tmp_path / "second", "RSAES_OAEP_SHA_256")
    next_to_encrypt(page)
    page.get_by_label("Wrapping key file").set_input_files(again["wrapping_key"])
    page.get_by_label("Key material to reimport (optional)").set_input_files(tmp_path / "PlaintextKeyMaterial.bin")
    page.get_by_role("button", name="Generate and wrap key material").click()
    expect(page.get_by_text("Wrapped the key material from your file with RSAES_OAEP_SHA_256.")).to_be_visible()
    with page.expect_download() as rewrapped:
        page.get_by_role("button", name="Download EncryptedKeyMaterial.bin").click()
    rewrapped.value.save_as(tmp_path / "second.bin")
    page.get_by_role("link", name="Next").click()
    upload(page, tmp_path / "second.bin", again["import_token"])
    finish(page)
    expect(page.get_by_text("is now Enabled")).to_be_visible()
    assert material_of(key) == (tmp_path / "PlaintextKeyMaterial.bin").read_bytes()


def test_the_helpers_rfc_5649_wrap_equals_the_servers(trainee: Page, tmp_path):
    page = trainee
    create_external_key(page, "helper-kwp")
    page.get_by_role("link", name="Encrypt key material").click()
    expect(
        page.get_by_text("Choose the wrapping key file, then choose Generate and wrap key material.")
    ).to_be_visible()
    kek = bytes(range(32))
    for length in (1, 7, 8, 9, 15, 16, 20, 31, 32, 33, 64, 100):
        data = bytes((7 * i + length) % 256 for i in range(length))
        wrapped = page.evaluate(
            "async ([kek, data]) => Array.from(await window.consoleclone.wrapHelper.aesKeyWrapWithPadding("
            "new Uint8Array(kek), new Uint8Array(data)))",
            [list(kek), list(data)],
        )
        assert bytes(wrapped) == aes_key_wrap_with_padding(kek, data), length
    # A file that is not a wrapping key (here an import token's worth of noise) is named as such.
    (tmp_path / "importToken_x").write_bytes(os.urandom(600))
    page.get_by_label("Wrapping key file").set_input_files(tmp_path / "importToken_x")
    page.get_by_role("button", name="Generate and wrap key material").click()
    expect(page.get_by_role("status").filter(has_text="This file is not a wrapping key")).to_be_visible()
    expect(page.get_by_role("button", name="Download EncryptedKeyMaterial.bin")).to_be_hidden()


def test_the_helper_says_it_cannot_run_outside_a_secure_context(
    playwright, browser_type_launch_args, live_server, demo
):
    """A plain-http host other than localhost is not a secure context: WebCrypto is missing."""
    port = live_server.url.rsplit(":", 1)[1]
    args = [*browser_type_launch_args.get("args", []), "--host-resolver-rules=MAP training.example 127.0.0.1"]
    browser = playwright.chromium.launch(**{**browser_type_launch_args, "args": args})
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.base = f"http://training.example:{port}"  # type: ignore[attr-defined]
        sign_in(page, page.base)
        assert page.evaluate("window.isSecureContext") is False
        create_external_key(page, "insecure")
        page.get_by_role("link", name="Encrypt key material").click()
        status = page.get_by_role("status").filter(has_text="not a secure context")
        expect(status).to_contain_text("cannot run")
        expect(page.get_by_role("button", name="Generate and wrap key material")).to_be_hidden()
        shot(page, "helper-insecure-context")
    finally:
        browser.close()
