"""Console page module: credentials ("My security credentials": the signed-in user's access keys).

The secret access key is shown once. Creating a key redirects to the "created" page, which may be
seen once (a one-time session mark, popped when it renders) and offers the only download of
accessKeys.csv (a second mark, popped by the download, and dropped when the user goes back to
the list). The session holds only the access key ID, never the secret.
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from keys.console.access import principal_required
from keys.errors import KmsError
from keys.models import AccessKey
from keys.services import directory

LIST_TEMPLATE = "keys/security_credentials.html"
CREATED_TEMPLATE = "keys/security_credentials_created.html"
DELETE_TEMPLATE = "keys/security_credentials_delete.html"
# One-time session marks: the key whose secret may be shown, and the key whose .csv may be downloaded.
SHOW_ONCE = "security_credentials_show"
DOWNLOAD_ONCE = "security_credentials_download"
CSV_NAME = "accessKeys.csv"
CSV_HEADER = ("Access key ID", "Secret access key")


def _own_key(request: HttpRequest, access_key_id: str | None) -> AccessKey | None:
    """The signed-in user's access key with this ID, or None when the user has none such."""
    keys = directory.list_access_keys(request.user.principal)
    return next((k for k in keys if access_key_id and k.access_key_id == access_key_id), None)


def _own_key_or_404(request: HttpRequest, access_key_id: str) -> AccessKey:
    access_key = _own_key(request, access_key_id)
    if access_key is None:
        raise Http404("No such access key.")
    return access_key


def _list_page(request: HttpRequest, *, error: KmsError | None = None, status: int = 200) -> HttpResponse:
    principal = request.user.principal
    access_keys = directory.list_access_keys(principal)
    context = {
        "access_keys": access_keys,
        "max_access_keys": directory.MAX_ACCESS_KEYS,
        "can_create": len(access_keys) < directory.MAX_ACCESS_KEYS,
        "error": error,
        "endpoint_url": request.build_absolute_uri("/").rstrip("/"),
    }
    return render(request, LIST_TEMPLATE, context, status=status)


@never_cache
@principal_required
@require_http_methods(["GET", "POST"])
def security_credentials(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        # Leaving the "created" page ends the offer of its one download.
        request.session.pop(DOWNLOAD_ONCE, None)
        return _list_page(request)
    principal = request.user.principal
    action = request.POST.get("action", "")
    if action == "create":
        try:
            access_key, _secret = directory.create_access_key(principal)
        except KmsError as error:
            return _list_page(request, error=error, status=400)
        request.session[SHOW_ONCE] = access_key.access_key_id
        return redirect("console:security-credentials-created")
    if action in ("deactivate", "activate"):
        access_key = _own_key_or_404(request, request.POST.get("access_key_id", ""))
        directory.set_access_key_status(principal, access_key.access_key_id, active=action == "activate")
        state = "active" if action == "activate" else "inactive"
        messages.success(request, f"Access key {access_key.access_key_id} is now {state}.")
        return redirect("console:security-credentials")
    return _list_page(request, error=KmsError("ValidationException", "Choose an action."), status=400)


@never_cache
@principal_required
@require_GET
def access_key_created(request: HttpRequest) -> HttpResponse:
    access_key = _own_key(request, request.session.pop(SHOW_ONCE, None))
    if access_key is None:
        messages.info(
            request,
            "The secret access key was shown once, when the key was created, and cannot be shown again. "
            "If you have lost it, create a new access key and delete the old one.",
        )
        return redirect("console:security-credentials")
    request.session[DOWNLOAD_ONCE] = access_key.access_key_id
    context = {"access_key": access_key, "secret": directory.access_key_secret(access_key)}
    return render(request, CREATED_TEMPLATE, context)


@never_cache
@principal_required
@require_POST
def download_access_key(request: HttpRequest) -> HttpResponse:
    access_key = _own_key(request, request.session.pop(DOWNLOAD_ONCE, None))
    if access_key is None:
        messages.info(request, "The .csv file can be downloaded only once, right after the key is created.")
        return redirect("console:security-credentials")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerow((access_key.access_key_id, directory.access_key_secret(access_key)))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{CSV_NAME}"'
    return response


@never_cache
@principal_required
@require_http_methods(["GET", "POST"])
def delete_access_key(request: HttpRequest, access_key_id: str) -> HttpResponse:
    access_key = _own_key_or_404(request, access_key_id)
    if request.method == "POST":
        directory.delete_access_key(request.user.principal, access_key.access_key_id)
        messages.success(request, f"Access key {access_key.access_key_id} was deleted.")
        return redirect("console:security-credentials")
    context = {"access_key": access_key, "cancel_url": reverse("console:security-credentials")}
    return render(request, DELETE_TEMPLATE, context)


urlpatterns = [
    path("iam/security-credentials/", security_credentials, name="security-credentials"),
    path("iam/security-credentials/created/", access_key_created, name="security-credentials-created"),
    path("iam/security-credentials/created/accessKeys.csv", download_access_key, name="security-credentials-download"),
    path(
        "iam/security-credentials/<str:access_key_id>/delete/",
        delete_access_key,
        name="security-credentials-delete",
    ),
]
