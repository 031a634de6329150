"""The console's side of the gate: the signed-in principal as an Actor, and KMS errors on the page."""

from __future__ import annotations

from django.http import HttpRequest

from keys.errors import KmsError
from keys.regions import DEFAULT_REGION, REGIONS
from keys.services.gate import Actor


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "127.0.0.1"


def console_actor(request: HttpRequest, region: str) -> Actor:
    """The signed-in IAM user acting through the console in a region."""
    return Actor.for_principal(
        request.user.principal,
        region=region,
        source_ip=client_ip(request),
        user_agent="AWS Internal (console) " + request.META.get("HTTP_USER_AGENT", "")[:200],
        via_console=True,
    )


def region_or_default(value: str | None) -> str:
    return value if value in REGIONS else DEFAULT_REGION


# A page that cannot show its key says why with the status of the refusal; any other refusal is a 400.
PAGE_STATUS = {"NotFoundException": 404, "AccessDeniedException": 403}


def error_status(error: KmsError) -> int:
    """The HTTP status of a page whose key the services refused to show."""
    return PAGE_STATUS.get(error.code, 400)
