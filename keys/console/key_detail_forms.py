"""Forms of the key details page and the key actions: they parse what was typed; the services judge it."""

from __future__ import annotations

from django import forms

from keys.services import keys as key_service

# The list's "Key actions" menu and the details page post one of these (URL-name contract), with its label.
ACTION_LABELS = {
    "enable": "Enable",
    "disable": "Disable",
    "schedule-deletion": "Schedule key deletion",
    "cancel-deletion": "Cancel key deletion",
    "delete-key-material": "Delete key material",
    "edit-tags": "Add or edit tags",
}
# Actions that ask first, on a confirmation page.
CONFIRMED_ACTIONS = ("schedule-deletion", "delete-key-material")


class DescriptionForm(forms.Form):
    description = forms.CharField(
        label="Description",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "textarea"}),
    )


# Every key-policy editor posts the policy_digest of the policy it showed; the service refuses a stale one.
# Not required: without it the save behaves as PutKeyPolicy does in the API.
POLICY_DIGEST_FIELD = "policy_digest"


def posted_policy_digest(data) -> str | None:
    return data.get(POLICY_DIGEST_FIELD) or None


class PolicyForm(forms.Form):
    # No max_length here: the service answers an oversized policy with LimitExceededException.
    policy = forms.CharField(
        label="Key policy",
        strip=False,
        error_messages={"required": "Enter a key policy document."},
        widget=forms.Textarea(attrs={"rows": 24, "class": "textarea mono", "spellcheck": "false"}),
    )


class PrincipalsForm(forms.Form):
    """Add or remove key administrators or key users (ARNs picked from the account's users and roles)."""

    error_messages = {
        "none": "Select at least one user or role.",
        "invalid_choice": "%(value)s is not a user or role of this account.",
    }

    principal = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, choices: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["principal"].choices = [(arn, arn) for arn in choices]
        self.fields["principal"].error_messages["invalid_choice"] = self.error_messages["invalid_choice"]

    def clean_principal(self) -> list[str]:
        chosen = self.cleaned_data["principal"]
        if not chosen:
            raise forms.ValidationError(self.error_messages["none"], code="none")
        return chosen


class AdminsCanDeleteForm(forms.Form):
    admins_can_delete = forms.BooleanField(label="Allow key administrators to delete this key", required=False)


DAYS = f"{key_service.MIN_PENDING_WINDOW_DAYS} and {key_service.MAX_PENDING_WINDOW_DAYS}"


class ScheduleDeletionForm(forms.Form):
    # Only a whole number is checked here: the waiting period's range is the service's rule.
    pending_window_days = forms.IntegerField(
        label="Waiting period (in days)",
        initial=key_service.DEFAULT_PENDING_WINDOW_DAYS,
        error_messages={
            "required": f"Enter a waiting period between {DAYS} days.",
            "invalid": f"Enter a whole number of days between {DAYS}.",
        },
    )


class KeyActionsForm(forms.Form):
    """What the list (or the details page) posts: checked key IDs and one action."""

    error_messages = {
        "no_keys": "No keys are selected. Select the check box of at least one key, then choose a key action.",
        "one_key": "Select only one key to add or edit tags.",
    }

    key_id = forms.MultipleChoiceField(required=False)
    action = forms.ChoiceField(
        choices=list(ACTION_LABELS.items()),
        error_messages={"required": "Choose a key action.", "invalid_choice": "Choose a key action from the menu."},
    )
    confirm = forms.BooleanField(required=False)
    next = forms.CharField(required=False)

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        # Any key ID may be posted; the services decide whether it exists for this account.
        self.fields["key_id"].choices = [(k, k) for k in data.getlist("key_id")] if data is not None else []

    def clean_key_id(self) -> list[str]:
        keys = list(dict.fromkeys(k.strip() for k in self.cleaned_data["key_id"] if k.strip()))
        if not keys:
            raise forms.ValidationError(self.error_messages["no_keys"], code="no_keys")
        return keys

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "edit-tags" and len(cleaned.get("key_id") or []) > 1:
            self.add_error("key_id", forms.ValidationError(self.error_messages["one_key"], code="one_key"))
        return cleaned


class TagRowForm(forms.Form):
    tag_key = forms.CharField(label="Tag key", required=False, strip=False)
    tag_value = forms.CharField(label="Tag value", required=False, strip=False)
    remove = forms.BooleanField(label="Remove", required=False)

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not data.get("tag_key") and not data.get("tag_value")


class BaseTagFormSet(forms.BaseFormSet):
    def tags(self) -> list[tuple[str, str]]:
        """The rows to keep, in order; empty rows and rows marked Remove are dropped."""
        return [
            (form.cleaned_data["tag_key"], form.cleaned_data["tag_value"])
            for form in self.forms
            if not form.cleaned_data.get("remove") and not form.is_blank()
        ]


# One row more than a key may have tags (the empty row to type in); a tampered POST cannot make the page huge.
TagFormSet = forms.formset_factory(
    TagRowForm,
    formset=BaseTagFormSet,
    extra=0,
    max_num=key_service.MAX_TAGS + 1,
    absolute_max=key_service.MAX_TAGS + 10,
)
