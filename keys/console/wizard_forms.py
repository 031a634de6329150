"""Forms of the Create key wizard, one per step; every rule comes from keys.services.keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from keys import policy
from keys.errors import KmsError
from keys.models import Principal
from keys.services import keys as key_service
from keys.services.gate import Actor

ORIGIN_CHOICES = [("AWS_KMS", "KMS"), ("EXTERNAL", "External")]
ACKNOWLEDGEMENT = "I understand the security, availability, and durability implications of using an imported key"
MAX_ROWS = key_service.MAX_TAGS + 10  # rows rendered at most; a tampered POST cannot make the page huge


def _invalid(error: KmsError, code: str = "invalid") -> ValidationError:
    return ValidationError(error.message, code=code)


class AliasForm(forms.Form):
    """Step 1: alias (typed without alias/), description, and the Advanced Options' key material origin."""

    error_messages = {
        "acknowledge": (
            "To create a key for imported key material, select the check box to confirm that you "
            "understand the security, availability, and durability implications of using an imported key."
        ),
    }

    alias = forms.CharField(label="Alias", required=False)
    description = forms.CharField(label="Description", required=False, strip=False, widget=forms.Textarea)
    origin = forms.ChoiceField(
        label="Key Material Origin", choices=ORIGIN_CHOICES, initial="AWS_KMS", widget=forms.RadioSelect
    )
    acknowledge = forms.BooleanField(label=ACKNOWLEDGEMENT, required=False)

    def __init__(self, *args: Any, actor: Actor, check_available: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        # At Finish the service checks availability itself, inside the transaction that creates the alias.
        self.check_available = check_available

    def clean_alias(self) -> str:
        name = self.cleaned_data["alias"]
        try:
            full_name = key_service.check_console_alias(name)
            if self.check_available:
                key_service.check_alias_available(self.actor, alias_name=full_name)
        except KmsError as error:
            raise _invalid(error, "exists" if error.code == "AlreadyExistsException" else "invalid")
        return name

    def clean_description(self) -> str:
        try:
            return key_service.check_description(self.cleaned_data["description"])
        except KmsError as error:
            raise _invalid(error)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("origin") == "EXTERNAL" and not data.get("acknowledge"):
            self.add_error("acknowledge", ValidationError(self.error_messages["acknowledge"], code="acknowledge"))
        return data


@dataclass
class Row:
    """One repeatable row (a tag, an external account) as typed, with its errors."""

    index: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    focus: bool = False


class RowsMixin:
    """Repeatable rows posted as repeated names (`<prefix>-<column>`), added and removed by submit buttons.

    Rows work without JavaScript: "Add ..." and "Remove" are submit buttons whose value names the
    action; the wizard view asks the form for the data with that action applied and re-renders.
    """

    row_columns: tuple[str, ...] = ()
    initial_rows = 0
    add_action = ""
    remove_action = ""

    def __init__(self, *args: Any, focus_row: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.focus_row = focus_row
        self._rows: list[Row] | None = None

    @property
    def rows(self) -> list[Row]:
        """The rows as typed; a bound form is validated first, so that each row carries its errors."""
        if self._rows is None:
            self._rows = [
                Row(index=i, values=values, focus=i == self.focus_row) for i, values in enumerate(self.raw_rows())
            ]
            if self.is_bound:
                self.errors  # noqa: B018
        return self._rows

    def _column(self, name: str) -> list[str]:
        key = self.add_prefix(name)
        if not self.is_bound:
            return []
        getter = getattr(self.data, "getlist", None)
        values = getter(key) if getter else self.data.get(key, [])
        if isinstance(values, str):
            values = [values]
        return [v if isinstance(v, str) else "" for v in values][:MAX_ROWS]

    def raw_rows(self) -> list[dict[str, str]]:
        if not self.is_bound:
            return [dict.fromkeys(self.row_columns, "") for _ in range(self.initial_rows)]
        columns = [self._column(c) for c in self.row_columns]
        count = max((len(c) for c in columns), default=0)
        return [
            {name: (col[i] if i < len(col) else "") for name, col in zip(self.row_columns, columns, strict=True)}
            for i in range(count)
        ]

    @classmethod
    def with_action(cls, data: Any, *, prefix: str, action: str) -> tuple[dict[str, list[str]], int | None]:
        """The posted data with one row added or removed; returns the data and the row to focus."""
        lists = {k: list(data.getlist(k)) for k in data}
        names = [f"{prefix}-{c}" for c in cls.row_columns]
        count = max((len(lists.get(n, [])) for n in names), default=0)
        for name in names:
            lists[name] = (lists.get(name, []) + [""] * count)[:count]
        focus: int | None = None
        if action == cls.add_action and count < key_service.MAX_TAGS:
            for name in names:
                lists[name].append("")
            focus = count
        elif action.startswith(cls.remove_action + "-"):
            index = action.removeprefix(cls.remove_action + "-")
            if index.isdigit() and int(index) < count:
                for name in names:
                    del lists[name][int(index)]
                focus = None
        return lists, focus

    def is_blank(self, row: dict[str, str]) -> bool:
        return all(not v.strip() for v in row.values())


class TagsForm(RowsMixin, forms.Form):
    """Step 2: tags as rows of "Tag key" / "Tag value"; blank rows are ignored."""

    row_columns = ("key", "value")
    initial_rows = 1
    add_action = "add-tag"
    remove_action = "remove-tag"

    @property
    def can_add(self) -> bool:
        return len(self.rows) < key_service.MAX_TAGS

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        accepted: list[tuple[str, str]] = []
        limit_error: KmsError | None = None
        failed = False
        for row in self.rows:
            if self.is_blank(row.values):
                continue
            pair = (row.values["key"], row.values["value"])
            try:
                key_service.check_tags([*accepted, pair])
            except KmsError as error:
                if error.code == "LimitExceededException":
                    limit_error = limit_error or error
                else:
                    row.errors.append(error.message)
                    failed = True
                continue
            accepted.append(pair)
        if limit_error is not None:
            raise _invalid(limit_error, "limit")
        if failed:
            raise ValidationError("Correct the tags marked below.", code="rows")
        data["tags"] = accepted
        return data


class PrincipalTableForm(forms.Form):
    """The account's users and roles as a filterable table of check boxes (steps 3 and 4)."""

    principal = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    filter = forms.CharField(label="Filter", required=False)

    def __init__(self, *args: Any, principals: list[Principal], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Users, then roles, each by name: the table's order is the order of the policy's principals
        # (spec 2.2 lists user/KMSAdminUser before role/KMSAdminRole), whatever order the POST had.
        self.principals = sorted(principals, key=lambda p: (p.kind != Principal.USER, p.name))
        self.fields["principal"].choices = [(p.arn, p.name) for p in principals]
        self.fields["principal"].error_messages["invalid_choice"] = "%(value)s is not a user or role of this account."

    def clean_principal(self) -> list[str]:
        chosen = set(self.cleaned_data["principal"])
        return [p.arn for p in self.principals if p.arn in chosen]

    def _selected(self) -> set[str]:
        if self.is_bound:
            key = self.add_prefix("principal")
            getter = getattr(self.data, "getlist", None)
            return set(getter(key) if getter else self.data.get(key, []))
        return set(self.initial.get("principal", []))

    @property
    def filter_text(self) -> str:
        if not self.is_bound:
            return ""
        value = self.data.get(self.add_prefix("filter"), "")
        return value.strip() if isinstance(value, str) else ""

    @property
    def table(self) -> list[dict[str, Any]]:
        """Rows for the template: principal, checked, and hidden when the filter does not match."""
        selected = self._selected()
        needle = self.filter_text.lower()
        return [
            {
                "principal": p,
                "arn": p.arn,
                "type": "User" if p.kind == Principal.USER else "Role",
                "checked": p.arn in selected,
                "hidden": bool(needle) and needle not in p.name.lower() and needle not in p.arn.lower(),
                "id": f"id_{self.add_prefix('principal')}_{i}",
            }
            for i, p in enumerate(self.principals)
        ]

    @property
    def none_match(self) -> bool:
        return bool(self.principals) and all(row["hidden"] for row in self.table)


class AdministratorsForm(PrincipalTableForm):
    """Step 3: key administrators and "Allow key administrators to delete this key"."""

    allow_delete = forms.BooleanField(label="Allow key administrators to delete this key", required=False, initial=True)


class UsersForm(RowsMixin, PrincipalTableForm):
    """Step 4: key users and external accounts (12-digit account IDs, one per row)."""

    row_columns = ("account",)
    initial_rows = 0
    add_action = "add-account"
    remove_action = "remove-account"

    def __init__(self, *args: Any, own_account: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.own_account = own_account

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        accounts: list[str] = []
        failed = False
        for row in self.rows:
            value = row.values["account"].strip()
            if not value:
                continue
            try:
                accounts.append(
                    key_service.check_external_account(value, own_account=self.own_account, already=accounts)
                )
            except KmsError as error:
                row.errors.append(error.message)
                failed = True
        if failed:
            raise ValidationError("Correct the external accounts marked below.", code="rows")
        data["external_accounts"] = accounts
        return data


class ReviewForm(forms.Form):
    """Step 5: Finish confirms the previewed policy of this draft (stale or foreign POSTs are refused)."""

    error_messages = {
        "stale_draft": "This page belongs to a key draft that is no longer open. Nothing was created.",
        "policy_changed": (
            "The key policy changed since this preview was shown (the draft was edited elsewhere). "
            "Review the policy below, then choose Finish again."
        ),
    }

    creation_token = forms.CharField(widget=forms.HiddenInput, required=False)
    policy_digest = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, creation_token: str, policy_digest: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected_token = creation_token
        self.expected_digest = policy_digest

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.expected_token or data.get("creation_token") != self.expected_token:
            raise ValidationError(self.error_messages["stale_draft"], code="stale_draft")
        # No expected digest: an earlier step is now invalid, and Finish sends the user back to it.
        if self.expected_digest and data.get("policy_digest") != self.expected_digest:
            raise ValidationError(self.error_messages["policy_changed"], code="policy_changed")
        return data


def draft_policy_text(
    *,
    account_id: str,
    origin: str,
    admin_arns: list[str],
    allow_delete: bool,
    user_arns: list[str],
    external_accounts: list[str],
) -> str:
    """The exact policy text the wizard previews and stores (spec 2.2)."""
    document = policy.build_console_key_policy(
        account_id=account_id,
        admin_arns=admin_arns,
        user_arns=user_arns,
        external_account_ids=external_accounts,
        allow_admin_delete=allow_delete,
        external_origin=origin == "EXTERNAL",
    )
    return policy.render_policy(document)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
