"""Who may see a console page: a signed-in Django user that is an IAM user of an account."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def principal_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """@login_required (redirects to the sign-in page), then 403 unless the user is an IAM principal."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request.user, "principal", None) is None:
            raise PermissionDenied("This sign-in is not an IAM user of an account.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)
