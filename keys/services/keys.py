"""Key management: create, describe, list, enable, disable, delete, describe, policies, tags, aliases."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError
from django.db.models import OuterRef, Subquery

from keys import clock, crypto, policy, states, vault
from keys.errors import KmsError, not_found, validation
from keys.models import Alias, Key, Tag
from keys.services.gate import Actor, audited_transaction, kms_call

MAX_DESCRIPTION = 8192
MAX_TAGS = 50
ALIAS_CHARS = re.compile(r"^[a-zA-Z0-9/_-]+$")
API_ALIAS_CHARS = re.compile(r"^[a-zA-Z0-9:/_-]+$")
ORIGINS = ("AWS_KMS", "EXTERNAL")
KEY_USAGES = ("ENCRYPT_DECRYPT",)
KEY_SPECS = ("SYMMETRIC_DEFAULT",)
# ScheduleKeyDeletion's waiting period, in days (spec 4.8).
MIN_PENDING_WINDOW_DAYS, MAX_PENDING_WINDOW_DAYS, DEFAULT_PENDING_WINDOW_DAYS = 7, 30, 30


# ---------------------------------------------------------------- rules shared by both faces


def check_console_alias(name: str) -> str:
    """The old console's alias rules (typed without alias/); returns the full alias name."""
    if not name:
        raise validation("Alias is required.")
    if len(name) > 250:
        raise validation("Alias must be 250 characters or fewer.")
    if not ALIAS_CHARS.match(name):
        raise validation(
            "Alias can contain only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-)."
        )
    if name[:3].lower() == "aws":
        raise validation(
            "An alias cannot begin with aws. Aliases that begin with aws are reserved by Amazon Web Services."
        )
    return f"alias/{name}"


def check_alias_name(name: Any) -> str:
    """The API's alias-name rules (spec 4.2)."""
    if not isinstance(name, str) or not name.startswith("alias/"):
        raise validation(
            'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html'
        )
    if len(name) > 256 or len(name) <= len("alias/") or not API_ALIAS_CHARS.match(name):
        raise KmsError(
            "InvalidAliasNameException", "Alias name must be 1-256 characters of a-zA-Z0-9:/_- after alias/."
        )
    if name.startswith("alias/aws/"):
        raise validation("Alias names cannot begin with alias/aws/. That prefix is reserved for AWS managed keys.")
    return name


def check_description(description: Any) -> str:
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise validation(f"Description must be a string of at most {MAX_DESCRIPTION} characters.")
    return description


def check_tags(tags: Iterable[tuple[str, str]], *, existing: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Tag rules (spec 4.3): keys 1-128 unique and not aws:, values 0-256, 50 per key."""
    checked: list[tuple[str, str]] = []
    seen: set[str] = set()
    for tag_key, tag_value in tags:
        if not isinstance(tag_key, str) or not 1 <= len(tag_key) <= 128:
            raise KmsError("TagException", "Tag keys must be 1 to 128 characters.")
        if not isinstance(tag_value, str) or len(tag_value) > 256:
            raise KmsError("TagException", f"The value of tag {tag_key!r} must be 0 to 256 characters.")
        if tag_key.lower().startswith("aws:"):
            raise KmsError("TagException", "Tags beginning with aws: are reserved for AWS use.")
        if tag_key in seen:
            raise KmsError("TagException", f"Duplicate tag key {tag_key!r}.")
        seen.add(tag_key)
        checked.append((tag_key, tag_value))
    if len(seen | set(existing)) > MAX_TAGS:
        raise KmsError("LimitExceededException", f"A key can have at most {MAX_TAGS} tags.")
    return checked


def check_external_account(account_id: str, *, own_account: str, already: Iterable[str] = ()) -> str:
    if not re.fullmatch(r"[0-9]{12}", account_id or ""):
        raise validation("An AWS account ID is exactly 12 digits.")
    if account_id == own_account:
        raise validation("This is your own account. Choose its users and roles above instead.")
    if account_id in set(already):
        raise validation(f"The account {account_id} is already in the list.")
    return account_id


def parse_policy(text: Any) -> dict:
    """A key policy document from its text, or MalformedPolicyDocument / LimitExceeded in AWS's words."""
    if not isinstance(text, str):
        raise KmsError("MalformedPolicyDocumentException", "The policy must be a JSON document.")
    try:
        return policy.parse_key_policy(text)
    except policy.PolicyTooLarge as exc:
        raise KmsError("LimitExceededException", exc.message) from None
    except policy.MalformedPolicy as exc:
        raise KmsError("MalformedPolicyDocumentException", exc.message) from None


def _check_lockout(actor: Actor, document: dict, *, key_arn: str, bypass: bool) -> None:
    if bypass:
        return
    if policy.would_lock_out(
        document,
        caller_arn=actor.principal_arn,
        caller_account=actor.account_id,
        key_account=actor.account_id,
        key_arn=key_arn,
        iam_policies=actor.iam_policies,
    ):
        raise KmsError(
            "MalformedPolicyDocumentException",
            "The new key policy will not allow you to update the key policy in the future.",
        )


# ---------------------------------------------------------------- describing


def key_metadata(key: Key) -> dict[str, Any]:
    """DescribeKey's KeyMetadata: the members of the seed's create-key output (times as datetimes)."""
    meta: dict[str, Any] = {
        "AWSAccountId": key.account_id,
        "KeyId": key.key_id,
        "Arn": key.arn,
        "CreationDate": key.creation_date,
        "Enabled": key.state == states.ENABLED,
        "Description": key.description,
        "KeyUsage": key.key_usage,
        "KeyState": key.state,
        "Origin": key.origin,
        "KeyManager": key.key_manager,
        "KeySpec": key.key_spec,
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
    }
    if key.state == states.PENDING_DELETION:
        meta["DeletionDate"] = key.deletion_date
        meta["PendingDeletionWindowInDays"] = key.pending_window_days
    if key.is_external and key.expiration_model:
        meta["ExpirationModel"] = key.expiration_model
        if key.expiration_model == "KEY_MATERIAL_EXPIRES" and key.valid_to:
            meta["ValidTo"] = key.valid_to
    return meta


def describe_key(actor: Actor, *, key_id: str) -> dict[str, Any]:
    with kms_call(actor, "DescribeKey", request={"keyId": key_id}, read_only=True) as call:
        return key_metadata(call.key(key_id))


def get_key(actor: Actor, *, key_id: str) -> Key:
    """The key for a console page, authorized as DescribeKey (kms:Describe* is needed to view it)."""
    with kms_call(actor, "DescribeKey", request={"keyId": key_id}, read_only=True) as call:
        return call.key(key_id)


def _page(items: list, limit: int) -> tuple[list, bool]:
    return items[:limit], len(items) > limit


def _check_limit(limit: Any, *, default: int, maximum: int) -> int:
    if limit is None:
        return default
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise validation(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            f"Member must have value between 1 and {maximum}"
        )
    return limit


def _decode_marker(marker: Any) -> str | None:
    if marker is None:
        return None
    try:
        # validate=True: a marker with characters outside base64 is not silently read as another one.
        decoded = base64.b64decode(marker.encode("ascii"), altchars=b"-_", validate=True).decode()
    except Exception:
        raise KmsError("InvalidMarkerException", "Invalid marker") from None
    if not decoded:
        raise KmsError("InvalidMarkerException", "Invalid marker")
    return decoded


def _encode_marker(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode("ascii")


def list_keys(actor: Actor, *, limit: int | None = None, marker: str | None = None) -> dict[str, Any]:
    with kms_call(actor, "ListKeys", request={"limit": limit, "marker": marker}, read_only=True) as call:
        limit = _check_limit(limit, default=100, maximum=1000)
        after = _decode_marker(marker)
        call.authorize()
        query = Key.objects.filter(account_id=actor.account_id, region=actor.region).order_by("key_id")
        if after:
            query = query.filter(key_id__gt=after)
        rows, truncated = _page(list(query.values_list("key_id", flat=True)[: limit + 1]), limit)
        result: dict[str, Any] = {
            "Keys": [{"KeyId": k, "KeyArn": f"arn:aws:kms:{actor.region}:{actor.account_id}:key/{k}"} for k in rows],
            "Truncated": truncated,
        }
        if truncated:
            result["NextMarker"] = _encode_marker(rows[-1])
        return result


# ---------------------------------------------------------------- creating


def create_key(
    actor: Actor,
    *,
    description: str = "",
    key_usage: str = "ENCRYPT_DECRYPT",
    key_spec: str = "SYMMETRIC_DEFAULT",
    origin: str = "AWS_KMS",
    policy_text: str | None = None,
    bypass_policy_lockout_safety_check: bool = False,
    tags: Sequence[tuple[str, str]] = (),
    alias: str | None = None,
    creation_token: str | None = None,
    key_manager: str = "CUSTOMER",
) -> Key:
    """Create a key (and, from the console, its alias and tags) in one transaction, audited per call."""
    if creation_token:
        existing = Key.objects.filter(account_id=actor.account_id, creation_token=creation_token).first()
        if existing is not None:
            return existing
    request = {
        "description": description,
        "keyUsage": key_usage,
        "keySpec": key_spec,
        "origin": origin,
        "bypassPolicyLockoutSafetyCheck": bypass_policy_lockout_safety_check,
    }
    if tags:
        request["tags"] = [{"tagKey": k, "tagValue": v} for k, v in tags]
    with audited_transaction():
        with kms_call(actor, "CreateKey", request=request) as call:
            call.authorize()
            check_description(description)
            if origin not in ORIGINS:
                raise KmsError("UnsupportedOperationException", f"Origin {origin} is not supported by this replica.")
            if key_usage not in KEY_USAGES:
                raise KmsError(
                    "UnsupportedOperationException", f"KeyUsage {key_usage} is not supported by this replica."
                )
            if key_spec not in KEY_SPECS:
                raise KmsError("UnsupportedOperationException", f"KeySpec {key_spec} is not supported by this replica.")
            checked_tags = check_tags(tags)
            if alias is not None:
                _ensure_alias_free(actor, alias)
            key_id = str(uuid.uuid4())
            key_arn = f"arn:aws:kms:{actor.region}:{actor.account_id}:key/{key_id}"
            if policy_text is None:
                document_text = policy.render_aws_style(policy.default_api_key_policy(actor.account_id))
            else:
                _check_lockout(
                    actor, parse_policy(policy_text), key_arn=key_arn, bypass=bypass_policy_lockout_safety_check
                )
                document_text = policy_text
            external = origin == "EXTERNAL"
            key = Key(
                key_id=key_id,
                account_id=actor.account_id,
                region=actor.region,
                description=description,
                key_usage=key_usage,
                key_spec=key_spec,
                origin=origin,
                key_manager=key_manager,
                state=states.INITIAL_STATE[origin],
                creation_date=clock.now(),
                policy=document_text,
                creation_token=creation_token,
                sealed_material=None
                if external
                else vault.seal(crypto.generate_key_material(), context=f"key-material:{key_id}"),
            )
            try:
                key.save(force_insert=True)
            except IntegrityError:
                raise KmsError("AlreadyExistsException", "This key was already created.") from None
            Tag.objects.bulk_create([Tag(key=key, tag_key=k, tag_value=v) for k, v in checked_tags])
            call.keys.append(key)
            call.response = {"keyMetadata": _jsonable(key_metadata(key))}
        if alias is not None:
            create_alias(actor, alias_name=alias, target_key_id=key.key_id)
        if checked_tags and alias is not None:
            # The console tags through TagResource after CreateKey; record it as AWS would.
            with kms_call(actor, "TagResource", request={"keyId": key.key_id, "tags": request["tags"]}) as call:
                call.key(key.key_id)
    return key


def _jsonable(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in meta.items()}


# ---------------------------------------------------------------- lifecycle


def update_key_description(actor: Actor, *, key_id: str, description: str) -> Key:
    with kms_call(actor, "UpdateKeyDescription", request={"keyId": key_id, "description": description}) as call:
        key = call.key(key_id, lock=True)
        _refuse_aws_managed(key)
        key.description = check_description(description)
        key.save(update_fields=["description"])
        return key


def aws_managed_refusal(key: Key) -> KmsError | None:
    """Why a change to this key is refused because AWS manages it, or None for a customer managed key."""
    if key.is_aws_managed:
        return KmsError("UnsupportedOperationException", f"{key.arn} is an AWS managed key and cannot be modified.")
    return None


def _refuse_aws_managed(key: Key) -> None:
    if (error := aws_managed_refusal(key)) is not None:
        raise error


def _transition(actor: Actor, operation: str, key_id: str, request: dict[str, Any] | None = None) -> Key:
    with kms_call(actor, operation, request=request or {"keyId": key_id}) as call:
        key = call.key(key_id, lock=True)
        _refuse_aws_managed(key)
        key.state = states.next_state(operation, key.state, has_material=key.has_material)
        key.save(update_fields=["state"])
        return key


def enable_key(actor: Actor, *, key_id: str) -> Key:
    return _transition(actor, "EnableKey", key_id)


def disable_key(actor: Actor, *, key_id: str) -> Key:
    return _transition(actor, "DisableKey", key_id)


def schedule_key_deletion(actor: Actor, *, key_id: str, pending_window_days: Any = None) -> Key:
    days = DEFAULT_PENDING_WINDOW_DAYS if pending_window_days is None else pending_window_days
    request = {"keyId": key_id, "pendingWindowInDays": days}
    with kms_call(actor, "ScheduleKeyDeletion", request=request) as call:
        key = call.key(key_id, lock=True)
        _refuse_aws_managed(key)
        if (
            isinstance(days, bool)
            or not isinstance(days, int)
            or not MIN_PENDING_WINDOW_DAYS <= days <= MAX_PENDING_WINDOW_DAYS
        ):
            raise validation(
                f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy "
                f"constraint: Member must have value between {MIN_PENDING_WINDOW_DAYS} and {MAX_PENDING_WINDOW_DAYS}"
            )
        key.state = states.next_state("ScheduleKeyDeletion", key.state)
        key.pending_window_days = days
        key.deletion_date = clock.now() + dt.timedelta(days=days)
        key.save(update_fields=["state", "pending_window_days", "deletion_date"])
        call.response = {"keyId": key.arn, "deletionDate": key.deletion_date.isoformat(), "keyState": key.state}
        return key


def cancel_key_deletion(actor: Actor, *, key_id: str) -> Key:
    with kms_call(actor, "CancelKeyDeletion", request={"keyId": key_id}) as call:
        key = call.key(key_id, lock=True)
        key.state = states.next_state("CancelKeyDeletion", key.state, has_material=key.has_material)
        key.deletion_date = None
        key.pending_window_days = None
        key.save(update_fields=["state", "deletion_date", "pending_window_days"])
        call.response = {"keyId": key.arn}
        return key


# ---------------------------------------------------------------- policies


def get_key_policy(actor: Actor, *, key_id: str, policy_name: str | None = "default") -> str:
    with kms_call(actor, "GetKeyPolicy", request={"keyId": key_id, "policyName": policy_name}, read_only=True) as call:
        key = call.key(key_id)
        _check_policy_name(policy_name)
        return key.policy


POLICY_CHANGED_MESSAGE = (
    "The key policy was changed by someone else since you opened this page. "
    "Reload the page to see the current policy, then make your change again."
)


def policy_digest(policy_text: str) -> str:
    """What a console form carries of the policy it showed: the SHA-256 (hex) of the stored text."""
    return hashlib.sha256(policy_text.encode("utf-8")).hexdigest()


def _check_policy_name(name: str | None) -> None:
    if name not in (None, "default"):
        raise not_found("No such policy exists")


def list_key_policies(actor: Actor, *, key_id: str, limit: int | None = None, marker: str | None = None) -> list[str]:
    request = {"keyId": key_id, "limit": limit, "marker": marker}
    with kms_call(actor, "ListKeyPolicies", request=request, read_only=True) as call:
        call.key(key_id)
        _check_limit(limit, default=100, maximum=1000)
        if marker is not None:
            # A key has one policy, so no answer ever carries a NextMarker to come back with.
            raise KmsError("InvalidMarkerException", "Invalid marker")
        return ["default"]


def put_key_policy(
    actor: Actor,
    *,
    key_id: str,
    policy_text: str,
    policy_name: str | None = "default",
    bypass_policy_lockout_safety_check: bool = False,
    expected_policy_digest: str | None = None,
) -> Key:
    """PutKeyPolicy. expected_policy_digest (the console's, never the API's): the policy_digest() of the policy
    the edit was built from; if the stored policy is no longer that one, nothing changes (no lost update)."""
    request = {
        "keyId": key_id,
        "policyName": policy_name,
        "policy": policy_text,
        "bypassPolicyLockoutSafetyCheck": bypass_policy_lockout_safety_check,
    }
    with kms_call(actor, "PutKeyPolicy", request=request) as call:
        key = call.key(key_id, lock=True)
        _refuse_aws_managed(key)
        if expected_policy_digest is not None and expected_policy_digest != policy_digest(key.policy):
            raise KmsError("ValidationException", POLICY_CHANGED_MESSAGE)
        _check_policy_name(policy_name)
        document = parse_policy(policy_text)
        _check_lockout(actor, document, key_arn=key.arn, bypass=bypass_policy_lockout_safety_check)
        key.policy = policy_text
        key.save(update_fields=["policy"])
        return key


# ---------------------------------------------------------------- tags


def tag_resource(actor: Actor, *, key_id: str, tags: Sequence[tuple[str, str]]) -> Key:
    request = {"keyId": key_id, "tags": [{"tagKey": k, "tagValue": v} for k, v in tags]}
    with kms_call(actor, "TagResource", request=request) as call:
        key = call.key(key_id, lock=True)
        _refuse_aws_managed(key)
        existing = list(key.tags.values_list("tag_key", flat=True))
        checked = check_tags(tags, existing=existing)
        for tag_key, tag_value in checked:
            Tag.objects.update_or_create(key=key, tag_key=tag_key, defaults={"tag_value": tag_value})
        return key


def untag_resource(actor: Actor, *, key_id: str, tag_keys: Sequence[str]) -> Key:
    with kms_call(actor, "UntagResource", request={"keyId": key_id, "tagKeys": list(tag_keys)}) as call:
        key = call.key(key_id, lock=True)
        _refuse_aws_managed(key)
        for tag_key in tag_keys:
            if not isinstance(tag_key, str) or not 1 <= len(tag_key) <= 128:
                raise KmsError("TagException", "Tag keys must be 1 to 128 characters.")
        key.tags.filter(tag_key__in=list(tag_keys)).delete()
        return key


def replace_tags(actor: Actor, *, key_id: str, tags: Sequence[tuple[str, str]]) -> Key:
    """The console's "Add or edit tags": the given set becomes the key's tags (TagResource + UntagResource)."""
    checked = check_tags(tags)
    with audited_transaction():
        key = get_key(actor, key_id=key_id)
        removed = sorted(set(key.tags.values_list("tag_key", flat=True)) - {k for k, _ in checked})
        if removed:
            untag_resource(actor, key_id=key_id, tag_keys=removed)
        if checked:
            tag_resource(actor, key_id=key_id, tags=checked)
    return key


def list_resource_tags(
    actor: Actor, *, key_id: str, limit: int | None = None, marker: str | None = None
) -> dict[str, Any]:
    request = {"keyId": key_id, "limit": limit, "marker": marker}
    with kms_call(actor, "ListResourceTags", request=request, read_only=True) as call:
        key = call.key(key_id)
        limit = _check_limit(limit, default=50, maximum=50)
        after = _decode_marker(marker)
        query = key.tags.order_by("tag_key")
        if after:
            query = query.filter(tag_key__gt=after)
        rows, truncated = _page(list(query.values_list("tag_key", "tag_value")[: limit + 1]), limit)
        result: dict[str, Any] = {"Tags": [{"TagKey": k, "TagValue": v} for k, v in rows], "Truncated": truncated}
        if truncated:
            result["NextMarker"] = _encode_marker(rows[-1][0])
        return result


# ---------------------------------------------------------------- aliases


def check_alias_available(actor: Actor, *, alias_name: str) -> str:
    """Raise AlreadyExistsException if the actor's account already has this alias in its region."""
    _ensure_alias_free(actor, alias_name)
    return alias_name


def _ensure_alias_free(actor: Actor, name: str) -> None:
    if Alias.objects.filter(account_id=actor.account_id, region=actor.region, name=name).exists():
        raise KmsError(
            "AlreadyExistsException",
            f"An alias with the name arn:aws:kms:{actor.region}:{actor.account_id}:{name} already exists",
        )


def create_alias(actor: Actor, *, alias_name: str, target_key_id: str) -> Alias:
    with kms_call(actor, "CreateAlias", request={"aliasName": alias_name, "targetKeyId": target_key_id}) as call:
        check_alias_name(alias_name)
        key = call.key(target_key_id, lock=True)
        _refuse_aws_managed(key)
        _ensure_alias_free(actor, alias_name)
        now = clock.now()
        try:
            alias = Alias.objects.create(
                account_id=actor.account_id,
                region=actor.region,
                name=alias_name,
                target_key=key,
                creation_date=now,
                last_updated_date=now,
            )
            _refresh_list_alias(key.key_id)
            return alias
        except IntegrityError:
            raise KmsError(
                "AlreadyExistsException",
                f"An alias with the name arn:aws:kms:{actor.region}:{actor.account_id}:{alias_name} already exists",
            ) from None


def _refresh_list_alias(*key_ids: str) -> None:
    """Keep Key.list_alias (the first alias by name, shown and sorted by the key list) true after an alias change."""
    first = Alias.objects.filter(target_key=OuterRef("pk")).order_by("name").values("name")[:1]
    Key.objects.filter(key_id__in=key_ids).update(list_alias=Subquery(first))


def _alias(actor: Actor, alias_name: str) -> Alias:
    if not isinstance(alias_name, str) or not alias_name.startswith("alias/"):
        check_alias_name(alias_name)
    alias = (
        Alias.objects.select_related("target_key")
        .filter(account_id=actor.account_id, region=actor.region, name=alias_name)
        .first()
    )
    if alias is None:
        raise not_found(f"Alias arn:aws:kms:{actor.region}:{actor.account_id}:{alias_name} is not found.")
    return alias


def update_alias(actor: Actor, *, alias_name: str, target_key_id: str) -> Alias:
    with kms_call(actor, "UpdateAlias", request={"aliasName": alias_name, "targetKeyId": target_key_id}) as call:
        alias = _alias(actor, alias_name)
        call.key(alias.target_key_id, check_state=False)
        key = call.key(target_key_id, lock=True)
        _refuse_aws_managed(key)
        previous_key_id = alias.target_key_id
        alias.target_key = key
        alias.last_updated_date = clock.now()
        alias.save(update_fields=["target_key", "last_updated_date"])
        _refresh_list_alias(previous_key_id, key.key_id)
        return alias


def delete_alias(actor: Actor, *, alias_name: str) -> None:
    with kms_call(actor, "DeleteAlias", request={"aliasName": alias_name}) as call:
        alias = _alias(actor, alias_name)
        key = call.key(alias.target_key_id)
        _refuse_aws_managed(key)
        alias.delete()
        _refresh_list_alias(key.key_id)


def list_aliases(
    actor: Actor, *, key_id: str | None = None, limit: int | None = None, marker: str | None = None
) -> dict[str, Any]:
    request = {"keyId": key_id, "limit": limit, "marker": marker}
    with kms_call(actor, "ListAliases", request=request, read_only=True) as call:
        limit = _check_limit(limit, default=50, maximum=100)
        after = _decode_marker(marker)
        query = Alias.objects.filter(account_id=actor.account_id, region=actor.region).order_by("name")
        if key_id is not None:
            key = call.key(key_id, operation="ListAliases")
            query = query.filter(target_key=key)
        else:
            call.authorize()
        if after:
            query = query.filter(name__gt=after)
        rows, truncated = _page(list(query[: limit + 1]), limit)
        result: dict[str, Any] = {
            "Aliases": [
                {
                    "AliasName": a.name,
                    "AliasArn": a.arn,
                    "TargetKeyId": a.target_key_id,
                    "CreationDate": a.creation_date,
                    "LastUpdatedDate": a.last_updated_date,
                }
                for a in rows
            ],
            "Truncated": truncated,
        }
        if truncated:
            result["NextMarker"] = _encode_marker(rows[-1].name)
        return result


# ---------------------------------------------------------------- rotation (not for EXTERNAL keys)


def get_key_rotation_status(actor: Actor, *, key_id: str) -> bool:
    with kms_call(actor, "GetKeyRotationStatus", request={"keyId": key_id}, read_only=True) as call:
        return call.key(key_id).rotation_enabled


def set_key_rotation(actor: Actor, *, key_id: str, enabled: bool) -> Key:
    operation = "EnableKeyRotation" if enabled else "DisableKeyRotation"
    with kms_call(actor, operation, request={"keyId": key_id}) as call:
        key = call.key(key_id, lock=True)
        _refuse_aws_managed(key)
        key.rotation_enabled = enabled
        key.save(update_fields=["rotation_enabled"])
        return key


def aws_managed_key_policy(account_id: str, service: str, region: str) -> dict:
    """The policy AWS gives its managed keys: use only through the service, metadata for the account."""
    return {
        "Version": "2012-10-17",
        "Id": f"auto-{service}-2",
        "Statement": [
            {
                "Sid": f"Allow access through {service.upper()} for all principals in the account that are authorized to use {service.upper()}",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account_id,
                        "kms:ViaService": f"{service}.{region}.amazonaws.com",
                    }
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                "Resource": "*",
            },
        ],
    }


def ensure_aws_managed_key(*, account_id: str, region: str, service: str) -> Key:
    """The AWS managed key alias/aws/<service> of an account and region (seed data; not editable)."""
    name = f"alias/aws/{service}"
    alias = Alias.objects.filter(account_id=account_id, region=region, name=name).select_related("target_key").first()
    if alias is not None:
        return alias.target_key
    key_id = str(uuid.uuid4())
    now = clock.now()
    with audited_transaction():
        key = Key.objects.create(
            key_id=key_id,
            account_id=account_id,
            region=region,
            description=f"Default key that protects my {service.upper()} data when no other key is defined",
            origin="AWS_KMS",
            key_manager="AWS",
            state=states.ENABLED,
            creation_date=now,
            policy=policy.render_aws_style(aws_managed_key_policy(account_id, service, region)),
            sealed_material=vault.seal(crypto.generate_key_material(), context=f"key-material:{key_id}"),
        )
        Alias.objects.create(
            account_id=account_id, region=region, name=name, target_key=key, creation_date=now, last_updated_date=now
        )
        _refresh_list_alias(key_id)
    return key
