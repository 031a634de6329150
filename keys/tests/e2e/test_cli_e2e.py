"""The real AWS CLI (v1, .venv/bin/aws), openssl and boto3 against a running server (pytest-django's live_server).

The CLI reads the credentials file seed_demo writes (profiles admin, kms-admin, kms-user, external);
nothing here talks to AWS.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.test import Client
from django.urls import reverse
from django.utils.dateformat import format as date_format

from keys import crypto, policy
from keys.management.commands.seed_demo import write_credentials
from keys.models import Alias, Key
from keys.services import directory
from keys.services import keys as key_service
from keys.tests.conftest import DEMO_PASSWORD
from keys.tests.helpers import assert_seed_key_metadata

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AWS = str(Path(sys.executable).with_name("aws"))
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
REGION = "us-west-2"


@pytest.fixture
def credentials_file(demo, tmp_path) -> Path:
    """The seed's AWS CLI credentials file (var/demo-credentials), written for this test's users."""
    path = tmp_path / "demo-credentials"
    write_credentials(demo, path)
    return path


@pytest.fixture
def cli_env(credentials_file, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    config = tmp_path / "aws-config"
    config.write_text("")
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(credentials_file),
        AWS_CONFIG_FILE=str(config),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        NO_PROXY="*",
    )
    return env


@pytest.fixture
def aws(live_server, cli_env, tmp_path):
    """Run `aws --profile <p> --region us-west-2 --endpoint-url <live server> <args>` in tmp_path."""

    def run(*args: str, profile: str = "admin", check: bool = True) -> subprocess.CompletedProcess:
        command = [AWS, "--profile", profile, "--region", REGION, "--endpoint-url", live_server.url, *args]
        done = subprocess.run(command, env=cli_env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    return run


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def kms(live_server, credentials_file, monkeypatch):
    """boto3 KMS clients for the seed's profiles against the live server."""
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)

    def client(profile: str = "admin"):
        session = boto3.Session(profile_name=profile, region_name=REGION)
        return session.client("kms", endpoint_url=live_server.url, config=Config(retries={"max_attempts": 1}))

    return client


# ---------------------------------------------------------------- the AWS CLI


def test_cli_create_key_external_prints_the_seeds_key_metadata(aws):
    meta = json.loads(aws("kms", "create-key", "--origin", "EXTERNAL").stdout)["KeyMetadata"]
    assert_seed_key_metadata(meta)
    assert Key.objects.get(key_id=meta["KeyId"]).origin == "EXTERNAL"


def test_cli_import_path_with_openssl_then_the_console_shows_the_key_enabled_with_its_expiration(aws, tmp_path, demo):
    """Spec 1.3, step by step, with the real aws and openssl binaries."""
    key_id = aws("kms", "create-key", "--origin", "EXTERNAL", "--query", "KeyMetadata.KeyId", "--output", "text")
    key_id = key_id.stdout.strip()
    # Step 2: one call; the public key and the import token belong together.
    params = aws(
        "kms", "get-parameters-for-import", "--key-id", key_id,
        "--wrapping-algorithm", "RSAES_OAEP_SHA_1", "--wrapping-key-spec", "RSA_2048",
        "--query", "[PublicKey,ImportToken]", "--output", "text",
    ).stdout.split()  # fmt: skip
    (tmp_path / "PublicKey.b64").write_text(params[0])
    (tmp_path / "ImportToken.b64").write_text(params[1])
    _openssl("enc", "-d", "-base64", "-A", "-in", "PublicKey.b64", "-out", "PublicKey.bin", cwd=tmp_path)
    _openssl("enc", "-d", "-base64", "-A", "-in", "ImportToken.b64", "-out", "ImportToken.bin", cwd=tmp_path)
    # Step 3: 256-bit material, wrapped with OAEP SHA-1 as the documentation shows.
    _openssl("rand", "-out", "PlaintextKeyMaterial.bin", "32", cwd=tmp_path)
    _openssl(
        "pkeyutl", "-in", "PlaintextKeyMaterial.bin", "-out", "EncryptedKeyMaterial.bin",
        "-inkey", "PublicKey.bin", "-keyform", "DER", "-pubin", "-encrypt",
        "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha1",
        cwd=tmp_path,
    )  # fmt: skip
    # Step 4, with an ISO 8601 --valid-to in another time zone.
    valid_to = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(hour=20, minute=0, second=0, microsecond=0)
    local = valid_to.astimezone(dt.timezone(dt.timedelta(hours=-8)))
    imported = aws(
        "kms", "import-key-material", "--key-id", key_id,
        "--encrypted-key-material", "fileb://EncryptedKeyMaterial.bin",
        "--import-token", "fileb://ImportToken.bin",
        "--expiration-model", "KEY_MATERIAL_EXPIRES", "--valid-to", local.isoformat(),
    )  # fmt: skip
    answer = json.loads(imported.stdout)
    assert answer["KeyId"].endswith(key_id)
    assert re.fullmatch(r"[0-9a-f]{64}", answer["KeyMaterialId"])
    meta = json.loads(aws("kms", "describe-key", "--key-id", key_id).stdout)["KeyMetadata"]
    assert (meta["KeyState"], meta["Enabled"], meta["ExpirationModel"]) == ("Enabled", True, "KEY_MATERIAL_EXPIRES")
    assert meta["ValidTo"] == valid_to.timestamp()

    # Encrypt / Decrypt round trip of the material itself, through files.
    ciphertext = aws(
        "kms", "encrypt", "--key-id", key_id, "--plaintext", "fileb://PlaintextKeyMaterial.bin",
        "--encryption-context", "purpose=e2e", "--query", "CiphertextBlob", "--output", "text",
    ).stdout.strip()  # fmt: skip
    (tmp_path / "Ciphertext.bin").write_bytes(base64.b64decode(ciphertext))
    plaintext = aws(
        "kms", "decrypt", "--ciphertext-blob", "fileb://Ciphertext.bin", "--encryption-context", "purpose=e2e",
        "--query", "Plaintext", "--output", "text",
    ).stdout.strip()  # fmt: skip
    assert base64.b64decode(plaintext) == (tmp_path / "PlaintextKeyMaterial.bin").read_bytes()

    # The console lists the same key Enabled, with its Expiration Date.
    admin = demo["Admin"]
    directory.set_key_list_columns(admin, ["expiration_date"])
    console = Client()
    console.force_login(admin.user)
    page = console.get(reverse("console:encryption-keys"), {"region": REGION}).content.decode()
    assert "Expiration Date" in page
    row = page.split(key_id, 1)[1].split("</tr>", 1)[0]
    assert "Enabled" in row
    assert date_format(valid_to, "M j, Y") in row
    assert date_format(valid_to, "g:i A T") in row


def test_cli_errors_are_awss_error_codes(aws):
    done = aws("kms", "describe-key", "--key-id", "alias/not-there", check=False)
    assert done.returncode != 0
    assert "An error occurred (NotFoundException) when calling the DescribeKey operation: " in done.stderr
    assert "Alias arn:aws:kms:us-west-2:111122223333:alias/not-there is not found." in done.stderr


def test_cli_kms_user_gets_access_denied_for_create_key(aws):
    done = aws("kms", "create-key", profile="kms-user", check=False)
    assert "An error occurred (AccessDeniedException) when calling the CreateKey operation" in done.stderr
    assert aws("kms", "list-keys", profile="kms-user").returncode == 0


# ---------------------------------------------------------------- boto3


def test_boto3_encrypt_decrypt_round_trip_with_an_alias(kms):
    client = kms()
    key_id = client.create_key(Description="boto3")["KeyMetadata"]["KeyId"]
    client.create_alias(AliasName="alias/boto3-e2e", TargetKeyId=key_id)
    encrypted = client.encrypt(KeyId="alias/boto3-e2e", Plaintext=b"hello boto3", EncryptionContext={"app": "e2e"})
    assert encrypted["KeyId"].endswith(key_id)
    assert encrypted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert encrypted["ResponseMetadata"]["RequestId"]
    decrypted = client.decrypt(CiphertextBlob=encrypted["CiphertextBlob"], EncryptionContext={"app": "e2e"})
    assert decrypted["Plaintext"] == b"hello boto3"
    with pytest.raises(ClientError) as refused:
        client.decrypt(CiphertextBlob=encrypted["CiphertextBlob"], EncryptionContext={"app": "other"})
    assert refused.value.response["Error"]["Code"] == "InvalidCiphertextException"
    assert isinstance(client.describe_key(KeyId=key_id)["KeyMetadata"]["CreationDate"], dt.datetime)


def test_boto3_ciphertext_from_before_deleting_the_material_decrypts_after_reimporting_it(kms):
    client = kms()
    key_id = client.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    material = secrets.token_bytes(32)

    def import_it():
        params = client.get_parameters_for_import(
            KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
        )
        wrapped = crypto.wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", material)
        return client.import_key_material(
            KeyId=key_id,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrapped,
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )

    first = import_it()
    blob = client.encrypt(KeyId=key_id, Plaintext=b"made before the deletion")["CiphertextBlob"]
    client.delete_imported_key_material(KeyId=key_id)
    assert client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(ClientError) as refused:
        client.decrypt(CiphertextBlob=blob)
    assert refused.value.response["Error"]["Code"] == "KMSInvalidStateException"
    again = import_it()
    assert again["KeyMaterialId"] == first["KeyMaterialId"]
    assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"made before the deletion"


def test_boto3_paginators_walk_every_key_and_alias(kms):
    client = kms()
    for number in range(5):
        key_id = client.create_key()["KeyMetadata"]["KeyId"]
        client.create_alias(AliasName=f"alias/page-{number}", TargetKeyId=key_id)
    pages = list(client.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}))
    keys = [k["KeyId"] for page in pages for k in page["Keys"]]
    expected = set(Key.objects.filter(account_id="111122223333", region=REGION).values_list("key_id", flat=True))
    assert len(keys) == len(expected) and set(keys) == expected
    assert len(pages) == (len(expected) + 1) // 2
    alias_pages = list(client.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 3}))
    aliases = [a["AliasName"] for page in alias_pages for a in page["Aliases"]]
    assert sorted(aliases) == sorted(
        Alias.objects.filter(account_id="111122223333", region=REGION).values_list("name", flat=True)
    )
    assert len(alias_pages) >= 3


def test_boto3_kms_user_may_encrypt_but_not_schedule_deletion(kms, admin, demo):
    document = policy.build_console_key_policy(
        account_id="111122223333",
        admin_arns=[demo["KMSAdminUser"].arn],
        user_arns=[demo["KMSUser"].arn],
        external_account_ids=[],
    )
    key = key_service.create_key(admin, policy_text=policy.render_aws_style(document))
    user = kms("kms-user")
    assert user.encrypt(KeyId=key.key_id, Plaintext=b"allowed")["KeyId"] == key.arn
    with pytest.raises(ClientError) as refused:
        user.schedule_key_deletion(KeyId=key.key_id, PendingWindowInDays=7)
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"].startswith(
        f"User: {demo['KMSUser'].arn} is not authorized to perform: kms:ScheduleKeyDeletion"
    )
    assert (
        kms("kms-admin").schedule_key_deletion(KeyId=key.key_id, PendingWindowInDays=7)["KeyState"] == "PendingDeletion"
    )


def test_boto3_external_user_encrypts_with_the_key_arn_only_when_its_account_is_in_the_policy(kms, admin):
    shared = policy.build_console_key_policy(
        account_id="111122223333", admin_arns=[], user_arns=[], external_account_ids=["444455556666"]
    )
    shared_key = key_service.create_key(admin, policy_text=policy.render_aws_style(shared))
    private_key = key_service.create_key(admin)
    external = kms("external")
    encrypted = external.encrypt(KeyId=shared_key.arn, Plaintext=b"cross-account")
    assert encrypted["KeyId"] == shared_key.arn
    assert kms().decrypt(CiphertextBlob=encrypted["CiphertextBlob"])["Plaintext"] == b"cross-account"
    with pytest.raises(ClientError) as refused:
        external.encrypt(KeyId=private_key.arn, Plaintext=b"not mine")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_boto3_against_open_mode_and_the_moto_reset(live_server, settings, monkeypatch):
    settings.KMS_API_AUTH = "open"
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    client = boto3.client(
        "kms",
        region_name="us-east-1",
        endpoint_url=live_server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )
    meta = client.create_key(Description="emulator suite")["KeyMetadata"]
    assert meta["Arn"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    request = urllib.request.Request(f"{live_server.url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read()) == {"status": "ok"}
    assert client.list_keys()["Keys"] == []


# ---------------------------------------------------------------- the console's access keys, used by the CLI


def test_an_access_key_made_on_my_security_credentials_signs_cli_requests(page, live_server, tmp_path, demo):
    page.goto(f"{live_server.url}/signin/")
    page.get_by_label("Account ID or alias").fill("111122223333")
    page.get_by_label("IAM user name").fill("KMSAdminUser")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_text("KMSAdminUser @").click()
    page.get_by_role("link", name="My Security Credentials").click()
    page.get_by_role("button", name="Create access key").click()
    page.get_by_text("This is the only time that the secret access key can be viewed or downloaded.").wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download .csv file").click()
    assert download.value.suggested_filename == "accessKeys.csv"
    header, values = Path(download.value.path()).read_text().splitlines()
    assert header == "Access key ID,Secret access key"
    access_key_id, secret = values.split(",")

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=access_key_id,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_MAX_ATTEMPTS="1",
    )
    command = [
        AWS,
        "--region",
        REGION,
        "--endpoint-url",
        live_server.url,
        "kms",
        "create-key",
        "--description",
        "from the CSV",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["KeyMetadata"]["Description"] == "from the CSV"

    # The secret is not shown again; the key's last use is.
    page.get_by_role("link", name="Done").click()
    assert secret not in page.content()
    page.goto(f"{live_server.url}/iam/security-credentials/created/")
    page.get_by_text("cannot be shown again").wait_for()
    assert secret not in page.content()
    row = page.get_by_role("row").filter(has_text=access_key_id)
    assert "N/A" not in row.inner_text()
    page.screenshot(path=str(tmp_path / "security-credentials.png"), full_page=True)
