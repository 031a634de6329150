"""Console page module: the key details page, its sub-pages (policy, tags, confirmations) and the key actions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import re_path, reverse
from django.utils import dateformat
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from keys import access_review, clock, policy, selectors, states, timeline
from keys.console.access import principal_required, safe_next_url
from keys.console.actors import console_actor, error_status
from keys.console.event_history import event_history_url
from keys.console.key_detail_forms import (
    ACTION_LABELS,
    CONFIRMED_ACTIONS,
    AdminsCanDeleteForm,
    DescriptionForm,
    KeyActionsForm,
    PolicyForm,
    PrincipalsForm,
    ScheduleDeletionForm,
    TagFormSet,
    posted_policy_digest,
)
from keys.console.key_list import key_list_url
from keys.errors import KmsError, not_found
from keys.models import Alias, Key
from keys.regions import REGIONS
from keys.services import importing
from keys.services import keys as key_service
from keys.services.gate import CROSS_ACCOUNT_OPERATIONS, Actor, state_refusal

TEMPLATE = "keys/key_detail.html"
ROLES = {"administrators": "Key Administrators", "users": "Key Users"}
ACTION_OPERATIONS = {
    "enable": "EnableKey",
    "disable": "DisableKey",
    "schedule-deletion": "ScheduleKeyDeletion",
    "cancel-deletion": "CancelKeyDeletion",
    "delete-key-material": "DeleteImportedKeyMaterial",
    "edit-tags": "TagResource",
}
# As the key list writes dates.
DATE_FORMAT = "M j, Y g:i A T"


# ---------------------------------------------------------------- helpers


def detail_url(region: str, key_id: str, anchor: str = "") -> str:
    url = reverse("console:key-detail", kwargs={"region": region, "key_id": key_id})
    return f"{url}#{anchor}" if anchor else url


def _region_error(request: HttpRequest, region: str, key_id: str) -> KmsError | None:
    if region in REGIONS:
        return None
    account = request.user.principal.account_id
    return not_found(f"Key 'arn:aws:kms:{region}:{account}:key/{key_id}' does not exist")


def error_page(request: HttpRequest, error: KmsError, *, region: str, key_id: str) -> HttpResponse:
    """A refusal of the key itself (not found, access denied) as a page in the API's words."""
    context = {
        "nav": "encryption-keys",
        "error": error,
        "key": None,
        "region": region,
        "key_id": key_id,
        "list_url": key_list_url(region),
    }
    return render(request, TEMPLATE, context, status=error_status(error))


def _load(request: HttpRequest, region: str, key_id: str) -> tuple[Actor | None, Key | None, HttpResponse | None]:
    """The actor and the key as DescribeKey lets this user see it, or the error page."""
    if error := _region_error(request, region, key_id):
        return None, None, error_page(request, error, region=region, key_id=key_id)
    actor = console_actor(request, region)
    try:
        key = key_service.get_key(actor, key_id=key_id)
    except KmsError as exc:
        return actor, None, error_page(request, exc, region=region, key_id=key_id)
    return actor, key, None


def offered_actions(key: Key) -> list[str]:
    """The key actions the details page offers: what the key-state table allows and would change something."""
    if key.is_aws_managed:
        return []
    offered = []
    for action, operation in ACTION_OPERATIONS.items():
        if not states.allowed(operation, state=key.state, origin=key.origin):
            continue
        # Allowed but a no-op (the table says OK, the menu would only confuse).
        if (action, key.state) in (("enable", states.ENABLED), ("disable", states.DISABLED)):
            continue
        if action == "delete-key-material" and not key.has_material:
            continue
        offered.append(action)
    return offered


@dataclass(frozen=True)
class PrincipalRow:
    arn: str
    name: str
    kind: str


def _principal_rows(arns: list[str], directory: dict[str, Any]) -> list[PrincipalRow]:
    rows = []
    for arn in arns:
        principal = directory.get(arn)
        if principal is not None:
            rows.append(PrincipalRow(arn, principal.name, "User" if principal.kind == "user" else "Role"))
        elif arn.endswith(":root"):
            account = arn.split(":")[4]
            rows.append(PrincipalRow(arn, account, "External account" if account else "Account"))
        else:
            rows.append(PrincipalRow(arn, timeline.who_name(arn), "Unknown principal"))
    return rows


def _policy_context(actor: Actor, key: Key, *, policy_view: bool, policy_text: str | None) -> dict[str, Any]:
    """The Key Policy section: the document as GetKeyPolicy returns it to this user, and its two views."""
    try:
        stored = key_service.get_key_policy(actor, key_id=key.key_id)
    except KmsError as exc:
        return {"policy_read_error": exc, "policy_view": True}
    document = json.loads(stored)
    console_layout = policy.is_console_policy(document)
    directory = {p.arn: p for p in selectors.account_principals(key.account_id)}
    admins = policy.key_administrators(document)
    users = policy.key_users(document)
    return {
        "policy_text": stored if policy_text is None else policy_text,
        # What the page's policy editors post back: the policy they were built from.
        "policy_digest": key_service.policy_digest(stored),
        "policy_console_layout": console_layout,
        "policy_view": policy_view or not console_layout or key.is_aws_managed,
        "key_administrators": _principal_rows(admins, directory),
        "key_users": _principal_rows(users, directory),
        "admins_can_delete": policy.admins_can_delete(document),
        "addable": {
            "administrators": [p for arn, p in directory.items() if arn not in admins],
            "users": [p for arn, p in directory.items() if arn not in users],
        },
    }


def _access_context(key: Key) -> dict[str, Any]:
    """Effective permissions: every principal that could call the key against the actions the console groups."""
    # The policy the gate decides with, as the page's DescribeKey loaded it: no further call, no further audit
    # event, and a viewer whom GetKeyPolicy refuses (a key user) still sees who may do what.
    document = json.loads(key.policy)
    review = access_review.review(
        key_arn=key.arn,
        key_account=key.account_id,
        key_policy=document,
        candidates=selectors.key_access_candidates(key, document),
        cross_account_operations=CROSS_ACCOUNT_OPERATIONS,
        origin=key.origin,
        key_state=key.state,
        aws_managed=key.is_aws_managed,
    )
    return {"access": review}


def _tags_context(actor: Actor, key: Key) -> dict[str, Any]:
    try:
        result = key_service.list_resource_tags(actor, key_id=key.key_id)
    except KmsError as exc:
        return {"tags_read_error": exc, "tags": []}
    return {"tags": [(t["TagKey"], t["TagValue"]) for t in result["Tags"]]}


def build_timeline(key: Key) -> timeline.Timeline:
    events, truncated = selectors.key_lifecycle_events(key, limit=timeline.DEFAULT_LIMIT)
    return timeline.build_timeline(
        events,
        now=clock.now(),
        created=key.creation_date,
        initial_state=states.INITIAL_STATE[key.origin],
        current_state=key.state,
        has_material=key.has_material,
        valid_to=key.valid_to if key.expiration_model == importing.EXPIRES else None,
        deletion_date=key.deletion_date,
        truncated=truncated,
    )


def detail_context(
    request: HttpRequest,
    actor: Actor,
    key: Key,
    *,
    policy_view: bool = False,
    policy_text: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    region = key.region
    offered = offered_actions(key)
    import_url = reverse("console:import-key-material", kwargs={"region": region, "key_id": key.key_id})
    context: dict[str, Any] = {
        "nav": "encryption-keys",
        "key": key,
        "region": region,
        "key_id": key.key_id,
        "list_url": key_list_url(region),
        "detail_url": detail_url(region, key.key_id),
        "aliases": selectors.key_aliases(key),
        "state_display": states.DISPLAY[key.state],
        "state_class": states.STATUS_CLASS[key.state],
        "can_edit_description": not key.is_aws_managed
        and states.allowed("UpdateKeyDescription", state=key.state, origin=key.origin),
        "can_edit_tags": "edit-tags" in offered,
        "actions": [(a, ACTION_LABELS[a]) for a in offered],
        "can_download": states.allowed("GetParametersForImport", state=key.state, origin=key.origin),
        "can_upload": states.allowed("ImportKeyMaterial", state=key.state, origin=key.origin),
        "can_delete_material": "delete-key-material" in offered,
        "import_download_url": f"{import_url}?step=download",
        "import_upload_url": f"{import_url}?step=upload",
        "timeline": build_timeline(key),
        "event_history_url": event_history_url(region, selectors.EventFilters(key_id=key.key_id)),
        "description_form": DescriptionForm(initial={"description": key.description}),
    }
    context.update(_policy_context(actor, key, policy_view=policy_view, policy_text=policy_text))
    context.update(_tags_context(actor, key))
    context.update(_access_context(key))
    context.update(extra)
    return context


# ---------------------------------------------------------------- the details page


@principal_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "HEAD"])
def key_detail(request: HttpRequest, region: str, key_id: str) -> HttpResponse:
    actor, key, failure = _load(request, region, key_id)
    if failure:
        return failure
    context = detail_context(request, actor, key, policy_view=request.GET.get("view") == "policy")
    template = f"{TEMPLATE}#key-policy" if request.htmx else TEMPLATE
    return render(request, template, context)


def _rerender(request: HttpRequest, actor: Actor, key: Key, **extra: Any) -> HttpResponse:
    return render(request, TEMPLATE, detail_context(request, actor, key, **extra), status=400)


@principal_required
@require_POST
def key_description(request: HttpRequest, region: str, key_id: str) -> HttpResponse:
    actor, key, failure = _load(request, region, key_id)
    if failure:
        return failure
    form = DescriptionForm(request.POST)
    if form.is_valid():
        try:
            key_service.update_key_description(actor, key_id=key.key_id, description=form.cleaned_data["description"])
        except KmsError as exc:
            return _rerender(request, actor, key, description_form=form, description_error=exc)
        messages.success(request, "Description saved.")
        return redirect(detail_url(region, key.key_id))
    return _rerender(request, actor, key, description_form=form)


@principal_required
@require_POST
def key_policy(request: HttpRequest, region: str, key_id: str) -> HttpResponse:
    """Save Changes in the policy view: the typed JSON goes to PutKeyPolicy as it is."""
    actor, key, failure = _load(request, region, key_id)
    if failure:
        return failure
    form = PolicyForm(request.POST)
    typed = request.POST.get("policy", "")
    expected = posted_policy_digest(request.POST)
    # The box keeps what was typed, so it keeps the digest of the policy that text was built from.
    kept = {"policy_digest": expected} if expected else {}
    if not form.is_valid():
        return _rerender(
            request, actor, key, policy_view=True, policy_text=typed, policy_form_errors=form.errors, **kept
        )
    try:
        key_service.put_key_policy(
            actor, key_id=key.key_id, policy_text=form.cleaned_data["policy"], expected_policy_digest=expected
        )
    except KmsError as exc:
        return _rerender(request, actor, key, policy_view=True, policy_text=typed, policy_error=exc, **kept)
    messages.success(request, "Key policy saved.")
    return redirect(detail_url(region, key.key_id, "key-policy"))


def _subpage_context(key: Key, anchor: str, heading: str) -> dict[str, Any]:
    """What a page under the key's details shows around its form: its heading, the breadcrumb and the way back."""
    return {
        "nav": "encryption-keys",
        "heading": heading,
        "key": key,
        "aliases": selectors.key_aliases(key),
        "list_url": key_list_url(key.region),
        "detail_url": detail_url(key.region, key.key_id, anchor),
    }


def _edit_policy(actor: Actor, key: Key, change: Callable[[dict], dict], *, expected_digest: str | None) -> None:
    """Apply a default-view change to the policy this user reads, and save it with PutKeyPolicy.

    expected_digest: the policy the page showed; the service refuses the save if it changed since."""
    document = json.loads(key_service.get_key_policy(actor, key_id=key.key_id))
    if not policy.is_console_policy(document):
        raise KmsError(
            "MalformedPolicyDocumentException",
            "This key policy is not in the console's default layout. Edit it in the policy view.",
        )
    updated = change(document)
    key_service.put_key_policy(
        actor, key_id=key.key_id, policy_text=policy.render_policy(updated), expected_policy_digest=expected_digest
    )


@principal_required
@require_http_methods(["GET", "HEAD", "POST"])
def key_principals(request: HttpRequest, region: str, key_id: str, role: str) -> HttpResponse:
    """Add (a sub-page that lists the account's users and roles) or remove key administrators or users."""
    actor, key, failure = _load(request, region, key_id)
    if failure:
        return failure
    if request.method == "POST" and request.POST.get("op", "add") == "remove":
        return _remove_principals(request, actor, key, role)
    heading = f"Add {ROLES[role].lower()}"
    context = {**_subpage_context(key, "key-policy", heading), "role": role, "role_title": ROLES[role]}
    try:
        stored = key_service.get_key_policy(actor, key_id=key.key_id)
    except KmsError as exc:
        return render(request, "keys/key_detail/add_principals.html", {**context, "error": exc}, status=403)
    document = json.loads(stored)
    context["policy_digest"] = key_service.policy_digest(stored)
    members = _members(document, role)
    candidates = [p for p in selectors.account_principals(key.account_id) if p.arn not in members]
    form = PrincipalsForm(request.POST or None, choices=[p.arn for p in candidates])
    context.update({"candidates": candidates, "form": form})
    if request.method != "POST":
        return render(request, "keys/key_detail/add_principals.html", context)
    if not form.is_valid():
        return render(request, "keys/key_detail/add_principals.html", context, status=400)
    chosen = form.cleaned_data["principal"]
    try:
        _edit_policy(
            actor,
            key,
            lambda doc: _with_role(doc, role, [*_members(doc, role), *chosen], key),
            expected_digest=posted_policy_digest(request.POST),
        )
    except KmsError as exc:
        return render(request, "keys/key_detail/add_principals.html", {**context, "error": exc}, status=400)
    names = ", ".join(p.name for p in candidates if p.arn in chosen)
    messages.success(request, f"Added to {ROLES[role]}: {names}.")
    return redirect(detail_url(region, key.key_id, "key-policy"))


def _members(document: dict, role: str) -> list[str]:
    return policy.key_administrators(document) if role == "administrators" else policy.key_users(document)


def _with_role(document: dict, role: str, arns: list[str], key: Key) -> dict:
    if role == "administrators":
        return policy.with_key_administrators(document, arns, external_origin=key.is_external)
    return policy.with_key_users(document, arns)


def _remove_principals(request: HttpRequest, actor: Actor, key: Key, role: str) -> HttpResponse:
    try:
        current = _members(json.loads(key_service.get_key_policy(actor, key_id=key.key_id)), role)
    except KmsError as exc:
        return _rerender(request, actor, key, principals_error=exc, principals_role=role)
    form = PrincipalsForm(request.POST, choices=current)
    if not form.is_valid():
        return _rerender(request, actor, key, principals_form_errors=form.errors, principals_role=role)
    chosen = set(form.cleaned_data["principal"])
    try:
        _edit_policy(
            actor,
            key,
            lambda doc: _with_role(doc, role, [a for a in _members(doc, role) if a not in chosen], key),
            expected_digest=posted_policy_digest(request.POST),
        )
    except KmsError as exc:
        return _rerender(request, actor, key, principals_error=exc, principals_role=role)
    names = ", ".join(timeline.who_name(a) for a in current if a in chosen)
    messages.success(request, f"Removed from {ROLES[role]}: {names}.")
    return redirect(detail_url(key.region, key.key_id, "key-policy"))


@principal_required
@require_POST
def key_admins_can_delete(request: HttpRequest, region: str, key_id: str) -> HttpResponse:
    actor, key, failure = _load(request, region, key_id)
    if failure:
        return failure
    form = AdminsCanDeleteForm(request.POST)
    form.is_valid()
    allowed = bool(form.cleaned_data.get("admins_can_delete"))
    try:
        _edit_policy(
            actor,
            key,
            lambda doc: policy.with_admins_can_delete(doc, allowed),
            expected_digest=posted_policy_digest(request.POST),
        )
    except KmsError as exc:
        return _rerender(request, actor, key, principals_error=exc, principals_role="deletion")
    messages.success(
        request,
        "Key administrators can now delete this key."
        if allowed
        else "Key administrators can no longer delete this key.",
    )
    return redirect(detail_url(region, key.key_id, "key-policy"))


# ---------------------------------------------------------------- tags editor


def _tag_formset(rows: list[tuple[str, str]]) -> TagFormSet:
    return TagFormSet(initial=[{"tag_key": k, "tag_value": v} for k, v in rows])


def _rows(formset: TagFormSet) -> list[tuple[str, str]]:
    rows = []
    for form in formset.forms:
        data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
        rows.append((data.get("tag_key", ""), data.get("tag_value", "")))
    return rows


@principal_required
@require_http_methods(["GET", "HEAD", "POST"])
def key_tags(request: HttpRequest, region: str, key_id: str) -> HttpResponse:
    """Add or edit tags: the rows become the key's tags (TagResource and UntagResource)."""
    actor, key, failure = _load(request, region, key_id)
    if failure:
        return failure
    refusal = key_service.aws_managed_refusal(key) or state_refusal(key, "TagResource")
    context: dict[str, Any] = {**_subpage_context(key, "tags", "Add or edit tags"), "refusal": refusal}
    status = 200
    if request.method != "POST":
        try:
            tags = key_service.list_resource_tags(actor, key_id=key.key_id)["Tags"]
        except KmsError as exc:
            return render(request, "keys/key_detail/tags.html", {**context, "error": exc}, status=403)
        formset = _tag_formset([(t["TagKey"], t["TagValue"]) for t in tags] + [("", "")])
    else:
        formset = TagFormSet(request.POST)
        if not formset.is_valid():
            context["error"] = KmsError("ValidationException", " ".join(formset.non_form_errors()) or "Check the tags.")
            formset = _tag_formset([("", "")])
            status = 400
        elif "add_row" in request.POST:
            formset = _tag_formset([*_rows(formset), ("", "")])
            context["focus_last"] = True
        elif "remove_row" in request.POST:
            drop = request.POST["remove_row"]
            rows = [r for i, r in enumerate(_rows(formset)) if str(i) != drop]
            formset = _tag_formset(rows or [("", "")])
        elif refusal is None:
            try:
                key_service.replace_tags(actor, key_id=key.key_id, tags=formset.tags())
            except KmsError as exc:
                context["error"] = exc
                formset = _tag_formset(_rows(formset))
                status = 400
            else:
                messages.success(request, "Tags saved.")
                return redirect(detail_url(region, key.key_id, "tags"))
        else:
            status = 400
    context["formset"] = formset
    return render(request, "keys/key_detail/tags.html", context, status=status)


# ---------------------------------------------------------------- key actions


@dataclass(frozen=True)
class ActionKey:
    """A key named on a confirmation page."""

    key_id: str
    label: str
    arn: str
    key: Key | None

    @property
    def state_display(self) -> str:
        return states.DISPLAY[self.key.state] if self.key else ""

    @property
    def state_class(self) -> str:
        return states.STATUS_CLASS[self.key.state] if self.key else ""


def _label(key_id: str, aliases: list[Alias]) -> str:
    """How the confirmation pages and messages name a key: its first alias, else its ID."""
    return aliases[0].display_name if aliases else key_id


def _action_keys(account_id: str, region: str, key_ids: list[str]) -> list[ActionKey]:
    """The checked keys in the order checked; a key this account does not have in the region is named, not found."""
    found = {k.key_id: k for k in selectors.keys_by_id(account_id, region, key_ids)}
    named = []
    for key_id in key_ids:
        key = found.get(key_id)
        if key is None:
            named.append(ActionKey(key_id, key_id, f"arn:aws:kms:{region}:{account_id}:key/{key_id}", None))
        else:
            named.append(ActionKey(key_id, _label(key_id, key.alias_list), key.arn, key))
    return named


def confirmation_page(
    request: HttpRequest,
    *,
    region: str,
    action: str,
    keys: list[ActionKey],
    next_url: str,
    form: ScheduleDeletionForm | None = None,
    errors: list[KmsError] | None = None,
    status: int = 200,
    blocked: bool = False,
) -> HttpResponse:
    template = f"keys/key_actions/{action.replace('-', '_')}.html"
    context = {
        "nav": "encryption-keys",
        "region": region,
        "action": action,
        "title": ACTION_LABELS[action],
        "keys": keys,
        "next_url": next_url,
        "form": form or ScheduleDeletionForm(),
        "errors": errors or [],
        "blocked": blocked,
    }
    return render(request, template, context, status=status)


@principal_required
@require_http_methods(["GET", "HEAD"])
def key_action(request: HttpRequest, region: str, key_id: str, action: str) -> HttpResponse:
    """The confirmation page of one key's Schedule key deletion or Delete key material."""
    _, key, failure = _load(request, region, key_id)
    if failure:
        return failure
    label = _label(key.key_id, selectors.key_aliases(key))
    # The key-state table may already say no (a bookmarked page): say so before anything is typed.
    refusal = state_refusal(key, ACTION_OPERATIONS[action])
    return confirmation_page(
        request,
        region=region,
        action=action,
        keys=[ActionKey(key.key_id, label, key.arn, key)],
        next_url=safe_next_url(request, request.GET.get("next")) or detail_url(region, key.key_id),
        errors=[refusal] if refusal else None,
        blocked=refusal is not None,
    )


SERVICES: dict[str, Callable[..., Key]] = {
    "enable": key_service.enable_key,
    "disable": key_service.disable_key,
    "schedule-deletion": key_service.schedule_key_deletion,
    "cancel-deletion": key_service.cancel_key_deletion,
    "delete-key-material": importing.delete_imported_key_material,
}


def _success_message(action: str, done: list[Key], labels: dict[str, str]) -> str:
    # labels.get: a key posted by its ARN is not among the labels, which know keys by their IDs.
    names = ", ".join(labels.get(k.key_id, k.key_id) for k in done)
    if action == "schedule-deletion":
        parts = [f"{labels.get(k.key_id, k.key_id)} on {dateformat.format(k.deletion_date, DATE_FORMAT)}" for k in done]
        return "Scheduled deletion of " + "; ".join(parts) + ". Status: Pending Deletion."
    if action == "cancel-deletion":
        parts = [f"{labels.get(k.key_id, k.key_id)} (now {states.DISPLAY[k.state]})" for k in done]
        return "Cancelled deletion of " + ", ".join(parts) + "."
    if action == "delete-key-material":
        parts = [f"{labels.get(k.key_id, k.key_id)} (now {states.DISPLAY[k.state]})" for k in done]
        return "Deleted the key material of " + ", ".join(parts) + "."
    verb = {"enable": "Enabled", "disable": "Disabled"}[action]
    return f"{verb} {names}."


@principal_required
@require_POST
def key_actions(request: HttpRequest, region: str) -> HttpResponse:
    """The list's (and the details page's) key actions: each checked key goes to the service on its own."""
    form = KeyActionsForm(request.POST)
    valid = form.is_valid()
    next_url = safe_next_url(request, request.POST.get("next")) or key_list_url(region)
    if region not in REGIONS:
        messages.error(request, f"NotFoundException: Region {region} is not a region of this console.")
        return redirect(next_url)
    if not valid:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(next_url)
    action, key_ids = form.cleaned_data["action"], form.cleaned_data["key_id"]
    if action == "edit-tags":
        return redirect(reverse("console:key-tags", kwargs={"region": region, "key_id": key_ids[0]}))
    actor = console_actor(request, region)
    named = _action_keys(actor.account_id, region, key_ids)
    kwargs: dict[str, Any] = {}
    days_form = None
    if action == "schedule-deletion":
        days_form = ScheduleDeletionForm(request.POST if form.cleaned_data["confirm"] else None)
    if action in CONFIRMED_ACTIONS:
        if not form.cleaned_data["confirm"]:
            return confirmation_page(request, region=region, action=action, keys=named, next_url=next_url)
        if days_form is not None:
            if not days_form.is_valid():
                return confirmation_page(
                    request, region=region, action=action, keys=named, next_url=next_url, form=days_form, status=400
                )
            kwargs["pending_window_days"] = days_form.cleaned_data["pending_window_days"]
    done: list[Key] = []
    refused: list[KmsError] = []
    for key_id in key_ids:
        try:
            done.append(SERVICES[action](actor, key_id=key_id, **kwargs))
        except KmsError as exc:
            refused.append(exc)
    if days_form is not None and not done and refused and all(e.code == "ValidationException" for e in refused):
        # A waiting period outside 7-30: ask again, with the service's words, nothing changed.
        return confirmation_page(
            request,
            region=region,
            action=action,
            keys=named,
            next_url=next_url,
            form=days_form,
            errors=refused[:1],
            status=400,
        )
    if done:
        messages.success(request, _success_message(action, done, {k.key_id: k.label for k in named}))
    for exc in refused:
        messages.error(request, f"{exc.code}: {exc.message}")
    return redirect(next_url)


REGION = r"(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]+)"
KEY = r"(?P<key_id>[^/]+)"
BASE = rf"^iam/encryption-keys/{REGION}"

urlpatterns = [
    re_path(rf"{BASE}/actions/$", key_actions, name="key-actions"),
    re_path(rf"{BASE}/{KEY}/$", key_detail, name="key-detail"),
    re_path(rf"{BASE}/{KEY}/description/$", key_description, name="key-description"),
    re_path(rf"{BASE}/{KEY}/policy/$", key_policy, name="key-policy"),
    re_path(rf"{BASE}/{KEY}/policy/deletion/$", key_admins_can_delete, name="key-admins-can-delete"),
    re_path(rf"{BASE}/{KEY}/policy/(?P<role>administrators|users)/$", key_principals, name="key-principals"),
    re_path(rf"{BASE}/{KEY}/tags/$", key_tags, name="key-tags"),
    re_path(
        rf"{BASE}/{KEY}/actions/(?P<action>schedule-deletion|delete-key-material)/$", key_action, name="key-action"
    ),
]
