"""Who is calling: every SigV4 failure over HTTP gets AWS's error type, and a good signature is the user."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from keys.models import AccessKey, AuditEvent
from keys.services import directory
from keys.tests.kms_api import CONTENT_TYPE, KmsApi, answer, as_meta, sign

pytestmark = pytest.mark.django_db

BODY = b"{}"
TARGET = "TrentService.ListKeys"


def _send_with_headers(client: Client, headers: dict[str, str], body: bytes = BODY):
    return answer(client.generic("POST", "/", body, content_type=CONTENT_TYPE, **as_meta(headers)))


def _signed_headers(api: KmsApi, **options) -> dict[str, str]:
    options = {"access_key_id": api.access_key_id, "secret": api.secret, "region": api.region, **options}
    return sign(BODY, target=TARGET, **options)


def _replace_authorization(headers: dict[str, str], old: str, new: str) -> dict[str, str]:
    return {**headers, "Authorization": headers["Authorization"].replace(old, new)}


def _inactive(api: KmsApi, demo) -> dict[str, str]:
    directory.set_access_key_status(demo["Admin"], api.access_key_id, active=False)
    return _signed_headers(api)


def _deleted(api: KmsApi, demo) -> dict[str, str]:
    headers = _signed_headers(api)
    directory.delete_access_key(demo["Admin"], api.access_key_id)
    return headers


NOW = dt.datetime.now(dt.UTC)

# name -> (headers maker, error type, message or message start)
FAILURES = {
    "no Authorization header": (
        lambda api, demo: {k: v for k, v in _signed_headers(api).items() if k != "Authorization"},
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    ),
    "Authorization of another scheme": (
        lambda api, demo: {**_signed_headers(api), "Authorization": "Bearer abc"},
        "IncompleteSignatureException",
        "Unsupported AWS 'algorithm': 'Bearer'",
    ),
    "Authorization without Signature": (
        lambda api, demo: {
            **_signed_headers(api),
            "Authorization": _signed_headers(api)["Authorization"].split(", Signature")[0],
        },
        "IncompleteSignatureException",
        "Authorization header requires 'Signature' parameter.",
    ),
    "credential with four parts": (
        lambda api, demo: _replace_authorization(_signed_headers(api), "/kms/aws4_request", "/kms"),
        "IncompleteSignatureException",
        "Credential must have exactly 5 slash-delimited elements",
    ),
    "no date": (
        lambda api, demo: {k: v for k, v in _signed_headers(api).items() if k != "X-Amz-Date"},
        "IncompleteSignatureException",
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    ),
    "unknown access key": (
        lambda api, demo: _signed_headers(api, access_key_id="AKIAUNKNOWNUNKNOWN00"),
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    "deleted access key": (
        _deleted,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    "inactive access key": (
        _inactive,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    "session token (the replica issues none)": (
        lambda api, demo: _signed_headers(api, token="FwoGZXIvYXdzEXAMPLE"),
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
    "wrong secret": (
        lambda api, demo: _signed_headers(api, secret="not-the-secret"),
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details.",
    ),
    "signed for another target": (
        lambda api, demo: {**_signed_headers(api), "X-Amz-Target": "TrentService.CreateKey"},
        "InvalidSignatureException",
        "The request signature we calculated does not match",
    ),
    "signed six minutes ago": (
        lambda api, demo: _signed_headers(api, when=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)),
        "InvalidSignatureException",
        "Signature expired: ",
    ),
    "signed six minutes ahead": (
        lambda api, demo: _signed_headers(api, when=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)),
        "InvalidSignatureException",
        "Signature not yet current: ",
    ),
    "scoped to another service": (
        lambda api, demo: _signed_headers(api, service="s3"),
        "InvalidSignatureException",
        "Credential should be scoped to correct service: 'kms'.",
    ),
    "scoped to a region that does not exist": (
        lambda api, demo: _signed_headers(api, region="moon-1"),
        "InvalidSignatureException",
        "Credential should be scoped to a valid region, not 'moon-1'.",
    ),
    "scope date not the request date": (
        lambda api, demo: _replace_authorization(
            _signed_headers(api), f"/{dt.datetime.now(dt.UTC):%Y%m%d}/", "/20200101/"
        ),
        "InvalidSignatureException",
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP",
    ),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_every_sigv4_failure_gets_awss_error_type(admin_api, demo, case):
    make_headers, error_type, message = FAILURES[case]
    result = _send_with_headers(admin_api.client, make_headers(admin_api, demo))
    assert result.status == 400
    assert result.error_type == error_type
    assert result.body["message"].startswith(message)
    assert result.headers["x-amzn-RequestId"]


def test_a_refused_signature_records_no_call_and_changes_nothing(admin_api, demo):
    before = AuditEvent.objects.count()
    _send_with_headers(admin_api.client, _signed_headers(admin_api, secret="wrong"))
    assert AuditEvent.objects.count() == before


def test_a_request_signed_four_minutes_ago_is_accepted(admin_api):
    headers = _signed_headers(admin_api, when=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=4))
    assert _send_with_headers(admin_api.client, headers).status == 200


def test_the_caller_is_the_access_keys_user_with_its_policies(kms_user_api, demo):
    created = kms_user_api.call("CreateKey")
    assert created.error_type == "AccessDeniedException"
    assert created.body["message"] == (
        "User: arn:aws:iam::111122223333:user/KMSUser is not authorized to perform: kms:CreateKey on resource: "
        "arn:aws:kms:us-west-2:111122223333:key/* because no identity-based policy allows the kms:CreateKey action"
    )
    assert kms_user_api.call("ListKeys").status == 200
    event = AuditEvent.objects.filter(event_name="CreateKey").latest("event_time")
    assert event.record["userIdentity"]["accessKeyId"] == kms_user_api.access_key_id
    assert event.record["userIdentity"]["userName"] == "KMSUser"
    assert event.error_code == "AccessDeniedException"


def test_the_audit_record_carries_the_source_address_and_user_agent(admin_api):
    headers = {**_signed_headers(admin_api, headers={"User-Agent": "aws-cli/1.46 trainee"})}
    response = admin_api.client.generic(
        "POST", "/", BODY, content_type=CONTENT_TYPE, REMOTE_ADDR="192.0.2.7", **as_meta(headers)
    )
    assert response.status_code == 200
    record = AuditEvent.objects.filter(event_name="ListKeys").latest("event_time").record
    assert record["sourceIPAddress"] == "192.0.2.7"
    assert record["userAgent"] == "aws-cli/1.46 trainee"


def test_a_signed_request_records_when_the_key_was_last_used(admin_api, time_machine):
    access_key = AccessKey.objects.get(access_key_id=admin_api.access_key_id)
    assert access_key.last_used is None
    first = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(first, tick=False)
    assert admin_api.call("ListKeys").status == 200
    access_key.refresh_from_db()
    assert access_key.last_used == first
    # Within the minute no further write; after it, the time moves on.
    time_machine.move_to(first + dt.timedelta(seconds=30), tick=False)
    admin_api.call("ListKeys")
    access_key.refresh_from_db()
    assert access_key.last_used == first
    time_machine.move_to(first + dt.timedelta(minutes=2), tick=False)
    admin_api.call("ListKeys")
    access_key.refresh_from_db()
    assert access_key.last_used == first + dt.timedelta(minutes=2)


def test_a_reactivated_key_signs_again(admin_api, demo):
    directory.set_access_key_status(demo["Admin"], admin_api.access_key_id, active=False)
    assert admin_api.call("ListKeys").error_type == "UnrecognizedClientException"
    directory.set_access_key_status(demo["Admin"], admin_api.access_key_id, active=True)
    assert admin_api.call("ListKeys").status == 200


def test_the_signature_covers_the_body(admin_api):
    headers = _signed_headers(admin_api)
    result = _send_with_headers(admin_api.client, headers, body=json.dumps({"Limit": 1}).encode())
    assert result.error_type == "InvalidSignatureException"
