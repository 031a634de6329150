"""AWS Signature Version 4 (AWS4-HMAC-SHA256): parse the Authorization header and verify a request.

Pure module (no Django): the protocol layer hands it the request as a SignedRequest and a secret.
Errors are KmsError with the codes and messages AWS's JSON services answer with.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

from keys.errors import KmsError

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
SERVICE = "kms"
MAX_SKEW = dt.timedelta(minutes=5)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

MISSING_TOKEN = KmsError("MissingAuthenticationTokenException", "Missing Authentication Token")
INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."
MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
_ACCESS_KEY_ID = re.compile(r"^[A-Za-z0-9_+=,.@-]{1,128}$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9a-z-]+$")


@dataclass(frozen=True)
class SignedRequest:
    """What SigV4 signs: method, raw path and query string, headers (lower-case names), body."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Authorization:
    """A parsed Authorization header and the request time it was signed for."""

    access_key_id: str
    scope_date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    signed_at: dt.datetime

    @property
    def credential_scope(self) -> str:
        return f"{self.scope_date}/{self.region}/{self.service}/{TERMINATOR}"


def incomplete(message: str) -> KmsError:
    return KmsError("IncompleteSignatureException", message)


def invalid(message: str) -> KmsError:
    return KmsError("InvalidSignatureException", message)


def unrecognized_client() -> KmsError:
    return KmsError("UnrecognizedClientException", INVALID_TOKEN_MESSAGE)


# ---------------------------------------------------------------- parsing


def _request_time(headers: Mapping[str, str]) -> tuple[str, dt.datetime] | None:
    """The signing time from X-Amz-Date (ISO 8601 basic) or else Date (RFC 1123), as (text, datetime)."""
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        amz_date = amz_date.strip()
        if not _AMZ_DATE.match(amz_date):
            raise incomplete(
                f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
            )
        try:
            when = dt.datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=dt.UTC)
        except ValueError:
            raise incomplete(
                f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ) from None
        return amz_date, when
    date = headers.get("date")
    if date is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        raise incomplete(f"Date must be in RFC 1123 format. Got '{date}'.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    when = when.astimezone(dt.UTC)
    return when.strftime(AMZ_DATE_FORMAT), when


def parse_authorization(headers: Mapping[str, str], *, valid_regions: frozenset[str] | set[str]) -> Authorization:
    """The Authorization header's parts; MissingAuthenticationToken, IncompleteSignature or a scope error."""
    header = (headers.get("authorization") or "").strip()
    if not header:
        raise MISSING_TOKEN
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise incomplete(f"Unsupported AWS 'algorithm': '{algorithm}'. Sign requests with {ALGORITHM}.")
    params: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            params.setdefault(name.strip(), value.strip())
    time = _request_time(headers)
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not params.get(name)
    ]
    if time is None:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if missing:
        raise incomplete(" ".join(missing) + f" Authorization={header}")
    credential = params["Credential"].split("/")
    if len(credential) != 5 or not all(credential):
        raise incomplete(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            f"got '{params['Credential']}'"
        )
    access_key_id, scope_date, region, service, terminator = credential
    if not _ACCESS_KEY_ID.match(access_key_id):
        raise unrecognized_client()
    signed_headers = tuple(params["SignedHeaders"].split(";"))
    if not all(_HEADER_NAME.match(name) for name in signed_headers):
        raise incomplete(
            f"SignedHeaders must be lower-case header names separated by ';', got '{params['SignedHeaders']}'"
        )
    if "host" not in signed_headers:
        raise incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    amz_date, signed_at = time
    if terminator != TERMINATOR:
        raise invalid(f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'.")
    if service != SERVICE:
        raise invalid(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if region not in valid_regions:
        raise invalid(f"Credential should be scoped to a valid region, not '{region}'.")
    if scope_date != amz_date[:8]:
        raise invalid(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope_date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    return Authorization(
        access_key_id=access_key_id,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=signed_headers,
        signature=params["Signature"],
        amz_date=amz_date,
        signed_at=signed_at,
    )


def check_time(auth: Authorization, *, now: dt.datetime) -> None:
    """InvalidSignatureException when the request was signed more than 5 minutes before or after now."""
    now = now.astimezone(dt.UTC)
    stamp = now.strftime(AMZ_DATE_FORMAT)
    if auth.signed_at < now - MAX_SKEW:
        earliest = (now - MAX_SKEW).strftime(AMZ_DATE_FORMAT)
        raise invalid(f"Signature expired: {auth.amz_date} is now earlier than {earliest} ({stamp} - 5 min.)")
    if auth.signed_at > now + MAX_SKEW:
        latest = (now + MAX_SKEW).strftime(AMZ_DATE_FORMAT)
        raise invalid(f"Signature not yet current: {auth.amz_date} is still later than {latest} ({stamp} + 5 min.)")


# ---------------------------------------------------------------- the algorithm


def _uri_encode(text: str, *, safe: str = "-_.~") -> str:
    return quote(text, safe=safe)


def canonical_uri(path: str) -> str:
    """The path as sent (percent-encoded), dot segments removed, then URI-encoded again (non-S3 rule)."""
    segments: list[str] = []
    for segment in (path or "/").split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in (".", ""):
            segments.append(segment)
    path = path or "/"
    normalized = ("/" if path.startswith("/") else "") + "/".join(segments)
    if path.endswith("/") and segments:
        normalized += "/"
    return quote(normalized or "/", safe="/~")


def canonical_query_string(query_string: str) -> str:
    """Query parameters URI-encoded and sorted by name, then value."""
    pairs = []
    for pair in query_string.split("&") if query_string else ():
        name, _, value = pair.partition("=")
        pairs.append((_uri_encode(unquote(name)), _uri_encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_headers(headers: Mapping[str, str], signed_headers: tuple[str, ...]) -> str:
    """One "name:value" line per signed header, values trimmed with inner whitespace collapsed."""
    lines = []
    for name in signed_headers:
        value = headers.get(name, "")
        lines.append(f"{name}:{' '.join(value.split())}\n")
    return "".join(lines)


def payload_hash(request: SignedRequest) -> str:
    """What the signer put in the canonical request for the body: X-Amz-Content-SHA256, or the body's hash."""
    declared = request.headers.get("x-amz-content-sha256")
    return declared.strip() if declared is not None else hashlib.sha256(request.body).hexdigest()


def canonical_request(request: SignedRequest, signed_headers: tuple[str, ...]) -> str:
    return "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.path),
            canonical_query_string(request.query_string),
            canonical_headers(request.headers, signed_headers),
            ";".join(signed_headers),
            payload_hash(request),
        ]
    )


def _utf8(text: str) -> bytes:
    # surrogatepass: a header value no HTTP server would pass on must still hash, not crash.
    return text.encode("utf-8", "surrogatepass")


def string_to_sign(auth: Authorization, canonical: str) -> str:
    digest = hashlib.sha256(_utf8(canonical)).hexdigest()
    return "\n".join([ALGORITHM, auth.amz_date, auth.credential_scope, digest])


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, _utf8(message), hashlib.sha256).digest()


def signing_key(secret: str, *, date: str, region: str, service: str) -> bytes:
    k_date = _hmac(f"AWS4{secret}".encode(), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, TERMINATOR)


def signature(request: SignedRequest, auth: Authorization, secret: str) -> str:
    key = signing_key(secret, date=auth.scope_date, region=auth.region, service=auth.service)
    to_sign = string_to_sign(auth, canonical_request(request, auth.signed_headers))
    return hmac.new(key, _utf8(to_sign), hashlib.sha256).hexdigest()


def verify(request: SignedRequest, auth: Authorization, secret: str) -> None:
    """InvalidSignatureException unless the signature is the one `secret` makes for this request."""
    declared = request.headers.get("x-amz-content-sha256")
    if declared is not None and declared.strip() != hashlib.sha256(request.body).hexdigest():
        raise invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
    expected = signature(request, auth, secret)
    if not _SIGNATURE.match(auth.signature) or not hmac.compare_digest(expected, auth.signature):
        raise invalid(MISMATCH_MESSAGE)
