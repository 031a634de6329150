"""Tests for keys.policy: builder, rendering, validation, evaluation, editor."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keys.policy import (
    ADMIN_ACTIONS,
    GRANT_ACTIONS,
    LOCKOUT_MESSAGE,
    MAX_POLICY_BYTES,
    USER_ACTIONS,
    AccessRequest,
    Decision,
    MalformedPolicy,
    PolicyTooLarge,
    admins_can_delete,
    build_console_key_policy,
    default_api_key_policy,
    evaluate,
    is_console_policy,
    key_administrators,
    key_users,
    parse_key_policy,
    referenced_principals,
    render_aws_style,
    render_policy,
    with_admins_can_delete,
    with_key_administrators,
    with_key_users,
    would_lock_out,
)

ACCT = "111122223333"
EXT = "444455556666"
OTHER = "999988887777"
KEY_ARN = f"arn:aws:kms:us-east-2:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = f"arn:aws:iam::{ACCT}:root"
ADMIN_USER = f"arn:aws:iam::{ACCT}:user/KMSAdminUser"
ADMIN_ROLE = f"arn:aws:iam::{ACCT}:role/KMSAdminRole"
KEY_USER = f"arn:aws:iam::{ACCT}:user/KMSUser"
KEY_ROLE = f"arn:aws:iam::{ACCT}:role/KMSRole"
NOBODY = f"arn:aws:iam::{ACCT}:user/Nobody"
EXT_ROOT = f"arn:aws:iam::{EXT}:root"
EXT_USER = f"arn:aws:iam::{EXT}:user/Alice"
OTHER_USER = f"arn:aws:iam::{OTHER}:user/Mallory"

ADMINISTRATOR_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}

# Spec 2.2, the assembled "Example Key Policy", copied literally.
SPEC_EXAMPLE_TEXT = """
{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-2",
  "Statement": [
    {
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
      "Action": "kms:*",
      "Resource": "*"
    },
    {
      "Sid": "Allow access for Key Administrators",
      "Effect": "Allow",
      "Principal": {"AWS": [
        "arn:aws:iam::111122223333:user/KMSAdminUser",
        "arn:aws:iam::111122223333:role/KMSAdminRole"
      ]},
      "Action": [
        "kms:Create*",
        "kms:Describe*",
        "kms:Enable*",
        "kms:List*",
        "kms:Put*",
        "kms:Update*",
        "kms:Revoke*",
        "kms:Disable*",
        "kms:Get*",
        "kms:Delete*",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion"
      ],
      "Resource": "*"
    },
    {
      "Sid": "Allow use of the key",
      "Effect": "Allow",
      "Principal": {"AWS": [
        "arn:aws:iam::111122223333:user/KMSUser",
        "arn:aws:iam::111122223333:role/KMSRole",
        "arn:aws:iam::444455556666:root"
      ]},
      "Action": [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey"
      ],
      "Resource": "*"
    },
    {
      "Sid": "Allow attachment of persistent resources",
      "Effect": "Allow",
      "Principal": {"AWS": [
        "arn:aws:iam::111122223333:user/KMSUser",
        "arn:aws:iam::111122223333:role/KMSRole",
        "arn:aws:iam::444455556666:root"
      ]},
      "Action": [
        "kms:CreateGrant",
        "kms:ListGrants",
        "kms:RevokeGrant"
      ],
      "Resource": "*",
      "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    }
  ]
}
"""

# Spec 2.2, GetKeyPolicy output for the default API policy, copied literally.
SPEC_DEFAULT_AWS_TEXT = """{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::111122223333:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}"""


def example_policy(**overrides: Any) -> dict[str, Any]:
    """The spec's example policy built through the builder."""
    arguments: dict[str, Any] = {
        "account_id": ACCT,
        "admin_arns": [ADMIN_USER, ADMIN_ROLE],
        "user_arns": [KEY_USER, KEY_ROLE],
        "external_account_ids": [EXT],
    }
    arguments.update(overrides)
    return build_console_key_policy(**arguments)


def normalised(value: Any) -> str:
    """JSON text with sorted keys, so dicts compare regardless of layout."""
    return json.dumps(value, sort_keys=True)


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    """The statement with this Sid."""
    return next(s for s in policy["Statement"] if s.get("Sid") == sid)


# --------------------------------------------------------------------------- builder


def test_action_lists_match_spec_order() -> None:
    expected = json.loads(SPEC_EXAMPLE_TEXT)["Statement"]
    assert expected[1]["Action"] == ADMIN_ACTIONS
    assert expected[2]["Action"] == USER_ACTIONS
    assert expected[3]["Action"] == GRANT_ACTIONS
    assert len(ADMIN_ACTIONS) == 14
    assert MAX_POLICY_BYTES == 32768


def test_builder_reproduces_spec_example() -> None:
    assert normalised(example_policy()) == normalised(json.loads(SPEC_EXAMPLE_TEXT))
    # Statement order and key order are part of the look, not only the content.
    assert json.dumps(example_policy()) == json.dumps(json.loads(SPEC_EXAMPLE_TEXT))


def test_builder_external_origin_appends_import_at_end() -> None:
    expected = json.loads(SPEC_EXAMPLE_TEXT)
    expected["Statement"][1]["Action"].append("kms:ImportKeyMaterial")
    built = example_policy(external_origin=True)
    assert normalised(built) == normalised(expected)
    assert statement(built, "Allow access for Key Administrators")["Action"][-1] == ("kms:ImportKeyMaterial")


def test_builder_single_principal_is_a_string() -> None:
    built = build_console_key_policy(
        account_id=ACCT,
        admin_arns=[ADMIN_USER],
        user_arns=[KEY_USER],
        external_account_ids=[],
    )
    assert statement(built, "Allow access for Key Administrators")["Principal"] == {"AWS": ADMIN_USER}
    assert statement(built, "Allow use of the key")["Principal"] == {"AWS": KEY_USER}
    assert statement(built, "Allow attachment of persistent resources")["Principal"] == {"AWS": KEY_USER}


def test_builder_single_external_account_only() -> None:
    built = example_policy(admin_arns=[], user_arns=[])
    assert [s["Sid"] for s in built["Statement"]] == [
        "Enable IAM User Permissions",
        "Allow use of the key",
        "Allow attachment of persistent resources",
    ]
    assert statement(built, "Allow use of the key")["Principal"] == {"AWS": EXT_ROOT}


def test_builder_no_admins_omits_admin_statement() -> None:
    built = example_policy(admin_arns=[])
    assert [s["Sid"] for s in built["Statement"]] == [
        "Enable IAM User Permissions",
        "Allow use of the key",
        "Allow attachment of persistent resources",
    ]


def test_builder_no_users_omits_use_and_grant_statements() -> None:
    built = example_policy(user_arns=[], external_account_ids=[])
    assert [s["Sid"] for s in built["Statement"]] == [
        "Enable IAM User Permissions",
        "Allow access for Key Administrators",
    ]


def test_builder_nobody_keeps_root_statement() -> None:
    built = example_policy(admin_arns=[], user_arns=[], external_account_ids=[])
    assert built == {
        "Version": "2012-10-17",
        "Id": "key-consolepolicy-2",
        "Statement": [json.loads(SPEC_EXAMPLE_TEXT)["Statement"][0]],
    }


@pytest.mark.parametrize("external_origin", [False, True])
def test_builder_delete_box_unchecked_drops_deletion_actions(
    external_origin: bool,
) -> None:
    built = example_policy(allow_admin_delete=False, external_origin=external_origin)
    actions = statement(built, "Allow access for Key Administrators")["Action"]
    expected = ADMIN_ACTIONS[:12] + (["kms:ImportKeyMaterial"] if external_origin else [])
    assert actions == expected
    assert not admins_can_delete(built)
    assert admins_can_delete(example_policy())


def test_builder_does_not_share_module_lists() -> None:
    built = example_policy()
    statement(built, "Allow access for Key Administrators")["Action"].append("x")
    statement(built, "Allow use of the key")["Action"].append("x")
    assert "x" not in ADMIN_ACTIONS and "x" not in USER_ACTIONS


def test_builder_rejects_bad_external_account() -> None:
    with pytest.raises(ValueError):
        example_policy(external_account_ids=["12345"])


def test_builder_output_validates() -> None:
    built = example_policy(external_origin=True)
    assert parse_key_policy(render_policy(built)) == built
    assert parse_key_policy(render_aws_style(built)) == built


# --------------------------------------------------------------------------- rendering


def test_default_api_policy_document() -> None:
    assert default_api_key_policy(ACCT) == {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": ROOT},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def test_render_aws_style_matches_spec_exactly() -> None:
    assert render_aws_style(default_api_key_policy(ACCT)) == SPEC_DEFAULT_AWS_TEXT


def test_render_aws_style_lists_and_empties() -> None:
    text = render_aws_style({"A": ["x", "y"], "B": {}, "C": [], "D": True})
    assert text == ('{\n  "A" : [ "x", "y" ],\n  "B" : { },\n  "C" : [ ],\n  "D" : true\n}')


def test_render_policy_is_indented_json() -> None:
    policy = example_policy()
    assert render_policy(policy) == json.dumps(policy, indent=2)


def test_render_escapes_characters_outside_policy_alphabet() -> None:
    policy = parse_key_policy(
        '{"Statement": {"Sid": "caf\\u00e9 \\u4e2d\\ud83d\\ude00", "Effect": "Allow",'
        ' "Principal": "*", "Action": "kms:*", "Resource": "*"}}'
    )
    for text in (render_policy(policy), render_aws_style(policy)):
        assert "café" in text and "\\u4e2d" in text and "\\ud83d\\ude00" in text
        assert parse_key_policy(text) == policy


# --------------------------------------------------------------------------- parsing


def minimal(**statement_fields: Any) -> dict[str, Any]:
    """A valid one-statement policy, with fields overridden (None removes)."""
    stmt: dict[str, Any] = {
        "Sid": "S",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": "kms:*",
        "Resource": "*",
    }
    for name, value in statement_fields.items():
        if value is None:
            stmt.pop(name, None)
        else:
            stmt[name] = value
    return {"Version": "2012-10-17", "Statement": [stmt]}


@pytest.mark.parametrize(
    "document",
    [
        minimal(),
        minimal(Sid=None),
        {"Statement": minimal()["Statement"][0]},
        {"Version": "2008-10-17", "Id": "x", "Statement": minimal()["Statement"]},
        minimal(Principal="*"),
        minimal(Principal={"AWS": "*"}),
        minimal(Principal={"AWS": ACCT}),
        minimal(Principal={"AWS": [KEY_USER, KEY_ROLE, EXT_ROOT]}),
        minimal(Principal={"AWS": f"arn:aws:iam::{ACCT}:user/division/team/Bob"}),
        minimal(Principal={"Service": "cloudtrail.amazonaws.com"}),
        minimal(Action=None, NotAction=["kms:ScheduleKeyDeletion", "kms:Put*"]),
        minimal(Action="*"),
        minimal(Action="KMS:encrypt"),
        minimal(Resource=[KEY_ARN, f"arn:aws:kms:*:{ACCT}:key/*"]),
        minimal(Effect="Deny"),
        minimal(
            Condition={
                "StringEquals": {"kms:CallerAccount": [ACCT, EXT]},
                "Bool": {"kms:GrantIsForAWSResource": True},
                "ForAnyValue:StringLikeIfExists": {"kms:EncryptionContextKeys": "a*"},
                "NumericLessThan": {"kms:ExpirationModel": 5},
            }
        ),
        example_policy(external_origin=True),
        default_api_key_policy(ACCT),
    ],
)
def test_parse_accepts(document: dict[str, Any]) -> None:
    assert parse_key_policy(json.dumps(document)) == document


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Policy must not be empty"),
        ("   \n", "Policy must not be empty"),
        ("{", "Policy is not valid JSON"),
        ('{"Statement": NaN}', "Policy is not valid JSON"),
        ("[" * 5000 + "]" * 5000, "Policy is not valid JSON"),
        ("[]", "Policy must be a JSON object"),
        ('"text"', "Policy must be a JSON object"),
        ("{}", "Policy is missing Statement"),
        ('{"Statement": []}', "Policy contains an invalid Statement"),
        ('{"Statement": "x"}', "Policy contains an invalid Statement"),
        ('{"Statement": ["x"]}', "Policy contains an invalid Statement"),
        (
            json.dumps({**minimal(), "Version": "2020-01-01"}),
            "Policy contains an invalid Version; use 2012-10-17 or 2008-10-17",
        ),
        (
            json.dumps({**minimal(), "Version": ["2012-10-17"]}),
            "Policy contains an invalid Version; use 2012-10-17 or 2008-10-17",
        ),
        (json.dumps({**minimal(), "Id": 3}), "Policy Id must be a string"),
        (
            json.dumps({**minimal(), "Extra": 1}),
            'Policy contains an unsupported element: "Extra"',
        ),
        (json.dumps(minimal(Effect=None)), "Statement is missing Effect"),
        (
            json.dumps(minimal(Effect="allow")),
            "Statement contains an invalid Effect; use Allow or Deny",
        ),
        (json.dumps(minimal(Principal=None)), "Statement is missing Principal"),
        (
            json.dumps(minimal(Principal={})),
            "Policy contains a statement with one or more invalid principals.",
        ),
        (
            json.dumps(minimal(Principal={"AWS": []})),
            "Policy contains a statement with one or more invalid principals.",
        ),
        (
            json.dumps(minimal(Principal={"AWS": "AIDACKCEVSQ6C2EXAMPLE"})),
            "Policy contains a statement with one or more invalid principals.",
        ),
        (
            json.dumps(minimal(Principal={"AWS": "arn:aws:iam::1234:root"})),
            "Policy contains a statement with one or more invalid principals.",
        ),
        (
            json.dumps(minimal(Principal={"AWS": f"arn:aws:iam::{ACCT}:user/*"})),
            "Policy contains a statement with one or more invalid principals.",
        ),
        (
            json.dumps(minimal(Principal={"AWS": f"arn:aws:iam::{ACCT}:group/G"})),
            "Policy contains a statement with one or more invalid principals.",
        ),
        (
            json.dumps(minimal(Principal={"Federated": "cognito-identity.com"})),
            "Policy contains a statement with one or more invalid principals.",
        ),
        (
            json.dumps(minimal(Principal="arn:aws:iam::111122223333:root")),
            "Policy contains a statement with one or more invalid principals.",
        ),
        (json.dumps(minimal(Action=None)), "Statement is missing Action"),
        (
            json.dumps(minimal(NotAction="kms:Encrypt")),
            "Statement contains both Action and NotAction",
        ),
        (json.dumps(minimal(Action="s3:GetObject")), "Policy contains invalid action"),
        (json.dumps(minimal(Action=["kms:Encrypt", 3])), "Policy contains invalid action"),
        (json.dumps(minimal(Action=[])), "Policy contains invalid action"),
        (json.dumps(minimal(Action="kms:")), "Policy contains invalid action"),
        (json.dumps(minimal(Resource=None)), "Statement is missing Resource"),
        (json.dumps(minimal(Resource="key")), "Policy contains invalid resource"),
        (json.dumps(minimal(Resource=[])), "Policy contains invalid resource"),
        (json.dumps(minimal(Sid=7)), "Statement Sid must be a string"),
        (
            json.dumps(minimal(NotResource="*")),
            'Statement contains an unsupported element: "NotResource"',
        ),
        (json.dumps(minimal(Condition=[])), "Policy contains an invalid Condition"),
        (
            json.dumps(minimal(Condition={"StringEquals": "x"})),
            "Policy contains an invalid Condition",
        ),
        (
            json.dumps(minimal(Condition={"StringEquals": {"k": None}})),
            "Policy contains an invalid Condition",
        ),
        (
            json.dumps(minimal(Condition={"StringEquals": {"k": []}})),
            "Policy contains an invalid Condition",
        ),
        (
            json.dumps(minimal(Condition={"StringEqualz": {"k": "v"}})),
            'Policy contains an invalid Condition operator: "StringEqualz"',
        ),
        (
            json.dumps(minimal(Condition={"NullIfExists": {"k": "true"}})),
            'Policy contains an invalid Condition operator: "NullIfExists"',
        ),
        (
            '{"Statement": [], "Statement": []}',
            'Policy contains a duplicate element: "Statement"',
        ),
        (
            json.dumps({"Statement": [minimal()["Statement"][0], minimal()["Statement"][0]]}),
            "Statement IDs (SID) in a single policy must be unique",
        ),
        (
            json.dumps(minimal(Sid="caf\u00e9 \u4e2d"), ensure_ascii=False),
            "Policy contains characters outside tab, line feed, carriage return and \\u0020-\\u00FF",
        ),
        (
            '{"Statement":\x0b[]}',
            "Policy contains characters outside tab, line feed, carriage return and \\u0020-\\u00FF",
        ),
    ],
)
def test_parse_rejects(text: str, message: str) -> None:
    with pytest.raises(MalformedPolicy) as caught:
        parse_key_policy(text)
    assert caught.value.message == message
    assert str(caught.value) == message
    assert not isinstance(caught.value, PolicyTooLarge)


def padded_policy(size: int, pad_char: str = " ") -> str:
    """A valid policy text of exactly size bytes (padding is whitespace or Sid)."""
    base = json.dumps(minimal(Sid=""))
    if pad_char == " ":
        return base + " " * (size - len(base.encode()))
    extra = size - len(base.encode())
    assert extra % len(pad_char.encode()) == 0
    return json.dumps(minimal(Sid=pad_char * (extra // len(pad_char.encode()))))


def test_parse_size_limit_is_in_utf8_bytes() -> None:
    assert parse_key_policy(padded_policy(MAX_POLICY_BYTES))
    with pytest.raises(PolicyTooLarge) as caught:
        parse_key_policy(padded_policy(MAX_POLICY_BYTES + 1))
    assert isinstance(caught.value, MalformedPolicy)
    assert "32768" in caught.value.message
    # é is one character but two bytes of UTF-8.
    text = json.dumps(minimal(Sid="é" * 16400), ensure_ascii=False)
    assert len(text) < MAX_POLICY_BYTES < len(text.encode())
    with pytest.raises(PolicyTooLarge):
        parse_key_policy(text)
    with pytest.raises(PolicyTooLarge):
        parse_key_policy("x" * 10_000_000)


def test_parse_accepts_latin1_characters() -> None:
    text = json.dumps(minimal(Sid="Schlüssel für Ärzte"), ensure_ascii=False)
    assert parse_key_policy(text)["Statement"][0]["Sid"] == "Schlüssel für Ärzte"


def test_parse_rejects_non_string() -> None:
    with pytest.raises(MalformedPolicy):
        parse_key_policy(b"{}")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- evaluate


def allow_iam(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    """An identity policy with one Allow statement."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}],
    }


def deny_iam(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    """An identity policy with one Deny statement."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": action, "Resource": resource, **extra}],
    }


def decide(
    action: str,
    principal: str,
    *,
    policy: dict[str, Any] | None = None,
    iam: list[dict[str, Any]] | None = None,
    context: dict[str, Any] | None = None,
    resource: str = KEY_ARN,
    key_account: str | None = ACCT,
    use_default_policy: bool = True,
) -> Decision:
    """Evaluate a request against the example policy (or the given one)."""
    account = principal.split(":")[4]
    if policy is None and use_default_policy:
        policy = example_policy(external_origin=True)
    return evaluate(
        AccessRequest(action, resource, principal, account, context or {}),
        key_policy=policy,
        key_account=key_account,
        iam_policies=iam or [],
    )


ALLOW = Decision.ALLOW
EXPLICIT = Decision.EXPLICIT_DENY
IMPLICIT = Decision.IMPLICIT_DENY

ENCRYPT_ON_KEY = allow_iam("kms:Encrypt", KEY_ARN)


@pytest.mark.parametrize(
    ("action", "principal", "iam", "context", "expected"),
    [
        # Administrators.
        ("kms:ScheduleKeyDeletion", ADMIN_USER, [], {}, ALLOW),
        ("kms:CancelKeyDeletion", ADMIN_ROLE, [], {}, ALLOW),
        ("kms:PutKeyPolicy", ADMIN_USER, [], {}, ALLOW),
        ("kms:CreateAlias", ADMIN_USER, [], {}, ALLOW),
        ("kms:GetParametersForImport", ADMIN_USER, [], {}, ALLOW),
        ("kms:DeleteImportedKeyMaterial", ADMIN_USER, [], {}, ALLOW),
        ("kms:ImportKeyMaterial", ADMIN_ROLE, [], {}, ALLOW),
        ("kms:Encrypt", ADMIN_USER, [], {}, IMPLICIT),
        # Users.
        ("kms:ScheduleKeyDeletion", KEY_USER, [], {}, IMPLICIT),
        ("kms:Encrypt", KEY_USER, [], {}, ALLOW),
        ("KMS:encrypt", KEY_USER, [], {}, ALLOW),
        ("kms:Decrypt", KEY_ROLE, [], {}, ALLOW),
        ("kms:ReEncryptFrom", KEY_USER, [], {}, ALLOW),
        ("kms:GenerateDataKeyWithoutPlaintext", KEY_ROLE, [], {}, ALLOW),
        ("kms:DescribeKey", KEY_USER, [], {}, ALLOW),
        ("kms:ImportKeyMaterial", KEY_USER, [], {}, IMPLICIT),
        # The grants statement needs kms:GrantIsForAWSResource.
        ("kms:CreateGrant", KEY_USER, [], {}, IMPLICIT),
        ("kms:CreateGrant", KEY_USER, [], {"kms:GrantIsForAWSResource": True}, ALLOW),
        ("kms:ListGrants", KEY_ROLE, [], {"kms:GrantIsForAWSResource": "true"}, ALLOW),
        ("kms:CreateGrant", KEY_USER, [], {"kms:GrantIsForAWSResource": False}, IMPLICIT),
        # Root delegation to IAM.
        ("kms:ScheduleKeyDeletion", NOBODY, [ADMINISTRATOR_ACCESS], {}, ALLOW),
        ("kms:Encrypt", NOBODY, [ADMINISTRATOR_ACCESS], {}, ALLOW),
        ("kms:Encrypt", NOBODY, [], {}, IMPLICIT),
        ("kms:Encrypt", NOBODY, [allow_iam("kms:Decrypt")], {}, IMPLICIT),
        ("kms:Encrypt", NOBODY, [ENCRYPT_ON_KEY], {}, ALLOW),
        ("kms:Encrypt", NOBODY, [allow_iam("kms:*", KEY_ARN + "x")], {}, IMPLICIT),
        ("kms:ScheduleKeyDeletion", ROOT, [], {}, ALLOW),
        # The user's IAM adds to the key policy.
        ("kms:ScheduleKeyDeletion", KEY_USER, [ADMINISTRATOR_ACCESS], {}, ALLOW),
        # Explicit Deny in IAM beats a key-policy Allow.
        ("kms:Encrypt", KEY_USER, [deny_iam("kms:Encrypt")], {}, EXPLICIT),
        ("kms:Encrypt", KEY_USER, [deny_iam("kms:*", KEY_ARN)], {}, EXPLICIT),
        (
            "kms:ScheduleKeyDeletion",
            ADMIN_USER,
            [ADMINISTRATOR_ACCESS, deny_iam("kms:Schedule*")],
            {},
            EXPLICIT,
        ),
        ("kms:Encrypt", KEY_USER, [deny_iam("kms:Decrypt")], {}, ALLOW),
        # Cross-account.
        ("kms:Encrypt", EXT_USER, [ENCRYPT_ON_KEY], {}, ALLOW),
        (
            "kms:Encrypt",
            EXT_USER,
            [allow_iam("kms:Encrypt", f"arn:aws:kms:*:{ACCT}:key/*")],
            {},
            ALLOW,
        ),
        ("kms:Encrypt", EXT_USER, [], {}, IMPLICIT),
        (
            "kms:Encrypt",
            EXT_USER,
            [allow_iam("kms:Encrypt", f"arn:aws:kms:*:{EXT}:key/*")],
            {},
            IMPLICIT,
        ),
        ("kms:Encrypt", EXT_ROOT, [], {}, ALLOW),
        ("kms:Encrypt", OTHER_USER, [ADMINISTRATOR_ACCESS], {}, IMPLICIT),
        (
            "kms:ScheduleKeyDeletion",
            EXT_USER,
            [ADMINISTRATOR_ACCESS],
            {},
            IMPLICIT,
        ),
        ("kms:ScheduleKeyDeletion", EXT_ROOT, [], {}, IMPLICIT),
        ("kms:CreateGrant", EXT_USER, [ADMINISTRATOR_ACCESS], {}, IMPLICIT),
        (
            "kms:CreateGrant",
            EXT_USER,
            [ADMINISTRATOR_ACCESS],
            {"kms:GrantIsForAWSResource": True},
            ALLOW,
        ),
    ],
)
def test_evaluate_console_policy(
    action: str,
    principal: str,
    iam: list[dict[str, Any]],
    context: dict[str, Any],
    expected: Decision,
) -> None:
    assert decide(action, principal, iam=iam, context=context) is expected


def test_principal_names_compare_case_sensitively() -> None:
    lower = f"arn:aws:iam::{ACCT}:user/kmsuser"
    assert decide("kms:Encrypt", lower) is IMPLICIT


def test_explicit_deny_in_key_policy_beats_everything() -> None:
    policy = example_policy()
    policy["Statement"].append(
        {
            "Sid": "No deletion",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:ScheduleKeyDeletion",
            "Resource": "*",
        }
    )
    for principal in (ADMIN_USER, ROOT, NOBODY):
        assert (
            decide(
                "kms:ScheduleKeyDeletion",
                principal,
                policy=policy,
                iam=[ADMINISTRATOR_ACCESS],
            )
            is EXPLICIT
        )
    assert decide("kms:CancelKeyDeletion", ADMIN_USER, policy=policy) is ALLOW


@pytest.mark.parametrize(
    ("deny_principal", "caller", "expected"),
    [
        ({"AWS": KEY_USER}, KEY_USER, EXPLICIT),
        ({"AWS": KEY_USER}, KEY_ROLE, ALLOW),
        ({"AWS": ROOT}, KEY_USER, EXPLICIT),
        ({"AWS": ACCT}, KEY_ROLE, EXPLICIT),
        ({"AWS": EXT_ROOT}, KEY_USER, ALLOW),
        ({"AWS": EXT_ROOT}, EXT_USER, EXPLICIT),
        ({"AWS": "*"}, KEY_USER, EXPLICIT),
    ],
)
def test_key_policy_deny_principals(deny_principal: dict[str, Any], caller: str, expected: Decision) -> None:
    policy = example_policy()
    policy["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": deny_principal,
            "Action": "kms:Encrypt",
            "Resource": "*",
        }
    )
    assert decide("kms:Encrypt", caller, policy=policy, iam=[ENCRYPT_ON_KEY]) is expected


def test_direct_grant_without_root_statement() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": KEY_USER},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    assert decide("kms:Encrypt", KEY_USER, policy=policy) is ALLOW
    # Without the root statement the account's IAM policies and its root are shut out.
    assert decide("kms:Encrypt", NOBODY, policy=policy, iam=[ADMINISTRATOR_ACCESS]) is IMPLICIT
    assert decide("kms:Encrypt", ROOT, policy=policy) is IMPLICIT


def test_bare_account_id_principal_delegates() -> None:
    policy = minimal(Principal={"AWS": ACCT})
    assert decide("kms:Encrypt", NOBODY, policy=policy, iam=[ENCRYPT_ON_KEY]) is ALLOW
    assert decide("kms:Encrypt", NOBODY, policy=policy) is IMPLICIT


def test_star_principal_cross_account_still_needs_caller_iam() -> None:
    policy = minimal(Principal="*")
    assert decide("kms:Encrypt", NOBODY, policy=policy) is ALLOW
    assert decide("kms:Encrypt", OTHER_USER, policy=policy) is IMPLICIT
    assert decide("kms:Encrypt", OTHER_USER, policy=policy, iam=[ENCRYPT_ON_KEY]) is (ALLOW)


@pytest.mark.parametrize(
    ("principal", "iam", "expected"),
    [
        (NOBODY, [ADMINISTRATOR_ACCESS], ALLOW),
        (NOBODY, [allow_iam("kms:CreateKey")], ALLOW),
        (NOBODY, [allow_iam("kms:Create*")], ALLOW),
        (NOBODY, [allow_iam("kms:List*")], IMPLICIT),
        (NOBODY, [], IMPLICIT),
        # CreateKey's resource is "*", which a key ARN pattern does not cover.
        (NOBODY, [allow_iam("kms:*", f"arn:aws:kms:*:{ACCT}:key/*")], IMPLICIT),
        (NOBODY, [ADMINISTRATOR_ACCESS, deny_iam("kms:CreateKey")], EXPLICIT),
        (ROOT, [], ALLOW),
        (EXT_USER, [ADMINISTRATOR_ACCESS], ALLOW),
    ],
)
def test_evaluate_iam_only_actions(principal: str, iam: list[dict[str, Any]], expected: Decision) -> None:
    decision = decide(
        "kms:CreateKey",
        principal,
        iam=iam,
        resource="*",
        key_account=None,
        use_default_policy=False,
    )
    assert decision is expected


@pytest.mark.parametrize(
    ("iam", "action", "expected"),
    [
        (
            {"Statement": {"Effect": "Allow", "NotAction": "kms:Schedule*", "Resource": "*"}},
            "kms:Encrypt",
            ALLOW,
        ),
        (
            {"Statement": {"Effect": "Allow", "NotAction": "kms:Schedule*", "Resource": "*"}},
            "kms:ScheduleKeyDeletion",
            IMPLICIT,
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Effect": "Deny", "NotAction": "kms:Describe*", "Resource": "*"},
                ]
            },
            "kms:Encrypt",
            EXPLICIT,
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Effect": "Deny", "NotAction": "kms:Describe*", "Resource": "*"},
                ]
            },
            "kms:DescribeKey",
            ALLOW,
        ),
        (allow_iam("kms:?ncrypt"), "kms:Encrypt", ALLOW),
        (allow_iam("kms:?ncrypt"), "kms:Decrypt", IMPLICIT),
        (allow_iam(["kms:Decrypt", "kms:En*"]), "kms:Encrypt", ALLOW),
        (
            {"Statement": {"Effect": "Allow", "Action": "kms:*", "NotResource": KEY_ARN}},
            "kms:Encrypt",
            IMPLICIT,
        ),
        # A statement with no Resource has no effect.
        ({"Statement": {"Effect": "Allow", "Action": "kms:*"}}, "kms:Encrypt", IMPLICIT),
    ],
)
def test_action_and_resource_matching(iam: dict[str, Any], action: str, expected: Decision) -> None:
    assert decide(action, NOBODY, iam=[iam]) is expected


def test_not_action_in_key_policy() -> None:
    policy = minimal(Action=None, NotAction="kms:*KeyDeletion", Principal={"AWS": KEY_USER})
    assert decide("kms:Encrypt", KEY_USER, policy=policy) is ALLOW
    assert decide("kms:ScheduleKeyDeletion", KEY_USER, policy=policy) is IMPLICIT


CONDITION_CASES = [
    # (condition, context, holds)
    ({"StringEquals": {"kms:CallerAccount": ACCT}}, {}, True),
    ({"StringEquals": {"kms:CallerAccount": EXT}}, {}, False),
    ({"StringEquals": {"kms:ViaService": "s3.us-east-2.amazonaws.com"}}, {}, False),
    (
        {"StringEquals": {"kms:ViaService": ["ec2.x", "s3.x"]}},
        {"kms:ViaService": "s3.x"},
        True,
    ),
    ({"StringNotEquals": {"kms:ViaService": "s3.x"}}, {}, True),
    ({"StringNotEquals": {"kms:ViaService": ["a", "b"]}}, {"kms:ViaService": "b"}, False),
    ({"StringNotEquals": {"kms:ViaService": ["a", "b"]}}, {"kms:ViaService": "c"}, True),
    ({"StringEqualsIgnoreCase": {"aws:username": "ALICE"}}, {"aws:username": "alice"}, True),
    ({"StringEquals": {"aws:username": "ALICE"}}, {"aws:username": "alice"}, False),
    ({"StringLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:user/No*"}}, {}, True),
    ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}, {}, False),
    ({"StringLike": {"aws:PrincipalArn": "*:user/Nob?dy"}}, {}, True),
    ({"StringNotLike": {"aws:PrincipalArn": "*:user/No*"}}, {}, False),
    ({"StringNotLike": {"kms:ViaService": "*"}}, {}, True),
    ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, {"kms:GrantIsForAWSResource": True}, True),
    ({"Bool": {"kms:GrantIsForAWSResource": True}}, {"kms:GrantIsForAWSResource": "TRUE"}, True),
    ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, {}, False),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": True}, False),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, True),
    (
        {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.7"]}},
        {"aws:SourceIp": "203.0.113.7"},
        True,
    ),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "192.168.0.1"}, False),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "not-an-ip"}, False),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {}, False),
    ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, {"aws:SourceIp": "2001:db8::1"}, True),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "192.168.0.1"}, True),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.9.9.9"}, False),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {}, True),
    ({"StringEqualsIfExists": {"kms:ViaService": "s3.x"}}, {}, True),
    ({"StringEqualsIfExists": {"kms:ViaService": "s3.x"}}, {"kms:ViaService": "ec2.x"}, False),
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, {}, True),
    ({"ForAnyValue:StringEquals": {"kms:ViaService": "s3.x"}}, {"kms:ViaService": "s3.x"}, True),
    ({"ForAllValues:StringLike": {"kms:ViaService": "s3.*"}}, {"kms:ViaService": "ec2.x"}, False),
    # Condition keys are case-insensitive.
    ({"IpAddress": {"AWS:SOURCEIP": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, True),
    # Every key and every operator must hold.
    (
        {
            "StringEquals": {"kms:CallerAccount": ACCT, "kms:ViaService": "s3.x"},
            "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
        },
        {"kms:ViaService": "s3.x", "aws:SourceIp": "10.0.0.1"},
        True,
    ),
    (
        {
            "StringEquals": {"kms:CallerAccount": ACCT, "kms:ViaService": "s3.x"},
            "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
        },
        {"kms:ViaService": "s3.x", "aws:SourceIp": "11.0.0.1"},
        False,
    ),
    ({"Null": {"kms:ViaService": "true"}}, {}, True),
    ({"Null": {"kms:ViaService": "false"}}, {}, False),
    ({"NumericLessThan": {"kms:Count": 5}}, {"kms:Count": "3"}, True),
    ({"NumericLessThan": {"kms:Count": "5"}}, {"kms:Count": "7"}, False),
    # Unknown or unsupported operators: the statement does not apply.
    ({"StringEqualz": {"kms:CallerAccount": ACCT}}, {}, False),
    ({"DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}, {}, False),
]


@pytest.mark.parametrize(("condition", "context", "holds"), CONDITION_CASES)
def test_conditions_on_allow(condition: dict[str, Any], context: dict[str, Any], holds: bool) -> None:
    iam = allow_iam("kms:Encrypt", Condition=condition)
    assert decide("kms:Encrypt", NOBODY, iam=[iam], context=context) is (ALLOW if holds else IMPLICIT)


@pytest.mark.parametrize(("condition", "context", "holds"), CONDITION_CASES)
def test_conditions_on_deny(condition: dict[str, Any], context: dict[str, Any], holds: bool) -> None:
    iam = deny_iam("kms:Encrypt", Condition=condition)
    assert decide("kms:Encrypt", NOBODY, iam=[ADMINISTRATOR_ACCESS, iam], context=context) is (
        EXPLICIT if holds else ALLOW
    )


def test_conditions_in_key_policy() -> None:
    policy = example_policy()
    policy["Statement"].append(
        {
            "Sid": "Office only",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
        }
    )
    inside = {"aws:SourceIp": "192.0.2.10"}
    outside = {"aws:SourceIp": "198.51.100.1"}
    assert decide("kms:Encrypt", KEY_USER, policy=policy, context=inside) is ALLOW
    assert decide("kms:Encrypt", KEY_USER, policy=policy, context=outside) is EXPLICIT


def test_malformed_documents_do_not_crash_evaluation() -> None:
    junk: list[Any] = [
        {},
        {"Statement": "x"},
        {"Statement": [1, None, {"Effect": 3}]},
        {"Statement": {"Effect": "Allow", "Action": {"a": 1}, "Resource": "*"}},
        {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": 1}},
        {
            "Statement": {
                "Effect": "Allow",
                "Principal": {"AWS": [None, 3]},
                "Action": [None],
                "Resource": [7],
                "Condition": {"StringEquals": {"k": [None, {}]}},
            }
        },
    ]
    for document in junk:
        decision = evaluate(
            AccessRequest("kms:Encrypt", KEY_ARN, NOBODY, ACCT),
            key_policy=document,
            key_account=ACCT,
            iam_policies=[document],
        )
        assert decision is IMPLICIT


# --------------------------------------------------------------------------- lockout


def lockout(policy: dict[str, Any], caller: str, iam: list[dict[str, Any]]) -> bool:
    """would_lock_out for a same-account caller."""
    return would_lock_out(
        policy,
        caller_arn=caller,
        caller_account=caller.split(":")[4],
        key_account=ACCT,
        key_arn=KEY_ARN,
        iam_policies=iam,
    )


@pytest.mark.parametrize(
    ("policy", "caller", "iam", "locked_out"),
    [
        (example_policy(), ADMIN_USER, [], False),
        (example_policy(), NOBODY, [ADMINISTRATOR_ACCESS], False),
        (example_policy(), NOBODY, [], True),
        (example_policy(), KEY_USER, [], True),
        (default_api_key_policy(ACCT), ROOT, [], False),
        (default_api_key_policy(ACCT), NOBODY, [allow_iam("kms:PutKeyPolicy")], False),
        (minimal(Principal={"AWS": KEY_USER}), NOBODY, [ADMINISTRATOR_ACCESS], True),
        (minimal(Principal={"AWS": KEY_USER}), ROOT, [], True),
        (minimal(Principal={"AWS": KEY_USER}), KEY_USER, [], False),
        (
            minimal(Principal={"AWS": NOBODY}, Action=["kms:Encrypt", "kms:Describe*"]),
            NOBODY,
            [],
            True,
        ),
        (example_policy(), ADMIN_USER, [deny_iam("kms:PutKeyPolicy")], True),
    ],
)
def test_would_lock_out(policy: dict[str, Any], caller: str, iam: list[dict[str, Any]], locked_out: bool) -> None:
    assert lockout(policy, caller, iam) is locked_out


def test_lockout_message_text() -> None:
    assert LOCKOUT_MESSAGE == ("The new key policy will not allow you to update the key policy in the future.")


# --------------------------------------------------------------------------- editor


def test_reading_the_views() -> None:
    policy = example_policy()
    assert key_administrators(policy) == [ADMIN_USER, ADMIN_ROLE]
    assert key_users(policy) == [KEY_USER, KEY_ROLE, EXT_ROOT]
    single = example_policy(admin_arns=[ADMIN_ROLE], user_arns=[], external_account_ids=[])
    assert key_administrators(single) == [ADMIN_ROLE]
    assert key_users(single) == []
    assert key_administrators(default_api_key_policy(ACCT)) == []
    assert referenced_principals(policy) == [
        ROOT,
        ADMIN_USER,
        ADMIN_ROLE,
        KEY_USER,
        KEY_ROLE,
        EXT_ROOT,
    ]


@pytest.mark.parametrize("external_origin", [False, True])
@pytest.mark.parametrize("allow_delete", [False, True])
@pytest.mark.parametrize(
    "admins",
    [[], [ADMIN_USER], [ADMIN_ROLE, ADMIN_USER], [ADMIN_USER, NOBODY, ADMIN_ROLE]],
)
def test_with_key_administrators_matches_builder(admins: list[str], allow_delete: bool, external_origin: bool) -> None:
    start = example_policy(allow_admin_delete=allow_delete, external_origin=external_origin)
    frozen = copy.deepcopy(start)
    edited = with_key_administrators(start, admins)
    assert start == frozen
    expected = example_policy(
        admin_arns=admins,
        allow_admin_delete=allow_delete,
        external_origin=external_origin,
    )
    assert edited == expected
    assert key_administrators(edited) == admins


def test_with_key_administrators_creates_statement_in_place() -> None:
    start = example_policy(admin_arns=[])
    edited = with_key_administrators(start, [ADMIN_USER, ADMIN_ROLE])
    assert edited == example_policy()
    external = with_key_administrators(start, [ADMIN_USER, ADMIN_ROLE], external_origin=True)
    assert external == example_policy(external_origin=True)
    only_root = example_policy(admin_arns=[], user_arns=[], external_account_ids=[])
    assert [s["Sid"] for s in with_key_administrators(only_root, [NOBODY])["Statement"]] == [
        "Enable IAM User Permissions",
        "Allow access for Key Administrators",
    ]


def test_with_key_administrators_keeps_custom_actions() -> None:
    start = example_policy()
    statement(start, "Allow access for Key Administrators")["Action"] = ["kms:Describe*"]
    edited = with_key_administrators(start, [NOBODY])
    assert statement(edited, "Allow access for Key Administrators") == {
        "Sid": "Allow access for Key Administrators",
        "Effect": "Allow",
        "Principal": {"AWS": NOBODY},
        "Action": ["kms:Describe*"],
        "Resource": "*",
    }


@pytest.mark.parametrize(
    ("users", "externals"),
    [
        ([], []),
        ([KEY_USER], []),
        ([], [EXT]),
        ([KEY_ROLE, KEY_USER], [EXT, OTHER]),
    ],
)
def test_with_key_users_matches_builder(users: list[str], externals: list[str]) -> None:
    start = example_policy()
    frozen = copy.deepcopy(start)
    arns = users + [f"arn:aws:iam::{a}:root" for a in externals]
    edited = with_key_users(start, arns)
    assert start == frozen
    assert edited == example_policy(user_arns=users, external_account_ids=externals)
    assert key_users(edited) == arns
    # Adding users back to a policy that has none recreates both statements.
    empty = example_policy(user_arns=[], external_account_ids=[])
    assert with_key_users(empty, arns) == edited


def test_with_key_users_accepts_bare_account_ids() -> None:
    edited = with_key_users(example_policy(), [KEY_USER, EXT])
    assert key_users(edited) == [KEY_USER, EXT_ROOT]


@pytest.mark.parametrize("external_origin", [False, True])
def test_with_admins_can_delete_round_trip(external_origin: bool) -> None:
    on = example_policy(external_origin=external_origin)
    off = example_policy(allow_admin_delete=False, external_origin=external_origin)
    frozen = copy.deepcopy(on)
    assert with_admins_can_delete(on, False) == off
    assert on == frozen
    assert with_admins_can_delete(off, True) == on
    assert with_admins_can_delete(on, True) == on
    assert with_admins_can_delete(off, False) == off
    assert admins_can_delete(on) and not admins_can_delete(off)


def test_admins_can_delete_without_admin_statement() -> None:
    policy = example_policy(admin_arns=[])
    assert admins_can_delete(policy)
    assert with_admins_can_delete(policy, False) == policy


def test_admins_can_delete_with_wildcard_actions() -> None:
    policy = example_policy()
    statement(policy, "Allow access for Key Administrators")["Action"] = "kms:*"
    assert admins_can_delete(policy)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (example_policy(), True),
        (example_policy(external_origin=True, allow_admin_delete=False), True),
        (example_policy(admin_arns=[]), True),
        (example_policy(user_arns=[], external_account_ids=[]), True),
        (default_api_key_policy(ACCT), True),
        (minimal(), False),
        ({"Statement": example_policy()["Statement"][0]}, False),
        (
            {
                **example_policy(),
                "Statement": [*example_policy()["Statement"], minimal()["Statement"][0]],
            },
            False,
        ),
        (
            {**example_policy(), "Statement": example_policy()["Statement"][::-1]},
            False,
        ),
        (
            {**example_policy(), "Statement": example_policy()["Statement"][1:]},
            False,
        ),
        ({"Statement": []}, False),
    ],
)
def test_is_console_policy(policy: dict[str, Any], expected: bool) -> None:
    assert is_console_policy(policy) is expected


def test_is_console_policy_rejects_service_principal_in_console_sid() -> None:
    policy = example_policy()
    statement(policy, "Allow use of the key")["Principal"] = {"Service": "cloudtrail.amazonaws.com"}
    assert not is_console_policy(policy)


# --------------------------------------------------------------------------- hypothesis

ALLOWED_ALPHABET = st.characters(codec="latin-1", exclude_categories=["Cc"], include_characters="\t\n\r")
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(ALLOWED_ALPHABET, max_size=20)
POLICY_WORDS = st.sampled_from(
    [
        "Version",
        "Id",
        "Statement",
        "Sid",
        "Effect",
        "Allow",
        "Deny",
        "Principal",
        "AWS",
        "Service",
        "Action",
        "NotAction",
        "Resource",
        "Condition",
        "StringEquals",
        "Bool",
        "IpAddress",
        "NotIpAddress",
        "Null",
        "kms:*",
        "*",
        "2012-10-17",
        ROOT,
        KEY_USER,
        ACCT,
        "aws:SourceIp",
        "10.0.0.0/8",
        "kms:Encrypt",
        "kms:GrantIsForAWSResource",
    ]
)
JSON_VALUES = st.recursive(
    JSON_SCALARS | POLICY_WORDS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(POLICY_WORDS | st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)


def statement_strategy() -> st.SearchStrategy[dict[str, Any]]:
    """Statements that are often valid, so evaluation gets exercised."""
    words = st.sampled_from(["*", "kms:*", "kms:Encrypt", "kms:Create*", "kms:?ecrypt"])
    principals = st.sampled_from(["*", {"AWS": ROOT}, {"AWS": [KEY_USER, EXT_ROOT]}, {"AWS": ACCT}, {"AWS": "*"}])
    conditions = st.dictionaries(
        st.sampled_from(["StringEquals", "StringNotLike", "Bool", "IpAddress", "NotIpAddressIfExists"]),
        st.dictionaries(
            st.sampled_from(["aws:SourceIp", "kms:CallerAccount", "kms:ViaService"]),
            st.sampled_from(["10.0.0.0/8", ACCT, "true", True, ["a", "b*"]]),
            min_size=1,
            max_size=2,
        ),
        min_size=1,
        max_size=2,
    )
    return st.fixed_dictionaries(
        {
            "Effect": st.sampled_from(["Allow", "Deny"]),
            "Principal": principals,
            "Action": words | st.lists(words, min_size=1, max_size=3),
            "Resource": st.sampled_from(["*", KEY_ARN, f"arn:aws:kms:*:{ACCT}:key/*"]),
        },
        optional={"Condition": conditions},
    )


@given(st.text())
def test_random_text_only_raises_malformed_policy(text: str) -> None:
    with contextlib.suppress(MalformedPolicy):
        parse_key_policy(text)


@given(st.text(ALLOWED_ALPHABET))
def test_random_allowed_text_only_raises_malformed_policy(text: str) -> None:
    with contextlib.suppress(MalformedPolicy):
        parse_key_policy(text)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES)
def test_random_json_only_raises_malformed_policy(value: Any) -> None:
    for text in (json.dumps(value), json.dumps({"Statement": value})):
        with contextlib.suppress(MalformedPolicy):
            parse_key_policy(text)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(statement_strategy(), min_size=1, max_size=4),
    st.sampled_from([ROOT, KEY_USER, NOBODY, EXT_USER, OTHER_USER]),
    st.sampled_from(["kms:Encrypt", "kms:CreateAlias", "kms:PutKeyPolicy"]),
    st.dictionaries(
        st.sampled_from(["aws:SourceIp", "kms:ViaService"]),
        st.sampled_from(["10.1.1.1", "bogus", "a", True]),
    ),
)
def test_valid_policies_render_and_evaluate(
    statements: list[dict[str, Any]],
    caller: str,
    action: str,
    context: dict[str, Any],
) -> None:
    document = {"Version": "2012-10-17", "Statement": statements}
    parsed = parse_key_policy(json.dumps(document))
    assert parse_key_policy(render_policy(parsed)) == parsed
    assert parse_key_policy(render_aws_style(parsed)) == parsed
    request = AccessRequest(action, KEY_ARN, caller, caller.split(":")[4], context)
    for iam in ([], [parsed]):
        decision = evaluate(request, key_policy=parsed, key_account=ACCT, iam_policies=iam)
        assert isinstance(decision, Decision)


def test_pathological_wildcards_stay_fast() -> None:
    pattern = "*a" * 2000 + "c"
    iam = allow_iam(pattern, Condition={"StringLike": {"kms:ViaService": pattern}})
    context = {"kms:ViaService": "a" * 5000}
    assert decide("kms:" + "a" * 3000, NOBODY, iam=[iam], context=context) is IMPLICIT
