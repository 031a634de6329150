"""Two people editing one key policy at once: the second save is refused, the first one's change is kept."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from keys import policy
from keys.errors import KmsError
from keys.models import AuditEvent, Key
from keys.services import keys as key_service
from keys.tests.helpers import console_policy, signed_in

pytestmark = pytest.mark.django_db

MESSAGE = key_service.POLICY_CHANGED_MESSAGE
KMS_ROLE = "arn:aws:iam::111122223333:role/KMSRole"
KMS_ADMIN_ROLE = "arn:aws:iam::111122223333:role/KMSAdminRole"
DIGEST = re.compile(r'name="policy_digest" value="([0-9a-f]{64})"')


@pytest.fixture
def key(kms_admin) -> Key:
    return key_service.create_key(
        kms_admin, origin="EXTERNAL", alias="alias/shared", policy_text=console_policy(external=True)
    )


@pytest.fixture
def alice(demo):
    return signed_in(demo["Admin"])


@pytest.fixture
def bob(demo):
    return signed_in(demo["KMSAdminUser"])


def url(name: str, key: Key, **kwargs) -> str:
    return reverse(f"console:{name}", kwargs={"region": key.region, "key_id": key.key_id, **kwargs})


def digest_of(response) -> str:
    """The digest the page's policy editors carry (every form on a page carries the same one)."""
    found = set(DIGEST.findall(response.content.decode()))
    assert len(found) == 1, found
    return found.pop()


def stored(key: Key) -> dict:
    key.refresh_from_db()
    return json.loads(key.policy)


# ---------------------------------------------------------------- the console


def test_the_page_carries_the_digest_of_the_stored_policy(alice, key):
    assert digest_of(alice.get(url("key-detail", key))) == key_service.policy_digest(key.policy)
    assert digest_of(alice.get(url("key-detail", key) + "?view=policy")) == key_service.policy_digest(key.policy)
    assert digest_of(alice.get(url("key-principals", key, role="users"))) == key_service.policy_digest(key.policy)


def test_two_people_adding_key_users_at_once_the_second_is_refused_and_the_first_kept(alice, bob, key):
    add = url("key-principals", key, role="users")
    alice_digest = digest_of(alice.get(add))
    bob_digest = digest_of(bob.get(add))

    first = alice.post(add, {"op": "add", "principal": [KMS_ROLE], "policy_digest": alice_digest})
    second = bob.post(add, {"op": "add", "principal": [KMS_ADMIN_ROLE], "policy_digest": bob_digest})

    assert first.status_code == 302
    assert second.status_code == 400
    assert MESSAGE in second.content.decode()
    users = policy.key_users(stored(key))
    assert KMS_ROLE in users and KMS_ADMIN_ROLE not in users


def test_after_the_refusal_a_reloaded_page_makes_the_change(alice, bob, key):
    add = url("key-principals", key, role="users")
    bob_digest = digest_of(bob.get(add))
    alice.post(add, {"op": "add", "principal": [KMS_ROLE], "policy_digest": digest_of(alice.get(add))})
    assert bob.post(add, {"op": "add", "principal": [KMS_ADMIN_ROLE], "policy_digest": bob_digest}).status_code == 400

    response = bob.post(add, {"op": "add", "principal": [KMS_ADMIN_ROLE], "policy_digest": digest_of(bob.get(add))})

    assert response.status_code == 302
    users = policy.key_users(stored(key))
    assert KMS_ROLE in users and KMS_ADMIN_ROLE in users


def test_two_people_saving_the_policy_view_at_once_the_second_is_refused_and_keeps_the_typed_text(
    alice, bob, key, demo
):
    view = url("key-detail", key) + "?view=policy"
    alice_digest = digest_of(alice.get(view))
    bob_digest = digest_of(bob.get(view))
    alice_doc = json.loads(key.policy)
    alice_doc["Statement"][2]["Principal"]["AWS"] = [demo["KMSUser"].arn, KMS_ROLE]
    bob_doc = json.loads(key.policy)
    bob_doc["Statement"][2]["Principal"]["AWS"] = [demo["KMSUser"].arn, KMS_ADMIN_ROLE]
    alice_text, bob_text = json.dumps(alice_doc, indent=4), json.dumps(bob_doc, indent=4)

    first = alice.post(url("key-policy", key), {"policy": alice_text, "policy_digest": alice_digest})
    second = bob.post(url("key-policy", key), {"policy": bob_text, "policy_digest": bob_digest})

    assert first.status_code == 302
    assert second.status_code == 400
    page = second.content.decode()
    assert MESSAGE in page
    assert KMS_ADMIN_ROLE in page  # what Bob typed is still in the box...
    assert digest_of(second) == bob_digest  # ...with the policy it was built from, so Save again is refused again
    key.refresh_from_db()
    assert key.policy == alice_text


def test_a_remove_then_a_stale_allow_deletion_save_is_refused(alice, bob, key, demo):
    alice_digest = digest_of(alice.get(url("key-detail", key)))
    bob_digest = digest_of(bob.get(url("key-detail", key)))

    first = alice.post(
        url("key-principals", key, role="users"),
        {"op": "remove", "principal": [demo["KMSUser"].arn], "policy_digest": alice_digest},
    )
    second = bob.post(url("key-admins-can-delete", key), {"policy_digest": bob_digest})

    assert first.status_code == 302
    assert second.status_code == 400
    assert MESSAGE in second.content.decode()
    document = stored(key)
    assert policy.key_users(document) == []
    assert policy.admins_can_delete(document)


def test_a_single_edit_with_the_pages_digest_is_saved(alice, key):
    add = url("key-principals", key, role="users")

    response = alice.post(add, {"op": "add", "principal": [KMS_ROLE], "policy_digest": digest_of(alice.get(add))})

    assert response.status_code == 302
    assert KMS_ROLE in policy.key_users(stored(key))


# ---------------------------------------------------------------- the service


def test_put_key_policy_with_a_stale_digest_raises_and_changes_nothing(kms_admin, key):
    before = key.policy
    stale = key_service.policy_digest(before + " ")
    changed = json.loads(before)
    changed["Statement"][2]["Principal"]["AWS"] = [KMS_ROLE]

    with pytest.raises(KmsError) as refused:
        key_service.put_key_policy(
            kms_admin, key_id=key.key_id, policy_text=json.dumps(changed), expected_policy_digest=stale
        )

    assert (refused.value.code, refused.value.message) == ("ValidationException", MESSAGE)
    key.refresh_from_db()
    assert key.policy == before
    refusals = AuditEvent.objects.filter(event_name="PutKeyPolicy", key_id=key.key_id, error_code="ValidationException")
    assert refusals.count() == 1


def test_put_key_policy_with_the_current_digest_saves(kms_admin, key):
    text = json.dumps(json.loads(key.policy), indent=2)

    key_service.put_key_policy(
        kms_admin, key_id=key.key_id, policy_text=text, expected_policy_digest=key_service.policy_digest(key.policy)
    )

    key.refresh_from_db()
    assert key.policy == text
