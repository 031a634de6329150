"""Audit events in CloudTrail's record shape: every call, allowed or denied, and service events."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from keys.models import AuditEvent

if TYPE_CHECKING:
    from keys.services.gate import Call


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_call(call: Call, *, when: dt.datetime) -> AuditEvent:
    """Write the CloudTrail record of one API call in the key's account (the caller's when there is no key).

    A call on another account's key is recorded in both accounts, as CloudTrail does, the two
    records tied by one sharedEventID.
    """
    actor = call.actor
    identity: dict[str, Any] = {
        "type": actor.principal_type,
        "principalId": actor.principal_arn.rsplit(":", 1)[-1],
        "arn": actor.principal_arn,
        "accountId": actor.account_id,
    }
    if actor.access_key_id:
        identity["accessKeyId"] = actor.access_key_id
    if actor.user_name:
        identity["userName"] = actor.user_name
    if actor.via_console:
        identity["sessionContext"] = {"attributes": {"mfaAuthenticated": "false"}}
    event_id = str(uuid.uuid4())
    key = call.keys[0] if call.keys else None
    account_id = key.account_id if key else actor.account_id
    record: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": _iso(when),
        "eventSource": "kms.amazonaws.com",
        "eventName": call.operation,
        "awsRegion": actor.region,
        "sourceIPAddress": actor.source_ip,
        "userAgent": actor.user_agent,
        "requestParameters": call.request or None,
        "responseElements": None if call.error else call.response,
        "requestID": call.request_id,
        "eventID": event_id,
        "readOnly": call.read_only,
        "resources": [{"accountId": k.account_id, "type": "AWS::KMS::Key", "ARN": k.arn} for k in call.keys],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }
    if actor.via_console:
        record["sessionCredentialFromConsole"] = "true"
    if call.error:
        record["errorCode"] = call.error.code
        record["errorMessage"] = call.error.message
    recipients = {account_id: event_id}
    if account_id != actor.account_id:
        recipients[actor.account_id] = str(uuid.uuid4())
        record["sharedEventID"] = str(uuid.uuid4())
    events = [
        AuditEvent(
            event_id=this_id,
            account_id=recipient,
            event_time=when,
            event_name=call.operation,
            region=actor.region,
            key_id=key.key_id if key else "",
            principal_arn=actor.principal_arn,
            error_code=call.error.code if call.error else "",
            record={**record, "eventID": this_id, "recipientAccountId": recipient},
        )
        for recipient, this_id in recipients.items()
    ]
    AuditEvent.objects.bulk_create(events)
    return events[0]


def record_service_event(
    *, account_id: str, region: str, key_id: str, event_name: str, when: dt.datetime
) -> AuditEvent:
    """Write an AwsServiceEvent record, such as DeleteExpiredKeyMaterial (spec 1.3)."""
    event_id = str(uuid.uuid4())
    record = {
        "eventVersion": "1.08",
        "userIdentity": {"accountId": account_id, "invokedBy": "AWS Internal"},
        "eventTime": _iso(when),
        "eventSource": "kms.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "AWS Internal",
        "userAgent": "AWS Internal",
        "requestParameters": None,
        "responseElements": None,
        "eventID": event_id,
        "readOnly": False,
        "resources": [
            {"accountId": account_id, "type": "AWS::KMS::Key", "ARN": f"arn:aws:kms:{region}:{account_id}:key/{key_id}"}
        ],
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "serviceEventDetails": {"keyId": key_id},
        "eventCategory": "Management",
    }
    return AuditEvent.objects.create(
        event_id=event_id,
        account_id=account_id,
        event_time=when,
        event_name=event_name,
        event_type="AwsServiceEvent",
        region=region,
        key_id=key_id,
        record=record,
    )
