"""Who could administer a key and who could use it: the gate's own policy.evaluate(), asked for each principal.

The key details page's "Effective permissions" section. The Key Policy section lists only the principals the
policy names; this review asks, for every principal that could call the key (the account's root, users and
roles, and the principals of other accounts the policy names), the same question services/gate.py asks on
every call (key policy + IAM policies, an explicit Deny wins), for a fixed set of actions grouped as the
console groups them. Pure: no Django, no database; the selector gathers the candidates.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keys import policy, states

__all__ = [
    "ADMINISTER",
    "GROUPS",
    "USE",
    "Candidate",
    "Cell",
    "Column",
    "How",
    "Outcome",
    "Review",
    "Row",
    "external_candidates",
    "review",
]


@dataclass(frozen=True)
class Column:
    """One action of the table, and what the gate checks when a caller asks for it."""

    action: str
    # The API operation the gate authorizes it in (what the cross-account rule and the key-state table name).
    operation: str
    # Every IAM action the gate authorizes for this part of the call (ReEncrypt: kms:ReEncryptFrom on the
    # source key, kms:ReEncryptTo on the destination, as in AWS).
    checks: tuple[str, ...] = ()
    # Only External keys have these (the key-state table refuses them for AWS_KMS keys).
    imported_only: bool = False

    def __post_init__(self) -> None:
        if not self.checks:
            object.__setattr__(self, "checks", (self.action,))

    @property
    def name(self) -> str:
        return self.action.removeprefix("kms:")


ADMINISTER: tuple[Column, ...] = (
    Column("kms:PutKeyPolicy", "PutKeyPolicy"),
    Column("kms:DisableKey", "DisableKey"),
    Column("kms:ScheduleKeyDeletion", "ScheduleKeyDeletion"),
    Column("kms:CancelKeyDeletion", "CancelKeyDeletion"),
    Column("kms:ImportKeyMaterial", "ImportKeyMaterial", imported_only=True),
    Column("kms:DeleteImportedKeyMaterial", "DeleteImportedKeyMaterial", imported_only=True),
    Column("kms:GetParametersForImport", "GetParametersForImport", imported_only=True),
    Column("kms:TagResource", "TagResource"),
)
USE: tuple[Column, ...] = (
    Column("kms:Encrypt", "Encrypt"),
    Column("kms:Decrypt", "Decrypt"),
    Column("kms:GenerateDataKey", "GenerateDataKey"),
    Column("kms:ReEncryptFrom", "ReEncrypt", ("kms:ReEncryptFrom",)),
    Column("kms:ReEncryptTo", "ReEncrypt", ("kms:ReEncryptTo",)),
    Column("kms:DescribeKey", "DescribeKey"),
)
GROUPS: tuple[tuple[str, tuple[Column, ...]], ...] = (("Administer", ADMINISTER), ("Use", USE))

# The request context the gate gives evaluate() (Call.authorize): aws:SourceIp, the caller's address, which
# differs call by call, and kms:CallerAccount, the caller's account; evaluate() adds aws:PrincipalArn and
# aws:PrincipalAccount. Every other condition key is absent from every call. A condition on a key of this set
# cannot be decided for a principal in general: the table says "Depends on conditions".
CALL_DEPENDENT_KEYS = frozenset({"aws:sourceip"})

# How the console's statements name their principals.
STATEMENT_ROLES = {
    policy.SID_ADMINS: "key administrator",
    policy.SID_USE: "key user",
    policy.SID_GRANTS: "key user",
}

USER, ROLE, ROOT = "user", "role", "root"
EXTERNAL_ROOT, EXTERNAL_PRINCIPAL = "external-root", "external-principal"
KIND_LABELS = {
    USER: "IAM user",
    ROLE: "IAM role",
    ROOT: "Account root user",
    EXTERNAL_ROOT: "External account",
    EXTERNAL_PRINCIPAL: "External principal",
}

# A principal of another account is reviewed on the key policy's side only: what its own account's IAM
# policies allow is not known here, so it is taken to allow (the footnote says so).
_OWN_IAM_DECIDES: tuple[dict[str, Any], ...] = (
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]},
)
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_PRINCIPAL_ARN = re.compile(r"arn:aws:iam::([0-9]{12}):(root|user|role)(?:/.*)?")


@dataclass(frozen=True)
class Candidate:
    """A principal that could call the key, with the IAM policies attached to it."""

    arn: str
    name: str
    kind: str
    account_id: str
    iam_policies: tuple[dict[str, Any], ...] = ()
    iam_policy_names: tuple[str, ...] = ()

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def is_external(self) -> bool:
        return self.kind in (EXTERNAL_ROOT, EXTERNAL_PRINCIPAL)

    @property
    def arn_lines(self) -> tuple[str, str]:
        """The ARN split after its account ("arn:aws:iam::111122223333", ":user/Admin"), where a narrow column breaks it."""
        head, _, tail = self.arn.rpartition(":")
        return head, f":{tail}"

    @property
    def label(self) -> str:
        """How a sentence names it: a user or role by its name, an account by its ID and what it is."""
        return self.name if self.kind in (USER, ROLE) else f"{self.name} ({self.kind_label.lower()})"


class Outcome(enum.Enum):
    """What the gate would decide, as the table writes it."""

    ALLOWED = "Allowed"
    NOT_ALLOWED = "Not allowed"
    EXPLICIT_DENY = "Explicitly denied"
    CONDITIONAL = "Depends on conditions"
    NOT_ACROSS_ACCOUNTS = "Not allowed across accounts"

    @property
    def allowed(self) -> bool:
        return self is Outcome.ALLOWED

    @property
    def css(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True)
class Cell:
    column: Column
    outcome: Outcome
    # Why, when the outcome needs more than its word: who denies, which condition.
    detail: str = ""

    @property
    def text(self) -> str:
        """The cell's text equivalent: the outcome, and its reason when there is one."""
        return f"{self.outcome.value} ({self.detail})" if self.detail else self.outcome.value


@dataclass(frozen=True)
class How:
    """One way the principal gets (or does not get) its permissions."""

    NAMED, IAM, ROOT, EXTERNAL, NONE = "named", "iam", "root", "external", "none"

    kind: str
    text: str
    policy_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    candidate: Candidate
    how: tuple[How, ...]
    cells: tuple[Cell, ...]

    def cell(self, action: str) -> Cell:
        return next(c for c in self.cells if c.column.action == action)

    def allowed(self, action: str) -> bool:
        return self.cell(action).outcome.allowed

    @property
    def how_kinds(self) -> tuple[str, ...]:
        return tuple(h.kind for h in self.how)

    @property
    def explicit_denies(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.outcome is Outcome.EXPLICIT_DENY)

    def can(self, columns: Sequence[Column]) -> bool:
        return any(self.cell(c.action).outcome.allowed for c in columns)

    def partly(self, columns: Sequence[Column]) -> str:
        """What of the group it is allowed when not all of it: "DescribeKey only", "all but ScheduleKeyDeletion"."""
        allowed = [c.name for c in columns if self.cell(c.action).outcome.allowed]
        refused = [c.name for c in columns if c.name not in allowed]
        if not refused or not allowed:
            return ""
        return f"{', '.join(allowed)} only" if len(allowed) <= len(refused) else f"all but {', '.join(refused)}"


@dataclass(frozen=True)
class Review:
    """The table: its column groups, one row per candidate, and what the table alone would not say."""

    groups: tuple[tuple[str, tuple[Column, ...]], ...]
    rows: tuple[Row, ...]
    # The key-state table refuses these operations in the key's state (and origin), whoever calls.
    refused_by_key: tuple[str, ...] = ()
    key_state: str = ""
    aws_managed: bool = False
    # Actions the key policy allows any principal at all (Principal "*"), listed here or not.
    open_to_anyone: tuple[str, ...] = ()
    delegates_to_iam: bool = True
    # The operations KMS allows on another account's key (the gate's rule), for the footnote.
    cross_account_operations: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[Column, ...]:
        return tuple(c for _, columns in self.groups for c in columns)

    @property
    def has_external(self) -> bool:
        return any(r.candidate.is_external for r in self.rows)

    @property
    def explicit_denies(self) -> tuple[tuple[Row, Cell], ...]:
        return tuple((r, c) for r in self.rows for c in r.explicit_denies)

    def row(self, arn: str) -> Row:
        return next(r for r in self.rows if r.candidate.arn == arn)

    @property
    def summary(self) -> tuple[tuple[str, tuple[tuple[Row, str], ...]], ...]:
        """For each group shown: its label, and (row, Row.partly) for each row allowed any of its actions."""
        return tuple(
            (label, tuple((r, r.partly(columns)) for r in self.rows if r.can(columns)))
            for label, columns in self.groups
        )


# ---------------------------------------------------------------- the candidates a policy names


def _aws_principals(statement: dict[str, Any]) -> list[str]:
    """The AWS principals one statement names ("*" aside)."""
    return policy.referenced_principals({"Statement": [statement]})


def _statements(document: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not isinstance(document, Mapping):
        return []
    raw = document.get("Statement")
    items = raw if isinstance(raw, list) else [raw]
    return [s for s in items if isinstance(s, dict)]


def external_candidates(key_policy: Mapping[str, Any], *, key_account: str) -> list[Candidate]:
    """The principals of other accounts the key policy names: an account (its root) or one of its users or roles."""
    found: dict[str, Candidate] = {}
    for value in policy.referenced_principals(dict(key_policy)):
        if _ACCOUNT_ID.fullmatch(value):
            value = policy.account_root_arn(value)
        match = _PRINCIPAL_ARN.fullmatch(value)
        if not match or match.group(1) == key_account or value in found:
            continue
        account, kind = match.groups()
        if kind == "root":
            found[value] = Candidate(value, account, EXTERNAL_ROOT, account)
        else:
            found[value] = Candidate(value, value.rsplit("/", 1)[-1], EXTERNAL_PRINCIPAL, account)
    # Accounts first, then their users and roles, each in the order the policy names them.
    return sorted(found.values(), key=lambda c: c.kind != EXTERNAL_ROOT)


# ---------------------------------------------------------------- conditions that depend on the call


def _condition_keys(condition: Any) -> set[str]:
    if not isinstance(condition, dict):
        return set()
    return {k.lower() for block in condition.values() if isinstance(block, dict) for k in block if isinstance(k, str)}


def _without_call_keys(condition: dict[str, Any]) -> dict[str, Any]:
    """The condition with its call-dependent entries taken as holding."""
    kept: dict[str, Any] = {}
    for operator, block in condition.items():
        entries = {k: v for k, v in block.items() if not (isinstance(k, str) and k.lower() in CALL_DEPENDENT_KEYS)}
        if entries:
            kept[operator] = entries
    return kept


def _settled(document: Mapping[str, Any] | None, *, best: bool) -> Mapping[str, Any] | None:
    """The document with every call-dependent condition decided: for the caller (best) or against it."""
    if document is None or not any(
        _condition_keys(s.get("Condition")) & CALL_DEPENDENT_KEYS for s in _statements(document)
    ):
        # Nothing to decide: the same document, so callers can tell that both cases are one.
        return document
    statements = []
    for statement in _statements(document):
        condition = statement.get("Condition")
        if not (_condition_keys(condition) & CALL_DEPENDENT_KEYS):
            statements.append(statement)
            continue
        # Conditions only switch statements on or off: Allows on and Denies off is the best a call can
        # hope for, the reverse the worst. Where the two agree, no call can be decided otherwise.
        holds = best == (statement.get("Effect") == "Allow")
        if holds:
            rest = _without_call_keys(condition)
            statements.append(
                {**{k: v for k, v in statement.items() if k != "Condition"}, **({"Condition": rest} if rest else {})}
            )
    return {**document, "Statement": statements}


# ---------------------------------------------------------------- one principal, one action


@dataclass(frozen=True)
class _Asker:
    """evaluate() for one candidate on one key, as the gate calls it."""

    key_arn: str
    key_account: str
    candidate: Candidate

    @property
    def iam(self) -> tuple[dict[str, Any], ...]:
        return _OWN_IAM_DECIDES if self.candidate.kind == EXTERNAL_PRINCIPAL else self.candidate.iam_policies

    def decide(
        self, column: Column, key_policy: Mapping[str, Any] | None, iam: Sequence[Mapping[str, Any]]
    ) -> policy.Decision:
        """All of the column's checks: an explicit deny of any is an explicit deny, an allow needs all."""
        decisions = [
            policy.evaluate(
                policy.AccessRequest(
                    action=action,
                    resource=self.key_arn,
                    principal_arn=self.candidate.arn,
                    principal_account=self.candidate.account_id,
                    context={"kms:CallerAccount": self.candidate.account_id},
                ),
                key_policy=key_policy,  # type: ignore[arg-type]
                key_account=self.key_account,
                iam_policies=iam,  # type: ignore[arg-type]
            )
            for action in column.checks
        ]
        if policy.Decision.EXPLICIT_DENY in decisions:
            return policy.Decision.EXPLICIT_DENY
        if all(d is policy.Decision.ALLOW for d in decisions):
            return policy.Decision.ALLOW
        return policy.Decision.IMPLICIT_DENY


_OUTCOME = {
    policy.Decision.ALLOW: Outcome.ALLOWED,
    policy.Decision.IMPLICIT_DENY: Outcome.NOT_ALLOWED,
    policy.Decision.EXPLICIT_DENY: Outcome.EXPLICIT_DENY,
}


def _named_policies(candidate: Candidate) -> list[tuple[str, dict[str, Any]]]:
    """The candidate's IAM policies with their names (by position; unnamed ones as "an IAM policy")."""
    names = list(candidate.iam_policy_names)
    return [
        (names[i] if i < len(names) and names[i] else "an IAM policy", p) for i, p in enumerate(candidate.iam_policies)
    ]


def _join(names: Sequence[str]) -> str:
    names = list(dict.fromkeys(names))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# ---------------------------------------------------------------- the review


def _roles_naming(key_policy: Mapping[str, Any], candidate: Candidate) -> list[str]:
    """How the key policy's Allow statements name the candidate itself ("key administrator", a Sid...)."""
    names = {candidate.arn}
    if candidate.kind in (ROOT, EXTERNAL_ROOT):
        names.add(candidate.account_id)
    roles = []
    for statement in _statements(key_policy):
        if statement.get("Effect") != "Allow" or not names & set(_aws_principals(statement)):
            continue
        sid = statement.get("Sid")
        if sid in STATEMENT_ROLES:
            roles.append(STATEMENT_ROLES[sid])
        elif candidate.kind == ROOT and sid in (policy.SID_ROOT, policy.SID_ROOT_2021):
            continue
        else:
            roles.append(f'the "{sid}" statement' if isinstance(sid, str) and sid else "a statement without a Sid")
    return list(dict.fromkeys(roles))


def _delegating_sids(key_policy: Mapping[str, Any], account: str) -> list[str]:
    """The Sids of the Allow statements that name the account itself, which let its IAM policies grant access."""
    names = {policy.account_root_arn(account), account}
    return [
        str(s.get("Sid") or "without a Sid")
        for s in _statements(key_policy)
        if s.get("Effect") == "Allow" and names & set(_aws_principals(s))
    ]


def _review_row(
    asker: _Asker,
    columns: Sequence[Column],
    key_policy: Mapping[str, Any],
    settled_key: tuple[Mapping[str, Any] | None, Mapping[str, Any] | None],
    cross_account: Collection[str],
) -> Row:
    candidate = asker.candidate
    best_key, worst_key = settled_key
    iam = asker.iam
    best_iam = [_settled(p, best=True) for p in iam]
    worst_iam = [_settled(p, best=False) for p in iam]
    # No condition depends on the call: the worst case is the best case, and needs no second evaluation.
    certain = best_key is worst_key and all(b is w for b, w in zip(best_iam, worst_iam, strict=True))
    named_policies = _named_policies(candidate)
    cells: list[Cell] = []
    granted_by: list[str] = []
    iam_grants = False
    for column in columns:
        if candidate.is_external and column.operation not in cross_account:
            cells.append(
                Cell(column, Outcome.NOT_ACROSS_ACCOUNTS, "KMS refuses this operation on another account's key")
            )
            continue
        best = asker.decide(column, best_key, best_iam)
        worst = best if certain else asker.decide(column, worst_key, worst_iam)
        if best is policy.Decision.ALLOW and worst is not policy.Decision.ALLOW:
            cells.append(Cell(column, Outcome.CONDITIONAL, "a condition on the caller's IP address decides"))
            continue
        # Never allowed, whatever the call: explicitly denied only if even the best case is.
        outcome = _OUTCOME[best]
        detail = ""
        if outcome is Outcome.EXPLICIT_DENY:
            if not iam or asker.decide(column, best_key, ()) is policy.Decision.EXPLICIT_DENY:
                detail = "by the key policy"
            else:
                deniers = _deciding(asker, column, best_key, named_policies, policy.Decision.EXPLICIT_DENY)
                detail = f"by IAM policy {_join(deniers)}" if deniers else "by an IAM policy"
        elif (
            outcome is Outcome.ALLOWED
            and candidate.kind in (USER, ROLE)
            and iam
            and asker.decide(column, best_key, ()) is not policy.Decision.ALLOW
        ):
            # Allowed, and not without its IAM policies: they grant it (through a statement naming the account).
            iam_grants = True
            granted_by += _deciding(asker, column, best_key, named_policies, policy.Decision.ALLOW)
        cells.append(Cell(column, outcome, detail))
    return Row(candidate, tuple(_how(candidate, key_policy, cells, iam_grants, granted_by)), tuple(cells))


def _deciding(
    asker: _Asker,
    column: Column,
    key_policy: Mapping[str, Any] | None,
    named_policies: Sequence[tuple[str, dict[str, Any]]],
    decision: policy.Decision,
) -> list[str]:
    """The names of the IAM policies that alone make this decision (the only one, when there is one)."""
    if len(named_policies) == 1:
        return [named_policies[0][0]]
    return [n for n, p in named_policies if asker.decide(column, key_policy, [p]) is decision]


def _how(
    candidate: Candidate, key_policy: Mapping[str, Any], cells: Sequence[Cell], iam_grants: bool, granted_by: list[str]
) -> list[How]:
    roles = _roles_naming(key_policy, candidate)
    named = f"Named in the key policy as {_join(roles)}" if roles else ""
    if candidate.kind == EXTERNAL_ROOT:
        text = (named or "Named in the key policy") + "; its own IAM policies decide which of its users and roles may"
        return [How(How.EXTERNAL, text)]
    if candidate.kind == EXTERNAL_PRINCIPAL:
        text = (named or "Named in the key policy") + "; its own account's IAM policies must allow it too"
        return [How(How.EXTERNAL, text)]
    how: list[How] = []
    if candidate.kind == ROOT:
        sids = _delegating_sids(key_policy, candidate.account_id)
        if sids:
            statement = f'"{sids[0]}"' if len(sids) == 1 else "root"
            how.append(How(How.ROOT, f"The account itself: the key policy's {statement} statement names it"))
        if roles:
            how.append(How(How.NAMED, named))
    else:
        if roles:
            how.append(How(How.NAMED, named))
        if iam_grants:
            names = tuple(dict.fromkeys(granted_by))
            how.append(How(How.IAM, f"Through IAM policies: {_join(names) if names else 'its IAM policies'}", names))
    if not any(c.outcome in (Outcome.ALLOWED, Outcome.CONDITIONAL) for c in cells) and not how:
        if candidate.kind == ROOT:
            text = "No access: the key policy does not name the account"
        elif candidate.iam_policy_names and not _delegating_sids(key_policy, candidate.account_id):
            text = f"No access: not named in the key policy, which does not let IAM policies ({_join(candidate.iam_policy_names)}) grant access"
        elif candidate.iam_policy_names:
            text = f"No access: not named in the key policy, and its IAM policies ({_join(candidate.iam_policy_names)}) allow none of these actions"
        else:
            text = "No access: not named in the key policy, and no IAM policies"
        how.append(How(How.NONE, text))
    return how


def _probe(columns: Sequence[Column], key_arn: str, key_account: str, key_policy: Mapping[str, Any]) -> tuple[str, ...]:
    """Actions the key policy gives a principal no statement names and no IAM policy helps (Principal "*")."""
    # A space is not allowed in IAM names: no statement can name this principal, only "*" can match it.
    nobody = Candidate(f"arn:aws:iam::{key_account}:user/any principal", "", USER, key_account)
    asker = _Asker(key_arn, key_account, nobody)
    best = _settled(key_policy, best=True)
    return tuple(c.name for c in columns if asker.decide(c, best, ()) is policy.Decision.ALLOW)


def review(
    *,
    key_arn: str,
    key_account: str,
    key_policy: Mapping[str, Any],
    candidates: Sequence[Candidate],
    cross_account_operations: Collection[str],
    origin: str = "AWS_KMS",
    key_state: str = states.ENABLED,
    aws_managed: bool = False,
) -> Review:
    """Every candidate against every action of the table, decided by policy.evaluate() as the gate decides."""
    groups = tuple(
        (label, tuple(c for c in columns if origin == "EXTERNAL" or not c.imported_only))
        for label, columns in GROUPS
        # Nobody administers an AWS managed key: the services refuse every change whoever calls.
        if not (aws_managed and columns is ADMINISTER)
    )
    columns = [c for _, group in groups for c in group]
    settled_key = (_settled(key_policy, best=True), _settled(key_policy, best=False))
    rows = tuple(
        _review_row(_Asker(key_arn, key_account, c), columns, key_policy, settled_key, cross_account_operations)
        for c in candidates
    )
    refused = tuple(c.name for c in columns if not states.allowed(c.operation, state=key_state, origin=origin))
    return Review(
        groups=groups,
        rows=rows,
        refused_by_key=refused,
        key_state=key_state,
        aws_managed=aws_managed,
        open_to_anyone=_probe(columns, key_arn, key_account, key_policy),
        delegates_to_iam=bool(_delegating_sids(key_policy, key_account)),
        cross_account_operations=tuple(sorted(cross_account_operations)),
    )
