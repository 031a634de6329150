"""Console page module: iam (Dashboard, Users, Roles of the signed-in account)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from keys import selectors
from keys.console.access import principal_required
from keys.console.key_list import key_list_url
from keys.models import Principal
from keys.regions import REGIONS


@principal_required
def dashboard(request: HttpRequest) -> HttpResponse:
    principal = request.user.principal
    region = selectors.console_preferences(principal).region
    summary = selectors.dashboard_summary(principal.account_id, region)
    signin_url = request.build_absolute_uri(f"{reverse('console:signin')}?account={principal.account_id}")
    context = {
        "nav": "dashboard",
        "summary": summary,
        "region_name": REGIONS[region],
        "signin_url": signin_url,
        "list_url": key_list_url(region),
    }
    return render(request, "keys/iam_dashboard.html", context)


@dataclass(frozen=True)
class PrincipalsPage:
    """The words of the Users or the Roles page."""

    nav: str
    title: str
    heading: str
    name_column: str


PRINCIPAL_PAGES = {
    Principal.USER: PrincipalsPage(nav="users", title="Users", heading="IAM users", name_column="User name"),
    Principal.ROLE: PrincipalsPage(nav="roles", title="Roles", heading="IAM roles", name_column="Role name"),
}


def _principals_page(request: HttpRequest, kind: str) -> HttpResponse:
    page = PRINCIPAL_PAGES[kind]
    rows = selectors.account_principals(request.user.principal.account_id, kind)
    return render(request, "keys/iam_principals.html", {"nav": page.nav, "page": page, "rows": rows})


@principal_required
def users(request: HttpRequest) -> HttpResponse:
    return _principals_page(request, Principal.USER)


@principal_required
def roles(request: HttpRequest) -> HttpResponse:
    return _principals_page(request, Principal.ROLE)


urlpatterns = [
    path("iam/", dashboard, name="dashboard"),
    path("iam/users/", users, name="users"),
    path("iam/roles/", roles, name="roles"),
]
