"""Which template an htmx request gets: the named partial of the page's own template, or the whole page."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import HttpRequest


def page_or_partial(request: HttpRequest, template: str, partials: Mapping[str, str]) -> str:
    """The whole page, or for htmx the partial (`template#name`) that fills the element it targets."""
    if not request.htmx or request.htmx.history_restore_request:
        return template
    partial = partials.get(request.htmx.target or "")
    return f"{template}#{partial}" if partial else template
