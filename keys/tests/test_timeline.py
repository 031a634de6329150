"""keys.timeline on synthetic audit events: which marks, in which order, with which states between them."""

from __future__ import annotations

import datetime as dt

from keys import states
from keys.timeline import REIMPORTED, Event, build_timeline, who_name

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
ADMIN = "arn:aws:iam::111122223333:user/KMSAdminUser"
USER = "arn:aws:iam::111122223333:user/KMSUser"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def imported(minutes: float, valid_to: dt.datetime | None = None) -> Event:
    request = (
        {"expirationModel": "KEY_MATERIAL_EXPIRES", "validTo": valid_to.isoformat()}
        if valid_to
        else {"expirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE", "validTo": None}
    )
    return Event(at(minutes), "ImportKeyMaterial", ADMIN, request=request)


def external_lifecycle() -> list[Event]:
    """Created, parameters, imported, deleted, parameters again, reimported: an imported key's first day."""
    return [
        Event(at(0), "CreateKey", ADMIN),
        Event(at(1), "GetParametersForImport", ADMIN),
        imported(2, valid_to=T0 + dt.timedelta(days=90)),
        Event(at(3), "DeleteImportedKeyMaterial", ADMIN),
        Event(at(4), "GetParametersForImport", ADMIN),
        imported(5, valid_to=T0 + dt.timedelta(days=90)),
    ]


def build(events, **overrides):
    options = {
        "now": at(60),
        "created": T0,
        "initial_state": states.PENDING_IMPORT,
        "current_state": states.ENABLED,
        "has_material": True,
        "valid_to": T0 + dt.timedelta(days=90),
    }
    return build_timeline(events, **{**options, **overrides})


def test_marks_follow_the_events_in_time_order_then_the_expiry_to_come():
    timeline = build(list(reversed(external_lifecycle())))

    assert [m.label for m in timeline.marks] == [
        "Key created",
        "Import parameters downloaded",
        "Key material imported",
        "Key material deleted",
        "Import parameters downloaded",
        REIMPORTED,
        "Key material expires",
    ]
    xs = [m.x for m in timeline.marks]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert [m.future for m in timeline.marks] == [False] * 6 + [True]
    assert timeline.marks[-1].when == T0 + dt.timedelta(days=90)


def test_now_sits_between_the_past_and_the_future():
    timeline = build(external_lifecycle())

    assert timeline.past[-1].x < timeline.now_x < timeline.future[0].x


def test_bands_show_the_state_between_events():
    timeline = build(external_lifecycle())

    past = [(s.state, s.future) for s in timeline.segments]
    assert past == [
        (states.PENDING_IMPORT, False),  # created .. imported (downloads do not change the state)
        (states.ENABLED, False),  # imported .. deleted
        (states.PENDING_IMPORT, False),  # deleted .. reimported
        (states.ENABLED, False),  # reimported .. now
        (states.ENABLED, True),  # now .. expiry (expected)
    ]
    for left, right in zip(timeline.segments, timeline.segments[1:], strict=False):
        assert left.x2 == right.x1


def test_import_marks_say_when_the_material_expires_or_that_it_does_not():
    events = [Event(at(0), "CreateKey", ADMIN), imported(1)]
    timeline = build(events, valid_to=None)

    assert timeline.marks[1].detail == "Does not expire"
    assert timeline.future == []

    expiring = build([Event(at(0), "CreateKey", ADMIN), imported(1, valid_to=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))])
    assert expiring.marks[1].detail == "Expires 2026-05-01 00:00"


def test_expired_material_is_a_service_event_and_the_key_returns_to_pending_import():
    events = [
        Event(at(0), "CreateKey", ADMIN),
        imported(1, valid_to=at(30)),
        Event(at(30), "DeleteExpiredKeyMaterial", "", event_type="AwsServiceEvent"),
    ]
    timeline = build(events, current_state=states.PENDING_IMPORT, has_material=False, valid_to=at(30))

    expired = timeline.marks[2]
    assert expired.label == "Key material expired"
    assert expired.who == "AWS"
    assert [s.state for s in timeline.segments] == [states.PENDING_IMPORT, states.ENABLED, states.PENDING_IMPORT]
    assert timeline.future == []  # the expiry is past: no "expires" mark


def test_denied_calls_are_marked_distinctly_with_who_was_denied_and_change_no_state():
    message = "User: arn:aws:iam::111122223333:user/KMSUser is not authorized to perform: kms:ScheduleKeyDeletion"
    events = [
        Event(at(0), "CreateKey", ADMIN),
        imported(1),
        Event(at(2), "ScheduleKeyDeletion", USER, error_code="AccessDeniedException", error_message=message),
    ]
    timeline = build(events, valid_to=None)

    denied = timeline.marks[2]
    assert denied.denied and denied.css == "denied"
    assert denied.label == "Schedule key deletion denied"
    assert denied.who == "KMSUser" and denied.who_arn == USER
    assert denied.error_message == message
    assert "Denied: KMSUser" in [text for _, text, _ in denied.lines]
    assert [s.state for s in timeline.segments] == [states.PENDING_IMPORT, states.ENABLED]
    assert "1 denied call" in timeline.summary


def test_other_refusals_are_failures_not_denials():
    events = [
        Event(at(0), "CreateKey", ADMIN),
        Event(
            at(1), "ImportKeyMaterial", ADMIN, error_code="IncorrectKeyMaterialException", error_message="not the same"
        ),
    ]
    timeline = build(events, current_state=states.PENDING_IMPORT, has_material=False, valid_to=None)

    failed = timeline.marks[1]
    assert failed.failed and not failed.denied
    assert failed.label == "Import key material failed"
    assert failed.error_code == "IncorrectKeyMaterialException"


def test_disable_enable_and_deletion_scheduled_then_cancelled():
    deletion = at(60 * 24 * 7)
    events = [
        Event(at(0), "CreateKey", ADMIN),
        imported(1),
        Event(at(2), "DisableKey", ADMIN),
        Event(at(3), "EnableKey", ADMIN),
        Event(
            at(4),
            "ScheduleKeyDeletion",
            ADMIN,
            request={"pendingWindowInDays": 7},
            response={"deletionDate": deletion.isoformat(), "keyState": "PendingDeletion"},
        ),
        Event(at(5), "CancelKeyDeletion", ADMIN),
    ]
    timeline = build(events, current_state=states.DISABLED, valid_to=None)

    assert [m.label for m in timeline.marks] == [
        "Key created",
        "Key material imported",
        "Key disabled",
        "Key enabled",
        "Deletion scheduled",
        "Deletion cancelled",
    ]
    assert timeline.marks[4].detail == "Deletes 2026-03-08 09:00 (7 days)"
    assert [s.state for s in timeline.segments] == [
        states.PENDING_IMPORT,
        states.ENABLED,
        states.DISABLED,
        states.ENABLED,
        states.PENDING_DELETION,
        states.DISABLED,
    ]


def test_cancelling_deletion_of_a_key_without_material_returns_it_to_pending_import():
    events = [
        Event(at(0), "CreateKey", ADMIN),
        Event(at(1), "ScheduleKeyDeletion", ADMIN, request={"pendingWindowInDays": 30}),
        Event(at(2), "CancelKeyDeletion", ADMIN),
    ]
    timeline = build(events, current_state=states.PENDING_IMPORT, has_material=False, valid_to=None)

    assert [s.state for s in timeline.segments] == [
        states.PENDING_IMPORT,
        states.PENDING_DELETION,
        states.PENDING_IMPORT,
    ]


def test_a_key_pending_deletion_shows_its_deletion_date_to_come_and_nothing_after_it():
    deletion = at(60 * 24 * 30)
    events = [
        Event(at(0), "CreateKey", ADMIN),
        imported(1, valid_to=at(60 * 24 * 90)),
        Event(at(2), "ScheduleKeyDeletion", ADMIN),
    ]
    timeline = build(events, current_state=states.PENDING_DELETION, deletion_date=deletion, valid_to=at(60 * 24 * 90))

    assert [m.label for m in timeline.future] == ["Key will be deleted"]  # the expiry comes after the deletion
    assert timeline.segments[-1].state == states.PENDING_DELETION and timeline.segments[-1].future


def test_expiry_before_a_deletion_date_projects_pending_deletion_to_stay():
    events = [
        Event(at(0), "CreateKey", ADMIN),
        imported(1, valid_to=at(60 * 24)),
        Event(at(2), "ScheduleKeyDeletion", ADMIN),
    ]
    timeline = build(
        events, current_state=states.PENDING_DELETION, deletion_date=at(60 * 24 * 30), valid_to=at(60 * 24)
    )

    assert [m.label for m in timeline.future] == ["Key material expires", "Key will be deleted"]
    assert [s.state for s in timeline.segments if s.future] == [states.PENDING_DELETION]


def test_a_key_without_a_create_record_gets_a_created_mark_from_its_creation_date():
    timeline = build([], initial_state=states.ENABLED, current_state=states.ENABLED, valid_to=None)

    assert [m.label for m in timeline.marks] == ["Key created"]
    assert timeline.marks[0].when == T0
    assert [s.state for s in timeline.segments] == [states.ENABLED]


def test_truncated_history_starts_in_an_unknown_state_until_an_event_decides_it():
    events = [Event(at(10), "DeleteImportedKeyMaterial", ADMIN), imported(11)]
    timeline = build(events, truncated=True, valid_to=None)

    assert timeline.marks[0].label == "Key created"
    assert [s.state for s in timeline.segments] == ["Unknown", states.ENABLED]
    assert "only the most recent are shown" in timeline.summary


def test_events_outside_the_lifecycle_are_left_out():
    events = [
        Event(at(0), "CreateKey", ADMIN),
        Event(at(1), "DescribeKey", USER),
        Event(at(2), "Encrypt", USER),
        Event(at(3), "PutKeyPolicy", ADMIN),
    ]
    timeline = build(events, initial_state=states.ENABLED, valid_to=None)

    assert [m.label for m in timeline.marks] == ["Key created", "Key policy changed"]


def test_many_events_widen_the_drawing_instead_of_crowding_it():
    few = build(external_lifecycle())
    many = build(external_lifecycle() + [Event(at(10 + i), "PutKeyPolicy", ADMIN) for i in range(30)])

    gaps = [b.x - a.x for a, b in zip(many.marks, many.marks[1:], strict=False) if not b.future]
    assert min(gaps) >= 120
    assert many.width > few.width
    # A usual lifecycle scales to its panel; a long one keeps its size and scrolls.
    assert few.fits and not many.fits
    # Labels alternate above and below the axis so neighbours never overlap.
    assert [m.above for m in many.marks[:4]] == [True, False, True, False]


def test_who_name_reads_users_roles_root_and_service_events():
    assert who_name(ADMIN) == "KMSAdminUser"
    assert who_name("arn:aws:iam::111122223333:role/KMSAdminRole") == "KMSAdminRole"
    assert who_name("arn:aws:iam::111122223333:user/path/to/Dev") == "Dev"
    assert who_name("arn:aws:iam::111122223333:root") == "root"
    assert who_name("") == "AWS"
