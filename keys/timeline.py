"""A key's lifecycle as an SVG timeline: audit events in, positioned marks and state bands out (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from keys import states

# The audit events the timeline draws (successful or refused); everything else is left out.
OPERATIONS: dict[str, tuple[str, str, str]] = {
    # eventName: (kind, what happened, what was attempted)
    "CreateKey": ("created", "Key created", "Create key"),
    "GetParametersForImport": ("parameters", "Import parameters downloaded", "Download import parameters"),
    "ImportKeyMaterial": ("imported", "Key material imported", "Import key material"),
    "DeleteImportedKeyMaterial": ("material-deleted", "Key material deleted", "Delete key material"),
    "DeleteExpiredKeyMaterial": ("expired", "Key material expired", "Expire key material"),
    "EnableKey": ("enabled", "Key enabled", "Enable key"),
    "DisableKey": ("disabled", "Key disabled", "Disable key"),
    "ScheduleKeyDeletion": ("deletion-scheduled", "Deletion scheduled", "Schedule key deletion"),
    "CancelKeyDeletion": ("deletion-cancelled", "Deletion cancelled", "Cancel key deletion"),
    "PutKeyPolicy": ("policy", "Key policy changed", "Change key policy"),
}
EVENT_NAMES = tuple(OPERATIONS)
REIMPORTED = "Key material reimported"
DEFAULT_LIMIT = 200

UNKNOWN = "Unknown"
STATE_CLASS = {**states.STATUS_CLASS, UNKNOWN: "unknown"}

# Geometry, in SVG user units (= CSS pixels: the SVG is drawn at its natural size and scrolls).
MARGIN = 88
MIN_SPACING = 120
MAX_SPACING = 180
BASE_WIDTH = 760
# Up to this width the drawing scales down to its panel; wider ones keep their size and scroll.
FIT_WIDTH = 1100
HEIGHT = 190
AXIS_Y = 96
LABEL_GAP = 30
LINE = 15
MARK_RADIUS = 7
BAND_HEIGHT = 16


@dataclass(frozen=True)
class Event:
    """One audit record, reduced to what the timeline needs (built from AuditEvent rows by a selector)."""

    time: dt.datetime
    name: str
    who: str = ""
    event_type: str = "AwsApiCall"
    error_code: str = ""
    error_message: str = ""
    request: Mapping[str, Any] = field(default_factory=dict)
    response: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mark:
    """One event (or a future date) placed on the axis, with its label lines and its table row."""

    x: float
    kind: str
    label: str
    when: dt.datetime
    who: str
    who_arn: str
    result: str
    detail: str = ""
    event_name: str = ""
    error_code: str = ""
    error_message: str = ""
    denied: bool = False
    failed: bool = False
    future: bool = False
    above: bool = True

    @property
    def date_text(self) -> str:
        return short_time(self.when)

    @property
    def time_text(self) -> str:
        return long_time(self.when)

    @property
    def css(self) -> str:
        if self.denied:
            return "denied"
        if self.failed:
            return "failed"
        return "future" if self.future else self.kind

    @property
    def label_y(self) -> float:
        """Baseline of the first label line; the next lines go away from the axis."""
        return AXIS_Y - LABEL_GAP - 2 * LINE if self.above else AXIS_Y + LABEL_GAP + 4

    @property
    def lines(self) -> list[tuple[float, str, str]]:
        """(y, text, role) of each label line, top to bottom."""
        texts = [(self.label, "label"), (self.date_text, "date")]
        if self.denied:
            texts.append((f"Denied: {self.who}", "who"))
        elif self.failed:
            texts.append((self.error_code, "who"))
        elif self.detail:
            texts.append((self.detail, "detail"))
        elif self.who and not self.future:
            texts.append((f"by {self.who}", "who"))
        return [(self.label_y + i * LINE, text, role) for i, (text, role) in enumerate(texts)]

    @property
    def stem(self) -> tuple[float, float]:
        """The connector from the mark to its label (y1, y2)."""
        if self.above:
            return AXIS_Y - 10, AXIS_Y - LABEL_GAP + 2
        return AXIS_Y + 10, AXIS_Y + LABEL_GAP - 10

    @property
    def title(self) -> str:
        parts = [self.label, self.time_text]
        if self.who:
            parts.append(self.who_arn or self.who)
        parts.append(f"{self.error_code}: {self.error_message}" if self.error_code else self.result)
        if self.detail:
            parts.append(self.detail)
        return " · ".join(p for p in parts if p)

    # Shapes (SVG geometry, so the template does no arithmetic): a circle for an event, a diamond for
    # a date to come, a cross for a refused call.
    @property
    def cross(self) -> str:
        x, y, r = self.x, AXIS_Y, MARK_RADIUS - 1
        return f"M{x - r:g},{y - r:g} L{x + r:g},{y + r:g} M{x - r:g},{y + r:g} L{x + r:g},{y - r:g}"

    @property
    def diamond(self) -> str:
        x, y, r = self.x, AXIS_Y, MARK_RADIUS + 2
        return f"{x:g},{y - r:g} {x + r:g},{y:g} {x:g},{y + r:g} {x - r:g},{y:g}"


@dataclass(frozen=True)
class Segment:
    """A stretch of the axis during which the key was (or will be) in one state."""

    x1: float
    x2: float
    state: str
    future: bool = False
    # Where the state's name fits between the marks drawn on this stretch (None: it does not fit).
    label_x: float | None = None

    @property
    def display(self) -> str:
        return states.DISPLAY.get(self.state, "Earlier events not shown")

    @property
    def css(self) -> str:
        return STATE_CLASS[self.state]

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def show_label(self) -> bool:
        return self.label_x is not None

    def labelled(self, mark_xs: Sequence[float]) -> Segment:
        """This segment with its label placed in the widest gap between the marks on it."""
        cuts = [self.x1, *sorted(x for x in mark_xs if self.x1 < x < self.x2), self.x2]
        left, right = max(zip(cuts, cuts[1:], strict=False), key=lambda gap: gap[1] - gap[0])
        # Leave room for the mark circles at both ends of the gap.
        fits = right - left - 2 * (MARK_RADIUS + 3) >= 6.5 * len(self.display)
        return Segment(self.x1, self.x2, self.state, self.future, (left + right) / 2 if fits else None)

    @property
    def y(self) -> float:
        return AXIS_Y - BAND_HEIGHT / 2

    @property
    def height(self) -> float:
        return BAND_HEIGHT

    @property
    def text_y(self) -> float:
        return AXIS_Y + 4


@dataclass(frozen=True)
class Timeline:
    width: float
    height: float
    axis_y: float
    marks: list[Mark]
    segments: list[Segment]
    now_x: float
    current_state: str
    truncated: bool
    summary: str

    @property
    def now_line(self) -> tuple[float, float]:
        return AXIS_Y - BAND_HEIGHT, AXIS_Y + BAND_HEIGHT / 2 + 2

    @property
    def now_label_y(self) -> float:
        # Between the band and the first line of the labels below the axis.
        return AXIS_Y + BAND_HEIGHT / 2 + 14

    @property
    def fits(self) -> bool:
        return self.width <= FIT_WIDTH

    @property
    def axis_end(self) -> float:
        return self.width - MARGIN / 2

    @property
    def has_refusals(self) -> bool:
        return any(m.denied or m.failed for m in self.marks)

    @property
    def past(self) -> list[Mark]:
        return [m for m in self.marks if not m.future]

    @property
    def future(self) -> list[Mark]:
        return [m for m in self.marks if m.future]

    @property
    def states_shown(self) -> list[tuple[str, str]]:
        """(css class, display name) of each state the bands use, for the legend."""
        seen = dict.fromkeys(s.state for s in self.segments)
        return [(STATE_CLASS[s], states.DISPLAY.get(s, "Earlier events not shown")) for s in seen]


def short_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def long_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def who_name(arn: str) -> str:
    """The name an auditor reads: the user or role name, root, or AWS for service events."""
    if not arn:
        return "AWS"
    tail = arn.rsplit(":", 1)[-1]
    return "root" if tail == "root" else tail.rsplit("/", 1)[-1]


def _parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def _import_detail(event: Event) -> str:
    if event.request.get("expirationModel") == "KEY_MATERIAL_DOES_NOT_EXPIRE":
        return "Does not expire"
    valid_to = _parse_time(event.request.get("validTo"))
    return f"Expires {short_time(valid_to)}" if valid_to else ""


def _deletion_detail(event: Event) -> str:
    deletion = _parse_time((event.response or {}).get("deletionDate"))
    days = event.request.get("pendingWindowInDays")
    if deletion is None:
        return ""
    return f"Deletes {short_time(deletion)}" + (f" ({days} days)" if days else "")


def _past_mark(event: Event, *, state: str, imported_before: bool) -> tuple[dict[str, Any], str]:
    """The fields of one past mark and the key's state after the event."""
    kind, done, attempt = OPERATIONS[event.name]
    name = who_name(event.who)
    base = {"when": event.time, "who": name, "who_arn": event.who, "event_name": event.name}
    if event.error_code:
        denied = event.error_code == "AccessDeniedException"
        label = f"{attempt} denied" if denied else f"{attempt} failed"
        mark = {
            **base,
            "kind": kind,
            "label": label,
            "result": "Denied" if denied else "Failed",
            "error_code": event.error_code,
            "error_message": event.error_message,
            "denied": denied,
            "failed": not denied,
        }
        return mark, state
    label = REIMPORTED if kind == "imported" and imported_before else done
    detail = ""
    if kind == "imported":
        detail = _import_detail(event)
    elif kind == "deletion-scheduled":
        detail = _deletion_detail(event)
    mark = {**base, "kind": kind, "label": label, "result": "Succeeded", "detail": detail}
    return mark, _state_after(event.name, state)


def _state_after(operation: str, state: str) -> str:
    if operation in ("CreateKey", "GetParametersForImport", "PutKeyPolicy"):
        return state
    if state == UNKNOWN:
        # Where the target does not depend on the state before, the band can resume.
        known = {
            "ImportKeyMaterial": states.ENABLED,
            "EnableKey": states.ENABLED,
            "DisableKey": states.DISABLED,
            "ScheduleKeyDeletion": states.PENDING_DELETION,
        }
        return known.get(operation, UNKNOWN)
    if operation == "CancelKeyDeletion":
        # The table's rule needs to know whether the key still has material: track it in the replay.
        return state
    return states.next_state(operation, state)


def _replay(events: Sequence[Event], initial_state: str) -> list[tuple[dict[str, Any], str]]:
    """Each event's mark fields with the state after it, tracking material for CancelKeyDeletion."""
    state, has_material, imported_before = initial_state, initial_state != states.PENDING_IMPORT, False
    if initial_state == UNKNOWN:
        has_material = True
    out: list[tuple[dict[str, Any], str]] = []
    for event in events:
        mark, after = _past_mark(event, state=state, imported_before=imported_before)
        if not event.error_code:
            if event.name == "ImportKeyMaterial":
                imported_before, has_material = True, True
            elif event.name in ("DeleteImportedKeyMaterial", "DeleteExpiredKeyMaterial"):
                has_material = False
            elif event.name == "CancelKeyDeletion" and state != UNKNOWN:
                after = states.next_state("CancelKeyDeletion", state, has_material=has_material)
        out.append((mark, after))
        state = after
    return out


def build_timeline(
    events: Sequence[Event],
    *,
    now: dt.datetime,
    created: dt.datetime,
    initial_state: str,
    current_state: str,
    has_material: bool,
    valid_to: dt.datetime | None = None,
    deletion_date: dt.datetime | None = None,
    truncated: bool = False,
) -> Timeline:
    """Lay out a key's past events (oldest first) and its future dates along one axis.

    Marks are evenly spaced in time order (seconds between downloads and months before expiry
    would not both be readable on a linear scale); each mark carries its date, and the band under
    the axis shows the state between marks.
    """
    events = sorted((e for e in events if e.name in OPERATIONS), key=lambda e: e.time)
    fields: list[dict[str, Any]] = []
    after_states: list[str] = []
    if not any(e.name == "CreateKey" for e in events):
        fields.append(
            {"kind": "created", "label": "Key created", "when": created, "who": "", "who_arn": "", "result": ""}
        )
        after_states.append(UNKNOWN if truncated else initial_state)
    start_state = after_states[-1] if after_states else initial_state
    for mark, after in _replay(events, start_state):
        fields.append(mark)
        after_states.append(after)

    future: list[dict[str, Any]] = []
    if current_state == states.PENDING_DELETION and deletion_date is not None and deletion_date > now:
        future.append(
            {
                "kind": "deletion",
                "label": "Key will be deleted",
                "when": deletion_date,
                "who": "",
                "who_arn": "",
                "result": "Scheduled",
            }
        )
    if has_material and valid_to is not None and valid_to > now and (not future or valid_to < deletion_date):
        future.append(
            {
                "kind": "expires",
                "label": "Key material expires",
                "when": valid_to,
                "who": "",
                "who_arn": "",
                "result": "Scheduled",
            }
        )
    future.sort(key=lambda f: f["when"])

    count = len(fields) + len(future)
    spacing = MIN_SPACING if count < 2 else min(MAX_SPACING, max(MIN_SPACING, (BASE_WIDTH - 2 * MARGIN) / (count - 1)))
    # "Now" sits half a step after the last event, and future dates start half a step later.
    xs_past = [MARGIN + i * spacing for i in range(len(fields))]
    now_x = xs_past[-1] + spacing / 2
    xs_future = [now_x + spacing / 2 + i * spacing for i in range(len(future))]
    marks = [
        Mark(x=x, above=i % 2 == 0, future=i >= len(fields), **f)
        for i, (x, f) in enumerate(zip(xs_past + xs_future, fields + future, strict=True))
    ]

    segments: list[Segment] = []

    def add(x1: float, x2: float, state: str, is_future: bool) -> None:
        if segments and segments[-1].state == state and segments[-1].future == is_future and segments[-1].x2 == x1:
            segments[-1] = Segment(segments[-1].x1, x2, state, is_future)
        else:
            segments.append(Segment(x1, x2, state, is_future))

    edges = [*xs_past[1:], now_x]
    for x1, x2, state in zip(xs_past, edges, after_states, strict=True):
        add(x1, x2, state, False)
    # The present is what the key says, whatever the (possibly truncated) replay worked out.
    if segments:
        last = segments[-1]
        segments[-1] = Segment(last.x1, last.x2, current_state if last.state != UNKNOWN else UNKNOWN)
    projected, x = current_state, now_x
    for mark in marks[len(fields) :]:
        add(x, mark.x, projected, True)
        x = mark.x
        if mark.kind == "expires" and projected != states.PENDING_DELETION:
            projected = states.PENDING_IMPORT
        if mark.kind == "deletion":
            break

    mark_xs = [m.x for m in marks] + [now_x]
    segments = [segment.labelled(mark_xs) for segment in segments]
    width = (marks[-1].x if marks else now_x) + MARGIN
    summary = _summary(marks, current_state, truncated)
    return Timeline(
        width=round(width),
        height=HEIGHT,
        axis_y=AXIS_Y,
        marks=marks,
        segments=segments,
        now_x=now_x,
        current_state=current_state,
        truncated=truncated,
        summary=summary,
    )


def _summary(marks: Sequence[Mark], current_state: str, truncated: bool) -> str:
    past = [m for m in marks if not m.future]
    denied = sum(1 for m in past if m.denied)
    text = f"Current state: {states.DISPLAY.get(current_state, current_state)}. "
    if past:
        text += f"{len(past)} events from {short_time(past[0].when)} to {short_time(past[-1].when)} UTC"
        text += " (only the most recent are shown)" if truncated else ""
        text += "."
    if denied:
        text += f" {denied} denied {'call' if denied == 1 else 'calls'}."
    for mark in marks:
        if mark.future:
            text += f" {mark.label} on {short_time(mark.when)} UTC."
    return text
