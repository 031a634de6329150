"""Reads for console pages: scoped to one account, paginated, with a constant number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, Exists, OuterRef, Prefetch, When
from django.db.models.functions import Lower, Substr

from keys import states, timeline
from keys.models import Alias, AuditEvent, ConsolePreferences, Key, Principal
from keys.regions import DEFAULT_REGION, REGIONS
from keys.services.directory import KEY_LIST_COLUMNS

KEY_LIST_PAGE_SIZE = 50
ALIAS_PREFIX = "alias/"

# How the old console wrote a key's origin in the list (spec 1.1 and 6.11).
ORIGIN_DISPLAY = {"EXTERNAL": "External", "AWS_KMS": "AWS"}


# ---------------------------------------------------------------- console preferences


@dataclass(frozen=True)
class Preferences:
    """A principal's console settings, with the defaults of a user who never changed them."""

    region: str = DEFAULT_REGION
    key_list_columns: tuple[str, ...] = ()

    @property
    def show_expiration_date(self) -> bool:
        return "expiration_date" in self.key_list_columns

    @property
    def show_origin(self) -> bool:
        return "origin" in self.key_list_columns


def console_preferences(principal: Principal) -> Preferences:
    """The saved preferences (one query; nothing is written on a read)."""
    saved = ConsolePreferences.objects.filter(principal=principal).values("region", "key_list_columns").first()
    if saved is None:
        return Preferences()
    columns = tuple(c for c in KEY_LIST_COLUMNS if c in (saved["key_list_columns"] or ()))
    region = saved["region"] if saved["region"] in REGIONS else DEFAULT_REGION
    return Preferences(region=region, key_list_columns=columns)


# ---------------------------------------------------------------- IAM pages


def account_principals(account_id: str, kind: str | None = None) -> list[Principal]:
    """The IAM users, then roles, of one account (or those of one kind), each by name (one query)."""
    query = Principal.objects.filter(account_id=account_id).exclude(kind=Principal.ROOT)
    if kind is not None:
        query = query.filter(kind=kind)
    users_first = Case(When(kind=Principal.USER, then=0), default=1)
    return list(query.order_by(users_first, "name"))


@dataclass(frozen=True)
class DashboardSummary:
    account_id: str
    region: str
    users: int
    roles: int
    keys: int


def dashboard_summary(account_id: str, region: str) -> DashboardSummary:
    counts = {
        row["kind"]: row["n"]
        for row in Principal.objects.filter(account_id=account_id)
        .exclude(kind=Principal.ROOT)
        .values("kind")
        .annotate(n=Count("id"))
    }
    keys = Key.objects.filter(account_id=account_id, region=region).count()
    return DashboardSummary(
        account_id=account_id,
        region=region,
        users=counts.get(Principal.USER, 0),
        roles=counts.get(Principal.ROLE, 0),
        keys=keys,
    )


# ---------------------------------------------------------------- the key list


@dataclass(frozen=True)
class KeyRow:
    """One line of the Encryption keys table."""

    key_id: str
    alias: str  # without alias/, "" when the key has none
    state: str
    origin: str
    key_manager: str
    creation_date: dt.datetime
    expiration_model: str | None
    valid_to: dt.datetime | None

    @property
    def status(self) -> str:
        return states.DISPLAY[self.state]

    @property
    def status_class(self) -> str:
        return states.STATUS_CLASS[self.state]

    @property
    def origin_display(self) -> str:
        return ORIGIN_DISPLAY.get(self.origin, self.origin)

    @property
    def is_aws_managed(self) -> bool:
        return self.key_manager == "AWS"

    @property
    def never_expires(self) -> bool:
        return self.origin == "EXTERNAL" and self.expiration_model == "KEY_MATERIAL_DOES_NOT_EXPIRE"


def page_count(total: int, page_size: int) -> int:
    """How many pages `total` rows fill; an empty list is still one (empty) page."""
    return max(1, -(-total // page_size))


@dataclass(frozen=True)
class KeyListPage:
    rows: list[KeyRow]
    page: int
    page_size: int
    total: int
    filter_text: str = ""
    region: str = DEFAULT_REGION

    @property
    def num_pages(self) -> int:
        return page_count(self.total, self.page_size)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def start_index(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.page_size + 1

    @property
    def end_index(self) -> int:
        return min(self.total, self.page * self.page_size)


def normalize_filter(text: str) -> str:
    """What the Filter box matches: all or part of the alias name, with or without alias/."""
    text = (text or "").strip()
    return text[len(ALIAS_PREFIX) :] if text.lower().startswith(ALIAS_PREFIX) else text


def key_list_page(
    account_id: str,
    region: str,
    filter_text: str = "",
    page: int = 1,
    page_size: int = KEY_LIST_PAGE_SIZE,
) -> KeyListPage:
    """A page of the account's keys in a region, with the first alias of each: two queries, whatever the size."""
    keys = Key.objects.filter(account_id=account_id, region=region)
    needle = normalize_filter(filter_text)
    if needle:
        matching = Alias.objects.annotate(short=Substr("name", len(ALIAS_PREFIX) + 1)).filter(
            target_key=OuterRef("pk"), short__icontains=needle
        )
        keys = keys.filter(Exists(matching))
    total = keys.count()
    page = min(max(1, page), page_count(total, page_size))
    rows = (
        keys.order_by(Lower("list_alias").asc(nulls_last=True), "creation_date", "key_id")
        .values(
            "key_id",
            "list_alias",
            "state",
            "origin",
            "key_manager",
            "creation_date",
            "expiration_model",
            "valid_to",
        )[(page - 1) * page_size : page * page_size]
    )
    return KeyListPage(
        rows=[
            KeyRow(
                key_id=row["key_id"],
                alias=(row["list_alias"] or "").removeprefix(ALIAS_PREFIX),
                state=row["state"],
                origin=row["origin"],
                key_manager=row["key_manager"],
                creation_date=row["creation_date"],
                expiration_model=row["expiration_model"],
                valid_to=row["valid_to"],
            )
            for row in rows
        ],
        page=page,
        page_size=page_size,
        total=total,
        filter_text=filter_text,
        region=region,
    )


# ---------------------------------------------------------------- the key details page (key_detail.py)


def key_by_creation_token(account_id: str, token: str) -> Key | None:
    """The key a Create key wizard draft's Finish made (the token is unique per account), or None."""
    return Key.objects.filter(account_id=account_id, creation_token=token).first()


def key_aliases(key: Key) -> list[Alias]:
    """The aliases of one key, by name (one query)."""
    return list(Alias.objects.filter(account_id=key.account_id, region=key.region, target_key=key).order_by("name"))


def keys_by_id(account_id: str, region: str, key_ids: list[str]) -> list[Key]:
    """The account's keys among these IDs, each with `alias_list` (two queries, whatever the count)."""
    return list(
        Key.objects.filter(account_id=account_id, region=region, key_id__in=key_ids).prefetch_related(
            Prefetch("aliases", queryset=Alias.objects.order_by("name"), to_attr="alias_list")
        )
    )


def key_lifecycle_events(key: Key, *, limit: int = 200) -> tuple[list, bool]:
    """The key's most recent lifecycle audit events, oldest first, and whether older ones were left out (one query)."""
    rows = list(
        AuditEvent.objects.filter(account_id=key.account_id, key_id=key.key_id, event_name__in=timeline.EVENT_NAMES)
        .order_by("-event_time")
        .values_list("event_time", "event_name", "event_type", "principal_arn", "error_code", "record")[: limit + 1]
    )
    events = [
        timeline.Event(
            time=when,
            name=name,
            event_type=event_type,
            who=who,
            error_code=error_code,
            error_message=(record or {}).get("errorMessage", ""),
            request=(record or {}).get("requestParameters") or {},
            response=(record or {}).get("responseElements") or {},
        )
        for when, name, event_type, who, error_code, record in reversed(rows[:limit])
    ]
    return events, len(rows) > limit
