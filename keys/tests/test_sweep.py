"""`manage.py sweep`: expired material, keys past their deletion date (with their aliases), expired parameters."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command

from keys import states
from keys.errors import KmsError
from keys.models import Alias, AuditEvent, ImportParameters, Key, Tag
from keys.services import importing
from keys.services import keys as key_service
from keys.tests.helpers import console_policy, import_material, parameters

pytestmark = pytest.mark.django_db


def external_key(actor, alias: str | None = None) -> Key:
    return key_service.create_key(
        actor, origin="EXTERNAL", policy_text=console_policy(users=()), alias=alias, tags=[("team", "byok")]
    )


def sweep() -> str:
    out = io.StringIO()
    call_command("sweep", stdout=out)
    return out.getvalue()


def test_sweep_removes_a_key_past_its_deletion_date_with_its_aliases(admin):
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        doomed = external_key(admin, alias="alias/doomed")
        import_material(admin, doomed)
        key_service.schedule_key_deletion(admin, key_id=doomed.key_id, pending_window_days=7)
        kept = external_key(admin, alias="alias/kept")
        key_service.schedule_key_deletion(admin, key_id=kept.key_id, pending_window_days=8)
    deletion_date = Key.objects.get(key_id=doomed.key_id).deletion_date
    with time_machine.travel(deletion_date - dt.timedelta(seconds=1), tick=False):
        assert "deleted keys: 0" in sweep()
        assert Key.objects.filter(key_id=doomed.key_id).exists()
    with time_machine.travel(deletion_date, tick=False):
        output = sweep()
    assert "deleted keys: 1" in output
    assert not Key.objects.filter(key_id=doomed.key_id).exists()
    assert not Alias.objects.filter(name="alias/doomed").exists()
    assert not Tag.objects.filter(key_id=doomed.key_id).exists()
    assert Key.objects.get(key_id=kept.key_id).state == states.PENDING_DELETION
    assert Alias.objects.filter(name="alias/kept").exists()
    event = AuditEvent.objects.get(event_name="DeleteKey", key_id=doomed.key_id)
    assert event.event_type == "AwsServiceEvent" and event.event_time == deletion_date


def test_a_deleted_key_is_not_found_afterwards(admin):
    key = external_key(admin, alias="alias/gone")
    key_service.schedule_key_deletion(admin, key_id=key.key_id, pending_window_days=7)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1), tick=False):
        sweep()
        with pytest.raises(KmsError) as info:
            key_service.describe_key(admin, key_id=key.key_id)
    assert info.value.code == "NotFoundException"
    assert info.value.message == f"Key '{key.arn}' does not exist"


def test_sweep_deletes_expired_material_and_records_the_service_event_once(admin):
    start = dt.datetime.now(dt.UTC)
    valid_to = start + dt.timedelta(hours=3)
    with time_machine.travel(start, tick=False):
        expiring = external_key(admin)
        import_material(admin, expiring, expiration_model=importing.EXPIRES, valid_to=valid_to)
        lasting = external_key(admin)
        import_material(admin, lasting)
    with time_machine.travel(valid_to + dt.timedelta(minutes=5), tick=False):
        output = sweep()
        assert "Expired key material: 1" in output
        sweep()
    expired = Key.objects.get(key_id=expiring.key_id)
    assert expired.state == states.PENDING_IMPORT and expired.sealed_material is None
    assert expired.expiration_model == importing.EXPIRES and expired.valid_to == valid_to
    assert Key.objects.get(key_id=lasting.key_id).state == states.ENABLED
    events = AuditEvent.objects.filter(event_name="DeleteExpiredKeyMaterial")
    assert [(e.key_id, e.event_type, e.event_time) for e in events] == [(expiring.key_id, "AwsServiceEvent", valid_to)]


def test_sweep_removes_expired_import_parameters_and_keeps_valid_ones(admin):
    key = external_key(admin)
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        old, _ = parameters(admin, key)
    with time_machine.travel(start + dt.timedelta(hours=12), tick=False):
        new, _ = parameters(admin, key)
    with time_machine.travel(start + dt.timedelta(hours=24), tick=False):
        assert "expired import parameters: 1" in sweep()
    assert list(ImportParameters.objects.values_list("id", flat=True)) == [new.id]
    assert old.id != new.id


def test_sweep_with_nothing_due_changes_nothing(admin):
    key = external_key(admin)
    import_material(admin, key)
    before = AuditEvent.objects.count()
    assert "Expired key material: 0; deleted keys: 0; expired import parameters: 0" in sweep()
    assert Key.objects.get(key_id=key.key_id).state == states.ENABLED
    assert AuditEvent.objects.count() == before
