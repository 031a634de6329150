"""Open mode (KMS_API_AUTH=open): any well-formed credentials, the account from the key ID, moto's reset."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from keys.models import Account, Alias, AuditEvent, Key
from keys.services import keys as key_service
from keys.tests.kms_api import CONTENT_TYPE, KmsApi, answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_mode(settings):
    settings.KMS_API_AUTH = "open"


def test_any_well_formed_credentials_act_as_the_root_of_123456789012(open_mode):
    api = KmsApi("testing", "whatever-secret")
    meta = api.call("CreateKey", Description="moto style").body["KeyMetadata"]
    assert meta["AWSAccountId"] == "123456789012"
    assert meta["Arn"].startswith("arn:aws:kms:us-west-2:123456789012:key/")
    event = AuditEvent.objects.filter(event_name="CreateKey").latest("event_time")
    assert event.principal_arn == "arn:aws:iam::123456789012:root"
    assert Account.objects.get(id="123456789012").open_mode is True


def test_a_twelve_digit_access_key_id_is_the_account(open_mode):
    api = KmsApi("210987654321", "x", region="eu-west-1")
    meta = api.call("CreateKey").body["KeyMetadata"]
    assert meta["AWSAccountId"] == "210987654321"
    assert meta["Arn"].startswith("arn:aws:kms:eu-west-1:210987654321:key/")


def test_signatures_and_their_age_are_not_checked_in_open_mode(open_mode):
    api = KmsApi("testing", "secret-one")
    api.call("CreateKey")
    other_secret = KmsApi("testing", "secret-two", client=api.client)
    assert len(other_secret.call("ListKeys").body["Keys"]) == 1
    stale = answer(api.send("TrentService.ListKeys", b"{}", when=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    assert stale.status == 200


def test_open_mode_still_needs_well_formed_credentials(open_mode, client: Client):
    unsigned = answer(client.post("/", b"{}", content_type=CONTENT_TYPE, HTTP_X_AMZ_TARGET="TrentService.ListKeys"))
    assert unsigned.error_type == "MissingAuthenticationTokenException"
    malformed = answer(
        client.post(
            "/",
            b"{}",
            content_type=CONTENT_TYPE,
            HTTP_X_AMZ_TARGET="TrentService.ListKeys",
            HTTP_AUTHORIZATION="AWS4-HMAC-SHA256 Credential=testing",
            HTTP_X_AMZ_DATE="20260101T000000Z",
        )
    )
    assert malformed.error_type == "IncompleteSignatureException"


def test_reset_clears_the_keys_and_aliases_of_open_mode_accounts_only(open_mode, admin):
    api = KmsApi("testing", "x")
    key_id = api.call("CreateKey").body["KeyMetadata"]["KeyId"]
    api.call("CreateAlias", AliasName="alias/moto", TargetKeyId=key_id)
    api.call("TagResource", KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "b"}])
    seeded = key_service.create_key(admin, description="the demo account's key")
    response = api.client.post("/moto-api/reset")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert not Key.objects.filter(account_id="123456789012").exists()
    assert not Alias.objects.filter(account_id="123456789012").exists()
    assert not AuditEvent.objects.filter(account_id="123456789012").exists()
    assert Key.objects.filter(key_id=seeded.key_id).exists()
    assert Alias.objects.filter(account_id="111122223333", name="alias/aws/s3").exists()
    # The account stays, so the next suite can go on using it.
    assert api.call("ListKeys").body["Keys"] == []


def test_reset_needs_post(open_mode, client: Client):
    assert client.get("/moto-api/reset").status_code == 404


def test_without_open_mode_the_same_credentials_are_unrecognized(settings):
    settings.KMS_API_AUTH = "sigv4"
    assert KmsApi("testing", "x").call("ListKeys").error_type == "UnrecognizedClientException"
    assert Client().post("/moto-api/reset").status_code == 404
