"""The console's "My security credentials": the access keys the API's signatures are checked against."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from keys.models import AccessKey
from keys.services import directory
from keys.tests.kms_api import KmsApi

pytestmark = pytest.mark.django_db

PAGE = reverse("console:security-credentials")
CREATED = reverse("console:security-credentials-created")
DOWNLOAD = reverse("console:security-credentials-download")


@pytest.fixture
def kms_user_client(demo) -> Client:
    client = Client()
    client.force_login(demo["KMSUser"].user)
    return client


def _create(client: Client):
    return client.post(PAGE, {"action": "create"})


def test_the_page_needs_a_signed_in_user():
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:signin"))


def test_the_page_lists_only_the_signed_in_users_keys(kms_user_client, demo):
    own, _ = directory.create_access_key(demo["KMSUser"])
    other, _ = directory.create_access_key(demo["Admin"])
    page = kms_user_client.get(PAGE).content.decode()
    assert own.access_key_id in page
    assert other.access_key_id not in page
    assert "Access keys for CLI, SDK, &amp; API access" in page
    assert "N/A" in page  # never used


def test_a_new_secret_is_shown_once_and_then_never_again(kms_user_client, demo):
    response = _create(kms_user_client)
    assert response.status_code == 302 and response["Location"] == CREATED
    access_key = AccessKey.objects.get(principal=demo["KMSUser"])
    secret = directory.access_key_secret(access_key)
    shown = kms_user_client.get(CREATED)
    assert shown.status_code == 200
    assert secret in shown.content.decode()
    assert "This is the only time that the secret access key can be viewed or downloaded." in shown.content.decode()
    again = kms_user_client.get(CREATED, follow=True)
    assert secret not in again.content.decode()
    assert "cannot be shown again" in again.content.decode()


def test_the_csv_download_has_awss_columns_and_works_once(kms_user_client, demo):
    _create(kms_user_client)
    kms_user_client.get(CREATED)
    access_key = AccessKey.objects.get(principal=demo["KMSUser"])
    response = kms_user_client.post(DOWNLOAD)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="accessKeys.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["Access key ID", "Secret access key"],
        [access_key.access_key_id, directory.access_key_secret(access_key)],
    ]
    second = kms_user_client.post(DOWNLOAD)
    assert second.status_code == 302
    assert directory.access_key_secret(access_key).encode() not in second.content


def test_leaving_the_created_page_ends_the_download_offer(kms_user_client):
    _create(kms_user_client)
    kms_user_client.get(CREATED)
    kms_user_client.get(PAGE)
    assert kms_user_client.post(DOWNLOAD).status_code == 302


def test_the_session_never_holds_the_secret(kms_user_client, demo):
    _create(kms_user_client)
    kms_user_client.get(CREATED)
    secret = directory.access_key_secret(AccessKey.objects.get(principal=demo["KMSUser"]))
    assert secret not in str(dict(kms_user_client.session.items()))


def test_a_user_has_at_most_two_access_keys(kms_user_client, demo):
    _create(kms_user_client)
    _create(kms_user_client)
    page = kms_user_client.get(PAGE).content.decode()
    assert 'value="create" class="btn btn--primary" disabled' in page
    third = _create(kms_user_client)
    assert third.status_code == 400
    assert "at most 2 access keys" in third.content.decode()
    assert AccessKey.objects.filter(principal=demo["KMSUser"]).count() == 2


def test_a_created_key_signs_api_requests_and_its_last_use_is_shown(kms_user_client, demo):
    _create(kms_user_client)
    access_key = AccessKey.objects.get(principal=demo["KMSUser"])
    api = KmsApi(access_key.access_key_id, directory.access_key_secret(access_key))
    assert api.call("ListKeys").status == 200
    page = kms_user_client.get(PAGE).content.decode()
    assert "N/A" not in page
    assert " UTC" in page.split(access_key.access_key_id, 1)[1]


def test_making_a_key_inactive_stops_its_signatures_until_made_active(kms_user_client, demo):
    access_key, secret = directory.create_access_key(demo["KMSUser"])
    api = KmsApi(access_key.access_key_id, secret)
    response = kms_user_client.post(
        PAGE, {"action": "deactivate", "access_key_id": access_key.access_key_id}, follow=True
    )
    assert f"Access key {access_key.access_key_id} is now inactive." in response.content.decode()
    assert api.call("ListKeys").error_type == "UnrecognizedClientException"
    kms_user_client.post(PAGE, {"action": "activate", "access_key_id": access_key.access_key_id})
    assert api.call("ListKeys").status == 200


def test_delete_asks_first_then_the_key_is_gone(kms_user_client, demo):
    access_key, secret = directory.create_access_key(demo["KMSUser"])
    confirm_url = reverse("console:security-credentials-delete", kwargs={"access_key_id": access_key.access_key_id})
    confirm = kms_user_client.get(confirm_url)
    assert confirm.status_code == 200
    assert "Delete access key" in confirm.content.decode()
    assert AccessKey.objects.filter(pk=access_key.pk).exists()
    kms_user_client.post(confirm_url)
    assert not AccessKey.objects.filter(pk=access_key.pk).exists()
    assert KmsApi(access_key.access_key_id, secret).call("ListKeys").error_type == "UnrecognizedClientException"


def test_another_users_key_cannot_be_changed_or_deleted(kms_user_client, demo):
    admin_key, _ = directory.create_access_key(demo["Admin"])
    assert (
        kms_user_client.post(PAGE, {"action": "deactivate", "access_key_id": admin_key.access_key_id}).status_code
        == 404
    )
    delete_url = reverse("console:security-credentials-delete", kwargs={"access_key_id": admin_key.access_key_id})
    assert kms_user_client.get(delete_url).status_code == 404
    assert kms_user_client.post(delete_url).status_code == 404
    admin_key.refresh_from_db()
    assert admin_key.status == "Active"


def test_every_change_needs_the_csrf_token(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo["KMSUser"].user)
    assert client.post(PAGE, {"action": "create"}).status_code == 403
    assert not AccessKey.objects.filter(principal=demo["KMSUser"]).exists()


def test_the_account_menu_links_to_the_page(kms_user_client):
    page = kms_user_client.get(reverse("console:dashboard")).content.decode()
    assert f'href="{PAGE}"' in page
