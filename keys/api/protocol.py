"""The KMS JSON 1.1 protocol: routing, reading and checking the request, who is calling, the answer.

`POST /` with an `X-Amz-Target` header is an API request (keys.api.middleware sends it here,
before sessions and CSRF); everything else is the console's. Every answer is JSON with an
`x-amzn-RequestId` header: the operation's output, or `{"__type": ..., "message": ...}` with
HTTP 400 for a client fault and 500 only for an internal one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse

from keys import clock
from keys.api import open_mode, sigv4
from keys.api.operations import (
    BLOB,
    BOOLEAN,
    INTEGER,
    NOT_IMPLEMENTED,
    OPERATIONS,
    STRING,
    STRING_LIST,
    STRING_MAP,
    STRUCTURE,
    TAG_LIST,
    TIMESTAMP,
    Member,
    Operation,
    unsupported_member,
)
from keys.errors import KmsError
from keys.models import AccessKey
from keys.regions import REGIONS
from keys.services import directory, gate

logger = logging.getLogger("keys.api")

CONTENT_TYPE = "application/x-amz-json-1.1"
ACCEPTED_CONTENT_TYPES = frozenset({CONTENT_TYPE, "application/x-amz-json-1.0", "application/json"})
TARGET_PREFIX = "TrentService."
MAX_BODY_BYTES = 1024 * 1024
MAX_USER_AGENT = 512
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
VALID_REGIONS = frozenset(REGIONS)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]|[\ud800-\udfff]")


def is_api_request(request: HttpRequest) -> bool:
    """A KMS API call (POST / with X-Amz-Target), or open mode's POST /moto-api/reset."""
    if request.method != "POST":
        return False
    if request.path_info == "/" and "HTTP_X_AMZ_TARGET" in request.META:
        return True
    return open_mode.is_reset_request(request)


def handle(request: HttpRequest) -> HttpResponse:
    request_id = str(uuid.uuid4())
    token = gate.current_request_id.set(request_id)
    operation_name = ""
    try:
        if open_mode.is_reset_request(request):
            return _answer(open_mode.reset(), request_id)
        operation_name = _target_name(request)
        return _answer(_serve(request), request_id)
    except KmsError as error:
        return _error(error, request_id)
    except Exception:
        # The traceback names the code that failed; request bodies (plaintext, key material) are never logged.
        logger.exception("KMS API internal error in %r (request %s)", operation_name[:64], request_id)
        return _error(
            KmsError("KMSInternalException", "An internal error occurred. Try the request again."), request_id
        )
    finally:
        gate.current_request_id.reset(token)


def _serve(request: HttpRequest) -> dict[str, Any] | None:
    body = _read_body(request)
    headers = _headers(request)
    actor = authenticate(request, headers, body)
    operation = _operation(request)
    try:
        _check_content_type(request)
        members = decode_members(operation, _parse_json(body))
    except KmsError as error:
        gate.record_rejected_call(actor, operation.name, error)
        raise
    return operation.run(actor, members)


# ---------------------------------------------------------------- the request


def _read_body(request: HttpRequest) -> bytes:
    """The body, at most MAX_BODY_BYTES, read from the stream (DATA_UPLOAD_MAX_MEMORY_SIZE never applies)."""
    too_large = KmsError(
        "ValidationException",
        f"1 validation error detected: the request body must be at most {MAX_BODY_BYTES} bytes",
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise too_large
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    return body


def _headers(request: HttpRequest) -> dict[str, str]:
    """The request's headers by lower-case name, as the client sent them (for the signature)."""
    headers: dict[str, str] = {}
    for name, value in request.META.items():
        if name.startswith("HTTP_"):
            headers[name[5:].lower().replace("_", "-")] = value
        elif name in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers[name.lower().replace("_", "-")] = value
    return headers


def _target_name(request: HttpRequest) -> str:
    target = request.META.get("HTTP_X_AMZ_TARGET", "")
    return target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""


def _operation(request: HttpRequest) -> Operation:
    target = request.META.get("HTTP_X_AMZ_TARGET", "")
    name = _target_name(request)
    if name in OPERATIONS:
        return OPERATIONS[name]
    if name in NOT_IMPLEMENTED:
        raise KmsError("UnsupportedOperationException", f"{name} is not supported by this replica.")
    raise KmsError("UnknownOperationException", f"Unknown operation {_printable(target[:128])}")


def _check_content_type(request: HttpRequest) -> None:
    content_type = (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise KmsError(
            "SerializationException",
            f"Content-Type must be {CONTENT_TYPE}, not {_printable(content_type[:128]) or 'missing'}.",
        )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name, value in pairs:
        if name in document:
            raise ValueError("duplicate member")
        document[name] = value
    return document


def _parse_json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_members)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise KmsError("SerializationException", "The request body is not a valid JSON document.") from None
    if not isinstance(document, dict):
        raise KmsError("SerializationException", "The request body must be a JSON object.")
    return document


# ---------------------------------------------------------------- members


def _printable(text: str) -> str:
    """Text safe to echo in a message and to store (control characters and lone surrogates escaped)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)


def _wire_name(path: str) -> str:
    """AWS writes member paths in lowerCamelCase: KeyId -> keyId, Tags.1.member.TagKey -> tags.1.member.tagKey."""
    return ".".join(part[:1].lower() + part[1:] for part in path.split("."))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _wrong_type(path: str, expected: str, value: Any) -> KmsError:
    return KmsError(
        "SerializationException", f"Expected {expected} at '{_wire_name(path)}', found {_json_type(value)}."
    )


def _string(path: str, value: Any, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise _wrong_type(path, "a string", value)
    if re.search(r"[\ud800-\udfff]", value):
        raise KmsError("SerializationException", f"Value at '{_wire_name(path)}' is not valid Unicode.")
    if "\x00" in value:
        raise KmsError(
            "ValidationException",
            f"1 validation error detected: Value at '{_wire_name(path)}' failed to satisfy constraint: "
            "Member must not contain the NUL character",
        )
    if max_length is not None and len(value) > max_length:
        raise KmsError(
            "ValidationException",
            f"1 validation error detected: Value at '{_wire_name(path)}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {max_length}",
        )
    return value


def _timestamp(path: str, value: Any) -> dt.datetime:
    """Epoch seconds (what SDKs send) or an ISO 8601 string (Clone choice, spec 3.1)."""
    bad = KmsError("SerializationException", f"Value at '{_wire_name(path)}' is not a valid timestamp.")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise bad from None
    text = _string(path, value)
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise bad from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


def _decode(path: str, member: Member, value: Any) -> Any:
    kind = member.type
    if kind == STRING:
        return _string(path, value, member.max_length)
    if kind == INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(path, "an integer", value)
        if not INT_MIN <= value <= INT_MAX:
            raise KmsError("SerializationException", f"Value at '{_wire_name(path)}' is out of the integer range.")
        return value
    if kind == BOOLEAN:
        if not isinstance(value, bool):
            raise _wrong_type(path, "a boolean", value)
        return value
    if kind == BLOB:
        text = _string(path, value)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise KmsError(
                "SerializationException", f"Value at '{_wire_name(path)}' is not valid base64-encoded binary data."
            ) from None
    if kind == TIMESTAMP:
        return _timestamp(path, value)
    if kind == STRING_MAP:
        if not isinstance(value, dict):
            raise _wrong_type(path, "an object", value)
        return {_string(path, k): _string(path, v) for k, v in value.items()}
    if kind == STRING_LIST:
        if not isinstance(value, list):
            raise _wrong_type(path, "an array", value)
        return [_string(f"{path}.{i}.member", item) for i, item in enumerate(value, start=1)]
    if kind == TAG_LIST:
        if not isinstance(value, list):
            raise _wrong_type(path, "an array", value)
        return [_tag(f"{path}.{i}.member", item) for i, item in enumerate(value, start=1)]
    if kind == STRUCTURE:
        if not isinstance(value, dict):
            raise _wrong_type(path, "an object", value)
        return value
    raise AssertionError(f"unknown member type {kind}")


def _tag(path: str, value: Any) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise _wrong_type(path, "an object", value)
    problems = [
        f"Value null at '{_wire_name(f'{path}.{n}')}' failed to satisfy constraint: Member must not be null"
        for n in ("TagKey", "TagValue")
        if value.get(n) is None
    ]
    unknown = sorted(set(value) - {"TagKey", "TagValue"})
    problems += [
        f"'{_printable(n[:128])}' at '{_wire_name(path)}' is not a member of Tag (TagKey, TagValue)" for n in unknown
    ]
    if problems:
        raise _validation(problems)
    return _string(f"{path}.TagKey", value["TagKey"]), _string(f"{path}.TagValue", value["TagValue"])


def _validation(problems: list[str]) -> KmsError:
    count = len(problems)
    noun = "validation error" if count == 1 else "validation errors"
    return KmsError("ValidationException", f"{count} {noun} detected: " + "; ".join(problems))


def _neutral(value: Any) -> bool:
    return value is False or value == [] or value == {}


def decode_members(operation: Operation, document: Mapping[str, Any]) -> dict[str, Any]:
    """The request's members checked against the operation's shape and decoded (blobs, times, tags)."""
    problems: list[str] = []
    unknown = [name for name in document if name not in operation.members]
    for name in unknown[:10]:
        problems.append(
            f"'{_printable(name[:128])}' is not a member of {operation.name}Request "
            f"(its members are {', '.join(operation.members)})"
        )
    for name, member in operation.members.items():
        if member.required and document.get(name) is None:
            problems.append(f"Value null at '{_wire_name(name)}' failed to satisfy constraint: Member must not be null")
    if problems:
        raise _validation(problems)
    members: dict[str, Any] = {}
    for name, value in document.items():
        if value is None:  # JSON null is an absent member
            continue
        member = operation.members[name]
        decoded = _decode(name, member, value)
        if member.unsupported:
            if _neutral(decoded):
                continue
            raise unsupported_member(name)
        members[name] = decoded
    return members


# ---------------------------------------------------------------- who is calling


def _user_agent(request: HttpRequest) -> str:
    return _CONTROL.sub("", request.META.get("HTTP_USER_AGENT", ""))[:MAX_USER_AGENT]


def authenticate(request: HttpRequest, headers: Mapping[str, str], body: bytes) -> gate.Actor:
    """The Actor a SigV4-signed request speaks for (or, in open mode, any well-formed credentials' root)."""
    auth = sigv4.parse_authorization(headers, valid_regions=VALID_REGIONS)
    extra = {
        "access_key_id": auth.access_key_id,
        "source_ip": request.META.get("REMOTE_ADDR") or "127.0.0.1",
        "user_agent": _user_agent(request),
    }
    if open_mode.enabled():
        return gate.Actor.for_principal(open_mode.principal_for(auth.access_key_id), region=auth.region, **extra)
    if "x-amz-security-token" in headers:
        # The replica issues no temporary credentials, so no session token can be valid.
        raise sigv4.unrecognized_client()
    access_key = directory.find_access_key(auth.access_key_id)
    if access_key is None or access_key.status != AccessKey.ACTIVE:
        raise sigv4.unrecognized_client()
    now = clock.now()
    sigv4.check_time(auth, now=now)
    signed = sigv4.SignedRequest(
        method=request.method or "POST",
        path=request.META.get("PATH_INFO") or "/",
        query_string=request.META.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
    )
    sigv4.verify(signed, auth, directory.access_key_secret(access_key))
    directory.record_access_key_use(access_key, when=now)
    return gate.Actor.for_principal(access_key.principal, region=auth.region, **extra)


# ---------------------------------------------------------------- the answer


def _epoch(when: dt.datetime) -> float:
    return round(when.timestamp(), 3)


def encode_output(value: Any) -> Any:
    """Output members as JSON: datetimes as epoch seconds, bytes as base64, absent (None) members left out."""
    if isinstance(value, dt.datetime):
        return _epoch(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: encode_output(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [encode_output(v) for v in value]
    return value


def _response(status: int, payload: dict[str, Any] | None, request_id: str) -> HttpResponse:
    content = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
    response = HttpResponse(content, status=status, content_type=CONTENT_TYPE)
    response["x-amzn-RequestId"] = request_id
    if status < 500:
        # A client's mistake is the client's news, not the server log's (Django logs every 4xx otherwise).
        response._has_been_logged = True
    return response


def _answer(output: dict[str, Any] | None, request_id: str) -> HttpResponse:
    return _response(200, None if output is None else encode_output(output), request_id)


def _error(error: KmsError, request_id: str) -> HttpResponse:
    return _response(error.http_status, {"__type": error.code, "message": error.message}, request_id)
