"""Key actions (Enable, Disable, Schedule/Cancel key deletion, Delete key material, Add or edit tags).

From the list's form and from the details page, every action goes to the service; the key-state
table decides (spec 4.10, 4.11) and the gate decides who may (key policy + IAM policies).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from keys import clock, states
from keys.models import AuditEvent, Key
from keys.tests.conftest import REGION
from keys.tests.helpers import signed_in
from keys.tests.test_key_detail import KINDS, detail, html, make_key
from keys.tests.test_key_detail import OPERATION as DETAIL_OPERATION

pytestmark = pytest.mark.django_db

ACTIONS_URL = reverse("console:key-actions", kwargs={"region": REGION})
LIST_URL = reverse("console:encryption-keys") + f"?region={REGION}"
# The actions that change the key's state (Add or edit tags opens its own page instead).
OPERATION = {action: operation for action, operation in DETAIL_OPERATION.items() if action != "edit-tags"}


def post_action(client, action: str, *key_ids: str, **extra):
    data = {"action": action, "key_id": list(key_ids), **extra}
    if action in ("schedule-deletion", "delete-key-material"):
        data.setdefault("confirm", "on")
    return client.post(ACTIONS_URL, data)


def flashed(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def snapshot(key: Key) -> tuple:
    key.refresh_from_db()
    return key.state, key.has_material, key.deletion_date


# ---------------------------------------------------------------- every action on every kind of key


@pytest.mark.parametrize("action", list(OPERATION))
@pytest.mark.parametrize("kind", list(KINDS))
def test_each_action_changes_the_state_as_the_spec_says_or_is_refused_in_its_words(
    kms_admin_client, demo, kms_admin, kind, action
):
    key = make_key(kind, demo, kms_admin)
    before = snapshot(key)
    refusal = states.refusal(OPERATION[action], state=key.state, origin=key.origin)

    response = post_action(kms_admin_client, action, key.key_id, pending_window_days="7")

    assert response.status_code == 302 and response["Location"] == LIST_URL
    messages = flashed(response)
    key.refresh_from_db()
    if refusal is not None:
        assert messages == [("error", f"{refusal.error}: {refusal.message(key.arn)}")]
        assert snapshot(key) == before
        return
    assert [level for level, _ in messages] == ["success"]
    had_material = before[1]
    assert key.state == states.next_state(OPERATION[action], before[0], has_material=had_material)
    if action == "schedule-deletion":
        assert key.deletion_date - clock.now() == pytest.approx(dt.timedelta(days=7), abs=dt.timedelta(minutes=1))
    if action == "delete-key-material":
        assert not key.has_material


@pytest.mark.parametrize("action", list(OPERATION))
def test_aws_managed_keys_refuse_every_action(client, demo, action):
    key = make_key("aws-managed", demo, None)
    before = snapshot(key)

    response = post_action(signed_in(demo["Admin"], client), action, key.key_id, pending_window_days="7")

    [(level, text)] = flashed(response)
    assert level == "error" and text.startswith(("AccessDeniedException: ", "UnsupportedOperationException: "))
    assert snapshot(key) == before


def test_spec_transitions_from_the_details_page(kms_admin_client, demo, kms_admin):
    """Schedule (7 days) -> Pending Deletion; Cancel -> Disabled; for a key without material -> Pending Import."""
    with_material = make_key("external-enabled", demo, kms_admin)
    without = make_key("external-pending-import", demo, kms_admin)
    for key, after_cancel in ((with_material, states.DISABLED), (without, states.PENDING_IMPORT)):
        back = detail(key)
        response = post_action(kms_admin_client, "schedule-deletion", key.key_id, pending_window_days="7", next=back)
        assert response["Location"] == back
        assert "Pending Deletion" in html(kms_admin_client.get(back))
        key.refresh_from_db()
        assert key.state == states.PENDING_DELETION and key.pending_window_days == 7

        kms_admin_client.post(ACTIONS_URL, {"action": "cancel-deletion", "key_id": key.key_id, "next": back})
        key.refresh_from_db()
        assert key.state == after_cancel and key.deletion_date is None
        assert states.DISPLAY[after_cancel] in html(kms_admin_client.get(back))


def test_delete_key_material_asks_first_then_returns_the_key_to_pending_import(kms_admin_client, demo, kms_admin):
    key = make_key("external-enabled", demo, kms_admin)
    page = reverse(
        "console:key-action", kwargs={"region": REGION, "key_id": key.key_id, "action": "delete-key-material"}
    )

    confirmation = html(kms_admin_client.get(page))
    assert "<h1" in confirmation and "Delete key material" in confirmation
    assert 'type="submit" class="btn btn--primary">Delete key material<' in confirmation
    assert snapshot(key)[0] == states.ENABLED

    response = post_action(kms_admin_client, "delete-key-material", key.key_id, next=detail(key))
    key.refresh_from_db()
    assert key.state == states.PENDING_IMPORT and not key.has_material
    assert key.expiration_model == "KEY_MATERIAL_EXPIRES" and key.valid_to is not None  # kept (spec 4.11)
    assert flashed(response) == [("success", "Deleted the key material of external-enabled (now Pending Import).")]


# ---------------------------------------------------------------- Schedule key deletion's confirmation page


def test_schedule_deletion_page_asks_for_a_waiting_period_of_30_days_by_default(kms_admin_client, demo, kms_admin):
    key = make_key("kms-enabled", demo, kms_admin)
    url = reverse("console:key-action", kwargs={"region": REGION, "key_id": key.key_id, "action": "schedule-deletion"})

    response = kms_admin_client.get(url)

    page = html(response)
    assert response.context["form"]["pending_window_days"].value() == 30
    assert ">Waiting period (in days)</label>" in page
    assert 'min="7" max="30"' in page
    assert ">Schedule deletion</button>" in page
    assert snapshot(key)[0] == states.ENABLED


def test_the_list_opens_the_confirmation_page_for_the_checked_keys(kms_admin_client, demo, kms_admin):
    one = make_key("kms-enabled", demo, kms_admin, alias="alias/one")
    two = make_key("external-pending-import", demo, kms_admin, alias="alias/two")

    response = kms_admin_client.post(ACTIONS_URL, {"action": "schedule-deletion", "key_id": [one.key_id, two.key_id]})

    assert response.status_code == 200
    page = html(response)
    assert "Schedule deletion of these 2 keys" in page
    assert one.key_id in page and two.key_id in page
    assert snapshot(one)[0] == states.ENABLED and snapshot(two)[0] == states.PENDING_IMPORT

    post_action(kms_admin_client, "schedule-deletion", one.key_id, two.key_id, pending_window_days="30")
    assert snapshot(one)[0] == snapshot(two)[0] == states.PENDING_DELETION


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("6", "Member must have value between 7 and 30"),
        ("31", "Member must have value between 7 and 30"),
        ("seven", "Enter a whole number of days between 7 and 30."),
        ("", "Enter a waiting period between 7 and 30 days."),
    ],
)
def test_a_waiting_period_outside_7_to_30_asks_again_and_changes_nothing(
    kms_admin_client, demo, kms_admin, days, message
):
    key = make_key("kms-enabled", demo, kms_admin)

    response = post_action(kms_admin_client, "schedule-deletion", key.key_id, pending_window_days=days)

    assert response.status_code == 400
    assert message in html(response)
    assert snapshot(key)[0] == states.ENABLED


# ---------------------------------------------------------------- the list's form


def test_no_keys_checked_says_so(kms_admin_client):
    response = kms_admin_client.post(ACTIONS_URL, {"action": "disable"})

    assert response["Location"] == LIST_URL
    assert flashed(response) == [
        ("error", "No keys are selected. Select the check box of at least one key, then choose a key action.")
    ]


def test_an_unknown_action_is_refused(kms_admin_client, demo, kms_admin):
    key = make_key("kms-enabled", demo, kms_admin)

    response = kms_admin_client.post(ACTIONS_URL, {"action": "explode", "key_id": key.key_id})

    assert flashed(response) == [("error", "Choose a key action from the menu.")]
    assert snapshot(key)[0] == states.ENABLED


def test_each_key_is_answered_on_its_own(kms_admin_client, demo, kms_admin):
    disabled = make_key("kms-disabled", demo, kms_admin, alias="alias/was-disabled")
    pending = make_key("external-pending-import", demo, kms_admin, alias="alias/pending")

    response = post_action(kms_admin_client, "enable", disabled.key_id, pending.key_id)

    assert flashed(response) == [
        ("success", "Enabled was-disabled."),
        ("error", f"KMSInvalidStateException: {pending.arn} is pending import."),
    ]
    assert snapshot(disabled)[0] == states.ENABLED
    assert snapshot(pending)[0] == states.PENDING_IMPORT


def test_errors_are_shown_on_the_page_after_the_redirect(kms_admin_client, demo, kms_admin):
    pending = make_key("external-pending-import", demo, kms_admin)

    response = kms_admin_client.post(
        ACTIONS_URL, {"action": "disable", "key_id": pending.key_id, "next": detail(pending)}, follow=True
    )

    page = html(response)
    assert 'class="alert alert--error" role="alert"' in page
    assert f"KMSInvalidStateException: {pending.arn} is pending import." in page


def test_another_accounts_key_id_is_not_found(kms_admin_client, external_user):
    from keys.services import keys as key_service

    theirs = key_service.create_key(external_user)

    response = post_action(kms_admin_client, "disable", theirs.key_id)

    [(level, text)] = flashed(response)
    assert level == "error" and text.startswith("NotFoundException: ")
    assert snapshot(theirs)[0] == states.ENABLED


def test_add_or_edit_tags_goes_to_the_tag_editor_of_one_key(kms_admin_client, demo, kms_admin):
    one = make_key("kms-enabled", demo, kms_admin, alias="alias/one")
    two = make_key("kms-disabled", demo, kms_admin, alias="alias/two")

    response = kms_admin_client.post(ACTIONS_URL, {"action": "edit-tags", "key_id": one.key_id})
    assert response["Location"] == reverse("console:key-tags", kwargs={"region": REGION, "key_id": one.key_id})

    response = kms_admin_client.post(ACTIONS_URL, {"action": "edit-tags", "key_id": [one.key_id, two.key_id]})
    assert flashed(response) == [("error", "Select only one key to add or edit tags.")]


def test_next_must_stay_on_this_site(kms_admin_client, demo, kms_admin):
    key = make_key("kms-enabled", demo, kms_admin)

    response = kms_admin_client.post(
        ACTIONS_URL, {"action": "disable", "key_id": key.key_id, "next": "https://evil.example/phish"}
    )

    assert response["Location"] == LIST_URL


def test_key_actions_are_csrf_protected(demo, kms_admin):
    key = make_key("kms-enabled", demo, kms_admin)
    client = signed_in(demo["KMSAdminUser"], Client(enforce_csrf_checks=True))

    response = client.post(ACTIONS_URL, {"action": "disable", "key_id": key.key_id})

    assert response.status_code == 403
    assert snapshot(key)[0] == states.ENABLED


def test_key_actions_need_a_signed_in_user(client, demo, kms_admin):
    key = make_key("kms-enabled", demo, kms_admin)

    response = client.post(ACTIONS_URL, {"action": "disable", "key_id": key.key_id})

    assert response.status_code == 302 and reverse("console:signin") in response["Location"]
    assert snapshot(key)[0] == states.ENABLED


def test_key_actions_only_accept_post(kms_admin_client):
    assert kms_admin_client.get(ACTIONS_URL).status_code == 405


# ---------------------------------------------------------------- the gate decides for the console too


def test_a_key_user_cannot_schedule_deletion_and_the_denial_is_audited(client, demo, kms_admin):
    key = make_key("external-enabled", demo, kms_admin)
    kms_user = signed_in(demo["KMSUser"], client)
    confirm = reverse(
        "console:key-action", kwargs={"region": REGION, "key_id": key.key_id, "action": "schedule-deletion"}
    )
    before = snapshot(key)

    assert ">Schedule deletion</button>" in html(kms_user.get(confirm))  # the state allows it: offered
    response = kms_user.post(
        ACTIONS_URL,
        {
            "action": "schedule-deletion",
            "key_id": key.key_id,
            "confirm": "on",
            "pending_window_days": "7",
            "next": detail(key),
        },
        follow=True,
    )

    expected = (
        f"AccessDeniedException: User: {demo['KMSUser'].arn} is not authorized to perform: kms:ScheduleKeyDeletion "
        f"on resource: {key.arn} because no resource-based policy allows the kms:ScheduleKeyDeletion action"
    )
    assert expected in html(response)
    assert snapshot(key) == before
    denial = AuditEvent.objects.get(event_name="ScheduleKeyDeletion", key_id=key.key_id)
    assert denial.error_code == "AccessDeniedException"
    assert denial.principal_arn == demo["KMSUser"].arn
    assert denial.record["errorMessage"] == expected.split(": ", 1)[1]
    assert denial.record["sessionCredentialFromConsole"] == "true"


def test_a_key_administrator_can_schedule_deletion(client, demo, kms_admin):
    key = make_key("external-enabled", demo, kms_admin)

    signed_in(demo["KMSAdminUser"], client).post(
        ACTIONS_URL, {"action": "schedule-deletion", "key_id": key.key_id, "confirm": "on", "pending_window_days": "7"}
    )

    key.refresh_from_db()
    assert key.state == states.PENDING_DELETION
    event = AuditEvent.objects.get(event_name="ScheduleKeyDeletion", key_id=key.key_id)
    assert event.error_code == "" and event.principal_arn == demo["KMSAdminUser"].arn


def test_a_confirmation_page_the_state_refuses_says_so_before_anything_is_typed(kms_admin_client, demo, kms_admin):
    key = make_key("kms-pending-deletion", demo, kms_admin)
    url = reverse("console:key-action", kwargs={"region": REGION, "key_id": key.key_id, "action": "schedule-deletion"})

    page = html(kms_admin_client.get(url))

    assert f"{key.arn} is pending deletion." in page
    assert 'class="btn btn--primary" disabled>Schedule deletion<' in page
