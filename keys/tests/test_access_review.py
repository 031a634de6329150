"""keys.access_review: who could administer a key and who could use it, as policy.evaluate() decides."""

from __future__ import annotations

from typing import Any

import pytest

from keys import access_review, policy, states
from keys.access_review import ADMINISTER, USE, Candidate, How, Outcome
from keys.services.gate import CROSS_ACCOUNT_OPERATIONS

ACCOUNT = "111122223333"
EXTERNAL = "444455556666"
KEY_ARN = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ADMIN_ACTIONS = [c.action for c in ADMINISTER]
USE_ACTIONS = [c.action for c in USE]

ADMINISTRATOR_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
KMS_ADMIN_CONSOLE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["kms:CreateKey", "kms:ListKeys", "kms:TagResource"], "Resource": "*"}],
}
KMS_LIST_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*"}]}
NO_DELETION = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}],
}


def user(name: str, *policies: tuple[str, dict], kind: str = "user") -> Candidate:
    return Candidate(
        arn=f"arn:aws:iam::{ACCOUNT}:{kind}/{name}",
        name=name,
        kind=kind,
        account_id=ACCOUNT,
        iam_policies=tuple(p for _, p in policies),
        iam_policy_names=tuple(n for n, _ in policies),
    )


ROOT = Candidate(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "root", ACCOUNT)
ADMIN = user("Admin", ("AdministratorAccess", ADMINISTRATOR_ACCESS))
ADMIN_WITHOUT_DELETION = user("Admin", ("AdministratorAccess", ADMINISTRATOR_ACCESS), ("NoKeyDeletion", NO_DELETION))
KMS_ADMIN = user("KMSAdminUser", ("KMSKeyAdministratorConsole", KMS_ADMIN_CONSOLE))
KMS_USER = user("KMSUser", ("KMSListKeys", KMS_LIST_ONLY))
KMS_ROLE = user("KMSRole", kind="role")


def console_policy(*, admins=("KMSAdminUser",), users=("KMSUser",), external=(EXTERNAL,)) -> dict[str, Any]:
    return policy.build_console_key_policy(
        account_id=ACCOUNT,
        admin_arns=[f"arn:aws:iam::{ACCOUNT}:user/{n}" for n in admins],
        user_arns=[a if a.startswith("arn:") else f"arn:aws:iam::{ACCOUNT}:user/{a}" for a in users],
        external_account_ids=list(external),
        external_origin=True,
    )


def review(document: dict[str, Any], *candidates: Candidate, **key: Any) -> access_review.Review:
    key.setdefault("origin", "EXTERNAL")
    return access_review.review(
        key_arn=KEY_ARN,
        key_account=ACCOUNT,
        key_policy=document,
        candidates=[*candidates, *access_review.external_candidates(document, key_account=ACCOUNT)],
        cross_account_operations=CROSS_ACCOUNT_OPERATIONS,
        **key,
    )


def outcomes(row: access_review.Row, actions: list[str]) -> set[Outcome]:
    return {row.cell(a).outcome for a in actions}


# ---------------------------------------------------------------- the console's policy: the auditors' cases


def test_admin_with_administrator_access_administers_through_iam_though_the_policy_does_not_name_it():
    document = console_policy()
    assert ADMIN.arn not in policy.referenced_principals(document)

    row = review(document, ADMIN).row(ADMIN.arn)

    assert outcomes(row, ADMIN_ACTIONS + USE_ACTIONS) == {Outcome.ALLOWED}
    assert row.how_kinds == (How.IAM,)
    assert row.how[0].text == "Through IAM policies: AdministratorAccess"
    assert row.how[0].policy_names == ("AdministratorAccess",)


def test_kms_admin_user_administers_as_named_and_does_not_use_the_key():
    row = review(console_policy(), KMS_ADMIN).row(KMS_ADMIN.arn)

    assert outcomes(row, ADMIN_ACTIONS) == {Outcome.ALLOWED}
    assert row.how_kinds == (How.NAMED,)
    assert row.how[0].text == "Named in the key policy as key administrator"
    # Its IAM policy allows kms:TagResource too, but the key policy already does: IAM adds nothing here.
    assert outcomes(row, ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]) == {Outcome.NOT_ALLOWED}
    assert row.allowed("kms:DescribeKey")


def test_kms_user_can_encrypt_and_decrypt_but_not_schedule_key_deletion():
    row = review(console_policy(), KMS_USER).row(KMS_USER.arn)

    assert row.allowed("kms:Encrypt") and row.allowed("kms:Decrypt")
    assert outcomes(row, USE_ACTIONS) == {Outcome.ALLOWED}
    assert row.cell("kms:ScheduleKeyDeletion").outcome is Outcome.NOT_ALLOWED
    assert outcomes(row, ADMIN_ACTIONS) == {Outcome.NOT_ALLOWED}
    assert row.how[0].text == "Named in the key policy as key user"


def test_kms_role_gets_nothing_unless_named():
    unnamed = review(console_policy(), KMS_ROLE).row(KMS_ROLE.arn)
    assert outcomes(unnamed, ADMIN_ACTIONS + USE_ACTIONS) == {Outcome.NOT_ALLOWED}
    assert unnamed.how_kinds == (How.NONE,)
    assert unnamed.how[0].text == "No access: not named in the key policy, and no IAM policies"

    named = review(console_policy(users=("KMSUser", KMS_ROLE.arn)), KMS_ROLE).row(KMS_ROLE.arn)
    assert outcomes(named, USE_ACTIONS) == {Outcome.ALLOWED}
    assert outcomes(named, ADMIN_ACTIONS) == {Outcome.NOT_ALLOWED}
    assert named.how_kinds == (How.NAMED,)


def test_an_iam_explicit_deny_on_schedule_key_deletion_shows_denied_and_says_which_policy():
    result = review(console_policy(), ADMIN_WITHOUT_DELETION)
    row = result.row(ADMIN.arn)

    cell = row.cell("kms:ScheduleKeyDeletion")
    assert cell.outcome is Outcome.EXPLICIT_DENY
    assert cell.text == "Explicitly denied (by IAM policy NoKeyDeletion)"
    assert outcomes(row, [a for a in ADMIN_ACTIONS if a != "kms:ScheduleKeyDeletion"]) == {Outcome.ALLOWED}
    assert [(r.candidate.name, c.column.action) for r, c in result.explicit_denies] == [
        ("Admin", "kms:ScheduleKeyDeletion")
    ]
    # The summary still counts Admin as an administrator, and says what it cannot do.
    administer = dict(result.summary)["Administer"]
    assert [(r.candidate.name, partly) for r, partly in administer] == [
        ("Admin", "all but ScheduleKeyDeletion"),
    ]


def test_an_explicit_deny_beats_being_named_as_administrator():
    row = review(console_policy(), user("KMSAdminUser", ("NoKeyDeletion", NO_DELETION))).row(KMS_ADMIN.arn)

    assert row.cell("kms:ScheduleKeyDeletion").outcome is Outcome.EXPLICIT_DENY
    assert row.allowed("kms:PutKeyPolicy")


def test_the_external_account_shows_use_only():
    row = review(console_policy()).row(policy.account_root_arn(EXTERNAL))

    assert row.candidate.kind == access_review.EXTERNAL_ROOT and row.candidate.is_external
    assert outcomes(row, USE_ACTIONS) == {Outcome.ALLOWED}
    assert outcomes(row, ADMIN_ACTIONS) <= {Outcome.NOT_ALLOWED, Outcome.NOT_ACROSS_ACCOUNTS}
    assert row.how_kinds == (How.EXTERNAL,)
    assert "its own IAM policies decide" in row.how[0].text


def test_an_external_account_given_kms_star_still_cannot_administer_across_accounts():
    document = console_policy(external=())
    document["Statement"].append(
        {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": EXTERNAL}, "Action": "kms:*", "Resource": "*"}
    )
    row = review(document).row(policy.account_root_arn(EXTERNAL))

    assert outcomes(row, ADMIN_ACTIONS) == {Outcome.NOT_ACROSS_ACCOUNTS}
    assert outcomes(row, USE_ACTIONS) == {Outcome.ALLOWED}
    assert row.how[0].text.startswith('Named in the key policy as the "Partner" statement')


def test_the_account_root_has_everything_through_the_root_statement():
    result = review(console_policy(), ROOT)
    row = result.row(ROOT.arn)

    assert outcomes(row, ADMIN_ACTIONS + USE_ACTIONS) == {Outcome.ALLOWED}
    assert row.how_kinds == (How.ROOT,)
    assert '"Enable IAM User Permissions"' in row.how[0].text
    assert result.delegates_to_iam


def test_without_the_root_statement_iam_policies_grant_nothing():
    document = console_policy()
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != policy.SID_ROOT]
    result = review(document, ROOT, ADMIN, KMS_ADMIN)

    assert not result.delegates_to_iam
    assert outcomes(result.row(ADMIN.arn), ADMIN_ACTIONS + USE_ACTIONS) == {Outcome.NOT_ALLOWED}
    assert "does not let IAM policies (AdministratorAccess) grant access" in result.row(ADMIN.arn).how[0].text
    assert outcomes(result.row(ROOT.arn), ADMIN_ACTIONS) == {Outcome.NOT_ALLOWED}
    assert outcomes(result.row(KMS_ADMIN.arn), ADMIN_ACTIONS) == {Outcome.ALLOWED}


def test_iam_adds_what_the_key_policy_does_not_give():
    # KMSAdminUser not named: its IAM policy's kms:TagResource works through the root statement, nothing else.
    row = review(console_policy(admins=()), KMS_ADMIN).row(KMS_ADMIN.arn)

    assert [c.column.name for c in row.cells if c.outcome.allowed] == ["TagResource"]
    assert row.how_kinds == (How.IAM,)
    assert row.how[0].text == "Through IAM policies: KMSKeyAdministratorConsole"


def test_a_key_policy_deny_is_named_as_the_key_policys():
    document = console_policy()
    document["Statement"].append(
        {
            "Sid": "NoDeletion",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "kms:ScheduleKeyDeletion",
            "Resource": "*",
        }
    )
    result = review(document, ROOT, ADMIN, KMS_ADMIN)

    for arn in (ROOT.arn, ADMIN.arn, KMS_ADMIN.arn):
        assert result.row(arn).cell("kms:ScheduleKeyDeletion").text == "Explicitly denied (by the key policy)"


# ---------------------------------------------------------------- conditions, as the gate's request context has them


def _with_condition(document: dict, condition: dict) -> dict:
    document["Statement"].append(
        {
            "Sid": "Conditional",
            "Effect": "Allow",
            "Principal": {"AWS": KMS_ROLE.arn},
            "Action": "kms:Encrypt",
            "Resource": "*",
            "Condition": condition,
        }
    )
    return document


def test_a_condition_on_the_callers_ip_address_depends_on_the_call():
    document = _with_condition(console_policy(), {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    row = review(document, KMS_ROLE).row(KMS_ROLE.arn)

    assert row.cell("kms:Encrypt").outcome is Outcome.CONDITIONAL
    assert row.cell("kms:Decrypt").outcome is Outcome.NOT_ALLOWED


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"StringEquals": {"kms:CallerAccount": ACCOUNT}}, Outcome.ALLOWED),
        ({"StringEquals": {"kms:CallerAccount": EXTERNAL}}, Outcome.NOT_ALLOWED),
        # The gate never sets kms:ViaService: the statement never applies to a direct call.
        ({"StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"}}, Outcome.NOT_ALLOWED),
        (
            {"StringEquals": {"kms:CallerAccount": EXTERNAL}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            Outcome.NOT_ALLOWED,
        ),
    ],
)
def test_conditions_the_gate_can_decide_for_the_principal_are_decided(condition, expected):
    row = review(_with_condition(console_policy(), condition), KMS_ROLE).row(KMS_ROLE.arn)

    assert row.cell("kms:Encrypt").outcome is expected


def test_a_conditional_iam_deny_makes_an_allowed_action_depend_on_the_call():
    office_only = {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
            }
        ]
    }
    row = review(console_policy(), user("KMSUser", ("OfficeOnly", office_only))).row(KMS_USER.arn)

    assert outcomes(row, USE_ACTIONS) == {Outcome.CONDITIONAL}
    assert outcomes(row, ADMIN_ACTIONS) == {Outcome.NOT_ALLOWED}


# ---------------------------------------------------------------- the key's columns and notes


def test_import_columns_only_for_external_keys_and_no_administer_group_for_aws_managed_keys():
    external = review(console_policy(), origin="EXTERNAL")
    kms = review(console_policy(), origin="AWS_KMS")
    managed = review(console_policy(), origin="AWS_KMS", aws_managed=True)

    assert [c.name for c in external.columns if c.imported_only] == [
        "ImportKeyMaterial",
        "DeleteImportedKeyMaterial",
        "GetParametersForImport",
    ]
    assert not any(c.imported_only for c in kms.columns)
    assert [label for label, _ in managed.groups] == ["Use"]


def test_the_review_says_which_actions_the_keys_state_refuses_whoever_calls():
    disabled = review(console_policy(), key_state=states.DISABLED)

    assert {"Encrypt", "Decrypt", "GenerateDataKey", "ReEncryptFrom", "ReEncryptTo"} <= set(disabled.refused_by_key)
    assert "PutKeyPolicy" not in disabled.refused_by_key


def test_actions_open_to_any_principal_are_called_out():
    document = console_policy()
    document["Statement"].append(
        {"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*"}
    )

    assert review(document).open_to_anyone == ("Encrypt",)
    assert review(console_policy()).open_to_anyone == ()


def test_external_candidates_are_the_other_accounts_and_their_principals_the_policy_names():
    partner_user = f"arn:aws:iam::{EXTERNAL}:user/Partner"
    document = console_policy(users=("KMSUser", partner_user), external=(EXTERNAL,))
    document["Statement"].append(
        {
            "Sid": "Audit",
            "Effect": "Allow",
            "Principal": {"AWS": "999988887777"},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )

    found = access_review.external_candidates(document, key_account=ACCOUNT)

    # The accounts (a bare account ID names the account's root), then their users and roles; never this account's.
    assert [(c.arn, c.kind) for c in found] == [
        (f"arn:aws:iam::{EXTERNAL}:root", access_review.EXTERNAL_ROOT),
        ("arn:aws:iam::999988887777:root", access_review.EXTERNAL_ROOT),
        (partner_user, access_review.EXTERNAL_PRINCIPAL),
    ]
    row = review(document).row(partner_user)
    assert outcomes(row, USE_ACTIONS) == {Outcome.ALLOWED}
    assert "its own account's IAM policies must allow it too" in row.how[0].text
