"""The old IAM console's Create key wizard: a page per step, then Finish creates key, alias and tags.

Built on django-formtools' NamedUrlSessionWizardView (a URL per step, per-step validation, every step
validated again before done()). Where its defaults do not fit the console, this view says why:

- a GET of the base URL ("Create key") starts a new draft with a new creation token;
- Previous and the step links keep what was typed on the current step (formtools drops it);
- "Add tag", "Remove", "Add an External Account" and the principal filter are submit buttons that
  re-render the step (no JavaScript needed);
- Finish creates the key in the POST itself (formtools would redirect to a GET "done" URL, a GET that
  writes); the creation token makes a double click, a refresh or a replayed POST create one key.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from formtools.wizard.forms import ManagementForm
from formtools.wizard.views import NamedUrlSessionWizardView

from keys import selectors
from keys.console import wizard_forms as forms
from keys.console.access import principal_required
from keys.console.actors import console_actor
from keys.console.key_list import key_list_url
from keys.errors import KmsError
from keys.models import Key
from keys.regions import REGIONS
from keys.services import keys as key_service

STEPS = [
    ("alias", forms.AliasForm, "Create Alias and Description"),
    ("tags", forms.TagsForm, "Add Tags"),
    ("administrators", forms.AdministratorsForm, "Define Key Administrative Permissions"),
    ("users", forms.UsersForm, "Define Key Usage Permissions"),
    ("review", forms.ReviewForm, "Preview Key Policy"),
]
TITLES = {name: title for name, _form, title in STEPS}
FINISHED_KEY = "create_key_finished"  # session: creation token -> where its Finish went
FINISHED_KEPT = 20
REFRESH = "wizard_refresh"
CANCEL = "wizard_cancel"
GOTO = "wizard_goto_step"


@method_decorator(principal_required, name="dispatch")
class CreateKeyWizard(NamedUrlSessionWizardView):
    form_list = [(name, form) for name, form, _title in STEPS]

    # ------------------------------------------------------------ set-up

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if kwargs.get("region") not in REGIONS:
            raise Http404("No such region.")
        self.region = kwargs["region"]
        self.actor = console_actor(request, self.region)
        return super().dispatch(request, *args, **kwargs)

    def get_prefix(self, request: HttpRequest, *args: Any, **kwargs: Any) -> str:
        # One draft per region: the region is part of the URL and of what is being created.
        return "create_key_" + kwargs["region"].replace("-", "_")

    def get_step_url(self, step: str) -> str:
        return reverse(self.url_name, kwargs={"region": self.region, "step": step})

    def get_template_names(self) -> list[str]:
        return [f"keys/create_key/{self.steps.current}.html"]

    @property
    def creation_token(self) -> str:
        return self.storage.extra_data.get("creation_token", "")

    def _start_draft(self) -> None:
        self.storage.reset()
        self.storage.current_step = self.steps.first
        self.storage.extra_data = {"creation_token": secrets.token_urlsafe(24)}

    def get_form_kwargs(self, step: str | None = None) -> dict[str, Any]:
        step = step or self.steps.current
        if step == "alias":
            return {"actor": self.actor, "check_available": not getattr(self, "finishing", False)}
        if step in ("administrators", "users"):
            kwargs: dict[str, Any] = {"principals": self._principals()}
            if step == "users":
                kwargs["own_account"] = self.actor.account_id
                kwargs["focus_row"] = getattr(self, "focus_row", None)
            return kwargs
        if step == "tags":
            return {"focus_row": getattr(self, "focus_row", None)}
        if step == "review":
            text = self.policy_text()
            return {"creation_token": self.creation_token, "policy_digest": forms.digest(text) if text else ""}
        return {}

    def _principals(self) -> list:
        if not hasattr(self, "_principal_list"):
            self._principal_list = selectors.account_principals(self.actor.account_id)
        return self._principal_list

    # ------------------------------------------------------------ the draft as data

    def choices(self) -> dict[str, Any] | None:
        """The validated choices of steps 1-4, or None while one of them is incomplete or invalid."""
        alias = self.get_cleaned_data_for_step("alias")
        tags = self.get_cleaned_data_for_step("tags")
        admins = self.get_cleaned_data_for_step("administrators")
        users = self.get_cleaned_data_for_step("users")
        if alias is None or tags is None or admins is None or users is None:
            return None
        return {
            "alias": alias["alias"],
            "description": alias["description"],
            "origin": alias["origin"],
            "tags": tags["tags"],
            "admin_arns": admins["principal"],
            "allow_delete": admins["allow_delete"],
            "user_arns": users["principal"],
            "external_accounts": users["external_accounts"],
        }

    def policy_text(self) -> str:
        choices = self.choices()
        if choices is None:
            return ""
        return forms.draft_policy_text(
            account_id=self.actor.account_id,
            origin=choices["origin"],
            admin_arns=choices["admin_arns"],
            allow_delete=choices["allow_delete"],
            user_arns=choices["user_arns"],
            external_accounts=choices["external_accounts"],
        )

    def _first_missing_step(self, before: str) -> str | None:
        for name in self.steps.all:
            if name == before:
                return None
            if self.storage.get_step_data(name) is None:
                return name
        return None

    # ------------------------------------------------------------ context

    def get_context_data(self, form: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(form=form, **kwargs)
        current = self.steps.current
        steps = []
        for index, name in enumerate(self.steps.all):
            steps.append(
                {
                    "name": name,
                    "number": index + 1,
                    "title": TITLES[name],
                    "current": name == current,
                    "visited": self.storage.get_step_data(name) is not None or name == current,
                    "url": self.get_step_url(name),
                }
            )
        context.update(
            nav="encryption-keys",
            region=self.region,
            region_name=REGIONS[self.region],
            step_title=TITLES[current],
            step_list=steps,
            step_url=self.get_step_url(current),
            key_list_url=key_list_url(self.region),
            account_id=self.actor.account_id,
        )
        if current == "review":
            choices = self.choices()
            text = self.policy_text()
            context.update(
                choices=choices,
                policy_text=text,
                policy_digest=forms.digest(text) if text else "",
                creation_token=self.creation_token,
            )
            if choices is not None:
                names = {p.arn: p.name for p in self._principals()}
                context["administrators"] = [(names.get(arn, arn), arn) for arn in choices["admin_arns"]]
                context["key_users"] = [(names.get(arn, arn), arn) for arn in choices["user_arns"]]
        return context

    # ------------------------------------------------------------ GET

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        step = kwargs.get("step")
        if step is None:
            # "Create key" (the base URL) always starts a new draft: formtools' restart, made explicit.
            self._start_draft()
            return redirect(self.get_step_url(self.steps.first))
        if step not in self.get_form_list():
            # Includes formtools' "done" URL: a GET never creates anything.
            return redirect(self.get_step_url(self.storage.current_step or self.steps.first))
        if not self.creation_token:
            self._start_draft()
        missing = self._first_missing_step(before=step)
        if missing is not None:
            return redirect(self.get_step_url(missing))
        self.storage.current_step = step
        # The review form carries only what this view puts there; never re-show stored hidden values.
        data = None if step == "review" else self.storage.get_step_data(step)
        return self.render(self.get_form(step=step, data=data))

    # ------------------------------------------------------------ POST

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if CANCEL in request.POST:
            self.storage.reset()
            messages.info(request, "The key was not created. Your choices were discarded.")
            return redirect(key_list_url(self.region))

        management = ManagementForm(request.POST, prefix=self.prefix)
        posted = management.cleaned_data["current_step"] if management.is_valid() else None
        if posted not in self.get_form_list() or posted != kwargs.get("step"):
            return self._refused(request)

        if posted == "review":
            finished = self._finished(request.POST.get("review-creation_token", ""))
            if finished is not None:
                return finished
        if not self.creation_token:
            if posted != self.steps.first:
                messages.error(
                    request,
                    "This key draft is no longer open (it was finished, cancelled or has expired). "
                    "Nothing was created. Start again.",
                )
                return redirect(reverse("console:create-key", kwargs={"region": self.region}))
            self._start_draft()

        goto = request.POST.get(GOTO)
        if goto in self.get_form_list():
            # Previous / a step link: keep what was typed here (unvalidated, like a draft) and move.
            if posted != "review":
                self.storage.set_step_data(posted, self.process_step(self.get_form(step=posted, data=request.POST)))
            self.storage.current_step = goto
            return redirect(self.get_step_url(goto))

        action = request.POST.get(REFRESH)
        if action:
            return self._refresh(posted, action)

        self.storage.current_step = posted
        return super().post(request, *args, **kwargs)

    def _refresh(self, step: str, action: str) -> HttpResponse:
        """Add or remove a row, or apply the filter: store what was typed and show the step again."""
        form_class = self.get_form_list()[step]
        data: Any = self.request.POST
        if hasattr(form_class, "with_action"):
            data, self.focus_row = form_class.with_action(data, prefix=step, action=action)
        self.storage.set_step_data(step, dict(data) if not hasattr(data, "lists") else dict(data.lists()))
        self.storage.current_step = step
        return self.render(self.get_form(step=step, data=self.storage.get_step_data(step)))

    def _refused(self, request: HttpRequest) -> HttpResponse:
        context = {
            "nav": "encryption-keys",
            "key_list_url": key_list_url(self.region),
            "restart_url": reverse("console:create-key", kwargs={"region": self.region}),
        }
        return render(request, "keys/create_key/refused.html", context, status=400)

    # ------------------------------------------------------------ Finish

    def render_done(self, form: Any, **kwargs: Any) -> HttpResponse:
        # formtools' NamedUrl version redirects to a GET "done" URL first; create in this POST instead.
        # From here on the alias's availability is create_key's to check (AlreadyExistsException).
        self.finishing = True
        self._drop_cleaned_data_cache()
        final_forms = {}
        for name in self.get_form_list():
            step_form = self.get_form(step=name, data=self.storage.get_step_data(name))
            if not step_form.is_valid():
                return self.render_revalidation_failure(name, step_form, **kwargs)
            final_forms[name] = step_form
        return self.done(list(final_forms.values()), form_dict=final_forms, **kwargs)

    def _drop_cleaned_data_cache(self) -> None:
        for name in [n for n in self.__dict__ if n.startswith("_cleaned_data_cache_")]:
            delattr(self, name)

    def render_revalidation_failure(self, failed_step: str, form: Any, **kwargs: Any) -> HttpResponse:
        if failed_step == "review":
            # A stale or foreign Finish: show the preview again with the reason; nothing is created.
            self.storage.current_step = "review"
            return self.render(form, **kwargs)
        messages.error(self.request, "Check this step before you choose Finish: it is incomplete or no longer valid.")
        return super().render_revalidation_failure(failed_step, form, **kwargs)

    def done(self, form_list: list, form_dict: dict, **kwargs: Any) -> HttpResponse:
        choices = self.choices()
        token = self.creation_token
        # Typed without alias/ (and validated): the service's rule gives the full alias name.
        alias = key_service.check_console_alias(choices["alias"])
        try:
            key = key_service.create_key(
                self.actor,
                description=choices["description"],
                origin=choices["origin"],
                policy_text=self.policy_text(),
                tags=choices["tags"],
                alias=alias,
                creation_token=token,
            )
        except KmsError as error:
            # A concurrent Finish of the same draft (a double click) may have made the key meanwhile.
            key = selectors.key_by_creation_token(self.actor.account_id, token)
            if key is None:
                return self.render(form_dict["review"], error=error)
        self._remember(token, key)
        self.storage.reset()
        return self._destination(key, alias=alias, first_time=True)

    # ------------------------------------------------------------ replays of a finished draft

    def _remember(self, token: str, key: Key) -> None:
        finished = dict(self.request.session.get(FINISHED_KEY, {}))
        finished[token] = {"key_id": key.key_id, "region": key.region}
        self.request.session[FINISHED_KEY] = dict(list(finished.items())[-FINISHED_KEPT:])

    def _finished(self, token: str) -> HttpResponse | None:
        """A Finish replayed after the key was made goes where the first one went, creating nothing."""
        entry = self.request.session.get(FINISHED_KEY, {}).get(token) if token else None
        if entry is None or entry["region"] != self.region:
            return None
        key = selectors.key_by_creation_token(self.actor.account_id, token)
        if key is None:
            return None
        return self._destination(key, alias="", first_time=False)

    def _destination(self, key: Key, *, alias: str, first_time: bool) -> HttpResponse:
        if key.is_external:
            return redirect(reverse("console:import-key-material", kwargs={"region": key.region, "key_id": key.key_id}))
        if first_time:
            messages.success(self.request, f"The key {alias} was created.")
        return redirect(key_list_url(key.region))


@principal_required
def imported_key_implications(request: HttpRequest) -> HttpResponse:
    """The help page behind the acknowledgement's link (spec 1.0, considerations for imported key material)."""
    return render(request, "keys/imported_key_implications.html", {"nav": "encryption-keys"})


create_key_wizard = CreateKeyWizard.as_view(url_name="console:create-key-step")

urlpatterns = [
    path(
        "iam/encryption-keys/help/imported-key-implications/",
        imported_key_implications,
        name="import-implications",
    ),
    path("iam/encryption-keys/<str:region>/create/", create_key_wizard, name="create-key"),
    path("iam/encryption-keys/<str:region>/create/<str:step>/", create_key_wizard, name="create-key-step"),
]
