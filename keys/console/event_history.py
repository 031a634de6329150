"""Console page module: event_history (the CloudTrail console's Event history of the account's KMS calls).

Every KMS call, allowed or denied, from the console or the API, and every AWS service event is an
AuditEvent in CloudTrail's record shape; this page lists the signed-in account's events of one Region,
newest first, filters them, shows each record, and downloads them as a CloudTrail log file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from keys import selectors
from keys.console.access import principal_required
from keys.console.partials import page_or_partial
from keys.regions import REGIONS
from keys.services import directory, importing
from keys.services.gate import KEY_ARN_RE, KEY_ID_RE

TEMPLATE = "keys/event_history.html"
# The element an htmx request replaces (HX-Target) -> the partial of the page that fills it.
PARTIALS = {"event-list": "event-list", "event-table": "event-table"}
DOWNLOAD_NAME = "event_history.json"
EVENT_NAME_RE = re.compile(r"^[A-Za-z]{1,64}$")
RECORDS_PER_CHUNK = 100


class EventHistoryQueryForm(forms.Form):
    """The Event history's GET filters; it owns their validation and the words of its errors."""

    event_name = forms.CharField(label="Event name", required=False, max_length=64)
    key_id = forms.CharField(label="Key ID", required=False, max_length=2048)
    user_name = forms.CharField(label="User name", required=False, max_length=64)
    errors_only = forms.BooleanField(label="Errors only", required=False)
    # Keyset cursors of the pages before and after; a malformed one means the first page.
    after = forms.CharField(required=False)
    before = forms.CharField(required=False)

    error_messages = {
        "invalid_key_id": "Enter a key ID, such as 1234abcd-12ab-34cd-56ef-1234567890ab, or a key ARN.",
        "invalid_event_name": "Choose an event name from the list.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("key_id", "user_name"):
            self.fields[name].widget.attrs.update(autocomplete="off", spellcheck="false")
        self.fields["key_id"].widget.attrs["placeholder"] = "Key ID or key ARN"

    def clean_key_id(self) -> str:
        value = self.cleaned_data["key_id"].strip()
        if not value:
            return ""
        if match := KEY_ARN_RE.match(value):
            value = match.group(3)
        value = value.lower()
        if not KEY_ID_RE.match(value):
            raise ValidationError(self.error_messages["invalid_key_id"], code="invalid_key_id")
        return value

    def clean_event_name(self) -> str:
        value = self.cleaned_data["event_name"].strip()
        if value and not EVENT_NAME_RE.match(value):
            raise ValidationError(self.error_messages["invalid_event_name"], code="invalid_event_name")
        return value

    def clean_user_name(self) -> str:
        return self.cleaned_data["user_name"].strip()

    def event_filters(self) -> selectors.EventFilters:
        data = self.cleaned_data
        return selectors.EventFilters(
            event_name=data["event_name"],
            key_id=data["key_id"],
            user_name=data["user_name"],
            errors_only=data["errors_only"],
        )


def filter_params(region: str, filters: selectors.EventFilters) -> dict[str, str]:
    """The query parameters of a Region and filters, as the page's links and its form write them."""
    params = {"region": region}
    if filters.event_name:
        params["event_name"] = filters.event_name
    if filters.key_id:
        params["key_id"] = filters.key_id
    if filters.user_name:
        params["user_name"] = filters.user_name
    if filters.errors_only:
        params["errors_only"] = "on"
    return params


def event_history_url(region: str, filters: selectors.EventFilters | None = None, **extra: str) -> str:
    """The Event history of a Region with these filters: /cloudtrail/event-history/?region=..&key_id=.."""
    params = {**filter_params(region, filters or selectors.EventFilters()), **extra}
    return reverse("console:event-history") + "?" + urlencode(params)


def _region(request: HttpRequest, prefs: selectors.Preferences) -> str:
    """The Region asked for, else the user's saved one; choosing one saves it, as on the key list."""
    asked = request.GET.get("region")
    if asked not in REGIONS:
        return prefs.region
    if asked != prefs.region:
        directory.set_console_region(request.user.principal, asked)
    return asked


@principal_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def event_history(request: HttpRequest) -> HttpResponse:
    principal = request.user.principal
    prefs = selectors.console_preferences(principal)
    region = _region(request, prefs)
    # Expired material is deleted first, so its DeleteExpiredKeyMaterial event is already in the history.
    importing.apply_due_events()
    form = EventHistoryQueryForm(request.GET)
    valid = form.is_valid()
    filters = form.event_filters() if valid else selectors.EventFilters()
    page = None
    if valid:
        page = selectors.event_history_page(
            principal.account_id,
            region,
            filters,
            after=selectors.EventCursor.decode(form.cleaned_data["after"]),
            before=selectors.EventCursor.decode(form.cleaned_data["before"]),
        )
    event_names = selectors.event_history_names(principal.account_id, region)
    chosen_name = form.data.get("event_name", "").strip()
    if chosen_name and chosen_name not in event_names and valid:
        event_names = sorted([*event_names, chosen_name])
    context: dict[str, Any] = {
        "invalid": not valid,
        "regions": REGIONS.items(),
        "region": region,
        "region_name": REGIONS[region],
        "form": form,
        "filters": filters,
        "event_names": event_names,
        "chosen_name": chosen_name,
        "page": page,
        "list_url": reverse("console:event-history"),
        "clear_url": event_history_url(region),
        "download_url": _download_url(region, filters) if valid else "",
        "newer_url": event_history_url(region, filters, before=page.newer.encode()) if page and page.newer else "",
        "older_url": event_history_url(region, filters, after=page.older.encode()) if page and page.older else "",
        "download_limit": f"{selectors.EVENT_DOWNLOAD_LIMIT:,}",
    }
    # A filter the form refused is a bad request for a whole page; htmx swaps only 2xx answers.
    status = 200 if valid or request.htmx else 400
    return render(request, page_or_partial(request, TEMPLATE, PARTIALS), context, status=status)


def _download_url(region: str, filters: selectors.EventFilters) -> str:
    return reverse("console:event-history-download") + "?" + urlencode(filter_params(region, filters))


def cloudtrail_log(records: Iterable[dict]) -> Iterator[str]:
    """{"Records": [...]}, CloudTrail's log file shape, written a chunk of records at a time."""
    yield '{"Records": ['
    chunk: list[str] = []
    first = True
    for record in records:
        chunk.append(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
        if len(chunk) == RECORDS_PER_CHUNK:
            yield ("" if first else ",") + ",".join(chunk)
            chunk, first = [], False
    if chunk:
        yield ("" if first else ",") + ",".join(chunk)
    yield "]}\n"


@principal_required
@require_GET
def event_history_download(request: HttpRequest) -> HttpResponse:
    """Download events: the filtered events of the Region (the newest 10,000 at most) as a JSON file."""
    principal = request.user.principal
    prefs = selectors.console_preferences(principal)
    asked = request.GET.get("region")
    region = asked if asked in REGIONS else prefs.region
    form = EventHistoryQueryForm(request.GET)
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label or name}: {' '.join(errors)}" for name, errors in form.errors.items()
        )
        return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
    importing.apply_due_events()
    records = selectors.event_history_records(principal.account_id, region, form.event_filters())
    response = StreamingHttpResponse(cloudtrail_log(records), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{DOWNLOAD_NAME}"'
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("cloudtrail/event-history/", event_history, name="event-history"),
    path("cloudtrail/event-history/download/", event_history_download, name="event-history-download"),
]
