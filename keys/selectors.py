"""Reads for console pages: scoped to one account, paginated, with a constant number of queries."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.db.models import Case, Count, Exists, OuterRef, Prefetch, Q, When
from django.db.models.functions import Lower, Substr

from keys import access_review, states, timeline
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
    ordered = keys.order_by(Lower("list_alias").asc(nulls_last=True), "creation_date", "key_id")
    rows = ordered.values(
        "key_id", "list_alias", "state", "origin", "key_manager", "creation_date", "expiration_model", "valid_to"
    )[(page - 1) * page_size : page * page_size]
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


# ---------------------------------------------------------------- the Event history page (event_history.py)

EVENT_HISTORY_PAGE_SIZE = 50
# "Download events" writes at most this many of the newest matching events.
EVENT_DOWNLOAD_LIMIT = 10_000
# The user name CloudTrail's console shows for AwsServiceEvent records (DeleteExpiredKeyMaterial, DeleteKey).
SERVICE_USER_NAME = "AWS Internal"
ROOT_USER_NAME = "root"


@dataclass(frozen=True)
class EventFilters:
    """What the Event history is narrowed to; an empty value narrows nothing."""

    event_name: str = ""
    key_id: str = ""
    user_name: str = ""
    errors_only: bool = False

    @property
    def any(self) -> bool:
        return bool(self.event_name or self.key_id or self.user_name or self.errors_only)


@dataclass(frozen=True)
class EventCursor:
    """A place in the newest-first order: the event time and event ID of one event (keyset pagination)."""

    event_time: dt.datetime
    event_id: str

    def encode(self) -> str:
        return f"{self.event_time.astimezone(dt.UTC).isoformat()}|{self.event_id}"

    @classmethod
    def decode(cls, text: str | None) -> EventCursor | None:
        """The cursor of a ?after= or ?before= value, or None for anything malformed."""
        when, _, event_id = (text or "").partition("|")
        if not event_id or len(event_id) > 36:
            return None
        try:
            moment = dt.datetime.fromisoformat(when)
        except ValueError:
            return None
        return cls(moment, event_id) if moment.tzinfo is not None else None


@dataclass(frozen=True)
class EventRow:
    """One line of the Event history table, with its full CloudTrail record."""

    event_id: str
    event_time: dt.datetime
    event_name: str
    event_type: str
    key_id: str
    key_exists: bool
    error_code: str
    record: dict
    account_id: str

    @property
    def identity(self) -> dict:
        return (self.record or {}).get("userIdentity") or {}

    @property
    def user_name(self) -> str:
        """userIdentity's userName, "root" for the account root, "AWS Internal" for service events."""
        identity = self.identity
        if self.event_type == "AwsServiceEvent" or identity.get("invokedBy") == SERVICE_USER_NAME:
            return SERVICE_USER_NAME
        if identity.get("userName"):
            return identity["userName"]
        if identity.get("type") == "Root" or str(identity.get("arn", "")).endswith(":root"):
            return ROOT_USER_NAME
        return identity.get("principalId") or identity.get("arn") or ""

    @property
    def caller_account(self) -> str:
        """The caller's account when it is not the account whose history this is (cross-account use), else ""."""
        caller = self.identity.get("accountId", "")
        return caller if caller and caller != self.account_id else ""

    @property
    def record_json(self) -> str:

        return json.dumps(self.record, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class EventPage:
    """A page of events, newest first, with the cursors of the newer and older pages (None at either end)."""

    rows: list[EventRow]
    region: str
    filters: EventFilters
    newer: EventCursor | None
    older: EventCursor | None
    page_size: int = EVENT_HISTORY_PAGE_SIZE


def _user_name_condition(user_name: str):
    """Events whose caller has this user name (IAM names ignore case), "root", or "AWS Internal"."""

    condition = Q(principal_arn__iendswith=f"/{user_name}")
    if user_name.lower() == ROOT_USER_NAME:
        condition |= Q(principal_arn__iendswith=":root")
    if user_name.lower() == SERVICE_USER_NAME.lower():
        condition |= Q(event_type="AwsServiceEvent")
    return condition


def account_events(account_id: str, region: str, filters: EventFilters | None = None):
    """The account's audit events in a region that pass the filters (a queryset, not yet ordered)."""
    filters = filters or EventFilters()
    events = AuditEvent.objects.filter(account_id=account_id, region=region)
    if filters.event_name:
        events = events.filter(event_name=filters.event_name)
    if filters.key_id:
        events = events.filter(key_id=filters.key_id)
    if filters.errors_only:
        events = events.exclude(error_code="")
    if filters.user_name:
        events = events.filter(_user_name_condition(filters.user_name))
    return events


def event_history_names(account_id: str, region: str) -> list[str]:
    """The event names present in the account's events of a region, for the Event name filter (one query)."""
    return list(
        AuditEvent.objects.filter(account_id=account_id, region=region)
        .order_by("event_name")
        .values_list("event_name", flat=True)
        .distinct()
    )


def event_history_page(
    account_id: str,
    region: str,
    filters: EventFilters | None = None,
    *,
    after: EventCursor | None = None,
    before: EventCursor | None = None,
    page_size: int = EVENT_HISTORY_PAGE_SIZE,
) -> EventPage:
    """The newest events (or those older than `after`, or newer than `before`): one query, whatever the count.

    Each row says whether its key still exists in the region, so the page links only to keys it can open.
    """

    filters = filters or EventFilters()
    still_there = Key.objects.filter(account_id=account_id, region=region, key_id=OuterRef("key_id"))
    events = account_events(account_id, region, filters).annotate(key_exists=Exists(still_there))
    if before is not None:
        events = events.filter(
            Q(event_time__gt=before.event_time) | Q(event_time=before.event_time, event_id__gt=before.event_id)
        ).order_by("event_time", "event_id")
    else:
        if after is not None:
            events = events.filter(
                Q(event_time__lt=after.event_time) | Q(event_time=after.event_time, event_id__lt=after.event_id)
            )
        events = events.order_by("-event_time", "-event_id")
    fetched = list(
        events.values(
            "event_id", "event_time", "event_name", "event_type", "key_id", "key_exists", "error_code", "record"
        )[: page_size + 1]
    )
    more = len(fetched) > page_size
    fetched = fetched[:page_size]
    if before is not None:
        fetched.reverse()
    rows = [EventRow(account_id=account_id, **row) for row in fetched]
    first = EventCursor(rows[0].event_time, rows[0].event_id) if rows else None
    last = EventCursor(rows[-1].event_time, rows[-1].event_id) if rows else None
    if before is not None:
        # Came back from an older page: there is an older page; a newer one if more were fetched.
        newer, older = (first if more else None), last
    else:
        newer, older = (first if after is not None else None), (last if more else None)
    return EventPage(rows=rows, region=region, filters=filters, newer=newer, older=older, page_size=page_size)


def event_history_records(
    account_id: str,
    region: str,
    filters: EventFilters | None = None,
    *,
    limit: int = EVENT_DOWNLOAD_LIMIT,
):
    """The CloudTrail records of the newest matching events, at most `limit`, read in chunks (one query)."""
    records = account_events(account_id, region, filters).order_by("-event_time", "-event_id")
    return records.values_list("record", flat=True)[:limit].iterator(chunk_size=500)


# ---------------------------------------------------------------- the key details page's Effective permissions


def key_access_candidates(key: Key, key_policy: dict) -> list:
    """Who could call the key: its account's root, users and roles (one query), then the other accounts'
    principals its policy names (no query: another account's directory is not this account's to read)."""

    order = Case(When(kind=Principal.ROOT, then=0), When(kind=Principal.USER, then=1), default=2)
    principals = (
        Principal.objects.filter(account_id=key.account_id)
        .order_by(order, "name")
        .only("account_id", "kind", "name", "path", "iam_policies", "iam_policy_names")
    )
    own = [
        access_review.Candidate(
            arn=p.arn,
            name=p.account_id if p.kind == Principal.ROOT else p.name,
            kind=p.kind,
            account_id=p.account_id,
            iam_policies=tuple(p.iam_policies or ()),
            iam_policy_names=tuple(p.iam_policy_names or ()),
        )
        for p in principals
    ]
    return own + access_review.external_candidates(key_policy, key_account=key.account_id)
