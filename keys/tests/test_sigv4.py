"""SigV4 verification against botocore's own signer: same canonical request, same signature, same refusals."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from keys.api import sigv4
from keys.errors import KmsError

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
REGIONS = frozenset({"us-west-2", "eu-west-1"})
SIGNED_AT = dt.datetime(2026, 5, 20, 12, 30, 45, tzinfo=dt.UTC)


def botocore_signed(
    url: str = "https://kms.us-west-2.amazonaws.com/",
    *,
    body: bytes = b'{"KeyId":"alias/demo"}',
    headers: dict[str, str] | None = None,
    region: str = "us-west-2",
    service: str = "kms",
    secret: str = SECRET,
    when: dt.datetime = SIGNED_AT,
) -> AWSRequest:
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "TrentService.DescribeKey",
            **(headers or {}),
        },
    )
    signer = SigV4Auth(Credentials(ACCESS_KEY_ID, secret), service, region)
    with time_machine.travel(when, tick=False):
        signer.add_auth(request)
    return request


def as_signed_request(request: AWSRequest) -> sigv4.SignedRequest:
    """What the server sees: the raw path and query, headers by lower-case name (Host as the client set it)."""
    from urllib.parse import urlsplit

    parts = urlsplit(request.url)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers.setdefault("host", parts.netloc)
    return sigv4.SignedRequest(
        method=request.method, path=parts.path, query_string=parts.query, headers=headers, body=request.body
    )


@pytest.fixture
def signed():
    return botocore_signed


def parse(request: sigv4.SignedRequest) -> sigv4.Authorization:
    return sigv4.parse_authorization(request.headers, valid_regions=REGIONS)


@pytest.mark.parametrize(
    "url, headers",
    [
        ("https://kms.us-west-2.amazonaws.com/", {}),
        ("http://127.0.0.1:8000/", {}),
        ("http://testserver/", {"X-Custom": "  spaced    out  value "}),
        ("http://testserver/a/b/../c/./d", {}),
        ("http://testserver/with%20space/", {}),
        ("http://testserver/?b=2&a=1&a=0&c=x%2Fy", {}),
        ("http://testserver/", {"X-Amz-Content-SHA256": "will be replaced"}),
    ],
)
def test_canonical_request_and_signature_are_botocores(signed, url, headers):
    if "X-Amz-Content-SHA256" in headers:
        import hashlib

        headers = {"X-Amz-Content-SHA256": hashlib.sha256(b'{"KeyId":"alias/demo"}').hexdigest()}
    request = signed(url, headers=headers)
    server_side = as_signed_request(request)
    auth = parse(server_side)
    # botocore's canonical request of the request as it was before the Authorization header was added.
    unsigned = AWSRequest(method=request.method, url=request.url, data=request.body, headers=dict(request.headers))
    del unsigned.headers["Authorization"]
    unsigned.context["timestamp"] = auth.amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET), "kms", "us-west-2")
    assert sigv4.canonical_request(server_side, auth.signed_headers) == signer.canonical_request(unsigned)
    assert sigv4.signature(server_side, auth, SECRET) == auth.signature
    sigv4.verify(server_side, auth, SECRET)  # does not raise


def test_parsed_authorization_has_the_credential_scope(signed):
    auth = parse(as_signed_request(signed(region="eu-west-1")))
    assert auth.access_key_id == ACCESS_KEY_ID
    assert auth.region == "eu-west-1"
    assert auth.service == "kms"
    assert auth.scope_date == "20260520"
    assert auth.amz_date == "20260520T123045Z"
    assert auth.signed_at == SIGNED_AT
    assert "host" in auth.signed_headers and "x-amz-target" in auth.signed_headers


def test_a_signature_made_with_another_secret_does_not_verify(signed):
    request = as_signed_request(signed(secret="not-the-secret"))
    with pytest.raises(KmsError) as raised:
        sigv4.verify(request, parse(request), SECRET)
    assert raised.value.code == "InvalidSignatureException"
    assert raised.value.message == sigv4.MISMATCH_MESSAGE


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: {**r.__dict__, "body": r.body + b" "},
        lambda r: {**r.__dict__, "headers": {**r.headers, "x-amz-target": "TrentService.ScheduleKeyDeletion"}},
        lambda r: {**r.__dict__, "headers": {**r.headers, "host": "evil.example"}},
        lambda r: {**r.__dict__, "query_string": "x=1"},
        lambda r: {**r.__dict__, "method": "PUT"},
        lambda r: {**r.__dict__, "path": "/other"},
    ],
    ids=["body", "signed-header", "host", "query", "method", "path"],
)
def test_any_change_to_a_signed_part_breaks_the_signature(signed, tamper):
    original = as_signed_request(signed())
    auth = parse(original)
    changed = sigv4.SignedRequest(**tamper(original))
    with pytest.raises(KmsError) as raised:
        sigv4.verify(changed, auth, SECRET)
    assert raised.value.code == "InvalidSignatureException"


def test_an_unsigned_header_may_change(signed):
    original = as_signed_request(signed())
    changed = sigv4.SignedRequest(**{**original.__dict__, "headers": {**original.headers, "x-unsigned": "1"}})
    sigv4.verify(changed, parse(original), SECRET)


def test_a_content_sha256_header_that_is_not_the_bodys_hash_is_refused(signed):
    request = as_signed_request(signed(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}))
    with pytest.raises(KmsError) as raised:
        sigv4.verify(request, parse(request), SECRET)
    assert raised.value.code == "InvalidSignatureException"
    assert "x-amz-content-sha256" in raised.value.message


@pytest.mark.parametrize(
    "minutes, message",
    [
        (-6, "Signature expired: 20260520T123045Z is now earlier than 20260520T123145Z (20260520T123645Z - 5 min.)"),
        (
            6,
            "Signature not yet current: 20260520T123045Z is still later than 20260520T122945Z (20260520T122445Z + 5 min.)",
        ),
    ],
)
def test_a_request_signed_more_than_five_minutes_away_from_now_is_refused(signed, minutes, message):
    auth = parse(as_signed_request(signed()))
    now = SIGNED_AT - dt.timedelta(minutes=minutes)
    with pytest.raises(KmsError) as raised:
        sigv4.check_time(auth, now=now)
    assert raised.value.code == "InvalidSignatureException"
    assert raised.value.message == message


@pytest.mark.parametrize("minutes", [-5, -1, 0, 1, 5])
def test_a_request_signed_within_five_minutes_is_on_time(signed, minutes):
    sigv4.check_time(parse(as_signed_request(signed())), now=SIGNED_AT + dt.timedelta(minutes=minutes))


def _headers_with(authorization: str | None, **extra: str) -> dict[str, str]:
    headers = {"host": "testserver", "x-amz-date": "20260520T123045Z", **extra}
    if authorization is not None:
        headers["authorization"] = authorization
    return headers


GOOD_CREDENTIAL = "AKIAIOSFODNN7EXAMPLE/20260520/us-west-2/kms/aws4_request"
GOOD_SIGNATURE = "0" * 64


@pytest.mark.parametrize(
    "authorization, extra, code, message_part",
    [
        (None, {}, "MissingAuthenticationTokenException", "Missing Authentication Token"),
        ("", {}, "MissingAuthenticationTokenException", "Missing Authentication Token"),
        ("AWS AKIAIOSFODNN7EXAMPLE:c2lnbmF0dXJl", {}, "IncompleteSignatureException", "Unsupported AWS 'algorithm'"),
        ("AWS4-HMAC-SHA256", {}, "IncompleteSignatureException", "requires 'Credential' parameter"),
        (
            f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, SignedHeaders=host",
            {},
            "IncompleteSignatureException",
            "requires 'Signature' parameter",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, Signature={GOOD_SIGNATURE}",
            {},
            "IncompleteSignatureException",
            "requires 'SignedHeaders' parameter",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA/20260520/us-west-2/kms, SignedHeaders=host, Signature=" + GOOD_SIGNATURE,
            {},
            "IncompleteSignatureException",
            "Credential must have exactly 5 slash-delimited elements",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, SignedHeaders=x-amz-date, Signature={GOOD_SIGNATURE}",
            {},
            "IncompleteSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader'",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, SignedHeaders=Host, Signature={GOOD_SIGNATURE}",
            {},
            "IncompleteSignatureException",
            "SignedHeaders must be lower-case",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA/20260520/us-west-2/s3/aws4_request, SignedHeaders=host, Signature="
            + GOOD_SIGNATURE,
            {},
            "InvalidSignatureException",
            "Credential should be scoped to correct service: 'kms'.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA/20260520/mars-north-1/kms/aws4_request, SignedHeaders=host, Signature="
            + GOOD_SIGNATURE,
            {},
            "InvalidSignatureException",
            "Credential should be scoped to a valid region",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA/20260520/us-west-2/kms/aws5_request, SignedHeaders=host, Signature="
            + GOOD_SIGNATURE,
            {},
            "InvalidSignatureException",
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA/20260519/us-west-2/kms/aws4_request, SignedHeaders=host, Signature="
            + GOOD_SIGNATURE,
            {},
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            "'20260519' != '20260520', from '20260520T123045Z'.",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, SignedHeaders=host, Signature={GOOD_SIGNATURE}",
            {"x-amz-date": "2026-05-20T12:30:45Z"},
            "IncompleteSignatureException",
            "Date must be in ISO-8601 'basic format'",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA\x00/20260520/us-west-2/kms/aws4_request, SignedHeaders=host, Signature="
            + GOOD_SIGNATURE,
            {},
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
    ],
)
def test_malformed_authorization_headers_get_awss_error(authorization, extra, code, message_part):
    with pytest.raises(KmsError) as raised:
        sigv4.parse_authorization(_headers_with(authorization, **extra), valid_regions=REGIONS)
    assert raised.value.code == code
    assert message_part in raised.value.message


def test_a_missing_date_is_named_with_the_missing_parameters():
    headers = {"host": "testserver", "authorization": f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}"}
    with pytest.raises(KmsError) as raised:
        sigv4.parse_authorization(headers, valid_regions=REGIONS)
    assert raised.value.code == "IncompleteSignatureException"
    assert raised.value.message == (
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization=AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}"
    )


def test_the_date_header_is_used_when_there_is_no_x_amz_date():
    headers = {
        "host": "testserver",
        "date": "Wed, 20 May 2026 12:30:45 GMT",
        "authorization": f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, SignedHeaders=date;host, "
        f"Signature={GOOD_SIGNATURE}",
    }
    auth = sigv4.parse_authorization(headers, valid_regions=REGIONS)
    assert auth.amz_date == "20260520T123045Z"
    assert auth.signed_at == SIGNED_AT


def test_signing_key_matches_the_aws_documentation_example():
    # The example of the SigV4 documentation ("Examples of how to derive a signing key").
    key = sigv4.signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", date="20120215", region="us-east-1", service="iam"
    )
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
