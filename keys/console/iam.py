"""Console page module: iam (Dashboard, Users, Roles of the signed-in account)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from keys import selectors
from keys.console.access import principal_required
from keys.models import Principal
from keys.regions import REGIONS


@principal_required
def dashboard(request: HttpRequest) -> HttpResponse:
    principal = request.user.principal
    region = selectors.console_preferences(principal).region
    summary = selectors.dashboard_summary(principal.account_id, region)
    signin_url = request.build_absolute_uri(f"{reverse('console:signin')}?account={principal.account_id}")
    return render(
        request,
        "keys/iam_dashboard.html",
        {"nav": "dashboard", "summary": summary, "region_name": REGIONS[region], "signin_url": signin_url},
    )


@principal_required
def users(request: HttpRequest) -> HttpResponse:
    rows = selectors.account_principals(request.user.principal.account_id, Principal.USER)
    return render(request, "keys/iam_users.html", {"nav": "users", "rows": rows})


@principal_required
def roles(request: HttpRequest) -> HttpResponse:
    rows = selectors.account_principals(request.user.principal.account_id, Principal.ROLE)
    return render(request, "keys/iam_roles.html", {"nav": "roles", "rows": rows})


urlpatterns = [
    path("iam/", dashboard, name="dashboard"),
    path("iam/users/", users, name="users"),
    path("iam/roles/", roles, name="roles"),
]
