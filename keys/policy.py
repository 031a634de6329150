"""Key policies: the console builder, validation, editor helpers and evaluation."""

from __future__ import annotations

import copy
import enum
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ADMIN_ACTIONS",
    "CONSOLE_POLICY_ID",
    "DEFAULT_POLICY_ID",
    "DELETE_ACTIONS",
    "GRANT_ACTIONS",
    "IMPORT_ACTION",
    "LOCKOUT_MESSAGE",
    "MAX_POLICY_BYTES",
    "SID_ADMINS",
    "SID_GRANTS",
    "SID_ROOT",
    "SID_USE",
    "USER_ACTIONS",
    "AccessRequest",
    "Decision",
    "MalformedPolicy",
    "PolicyTooLarge",
    "account_root_arn",
    "admins_can_delete",
    "build_console_key_policy",
    "default_api_key_policy",
    "evaluate",
    "is_console_policy",
    "key_administrators",
    "key_users",
    "parse_key_policy",
    "referenced_principals",
    "render_aws_style",
    "render_policy",
    "with_admins_can_delete",
    "with_key_administrators",
    "with_key_users",
    "would_lock_out",
]

MAX_POLICY_BYTES = 32768

DELETE_ACTIONS: list[str] = ["kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"]
IMPORT_ACTION = "kms:ImportKeyMaterial"

ADMIN_ACTIONS: list[str] = [
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
    *DELETE_ACTIONS,
]
USER_ACTIONS: list[str] = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
]
GRANT_ACTIONS: list[str] = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]

POLICY_VERSION = "2012-10-17"
CONSOLE_POLICY_ID = "key-consolepolicy-2"
DEFAULT_POLICY_ID = "key-default-1"

SID_ROOT = "Enable IAM User Permissions"
# DG-2023 renamed the root statement; keep recognising it so pasted policies get the views.
SID_ROOT_2021 = "Enable IAM policies"
SID_ADMINS = "Allow access for Key Administrators"
SID_USE = "Allow use of the key"
SID_GRANTS = "Allow attachment of persistent resources"
_CONSOLE_ORDER = (SID_ROOT, SID_ADMINS, SID_USE, SID_GRANTS)

GRANT_CONDITION: dict[str, Any] = {"Bool": {"kms:GrantIsForAWSResource": "true"}}

# Messages, in AWS's words where AWS's words are known.
LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."
MSG_INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."
MSG_TOO_LARGE = "The key policy exceeds the maximum size of 32 kilobytes (32768 bytes)."
MSG_EMPTY = "Policy must not be empty"
MSG_BAD_CHARS = "Policy contains characters outside tab, line feed, carriage return and \\u0020-\\u00FF"
MSG_INVALID_JSON = "Policy is not valid JSON"
MSG_NOT_OBJECT = "Policy must be a JSON object"
MSG_DUPLICATE_KEY = "Policy contains a duplicate element"
MSG_VERSION = "Policy contains an invalid Version; use 2012-10-17 or 2008-10-17"
MSG_ID = "Policy Id must be a string"
MSG_NO_STATEMENT = "Policy is missing Statement"
MSG_BAD_STATEMENT = "Policy contains an invalid Statement"
MSG_DUPLICATE_SID = "Statement IDs (SID) in a single policy must be unique"
MSG_SID = "Statement Sid must be a string"
MSG_NO_EFFECT = "Statement is missing Effect"
MSG_EFFECT = "Statement contains an invalid Effect; use Allow or Deny"
MSG_NO_PRINCIPAL = "Statement is missing Principal"
MSG_NO_ACTION = "Statement is missing Action"
MSG_BOTH_ACTIONS = "Statement contains both Action and NotAction"
MSG_ACTION = "Policy contains invalid action"
MSG_NO_RESOURCE = "Statement is missing Resource"
MSG_RESOURCE = "Policy contains invalid resource"
MSG_CONDITION = "Policy contains an invalid Condition"
MSG_CONDITION_OPERATOR = "Policy contains an invalid Condition operator"


class MalformedPolicy(Exception):
    """The policy text is not syntactically or semantically correct."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PolicyTooLarge(MalformedPolicy):
    """The policy text is over the 32 KB key-policy quota."""


def account_root_arn(account_id: str) -> str:
    """Return the account's root principal ARN."""
    return f"arn:aws:iam::{account_id}:root"


# --------------------------------------------------------------------------- builder


def _principal_value(arns: list[str]) -> str | list[str]:
    """One principal as a string, several as a list, as the console writes them."""
    return arns[0] if len(arns) == 1 else list(arns)


def _unique(items: Sequence[str]) -> list[str]:
    """Drop repeats, keeping the first occurrence's position."""
    return list(dict.fromkeys(items))


def _external_root(account: str) -> str:
    """Turn an external account id (or its root ARN) into its root ARN."""
    if _ACCOUNT_ID.fullmatch(account):
        return account_root_arn(account)
    if _ROOT_ARN.fullmatch(account):
        return account
    raise ValueError(f"not a 12-digit AWS account id: {account!r}")


def _root_statement(account_id: str, sid: str = SID_ROOT) -> dict[str, Any]:
    """The statement that delegates the key to the account's IAM policies."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": account_root_arn(account_id)},
        "Action": "kms:*",
        "Resource": "*",
    }


def _admin_actions(*, allow_delete: bool, external_origin: bool) -> list[str]:
    """The administrators' Action list for the wizard's choices."""
    actions = [a for a in ADMIN_ACTIONS if allow_delete or a not in DELETE_ACTIONS]
    if external_origin:
        actions.append(IMPORT_ACTION)
    return actions


def _statement(sid: str, arns: list[str], actions: list[str], condition: dict | None = None) -> dict[str, Any]:
    """One console statement: Sid, Allow, the principals (a string when one), the actions, Resource "*"."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": _principal_value(arns)},
        "Action": actions,
        "Resource": "*",
    }
    if condition is not None:
        statement["Condition"] = copy.deepcopy(condition)
    return statement


def _admin_statement(arns: list[str], actions: list[str]) -> dict[str, Any]:
    """The "Allow access for Key Administrators" statement."""
    return _statement(SID_ADMINS, arns, actions)


def _use_statement(arns: list[str]) -> dict[str, Any]:
    """The "Allow use of the key" statement."""
    return _statement(SID_USE, arns, list(USER_ACTIONS))


def _grants_statement(arns: list[str]) -> dict[str, Any]:
    """The "Allow attachment of persistent resources" statement."""
    return _statement(SID_GRANTS, arns, list(GRANT_ACTIONS), GRANT_CONDITION)


def build_console_key_policy(
    *,
    account_id: str,
    admin_arns: list[str],
    user_arns: list[str],
    external_account_ids: list[str],
    allow_admin_delete: bool = True,
    external_origin: bool = False,
) -> dict[str, Any]:
    """Build the policy the old console's Create key wizard generates (spec 2.2)."""
    admins = _unique(admin_arns)
    users = _unique([*user_arns, *(_external_root(a) for a in external_account_ids)])
    statements = [_root_statement(account_id)]
    if admins:
        actions = _admin_actions(allow_delete=allow_admin_delete, external_origin=external_origin)
        statements.append(_admin_statement(admins, actions))
    if users:
        statements.append(_use_statement(users))
        statements.append(_grants_statement(users))
    return {"Version": POLICY_VERSION, "Id": CONSOLE_POLICY_ID, "Statement": statements}


def default_api_key_policy(account_id: str) -> dict[str, Any]:
    """The policy CreateKey attaches when the request has no Policy."""
    return {
        "Version": POLICY_VERSION,
        "Id": DEFAULT_POLICY_ID,
        "Statement": [_root_statement(account_id)],
    }


# --------------------------------------------------------------------------- rendering

_WIDE_CHAR = re.compile(r"[^\x00-\xff]")


def _escape_wide(match: re.Match[str]) -> str:
    """JSON-escape one character above U+00FF (surrogate pair when astral)."""
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _latin1_json(text: str) -> str:
    """Escape what PolicyType forbids, so rendered text always parses back."""
    # json.dumps(ensure_ascii=False) leaves such characters only inside string
    # literals, where a \u escape means the same thing.
    return _WIDE_CHAR.sub(_escape_wide, text)


def render_policy(policy: dict[str, Any]) -> str:
    """Render a policy as the stored and displayed text (2-space JSON)."""
    return _latin1_json(json.dumps(policy, indent=2, ensure_ascii=False))


def _jackson(value: Any, level: int) -> str:
    """Mimic Jackson's DefaultPrettyPrinter, which GetKeyPolicy output shows."""
    if isinstance(value, dict):
        if not value:
            return "{ }"
        pad = "  " * (level + 1)
        entries = [f"{pad}{_jackson(str(k), level + 1)} : {_jackson(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(entries) + "\n" + "  " * level + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[ ]"
        # Jackson indents arrays inline: they do not add a nesting level.
        return "[ " + ", ".join(_jackson(v, level) for v in value) + " ]"
    return _latin1_json(json.dumps(value, ensure_ascii=False))


def render_aws_style(policy: dict[str, Any]) -> str:
    """Render a policy the way AWS's GetKeyPolicy pretty-prints it ("Key" : value)."""
    return _jackson(policy, 0)


# --------------------------------------------------------------------------- parsing

_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_ROOT_ARN = re.compile(r"arn:aws:iam::[0-9]{12}:root")
_AWS_PRINCIPAL = re.compile(
    r"arn:aws:iam::[0-9]{12}:(?:root|(?:user|role)(?:/[!-~]+)?/[\w+=,.@-]{1,64})",
    re.ASCII,
)
_SERVICE_PRINCIPAL = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?")
_ACTION = re.compile(r"kms:[A-Za-z0-9*?]+", re.IGNORECASE)
_RESOURCE = re.compile(r"arn:\S+")
_FORBIDDEN_CHAR = re.compile(r"[^\t\n\r\x20-\xff]")

_TOP_LEVEL_ELEMENTS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset({"Sid", "Effect", "Principal", "Action", "NotAction", "Resource", "Condition"})
_VERSIONS = frozenset({"2012-10-17", "2008-10-17"})

_CONDITION_OPERATORS = frozenset(
    op.lower()
    for op in (
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Null",
    )
)
_SET_PREFIXES = ("foranyvalue:", "forallvalues:")


class _DuplicateKey(Exception):
    """A JSON object repeats a key (json would silently keep the last one)."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """object_pairs_hook that refuses repeated keys, as IAM does."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    """Refuse NaN and Infinity, which are not JSON."""
    raise ValueError(name)


def _shorten(text: str, limit: int = 80) -> str:
    """Quote a piece of user text for an error message, bounded in length."""
    return json.dumps(text if len(text) <= limit else text[:limit] + "...")


def _string_list(value: Any) -> list[str] | None:
    """A string or non-empty list of strings as a list; None for anything else."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def _split_condition_operator(operator: str) -> tuple[str, bool]:
    """Return (base operator lower-cased, IfExists?) with any set prefix removed."""
    op = operator.lower()
    for prefix in _SET_PREFIXES:
        if op.startswith(prefix):
            op = op[len(prefix) :]
            break
    if_exists = op.endswith("ifexists") and op != "ifexists"
    if if_exists:
        op = op[: -len("ifexists")]
    return op, if_exists


def _check_principal(principal: Any) -> None:
    """Validate a Principal element."""
    if principal == "*":
        return
    if not isinstance(principal, dict) or not principal:
        raise MalformedPolicy(MSG_INVALID_PRINCIPALS)
    for kind, value in principal.items():
        values = _string_list(value)
        if values is None:
            raise MalformedPolicy(MSG_INVALID_PRINCIPALS)
        if kind == "AWS":
            ok = all(v == "*" or _ACCOUNT_ID.fullmatch(v) or _AWS_PRINCIPAL.fullmatch(v) for v in values)
        elif kind == "Service":
            ok = all(_SERVICE_PRINCIPAL.fullmatch(v) for v in values)
        else:
            ok = False
        if not ok:
            raise MalformedPolicy(MSG_INVALID_PRINCIPALS)


def _check_actions(value: Any) -> None:
    """Validate an Action or NotAction element."""
    values = _string_list(value)
    if values is None or not all(v == "*" or _ACTION.fullmatch(v) for v in values):
        raise MalformedPolicy(MSG_ACTION)


def _check_resources(value: Any) -> None:
    """Validate a Resource element."""
    values = _string_list(value)
    if values is None or not all(v == "*" or _RESOURCE.fullmatch(v) for v in values):
        raise MalformedPolicy(MSG_RESOURCE)


def _is_condition_scalar(value: Any) -> bool:
    """True for the JSON scalars a condition value may hold."""
    return isinstance(value, (str, bool, int, float))


def _check_condition(condition: Any) -> None:
    """Validate a Condition element: operator -> {key: value(s)}."""
    if not isinstance(condition, dict):
        raise MalformedPolicy(MSG_CONDITION)
    for operator, block in condition.items():
        base, if_exists = _split_condition_operator(operator)
        if base not in _CONDITION_OPERATORS or (if_exists and base == "null"):
            raise MalformedPolicy(f"{MSG_CONDITION_OPERATOR}: {_shorten(operator)}")
        if not isinstance(block, dict) or not block:
            raise MalformedPolicy(MSG_CONDITION)
        for key, value in block.items():
            if not key:
                raise MalformedPolicy(MSG_CONDITION)
            if isinstance(value, list):
                if not value or not all(_is_condition_scalar(v) for v in value):
                    raise MalformedPolicy(MSG_CONDITION)
            elif not _is_condition_scalar(value):
                raise MalformedPolicy(MSG_CONDITION)


def _check_statement(statement: Any) -> None:
    """Validate one statement."""
    if not isinstance(statement, dict):
        raise MalformedPolicy(MSG_BAD_STATEMENT)
    for element in statement:
        if element not in _STATEMENT_ELEMENTS:
            raise MalformedPolicy(f"Statement contains an unsupported element: {_shorten(element)}")
    if "Sid" in statement and not isinstance(statement["Sid"], str):
        raise MalformedPolicy(MSG_SID)
    if "Effect" not in statement:
        raise MalformedPolicy(MSG_NO_EFFECT)
    if statement["Effect"] not in ("Allow", "Deny"):
        raise MalformedPolicy(MSG_EFFECT)
    if "Principal" not in statement:
        raise MalformedPolicy(MSG_NO_PRINCIPAL)
    _check_principal(statement["Principal"])
    has_action, has_not_action = "Action" in statement, "NotAction" in statement
    if has_action and has_not_action:
        raise MalformedPolicy(MSG_BOTH_ACTIONS)
    if not (has_action or has_not_action):
        raise MalformedPolicy(MSG_NO_ACTION)
    _check_actions(statement["Action" if has_action else "NotAction"])
    if "Resource" not in statement:
        raise MalformedPolicy(MSG_NO_RESOURCE)
    _check_resources(statement["Resource"])
    if "Condition" in statement:
        _check_condition(statement["Condition"])


def _check_document(document: Any) -> None:
    """Validate a decoded key policy document."""
    if not isinstance(document, dict):
        raise MalformedPolicy(MSG_NOT_OBJECT)
    for element in document:
        if element not in _TOP_LEVEL_ELEMENTS:
            raise MalformedPolicy(f"Policy contains an unsupported element: {_shorten(element)}")
    version = document.get("Version", POLICY_VERSION)
    if not isinstance(version, str) or version not in _VERSIONS:
        raise MalformedPolicy(MSG_VERSION)
    if "Id" in document and not isinstance(document["Id"], str):
        raise MalformedPolicy(MSG_ID)
    if "Statement" not in document:
        raise MalformedPolicy(MSG_NO_STATEMENT)
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise MalformedPolicy(MSG_BAD_STATEMENT)
    sids: set[str] = set()
    for statement in statements:
        _check_statement(statement)
        sid = statement.get("Sid")
        if sid is not None:
            if sid in sids:
                raise MalformedPolicy(MSG_DUPLICATE_SID)
            sids.add(sid)


def parse_key_policy(text: str) -> dict[str, Any]:
    """Validate key policy text and return the decoded document."""
    if not isinstance(text, str):
        raise MalformedPolicy(MSG_INVALID_JSON)
    # Every character is at least one byte, so a long text is too large unencoded.
    if len(text) > MAX_POLICY_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        raise PolicyTooLarge(MSG_TOO_LARGE)
    if _FORBIDDEN_CHAR.search(text):
        raise MalformedPolicy(MSG_BAD_CHARS)
    if not text.strip():
        raise MalformedPolicy(MSG_EMPTY)
    try:
        document = json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
        )
    except _DuplicateKey as exc:
        raise MalformedPolicy(f"{MSG_DUPLICATE_KEY}: {_shorten(str(exc))}") from None
    except (ValueError, RecursionError):
        # RecursionError: deeply nested arrays; ValueError covers huge integers too.
        raise MalformedPolicy(MSG_INVALID_JSON) from None
    _check_document(document)
    return document


# --------------------------------------------------------------------------- access


@dataclass(frozen=True)
class AccessRequest:
    """One KMS call to authorise."""

    action: str
    resource: str
    principal_arn: str
    principal_account: str
    context: Mapping[str, str | bool] = field(default_factory=dict)


class Decision(enum.Enum):
    """The outcome of evaluating a request."""

    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


def _wildcard_match(pattern: str, value: str) -> bool:
    """IAM wildcard match (* any run, ? one character) in O(len * len) time."""
    # Not a regex: a policy may hold "*a*a*a...", which backtracks exponentially.
    p = v = 0
    star, resume = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] in ("?", value[v]):
            p, v = p + 1, v + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, resume = p, v
            p += 1
        elif star >= 0:
            resume += 1
            p, v = star + 1, resume
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _glob_match(pattern: Any, value: str, *, ignore_case: bool) -> bool:
    """True when value matches the IAM wildcard pattern."""
    if not isinstance(pattern, str):
        return False
    if ignore_case:
        return _wildcard_match(pattern.lower(), value.lower())
    return _wildcard_match(pattern, value)


def _as_list(value: Any) -> list[Any]:
    """A policy element that may be a scalar or a list, as a list."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _statements(policy: Any) -> list[dict[str, Any]]:
    """The policy's statements, skipping anything that is not an object."""
    if not isinstance(policy, dict):
        return []
    return [s for s in _as_list(policy.get("Statement")) if isinstance(s, dict)]


def _action_covered(statement: dict[str, Any], action: str) -> bool:
    """True when the statement's Action/NotAction covers the action."""
    if "Action" in statement:
        patterns = _as_list(statement["Action"])
        return any(_glob_match(p, action, ignore_case=True) for p in patterns)
    if "NotAction" in statement:
        patterns = _as_list(statement["NotAction"])
        return not any(_glob_match(p, action, ignore_case=True) for p in patterns)
    return False


def _resource_covered(statement: dict[str, Any], resource: str) -> bool:
    """True when the statement's Resource/NotResource covers the resource."""
    # A statement without Resource has no effect in AWS.
    if "Resource" in statement:
        patterns = _as_list(statement["Resource"])
        return any(_glob_match(p, resource, ignore_case=False) for p in patterns)
    if "NotResource" in statement:
        patterns = _as_list(statement["NotResource"])
        return not any(_glob_match(p, resource, ignore_case=False) for p in patterns)
    return False


def _text(value: Any) -> str | None:
    """A condition or context value as IAM compares it; None when unusable."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _texts(value: Any) -> list[str]:
    """All usable values of a condition or context entry."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return [t for t in (_text(v) for v in items) if t is not None]


def _ip_in(address: str, network: str) -> bool:
    """True when address lies in the CIDR (or single address) network."""
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _number(text: str) -> float | None:
    """Parse a Numeric condition operand."""
    try:
        return float(text)
    except ValueError:
        return None


_NUMERIC = {
    "numericequals": lambda a, b: a == b,
    "numericlessthan": lambda a, b: a < b,
    "numericlessthanequals": lambda a, b: a <= b,
    "numericgreaterthan": lambda a, b: a > b,
    "numericgreaterthanequals": lambda a, b: a >= b,
}


def _pair_matches(base: str, actual: str, expected: str) -> bool | None:
    """Compare one context value with one policy value for a positive operator."""
    if base == "stringequals":
        return actual == expected
    if base == "stringequalsignorecase":
        return actual.casefold() == expected.casefold()
    if base in ("stringlike", "arnlike", "arnequals"):
        return _glob_match(expected, actual, ignore_case=False)
    if base == "bool":
        return actual.lower() == expected.lower()
    if base == "ipaddress":
        return _ip_in(actual, expected)
    if base in _NUMERIC:
        a, b = _number(actual), _number(expected)
        return a is not None and b is not None and _NUMERIC[base](a, b)
    return None


_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
    "notipaddress": "ipaddress",
    "numericnotequals": "numericequals",
}
_POSITIVE = frozenset(
    {
        "stringequals",
        "stringequalsignorecase",
        "stringlike",
        "arnequals",
        "arnlike",
        "bool",
        "ipaddress",
        *_NUMERIC,
    }
)


def _condition_entry_holds(operator: str, expected: Any, context: Mapping[str, Any], key: str) -> bool | None:
    """Evaluate one operator/key pair; None when the operator is not supported."""
    base, if_exists = _split_condition_operator(operator)
    present = key.lower() in context
    values = _texts(expected)
    if base == "null":
        # Null "true" asks for the key to be absent.
        return any((v.lower() == "true") != present for v in values)
    negated = base in _NEGATED
    positive = _NEGATED.get(base, base)
    if positive not in _POSITIVE:
        return None
    if not present:
        return if_exists or negated
    actuals = _texts(context[key.lower()])
    hit = any(_pair_matches(positive, a, v) for a in actuals for v in values)
    return not hit if negated else hit


def _conditions_hold(statement: dict[str, Any], context: Mapping[str, Any]) -> bool:
    """True when every condition of the statement holds (unknown operator: False)."""
    condition = statement.get("Condition")
    if condition is None:
        return True
    if not isinstance(condition, dict):
        return False
    for operator, block in condition.items():
        if not isinstance(operator, str) or not isinstance(block, dict):
            return False
        for key, expected in block.items():
            if not isinstance(key, str):
                return False
            if not _condition_entry_holds(operator, expected, context, key):
                return False
    return True


def _request_context(request: AccessRequest) -> dict[str, Any]:
    """Condition keys, lower-cased, with the keys AWS always sets filled in."""
    context: dict[str, Any] = {
        "aws:principalarn": request.principal_arn,
        "aws:principalaccount": request.principal_account,
        "kms:calleraccount": request.principal_account,
    }
    for key, value in request.context.items():
        context[str(key).lower()] = value
    return context


def _applies(statement: dict[str, Any], request: AccessRequest, context: Mapping[str, Any]) -> bool:
    """True when the statement's action, resource and conditions cover the request."""
    return (
        _action_covered(statement, request.action)
        and _resource_covered(statement, request.resource)
        and _conditions_hold(statement, context)
    )


class _Match(enum.Enum):
    """How a key-policy Principal names the caller."""

    NONE = 0
    DIRECT = 1
    ACCOUNT = 2


def _principal_match(statement: dict[str, Any], request: AccessRequest) -> _Match:
    """Whether the statement names the caller itself, its account, or neither."""
    principal = statement.get("Principal")
    if principal == "*":
        return _Match.DIRECT
    if not isinstance(principal, dict):
        return _Match.NONE
    root = account_root_arn(request.principal_account)
    best = _Match.NONE
    for value in _as_list(principal.get("AWS")):
        if value == root or value == request.principal_account:
            best = _Match.ACCOUNT
        elif value == "*" or value == request.principal_arn:
            return _Match.DIRECT
    return best


def _effect(statement: dict[str, Any]) -> str | None:
    """The statement's Effect."""
    effect = statement.get("Effect")
    return effect if isinstance(effect, str) else None


def evaluate(
    request: AccessRequest,
    *,
    key_policy: dict[str, Any] | None,
    key_account: str | None,
    iam_policies: Sequence[dict[str, Any]],
) -> Decision:
    """Decide a KMS request from the key policy and the caller's IAM policies."""
    context = _request_context(request)
    key_statements = _statements(key_policy) if key_policy is not None else []
    # Identity policies have no Principal: every statement is about the caller.
    iam_statements = [s for p in iam_policies for s in _statements(p)]

    for statement in key_statements:
        if (
            _effect(statement) == "Deny"
            and _principal_match(statement, request) is not _Match.NONE
            and _applies(statement, request, context)
        ):
            return Decision.EXPLICIT_DENY
    iam_allows = False
    for statement in iam_statements:
        if not _applies(statement, request, context):
            continue
        if _effect(statement) == "Deny":
            return Decision.EXPLICIT_DENY
        if _effect(statement) == "Allow":
            iam_allows = True

    is_root = request.principal_arn == account_root_arn(request.principal_account)
    identity_allows = is_root or iam_allows
    if key_policy is None:
        return Decision.ALLOW if identity_allows else Decision.IMPLICIT_DENY

    direct = delegated = False
    for statement in key_statements:
        if _effect(statement) != "Allow" or not _applies(statement, request, context):
            continue
        match = _principal_match(statement, request)
        direct = direct or match is _Match.DIRECT
        delegated = delegated or match is _Match.ACCOUNT

    owner = key_account if key_account is not None else request.principal_account
    if owner == request.principal_account:
        allowed = direct or (delegated and identity_allows)
    else:
        # Cross-account: the key's owner and the caller's account must both agree.
        allowed = (direct or delegated) and identity_allows
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def would_lock_out(
    policy: dict[str, Any],
    *,
    caller_arn: str,
    caller_account: str,
    key_account: str,
    key_arn: str,
    iam_policies: Sequence[dict[str, Any]],
    context: Mapping[str, str | bool] | None = None,
) -> bool:
    """True when the new policy would not let the caller call PutKeyPolicy again."""
    request = AccessRequest(
        action="kms:PutKeyPolicy",
        resource=key_arn,
        principal_arn=caller_arn,
        principal_account=caller_account,
        context=dict(context or {}),
    )
    decision = evaluate(request, key_policy=policy, key_account=key_account, iam_policies=iam_policies)
    return decision is not Decision.ALLOW


def referenced_principals(policy: dict[str, Any]) -> list[str]:
    """Every AWS principal the policy names (for checking that they exist)."""
    found: list[str] = []
    for statement in _statements(policy):
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            found.extend(p for p in _as_list(principal.get("AWS")) if p != "*")
    return [p for p in _unique(found) if isinstance(p, str)]


# --------------------------------------------------------------------------- editor


def _find(policy: dict[str, Any], sid: str) -> dict[str, Any] | None:
    """The statement with this Sid, or None."""
    for statement in _statements(policy):
        if statement.get("Sid") == sid:
            return statement
    return None


def _aws_principals(statement: dict[str, Any] | None) -> list[str]:
    """The statement's Principal.AWS values as a list."""
    if statement is None:
        return []
    principal = statement.get("Principal")
    if not isinstance(principal, dict):
        return []
    return [p for p in _as_list(principal.get("AWS")) if isinstance(p, str)]


def key_administrators(policy: dict[str, Any]) -> list[str]:
    """Principals of the "Allow access for Key Administrators" statement."""
    return _aws_principals(_find(policy, SID_ADMINS))


def key_users(policy: dict[str, Any]) -> list[str]:
    """Principals of the "Allow use of the key" statement (external roots too)."""
    return _aws_principals(_find(policy, SID_USE))


def _covers(statement: dict[str, Any], actions: Sequence[str]) -> bool:
    """True when the statement's Action list covers every one of the actions."""
    patterns = _as_list(statement.get("Action"))
    return all(any(_glob_match(p, action, ignore_case=True) for p in patterns) for action in actions)


def admins_can_delete(policy: dict[str, Any]) -> bool:
    """Whether key administrators may schedule and cancel key deletion."""
    statement = _find(policy, SID_ADMINS)
    # No administrators statement: report the box's default, which is what
    # with_key_administrators would create.
    return True if statement is None else _covers(statement, DELETE_ACTIONS)


def _statement_list(policy: dict[str, Any]) -> list[Any]:
    """The (copied) policy's Statement as a list, for editing in place."""
    statements = _as_list(policy.get("Statement"))
    policy["Statement"] = statements
    return statements


def _set_statement(policy: dict[str, Any], sid: str, statement: dict[str, Any] | None) -> None:
    """Replace, insert (in console order) or remove the statement with this Sid."""
    statements = _statement_list(policy)
    for index, existing in enumerate(statements):
        if isinstance(existing, dict) and existing.get("Sid") == sid:
            if statement is None:
                del statements[index]
            else:
                statements[index] = statement
            return
    if statement is None:
        return
    later = _CONSOLE_ORDER[_CONSOLE_ORDER.index(sid) + 1 :]
    for index, existing in enumerate(statements):
        if isinstance(existing, dict) and existing.get("Sid") in later:
            statements.insert(index, statement)
            return
    statements.append(statement)


def _with_principals(statement: dict[str, Any], arns: list[str]) -> dict[str, Any]:
    """A copy of the statement naming exactly these AWS principals."""
    updated = copy.deepcopy(statement)
    principal = updated.get("Principal")
    principal = dict(principal) if isinstance(principal, dict) else {}
    principal["AWS"] = _principal_value(arns)
    updated["Principal"] = principal
    return updated


def _mentions_import(policy: dict[str, Any]) -> bool:
    """True when some statement of the policy names kms:ImportKeyMaterial."""
    return any(
        isinstance(a, str) and a.lower() == IMPORT_ACTION.lower()
        for s in _statements(policy)
        for a in _as_list(s.get("Action"))
    )


def with_key_administrators(
    policy: dict[str, Any], arns: list[str], *, external_origin: bool | None = None
) -> dict[str, Any]:
    """Return a copy whose administrators statement names exactly these principals."""
    result = copy.deepcopy(policy)
    admins = _unique(arns)
    existing = _find(result, SID_ADMINS)
    if not admins:
        _set_statement(result, SID_ADMINS, None)
    elif existing is not None:
        _set_statement(result, SID_ADMINS, _with_principals(existing, admins))
    else:
        if external_origin is None:
            external_origin = _mentions_import(policy)
        actions = _admin_actions(allow_delete=True, external_origin=external_origin)
        _set_statement(result, SID_ADMINS, _admin_statement(admins, actions))
    return result


def with_key_users(policy: dict[str, Any], arns: list[str]) -> dict[str, Any]:
    """Return a copy whose use and grants statements name exactly these principals."""
    result = copy.deepcopy(policy)
    users = _unique([account_root_arn(a) if _ACCOUNT_ID.fullmatch(a) else a for a in arns])
    for sid, make in ((SID_USE, _use_statement), (SID_GRANTS, _grants_statement)):
        existing = _find(result, sid)
        if not users:
            _set_statement(result, sid, None)
        elif existing is not None:
            _set_statement(result, sid, _with_principals(existing, users))
        else:
            _set_statement(result, sid, make(users))
    return result


def with_admins_can_delete(policy: dict[str, Any], allowed: bool) -> dict[str, Any]:
    """Return a copy with the delete permissions added to or removed from admins."""
    result = copy.deepcopy(policy)
    statement = _find(result, SID_ADMINS)
    if statement is None:
        return result
    raw = statement.get("Action")
    actions = [a for a in _as_list(raw) if isinstance(a, str)]
    lower_actions = [a.lower() for a in actions]
    if allowed:
        missing = [a for a in DELETE_ACTIONS if a.lower() not in lower_actions]
        if not missing:
            return result
        # Put them back where the console writes them: after UntagResource,
        # before ImportKeyMaterial.
        if "kms:untagresource" in lower_actions:
            at = lower_actions.index("kms:untagresource") + 1
        elif IMPORT_ACTION.lower() in lower_actions:
            at = lower_actions.index(IMPORT_ACTION.lower())
        else:
            at = len(actions)
        actions[at:at] = missing
    else:
        lowered = {a.lower() for a in DELETE_ACTIONS}
        remaining = [a for a in actions if a.lower() not in lowered]
        # An empty Action list would be an invalid policy; leave such a statement.
        if not remaining or len(remaining) == len(actions):
            return result
        actions = remaining
    single = isinstance(raw, str) and len(actions) == 1
    statement["Action"] = actions[0] if single else actions
    return result


def is_console_policy(policy: dict[str, Any]) -> bool:
    """True when the policy keeps the console layout, so the editor views apply."""
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list):
        return False
    statements = policy["Statement"]
    if not statements:
        return False
    positions: list[int] = []
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            return False
        sid = statement.get("Sid")
        if sid == SID_ROOT_2021:
            sid = SID_ROOT
        if sid not in _CONSOLE_ORDER:
            return False
        principal = statement.get("Principal")
        if not isinstance(principal, dict) or set(principal) != {"AWS"}:
            return False
        if _string_list(principal["AWS"]) is None:
            return False
        positions.append(_CONSOLE_ORDER.index(sid))
    # The root statement first, then the others once each in console order.
    return positions[0] == 0 and positions == sorted(set(positions))
