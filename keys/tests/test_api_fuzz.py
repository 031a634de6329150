"""Fuzzing the API with malformed bodies and headers: never a 500 or an HTML page, and no change to the data.

Thousands of requests go through Django's test client (no live server), most of them signed for
real with botocore's signer, so they reach the member checks; only audit events of refused calls
may be added.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import settings as settings_  # the name `settings` is also pytest-django's fixture
from hypothesis import strategies as st

from keys.api import operations
from keys.api.operations import OPERATIONS, Member
from keys.models import AccessKey, Account, Alias, ImportParameters, Key, Principal, Tag
from keys.services import cryptographic
from keys.services import keys as key_service
from keys.tests.kms_api import CONTENT_TYPE, KmsApi, answer, as_meta, sign

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=False,
)
OPERATION_NAMES = sorted(OPERATIONS)
ACCEPTED_CONTENT_TYPES = {"application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json"}


def database_fingerprint() -> str:
    """A hash of every row the API could change (access keys without their last-used time)."""
    rows: list[Any] = [
        list(Key.objects.order_by("key_id").values_list()),
        list(Alias.objects.order_by("pk").values_list()),
        list(Tag.objects.order_by("pk").values_list()),
        list(ImportParameters.objects.order_by("pk").values_list("pk", "key_id", "valid_to")),
        list(Account.objects.order_by("pk").values_list()),
        list(Principal.objects.order_by("pk").values_list("pk", "account_id", "kind", "name", "iam_policies")),
        list(AccessKey.objects.order_by("pk").values_list("pk", "access_key_id", "status")),
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def assert_client_error(response) -> dict:
    assert response.status_code != 500, response.content[:300]
    assert response["Content-Type"] == CONTENT_TYPE
    assert response["x-amzn-RequestId"]
    body = json.loads(response.content) if response.content else {}
    if response.status_code != 200:
        assert response.status_code == 400
        assert isinstance(body.get("__type"), str) and isinstance(body.get("message"), str)
    return body


# ---------------------------------------------------------------- strategies

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def wrong_value(member: Member) -> st.SearchStrategy:
    """A value no decoder accepts for this member (null excluded: null means absent)."""
    non_null = json_values.filter(lambda v: v is not None)
    kind = member.type
    if kind == operations.STRING:
        return non_null.filter(lambda v: not isinstance(v, str))
    if kind == operations.TIMESTAMP:
        return (
            non_null.filter(lambda v: isinstance(v, (bool, list, dict)))
            | st.text(max_size=20).filter(lambda t: not _is_iso(t))
            | st.sampled_from([1e20, -1e20, 10**18])
        )
    if kind == operations.INTEGER:
        return non_null.filter(lambda v: isinstance(v, bool) or not isinstance(v, int)) | st.integers(min_value=2**31)
    if kind == operations.BOOLEAN:
        return non_null.filter(lambda v: not isinstance(v, bool))
    if kind == operations.BLOB:
        return non_null.filter(lambda v: not isinstance(v, str)) | st.text(min_size=1, max_size=30).filter(
            lambda t: not _is_base64(t)
        )
    if kind == operations.STRING_MAP:
        return non_null.filter(lambda v: not isinstance(v, dict)) | st.dictionaries(
            st.text(max_size=5), non_null.filter(lambda v: not isinstance(v, str)), min_size=1, max_size=3
        )
    if kind in (operations.STRING_LIST, operations.TAG_LIST):
        item = (
            non_null.filter(lambda v: not isinstance(v, str))
            if kind == operations.STRING_LIST
            else non_null.filter(lambda v: not isinstance(v, dict))
        )
        return non_null.filter(lambda v: not isinstance(v, list)) | st.lists(item, min_size=1, max_size=3)
    if kind == operations.STRUCTURE:
        return non_null.filter(lambda v: not isinstance(v, dict))
    raise AssertionError(kind)


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except ValueError:
        return False
    return True


def _is_iso(text: str) -> bool:
    import datetime as dt

    try:
        dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


@st.composite
def malformed_requests(draw) -> tuple[str, bytes]:
    """(operation, body) where the body cannot pass the operation's member checks."""
    name = draw(st.sampled_from(OPERATION_NAMES))
    members = OPERATIONS[name].members
    extra = draw(st.dictionaries(st.sampled_from(sorted(members)), json_values, max_size=3))
    variant = draw(st.sampled_from(["bytes", "not-object", "unknown", "wrong-type", "missing", "truncated"]))
    if variant == "bytes":
        body = draw(st.binary(max_size=200))
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict) or not body.strip():
            body = b"[" + body
        return name, body
    if variant == "not-object":
        value = draw(json_values.filter(lambda v: not isinstance(v, dict)))
        return name, json.dumps(value).encode()
    if variant == "unknown":
        unknown = draw(st.text(max_size=30).filter(lambda n: n not in members))
        return name, json.dumps({**extra, unknown: draw(json_values)}).encode()
    if variant == "wrong-type":
        member_name = draw(st.sampled_from(sorted(members)))
        return name, json.dumps({**extra, member_name: draw(wrong_value(members[member_name]))}).encode()
    if variant == "missing":
        required = [n for n, m in members.items() if m.required]
        if not required:
            return name, json.dumps({**extra, "NotAMember": 1}).encode()
        missing = draw(st.sampled_from(required))
        document = {k: v for k, v in extra.items() if k != missing}
        return name, json.dumps(document).encode()
    text = json.dumps({**extra, "Padding": "x"})
    cut = draw(st.integers(min_value=1, max_value=len(text) - 1))
    return name, text[:cut].encode()


header_names = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,24}\Z")
header_values = st.text(max_size=80)


@st.composite
def mutated_headers(draw, signed: dict[str, str]) -> dict[str, str]:
    """A correctly signed ListKeys request's headers, then some removed, replaced or added."""
    headers = dict(signed)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        action = draw(st.sampled_from(["remove", "replace", "add", "authorization", "target", "date"]))
        if action == "remove" and headers:
            headers.pop(draw(st.sampled_from(sorted(headers))))
        elif action == "replace" and headers:
            headers[draw(st.sampled_from(sorted(headers)))] = draw(header_values)
        elif action == "add":
            headers[draw(header_names)] = draw(header_values)
        elif action == "authorization":
            original = headers.get("Authorization", "")
            start = draw(st.integers(min_value=0, max_value=len(original)))
            headers["Authorization"] = original[:start] + draw(header_values) + original[start + 1 :]
        elif action == "target":
            headers["X-Amz-Target"] = draw(
                st.sampled_from(["", "TrentService.", "TrentService.createkey", "trentservice.CreateKey"])
                | st.text(max_size=40)
            )
        else:
            headers["X-Amz-Date"] = draw(st.sampled_from(["", "20200101T000000Z", "2026-01-01"]) | header_values)
    return headers


# ---------------------------------------------------------------- the fuzz tests


@pytest.fixture
def populated(admin, admin_api):
    """Keys, an alias, a tag and a ciphertext, so refused requests have something they could have changed."""
    key = key_service.create_key(admin, description="fuzz target", tags=[("team", "blue")])
    key_service.create_alias(admin, alias_name="alias/fuzz", target_key_id=key.key_id)
    key_service.create_key(admin, origin="EXTERNAL")
    cryptographic.encrypt(admin, key_id=key.key_id, plaintext=b"fuzz")
    return admin_api


def test_malformed_bodies_never_fail_the_server_nor_change_data(populated):
    api: KmsApi = populated
    before = database_fingerprint()

    @settings(FUZZ, max_examples=1200)
    @given(request=malformed_requests())
    def send(request):
        name, body = request
        response = api.send(f"TrentService.{name}", body)
        payload = assert_client_error(response)
        assert response.status_code == 400, (name, body, payload)

    send()
    assert database_fingerprint() == before


def test_malformed_headers_never_fail_the_server_nor_change_data(populated):
    api: KmsApi = populated
    before = database_fingerprint()

    @FUZZ
    @given(data=st.data())
    def send(data):
        signed = sign(b"{}", target="TrentService.ListKeys", access_key_id=api.access_key_id, secret=api.secret)
        headers = data.draw(mutated_headers(signed))
        content_type = data.draw(st.sampled_from(sorted(ACCEPTED_CONTENT_TYPES)) | header_values)
        meta = {"CONTENT_TYPE": content_type, **as_meta(headers)}
        response = api.client.generic("POST", "/", b"{}", content_type=content_type, **meta)
        if "HTTP_X_AMZ_TARGET" not in meta:
            # Without the target header a POST / is the console's: not JSON, but still no server error.
            assert response.status_code < 500
            return
        assert_client_error(response)

    send()
    assert database_fingerprint() == before


def test_malformed_bodies_in_open_mode_never_fail_the_server_nor_change_data(populated, settings):
    settings.KMS_API_AUTH = "open"
    api: KmsApi = populated
    api.call("ListKeys")  # the open-mode account exists from here on
    before = database_fingerprint()

    @settings_(FUZZ, max_examples=500)
    @given(request=malformed_requests())
    def send(request):
        name, body = request
        response = answer(api.send(f"TrentService.{name}", body))
        assert response.status == 400, response.body

    send()
    assert database_fingerprint() == before


def test_unsigned_noise_is_refused_before_anything_else(populated):
    before = database_fingerprint()

    @settings(FUZZ, max_examples=300)
    @given(body=st.binary(max_size=300), target=st.text(max_size=60))
    def send(body, target):
        response = populated.client.post("/", body, content_type=CONTENT_TYPE, HTTP_X_AMZ_TARGET=target)
        assert assert_client_error(response)["__type"] == "MissingAuthenticationTokenException"

    send()
    assert database_fingerprint() == before
