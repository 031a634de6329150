"""Open mode (KMS_API_AUTH=open), for test suites written against emulators such as moto.

Any well-formed SigV4 credentials are accepted without checking the signature or its age. The
caller is the root of the account named by the access key ID when that is 12 digits, else of
123456789012; an account open mode creates is marked `Account.open_mode`, and
`POST /moto-api/reset` forgets the keys, aliases and audit events of those accounts. With open
mode off that path does not exist (the console answers 404).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from keys.models import Principal
from keys.services import directory

DEFAULT_ACCOUNT = "123456789012"
RESET_PATHS = frozenset({"/moto-api/reset", "/moto-api/reset/"})
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")


def enabled() -> bool:
    return settings.KMS_API_AUTH == "open"


def is_reset_request(request: HttpRequest) -> bool:
    return enabled() and request.method == "POST" and request.path_info in RESET_PATHS


def account_for(access_key_id: str) -> str:
    return access_key_id if _ACCOUNT_ID.match(access_key_id) else DEFAULT_ACCOUNT


def principal_for(access_key_id: str) -> Principal:
    """The root principal open mode acts as for these credentials (its account is created on first use)."""
    return directory.ensure_open_mode_account(account_for(access_key_id))


def reset() -> dict[str, Any]:
    """moto's reset call: clear what the open-mode accounts hold."""
    directory.reset_open_mode_accounts()
    return {"status": "ok"}
