"""Create the demo accounts, users, roles, AWS managed keys and CLI credentials (idempotent)."""

from __future__ import annotations

import configparser
import os

from django.conf import settings
from django.core.management.base import BaseCommand

from keys.models import AccessKey, Principal
from keys.services import directory
from keys.services.importing import fill_wrapping_key_pool
from keys.services.keys import ensure_aws_managed_key

MAIN_ACCOUNT = "111122223333"
EXTERNAL_ACCOUNT = "444455556666"

# What each demo user's IAM policies let it do before any key policy says more.
KMS_ADMIN_CONSOLE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "CreateAndListKeys",
            "Effect": "Allow",
            "Action": ["kms:CreateKey", "kms:CreateAlias", "kms:ListKeys", "kms:ListAliases", "kms:TagResource"],
            "Resource": "*",
        }
    ],
}
KMS_LIST_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ListKeys", "Effect": "Allow", "Action": ["kms:ListKeys", "kms:ListAliases"], "Resource": "*"}
    ],
}
KMS_FULL_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}

# (profile, account, user name) of the AWS CLI credentials file.
PROFILES = [
    ("admin", MAIN_ACCOUNT, "Admin"),
    ("kms-admin", MAIN_ACCOUNT, "KMSAdminUser"),
    ("kms-user", MAIN_ACCOUNT, "KMSUser"),
    ("external", EXTERNAL_ACCOUNT, "ExternalUser"),
]


def seed(password: str) -> dict[str, Principal]:
    """The demo data; returns the users by name."""
    main = directory.ensure_account(MAIN_ACCOUNT)
    external = directory.ensure_account(EXTERNAL_ACCOUNT)
    users = {
        "Admin": directory.ensure_principal(
            main,
            kind="user",
            name="Admin",
            iam_policies=[directory.ADMINISTRATOR_ACCESS],
            iam_policy_names=["AdministratorAccess"],
            password=password,
        ),
        "KMSAdminUser": directory.ensure_principal(
            main,
            kind="user",
            name="KMSAdminUser",
            iam_policies=[KMS_ADMIN_CONSOLE],
            iam_policy_names=["KMSKeyAdministratorConsole"],
            password=password,
        ),
        "KMSUser": directory.ensure_principal(
            main,
            kind="user",
            name="KMSUser",
            iam_policies=[KMS_LIST_ONLY],
            iam_policy_names=["KMSListKeys"],
            password=password,
        ),
        "ExternalUser": directory.ensure_principal(
            external,
            kind="user",
            name="ExternalUser",
            iam_policies=[KMS_FULL_ACCESS],
            iam_policy_names=["KMSFullAccess"],
            password=password,
        ),
    }
    directory.ensure_principal(main, kind="role", name="KMSAdminRole")
    directory.ensure_principal(main, kind="role", name="KMSRole")
    for service in ("s3", "ebs"):
        ensure_aws_managed_key(account_id=MAIN_ACCOUNT, region="us-west-2", service=service)
    return users


def write_credentials(users: dict[str, Principal], path) -> None:
    """An AWS CLI credentials file with one profile per demo user (mode 0600)."""
    config = configparser.ConfigParser()
    for profile, _account, name in PROFILES:
        principal = users[name]
        access_key = principal.access_keys.filter(status=AccessKey.ACTIVE).order_by("created").first()
        if access_key is None:
            access_key, secret = directory.create_access_key(principal)
        else:
            secret = directory.access_key_secret(access_key)
        config[profile] = {"aws_access_key_id": access_key.access_key_id, "aws_secret_access_key": secret}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        config.write(handle)


class Command(BaseCommand):
    help = "Create the demo accounts, IAM users and roles, AWS managed keys and var/demo-credentials."

    def handle(self, *args, **options):
        users = seed(settings.CONSOLECLONE_DEMO_PASSWORD)
        path = settings.DATA_DIR / "demo-credentials"
        write_credentials(users, path)
        # RSA_4096 pairs take about a second each: make a few now so downloads answer at once.
        fill_wrapping_key_pool()
        self.stdout.write(
            f"Demo ready: account {MAIN_ACCOUNT}, users Admin, KMSAdminUser, KMSUser "
            f"(and ExternalUser in {EXTERNAL_ACCOUNT}); AWS CLI profiles in {path}"
        )
