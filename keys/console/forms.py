"""Forms of the console's sign-in and key-list pages: they own validation and the words of its errors."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from keys.console.actors import client_ip
from keys.models import Principal
from keys.regions import REGIONS
from keys.services import directory

KEY_LIST_COLUMN_CHOICES = [("expiration_date", "Expiration Date"), ("origin", "Origin")]


class SignInForm(forms.Form):
    """The IAM user sign-in: account, user name and password, checked by the directory (throttled)."""

    account = forms.CharField(label="Account ID or alias", max_length=63)
    user_name = forms.CharField(label="IAM user name", max_length=64)
    password = forms.CharField(label="Password", max_length=128, strip=False, widget=forms.PasswordInput)

    error_messages = {
        "invalid_login": "Your authentication information is incorrect. Please try again.",
        "throttled": "Too many failed sign-in attempts. Wait 15 minutes and then try again.",
    }

    def __init__(self, request: HttpRequest, *args, **kwargs):
        self.request = request
        self.principal: Principal | None = None
        super().__init__(*args, **kwargs)
        self.fields["account"].widget.attrs.update(autocomplete="organization", spellcheck="false")
        self.fields["user_name"].widget.attrs.update(autocomplete="username", spellcheck="false")
        self.fields["password"].widget.attrs.update(autocomplete="current-password")
        first_empty = next((name for name in ("account", "user_name", "password") if not self[name].value()), None)
        if first_empty:
            self.fields[first_empty].widget.attrs["autofocus"] = True

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        principal, reason = directory.authenticate_console_user(
            self.request,
            account=data["account"],
            user_name=data["user_name"],
            password=data["password"],
            source_ip=client_ip(self.request),
        )
        if principal is None:
            code = "throttled" if reason == "throttled" else "invalid_login"
            raise ValidationError(self.error_messages[code], code=code)
        self.principal = principal
        return data


class KeyListQueryForm(forms.Form):
    """The key list's GET parameters: Region, Filter and page (bad values fall back to defaults)."""

    region = forms.ChoiceField(choices=list(REGIONS.items()), required=False)
    filter = forms.CharField(required=False)
    page = forms.IntegerField(min_value=1, required=False)

    def value(self, name: str, default=None):
        """The cleaned value, or the default when the parameter is missing or invalid."""
        self.is_valid()
        return self.cleaned_data.get(name) or default


class KeyListSettingsForm(forms.Form):
    """The settings panel: which optional columns the key list shows."""

    columns = forms.MultipleChoiceField(
        label="Columns", choices=KEY_LIST_COLUMN_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
