"""The one gate every service call goes through: who is calling, may they, and the audit record."""

from __future__ import annotations

import contextvars
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from keys import clock, policy, states
from keys.errors import KmsError, not_found
from keys.models import Alias, Key, Principal
from keys.services import audit

KEY_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KEY_ARN_RE = re.compile(r"^arn:aws:kms:([a-z0-9-]+):([0-9]{12}):key/(.+)$")
ALIAS_ARN_RE = re.compile(r"^arn:aws:kms:([a-z0-9-]+):([0-9]{12}):(alias/.+)$")

# Operations AWS allows across accounts (spec 3.6: "Cross-account use").
CROSS_ACCOUNT_OPERATIONS = frozenset(
    {"DescribeKey", "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext"}
)
ALIAS_OPERATIONS = frozenset(
    {"DescribeKey", "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext"}
)


@dataclass(frozen=True)
class Actor:
    """The caller of a service: a principal of an account, in a region, from somewhere."""

    account_id: str
    principal_arn: str
    region: str
    iam_policies: tuple[dict, ...] = ()
    principal_type: str = "IAMUser"
    user_name: str = ""
    access_key_id: str = ""
    source_ip: str = "127.0.0.1"
    user_agent: str = ""
    via_console: bool = False

    @classmethod
    def for_principal(cls, principal: Principal, *, region: str, **extra: Any) -> Actor:
        return cls(
            account_id=principal.account_id,
            principal_arn=principal.arn,
            region=region,
            iam_policies=tuple(principal.iam_policies or ()),
            principal_type={"user": "IAMUser", "role": "AssumedRole", "root": "Root"}[principal.kind],
            user_name=principal.name if principal.kind != Principal.ROOT else "",
            **extra,
        )

    @property
    def is_root(self) -> bool:
        return self.principal_arn.endswith(":root")

    def in_region(self, region: str) -> Actor:
        return Actor(**{**self.__dict__, "region": region})


# The request id of the API request being served (keys.api.protocol sets it), so the audit record's
# requestID is the x-amzn-RequestId the client saw; elsewhere every call gets a fresh one.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def _request_id() -> str:
    return current_request_id.get() or str(uuid.uuid4())


@dataclass
class Call:
    """One KMS operation in progress: what was asked, of which key, and what came of it."""

    actor: Actor
    operation: str
    request: dict[str, Any]
    read_only: bool = False
    response: dict[str, Any] | None = None
    keys: list[Key] = field(default_factory=list)
    error: KmsError | None = None
    request_id: str = field(default_factory=_request_id)

    def authorize(self, key: Key | None = None, *, action: str | None = None) -> None:
        """Raise AccessDeniedException unless the key policy and IAM policies allow the action."""
        action = f"kms:{action or self.operation}"
        actor = self.actor
        request = policy.AccessRequest(
            action=action,
            resource=key.arn if key else "*",
            principal_arn=actor.principal_arn,
            principal_account=actor.account_id,
            context={"aws:SourceIp": actor.source_ip, "kms:CallerAccount": actor.account_id},
        )
        decision = policy.evaluate(
            request,
            key_policy=json.loads(key.policy) if key else None,
            key_account=key.account_id if key else None,
            iam_policies=actor.iam_policies,
        )
        if decision is policy.Decision.ALLOW:
            return
        resource = key.arn if key else f"arn:aws:kms:{actor.region}:{actor.account_id}:key/*"
        who = f"User: {actor.principal_arn} is not authorized to perform: {action} on resource: {resource}"
        if decision is policy.Decision.EXPLICIT_DENY:
            raise KmsError("AccessDeniedException", f"{who} with an explicit deny")
        reason = "because no resource-based policy allows" if key else "because no identity-based policy allows"
        raise KmsError("AccessDeniedException", f"{who} {reason} the {action} action")

    def key(
        self,
        identifier: str,
        *,
        operation: str | None = None,
        action: str | None = None,
        lock: bool = False,
        check_state: bool = True,
    ) -> Key:
        """Find the caller's key by ID, ARN or (where allowed) alias; authorize; apply the key-state table.

        `action` is the IAM action when it is not the operation's name (ReEncrypt: ReEncryptFrom, ReEncryptTo).
        """
        operation = operation or self.operation
        key = resolve_key(self.actor, identifier, operation=operation, lock=lock)
        self.keys.append(key)
        self.authorize(key, action=action or operation)
        if check_state:
            ensure_state(key, operation)
        return key


def state_refusal(key: Key, operation: str) -> KmsError | None:
    """The key-state table's refusal of this operation on this key, in the spec's words, or None."""
    refusal = states.refusal(operation, state=key.state, origin=key.origin)
    return KmsError(refusal.error, refusal.message(key.arn)) if refusal is not None else None


def ensure_state(key: Key, operation: str) -> None:
    """Raise the key-state table's refusal for this operation, if any."""
    if (error := state_refusal(key, operation)) is not None:
        raise error


def resolve_key(actor: Actor, identifier: str, *, operation: str, lock: bool = False) -> Key:
    """The key named by a key ID, key ARN, alias name or alias ARN, as AWS accepts them per operation."""
    if not isinstance(identifier, str) or not identifier:
        raise KmsError(
            "ValidationException",
            "1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1",
        )
    region, account = actor.region, actor.account_id
    query = Key.objects.all()
    if lock:
        query = query.select_for_update()
    if identifier.startswith("alias/") or ALIAS_ARN_RE.match(identifier):
        if operation not in ALIAS_OPERATIONS:
            raise KmsError("InvalidArnException", "Key Aliases are not supported for this operation.")
        name = identifier
        if match := ALIAS_ARN_RE.match(identifier):
            region, account, name = match.groups()
        alias = Alias.objects.filter(account_id=account, region=region, name=name).values("target_key_id").first()
        if alias is None or not _may_cross(actor, account, region, operation):
            raise not_found(f"Alias arn:aws:kms:{region}:{account}:{name} is not found.")
        return query.get(key_id=alias["target_key_id"])
    key_id = identifier
    if identifier.startswith("arn:"):
        match = KEY_ARN_RE.match(identifier)
        if not match:
            raise KmsError("InvalidArnException", "Invalid arn")
        region, account, key_id = match.groups()
    if not KEY_ID_RE.match(key_id):
        raise not_found(f"Invalid keyId {identifier}")
    arn = f"arn:aws:kms:{region}:{account}:key/{key_id}"
    if not _may_cross(actor, account, region, operation):
        raise not_found(f"Key '{arn}' does not exist")
    key = query.filter(key_id=key_id, account_id=account, region=region).first()
    if key is None:
        raise not_found(f"Key '{arn}' does not exist")
    return key


def _may_cross(actor: Actor, account: str, region: str, operation: str) -> bool:
    """Keys live in one region; other accounts' keys are reachable only for the cross-account operations."""
    if region != actor.region:
        return False
    return account == actor.account_id or operation in CROSS_ACCOUNT_OPERATIONS


_deferred_failures: contextvars.ContextVar[list[Call] | None] = contextvars.ContextVar("deferred", default=None)


@contextmanager
def audited_transaction() -> Iterator[None]:
    """Several calls as one transaction; refusals inside it are recorded after it ends, so none is lost."""
    deferred: list[Call] = []
    token = _deferred_failures.set(deferred)
    try:
        with transaction.atomic():
            yield
    finally:
        _deferred_failures.reset(token)
        for call in deferred:
            audit.record_call(call, when=clock.now())


@contextmanager
def kms_call(actor: Actor, operation: str, *, request: dict[str, Any], read_only: bool = False) -> Iterator[Call]:
    """Run one operation atomically and audit it, allowed or refused (a refusal is recorded after rollback)."""
    from keys.services.importing import apply_due_events

    apply_due_events()
    call = Call(actor=actor, operation=operation, request=request, read_only=read_only)
    try:
        with transaction.atomic():
            yield call
            audit.record_call(call, when=clock.now())
    except KmsError as exc:
        call.error = exc
        deferred = _deferred_failures.get()
        if deferred is not None:
            deferred.append(call)
        else:
            audit.record_call(call, when=clock.now())
        raise


def record_rejected_call(actor: Actor, operation: str, error: KmsError) -> None:
    """Audit a call a face refused before any service ran (malformed members): CloudTrail records those too."""
    audit.record_call(Call(actor=actor, operation=operation, request={}, error=error), when=clock.now())
