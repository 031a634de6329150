"""Accounts, IAM principals, console sign-in, access keys and console preferences."""

from __future__ import annotations

import datetime as dt
import secrets
import string
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.db import transaction

from keys import clock, vault
from keys.errors import validation
from keys.models import AccessKey, Account, Alias, AuditEvent, ConsolePreferences, Key, Principal, SignInAttempt

ADMINISTRATOR_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
KEY_LIST_COLUMNS = ("expiration_date", "origin")
SIGN_IN_WINDOW = dt.timedelta(minutes=15)
SIGN_IN_MAX_FAILURES = 5
MAX_ACCESS_KEYS = 2  # AWS's per-user quota


def console_username(account_id: str, user_name: str) -> str:
    """The Django username behind an IAM user's console password."""
    return f"{account_id}:{user_name}"


@transaction.atomic
def ensure_account(account_id: str, *, alias: str = "") -> Account:
    account, _ = Account.objects.get_or_create(id=account_id, defaults={"alias": alias})
    if alias and account.alias != alias:
        account.alias = alias
        account.save(update_fields=["alias"])
    Principal.objects.get_or_create(
        account=account, kind=Principal.ROOT, name="root", defaults={"created": clock.now()}
    )
    return account


@transaction.atomic
def ensure_principal(
    account: Account,
    *,
    kind: str,
    name: str,
    iam_policies: list[dict] | None = None,
    iam_policy_names: list[str] | None = None,
    password: str | None = None,
) -> Principal:
    """Create or update an IAM user or role (idempotent, for the demo seed and tests)."""
    principal, _ = Principal.objects.get_or_create(
        account=account, kind=kind, name=name, defaults={"created": clock.now()}
    )
    principal.iam_policies = iam_policies or []
    principal.iam_policy_names = iam_policy_names or []
    if password is not None and kind == Principal.USER:
        user = principal.user or User(username=console_username(account.id, name))
        user.set_password(password)
        user.save()
        principal.user = user
    principal.save()
    return principal


def resolve_account(account_id_or_alias: str) -> Account | None:
    value = (account_id_or_alias or "").strip()
    return Account.objects.filter(id=value).first() or Account.objects.filter(alias=value).exclude(alias="").first()


def sign_in_throttled(username: str, source_ip: str | None) -> bool:
    """Too many recent failures for this user name or this address."""
    since = clock.now() - SIGN_IN_WINDOW
    recent = SignInAttempt.objects.filter(attempted_at__gte=since)
    return recent.filter(username=username).count() >= SIGN_IN_MAX_FAILURES or (
        source_ip is not None and recent.filter(source_ip=source_ip).count() >= SIGN_IN_MAX_FAILURES * 4
    )


def authenticate_console_user(
    request: Any, *, account: str, user_name: str, password: str, source_ip: str | None
) -> tuple[Principal | None, str]:
    """(principal, "") on success, (None, reason) otherwise; failures are counted for throttling."""
    found = resolve_account(account)
    username = console_username(found.id if found else account.strip(), user_name.strip())
    if sign_in_throttled(username, source_ip):
        # A try while throttled counts too, so guessing on keeps the lock closed.
        SignInAttempt.objects.create(username=username, source_ip=source_ip, attempted_at=clock.now())
        return None, "throttled"
    user = authenticate(request, username=username, password=password) if found else None
    principal = getattr(user, "principal", None) if user else None
    if principal is None:
        SignInAttempt.objects.create(username=username, source_ip=source_ip, attempted_at=clock.now())
        return None, "invalid"
    SignInAttempt.objects.filter(username=username).delete()
    return principal, ""


# ---------------------------------------------------------------- access keys


def _new_access_key_id() -> str:
    alphabet = string.ascii_uppercase + "234567"
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


@transaction.atomic
def create_access_key(
    principal: Principal, *, access_key_id: str | None = None, secret: str | None = None
) -> tuple[AccessKey, str]:
    """A new access key pair for an IAM user; the secret is returned once and stored sealed."""
    if principal.kind != Principal.USER:
        raise validation("Only IAM users have access keys.")
    if access_key_id is None and principal.access_keys.count() >= MAX_ACCESS_KEYS:
        raise validation(f"An IAM user can have at most {MAX_ACCESS_KEYS} access keys. Delete one first.")
    access_key_id = access_key_id or _new_access_key_id()
    secret = secret or secrets.token_urlsafe(30)[:40]
    access_key = AccessKey.objects.create(
        principal=principal,
        access_key_id=access_key_id,
        sealed_secret=vault.seal(secret.encode(), context=f"access-key:{access_key_id}"),
        created=clock.now(),
    )
    return access_key, secret


def access_key_secret(access_key: AccessKey) -> str:
    return vault.unseal(access_key.sealed_secret, context=f"access-key:{access_key.access_key_id}").decode()


def list_access_keys(principal: Principal) -> list[AccessKey]:
    """The user's access keys, oldest first (the "My security credentials" table)."""
    return list(principal.access_keys.order_by("created"))


def find_access_key(access_key_id: str) -> AccessKey | None:
    """The access key a signed API request names, with its principal (one query), or None."""
    return AccessKey.objects.select_related("principal").filter(access_key_id=access_key_id).first()


ACCESS_KEY_LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


def record_access_key_use(access_key: AccessKey, *, when: dt.datetime) -> None:
    """Note when a key signed a request; at most one write a minute per key, so busy clients stay cheap."""
    last = access_key.last_used
    if last is not None and when - last < ACCESS_KEY_LAST_USED_GRANULARITY:
        return
    AccessKey.objects.filter(pk=access_key.pk).update(last_used=when)
    access_key.last_used = when


def ensure_open_mode_account(account_id: str) -> Principal:
    """The root of an account the API's open mode acts as; accounts it creates are marked open_mode."""
    root = Principal.objects.filter(account_id=account_id, kind=Principal.ROOT).first()
    if root is not None:
        return root
    with transaction.atomic():
        account, _ = Account.objects.get_or_create(id=account_id, defaults={"open_mode": True})
        root, _ = Principal.objects.get_or_create(
            account=account, kind=Principal.ROOT, name="root", defaults={"created": clock.now()}
        )
    return root


@transaction.atomic
def reset_open_mode_accounts() -> dict[str, int]:
    """Forget the keys, aliases and audit events of the open-mode accounts (POST /moto-api/reset)."""
    accounts = Account.objects.filter(open_mode=True)
    aliases, _ = Alias.objects.filter(account__in=accounts).delete()
    keys = Key.objects.filter(account__in=accounts).count()
    Key.objects.filter(account__in=accounts).delete()  # tags and import parameters go with their keys
    events, _ = AuditEvent.objects.filter(account__in=accounts).delete()
    return {"keys": keys, "aliases": aliases, "audit_events": events}


def set_access_key_status(principal: Principal, access_key_id: str, *, active: bool) -> AccessKey:
    access_key = principal.access_keys.get(access_key_id=access_key_id)
    access_key.status = AccessKey.ACTIVE if active else AccessKey.INACTIVE
    access_key.save(update_fields=["status"])
    return access_key


def delete_access_key(principal: Principal, access_key_id: str) -> None:
    principal.access_keys.filter(access_key_id=access_key_id).delete()


# ---------------------------------------------------------------- console preferences


def preferences(principal: Principal) -> ConsolePreferences:
    prefs, _ = ConsolePreferences.objects.get_or_create(principal=principal)
    return prefs


def set_key_list_columns(principal: Principal, columns: list[str]) -> ConsolePreferences:
    prefs = preferences(principal)
    prefs.key_list_columns = [c for c in KEY_LIST_COLUMNS if c in set(columns)]
    prefs.save(update_fields=["key_list_columns"])
    return prefs


def set_console_region(principal: Principal, region: str) -> ConsolePreferences:
    prefs = preferences(principal)
    prefs.region = region
    prefs.save(update_fields=["region"])
    return prefs
