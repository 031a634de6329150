"""Console page module: key_list (the IAM console's Encryption keys page and its settings panel)."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from keys import selectors
from keys.console.access import principal_required
from keys.console.actors import region_or_default
from keys.console.forms import KEY_LIST_COLUMN_CHOICES, KeyListQueryForm, KeyListSettingsForm
from keys.console.partials import page_or_partial
from keys.regions import REGIONS
from keys.services import directory, importing

TEMPLATE = "keys/key_list.html"
MAX_FILTER = 256
# The element an htmx request replaces (HX-Target) -> the partial of the page that fills it.
PARTIALS = {"key-list": "key-list", "key-table": "key-table", "settings-slot": "settings-panel"}


def key_list_url(region: str, filter_text: str = "", page: int = 1, **extra: Any) -> str:
    """The Encryption keys page of a region (the default one for a region it does not know), filter and page."""
    params: dict[str, Any] = {"region": region_or_default(region)}
    if filter_text:
        params["filter"] = filter_text
    if page > 1:
        params["page"] = page
    params.update(extra)
    return reverse("console:encryption-keys") + "?" + urlencode(params)


def _state(data, prefs: selectors.Preferences) -> tuple[str, str, int]:
    """Region, filter and page of a request; the Region falls back to the user's saved one."""
    query = KeyListQueryForm(data)
    region = query.value("region") or prefs.region
    filter_text = (query.value("filter", "") or "").strip()[:MAX_FILTER]
    return region, filter_text, query.value("page", 1)


def _context(
    request: HttpRequest,
    prefs: selectors.Preferences,
    *,
    region: str,
    filter_text: str,
    page: int,
    settings_open: bool = False,
    settings_form: KeyListSettingsForm | None = None,
    focus_settings: bool = False,
) -> dict[str, Any]:
    principal = request.user.principal
    # Expired material and elapsed deletions are applied first, so the list never shows a past state.
    importing.apply_due_events()
    listing = selectors.key_list_page(principal.account_id, region, filter_text, page, selectors.KEY_LIST_PAGE_SIZE)
    if settings_form is not None and settings_form.is_bound:
        chosen = set(settings_form.data.getlist("columns"))
    else:
        chosen = set(prefs.key_list_columns)
    return {
        "nav": "encryption-keys",
        "regions": REGIONS.items(),
        "region": region,
        "region_name": REGIONS[region],
        "filter_text": filter_text,
        "listing": listing,
        "show_expiration_date": prefs.show_expiration_date,
        "show_origin": prefs.show_origin,
        "column_count": 5 + prefs.show_expiration_date + prefs.show_origin,
        "settings_open": settings_open,
        "settings_form": settings_form,
        "settings_columns": [(value, label, value in chosen) for value, label in KEY_LIST_COLUMN_CHOICES],
        "focus_settings": focus_settings,
        "list_url": reverse("console:encryption-keys"),
        "settings_url": key_list_url(region, filter_text, listing.page, settings=1),
        "previous_url": key_list_url(region, filter_text, listing.page - 1) if listing.has_previous else "",
        "next_url": key_list_url(region, filter_text, listing.page + 1) if listing.has_next else "",
    }


@principal_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def encryption_keys(request: HttpRequest) -> HttpResponse:
    principal = request.user.principal
    prefs = selectors.console_preferences(principal)
    region, filter_text, page = _state(request.GET, prefs)
    if request.GET.get("region") == region and prefs.region != region:
        directory.set_console_region(principal, region)
        prefs = dataclasses.replace(prefs, region=region)
    context = _context(
        request,
        prefs,
        region=region,
        filter_text=filter_text,
        page=page,
        settings_open=request.GET.get("settings") == "1",
    )
    return render(request, page_or_partial(request, TEMPLATE, PARTIALS), context)


@principal_required
@require_POST
@vary_on_headers("HX-Request")
def key_list_settings(request: HttpRequest) -> HttpResponse:
    """Close of the settings panel: save the columns, then the list again (the table only, for htmx)."""
    principal = request.user.principal
    prefs = selectors.console_preferences(principal)
    region, filter_text, page = _state(request.POST, prefs)
    form = KeyListSettingsForm(request.POST)
    if not form.is_valid():
        context = _context(
            request, prefs, region=region, filter_text=filter_text, page=page, settings_open=True, settings_form=form
        )
        if request.htmx:
            return render(request, f"{TEMPLATE}#key-table", context)
        return render(request, TEMPLATE, context, status=400)
    directory.set_key_list_columns(principal, form.cleaned_data["columns"])
    if request.htmx:
        prefs = selectors.console_preferences(principal)
        context = _context(request, prefs, region=region, filter_text=filter_text, page=page, focus_settings=True)
        return render(request, f"{TEMPLATE}#key-table", context)
    return redirect(key_list_url(region, filter_text, page))


urlpatterns = [
    path("iam/encryption-keys/", encryption_keys, name="encryption-keys"),
    path("iam/encryption-keys/settings/", key_list_settings, name="key-list-settings"),
]
