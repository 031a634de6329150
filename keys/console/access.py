"""Who may see a console page (a signed-in Django user that is an IAM user of an account), and where to send them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme


def principal_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """@login_required (redirects to the sign-in page), then 403 unless the user is an IAM principal."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request.user, "principal", None) is None:
            raise PermissionDenied("This sign-in is not an IAM user of an account.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def safe_next_url(request: HttpRequest, candidate: str | None) -> str | None:
    """A ?next= (or posted next) that stays on this site, or None: never an open redirect."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None
