"""Fixtures built through the services, so test data obeys the same rules as real data."""

from __future__ import annotations

import pytest

from keys.management.commands.seed_demo import seed
from keys.services.gate import Actor

REGION = "us-west-2"
DEMO_PASSWORD = "training-password"


@pytest.fixture(autouse=True)
def _no_wrapping_key_pool(settings):
    """Tests make wrapping keys on demand; filling the RSA_4096 pool takes seconds."""
    settings.KMS_WRAPPING_KEY_POOL = {}


@pytest.fixture
def demo(db):
    """The demo accounts, users, roles and AWS managed keys; returns the users by name."""
    return seed(DEMO_PASSWORD)


def actor_for(principal, region: str = REGION, **extra) -> Actor:
    return Actor.for_principal(principal, region=region, **extra)


@pytest.fixture
def admin(demo) -> Actor:
    return actor_for(demo["Admin"])


@pytest.fixture
def kms_admin(demo) -> Actor:
    return actor_for(demo["KMSAdminUser"])


@pytest.fixture
def kms_user(demo) -> Actor:
    return actor_for(demo["KMSUser"])


@pytest.fixture
def external_user(demo) -> Actor:
    return actor_for(demo["ExternalUser"])


@pytest.fixture
def kms_admin_client(client, demo):
    """Django's test client with KMSAdminUser's console session (the key policy's administrator)."""
    client.force_login(demo["KMSAdminUser"].user)
    return client


# ---------------------------------------------------------------- the KMS JSON API (signed by botocore's signer)


@pytest.fixture
def admin_api(demo):
    """Admin's signed KMS API client over Django's test client (keys.tests.kms_api.KmsApi)."""
    from keys.tests.kms_api import KmsApi

    return KmsApi.for_principal(demo["Admin"])


@pytest.fixture
def kms_user_api(demo):
    from keys.tests.kms_api import KmsApi

    return KmsApi.for_principal(demo["KMSUser"])


@pytest.fixture
def external_api(demo):
    from keys.tests.kms_api import KmsApi

    return KmsApi.for_principal(demo["ExternalUser"])
