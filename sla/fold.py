"""The one transition of a ticket's state, and the fold of its event log.

`step(state, kind, at, data) -> state` is the only place that says what an event does to a
ticket: the `tickets` projection applies it event by event (bridge.projection), and `fold` runs
it over a whole log for the SLA clocks (sla.clocks) and the report's facts. It is lenient about
what ``data`` lacks (old logs and the SLA's own property tests hold partial events); refusing a
bad event is the writer's job (sla.events.validate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sla.events import CLOCK_KINDS, KINDS, STOP_STATUSES, Status

__all__ = ["CREATED_FIELDS", "Moment", "TicketFacts", "fold", "sla_flag", "sla_flags", "step"]

# The one transition and the fold. ------------------------------------------------------------

#: Row fields a `created` event copies as they are.
CREATED_FIELDS = (
    "customer_id",
    "contract",
    "device_id",
    "device_ip",
    "title",
    "summary",
    "description",
    "priority",
    "line",
    "origin",
    "kind",
    "alertname",
    "parent_device",
    "dedup_source",
    "dedup_identity",
    "parent_id",
    "related_id",
)


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def step(
    state: Mapping[str, Any] | None, kind: str, at: datetime, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The ticket's state after one event: the projection row and the clocks' inputs alike.

    ``state`` is None before ``created``. Lenient about what ``data`` lacks (validation is
    the writer's job), strict about the order of a log: created first, and only once.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    if state is None:
        if kind != "created":
            raise ValueError("the first event of a ticket must be 'created'")
        row: dict[str, Any] = {f: data.get(f) for f in CREATED_FIELDS}
        assignee = data.get("assignee") or None
        row.update(
            summary=data.get("summary") or "",
            description=data.get("description") or "",
            kind=data.get("kind") or "incident",
            status=data.get("status") or Status.NEW.value,
            assignee=assignee,
            entered_at=at,
            updated_at=at,
            assigned_at=at if assignee else None,
            resolved_at=None,
            closed_at=None,
            close_reason=None,
            close_deadline=None,
            sla_flags="",
            version=1,
        )
        return row
    if kind == "created":
        raise ValueError("a ticket is created once")
    row = dict(state)
    row["version"] = state["version"] + 1
    row["updated_at"] = max(at, state["updated_at"])
    if kind == "assigned":
        assignee = data.get("assignee") or None
        if assignee:
            row["assignee"] = assignee
            if row["assigned_at"] is None:
                row["assigned_at"] = at
    elif kind == "status_changed":
        to = data["to"]
        row["status"] = to
        if to == "resolved":
            row["resolved_at"] = at
            row["close_deadline"] = _parse_time(data.get("close_deadline"))
        elif to == "closed":
            row["closed_at"] = at
            row["close_reason"] = data.get("close_reason")
            row["close_deadline"] = None
        else:
            row["close_deadline"] = None
            if state["status"] == "resolved":
                row["resolved_at"] = None
    elif kind == "escalated":
        row["line"] = data["to"]
    elif kind == "priority_changed":
        row["priority"] = data["to"]
    elif kind == "retitled":
        row["title"] = data["to"]
    elif kind == "linked":
        if "parent_id" in data:
            row["parent_id"] = data["parent_id"]
        if "related_id" in data:
            row["related_id"] = data["related_id"]
    elif kind in ("sla_warning", "sla_breach"):
        flags = sla_flags(row["sla_flags"])
        flags.add(sla_flag(data["clock"], kind))
        row["sla_flags"] = ",".join(sorted(flags))
    return row


def sla_flag(clock: str, kind: str) -> str:
    """The ticket flag an SLA event sets ("reaction:warning"), so each is written once."""
    return f"{clock}:{'warning' if kind == 'sla_warning' else 'breach'}"


def sla_flags(text: str) -> set[str]:
    """A ticket's stored `sla_flags` as a set."""
    return set(filter(None, text.split(",")))


@dataclass(frozen=True, slots=True)
class Moment:
    """The clock-relevant state right after one event of the fold."""

    at: datetime
    seq: int
    kind: str
    status: str
    priority: str
    assignee: str | None
    reacted: bool  # assigned to someone, or stopped (resolved/closed) at least once


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What a ticket's log says, folded: its timeline and the instants reports count from.

    ``stopped_at`` is when it last went resolved/closed (None after a reopen or while open);
    ``first_stopped_at`` the first time it did; ``reopens`` counts stopped -> open moves,
    ``pauses`` moves into a pause status.
    """

    moments: tuple[Moment, ...]
    state: Mapping[str, Any]
    entered_at: datetime
    assigned_at: datetime | None
    stopped_at: datetime | None
    first_stopped_at: datetime | None
    initial_priority: str
    reopens: int
    pauses: int

    @property
    def status(self) -> str:
        return self.moments[-1].status

    @property
    def priority(self) -> str:
        return self.moments[-1].priority

    @property
    def assignee(self) -> str | None:
        return self.moments[-1].assignee


def fold(
    events: Iterable[Any],
    *,
    until: datetime | None = None,
    kinds: frozenset[str] | None = CLOCK_KINDS,
    pause_statuses: frozenset[str] = frozenset({Status.WAITING.value}),
) -> TicketFacts | None:
    """Fold a ticket's log with :func:`step`, in time order (ties by ``seq``).

    ``events`` have ``at``, ``seq``, ``kind`` and ``data`` (attributes, as ClockEvent, or
    keys, as stored rows). Events after ``until`` and kinds outside ``kinds`` (None: all)
    are skipped. None for an empty log; ValueError when it does not start with ``created``.
    """
    rows = [_as_tuple(e) for e in events]
    rows = [
        r for r in rows if (kinds is None or r[2] in kinds) and (until is None or r[0] <= until)
    ]
    rows.sort(key=lambda r: (r[0], r[1]))
    if not rows:
        return None
    if rows[0][2] != "created":
        raise ValueError("a ticket's log must start with a 'created' event")
    state: dict[str, Any] | None = None
    moments: list[Moment] = []
    reacted = False
    stopped_at = first_stopped = None
    reopens = pauses = 0
    status = ""
    for at, seq, kind, data in rows:
        state = step(state, kind, at, data)
        new = str(state["status"])
        if kind != "created" and new != status:
            if new in STOP_STATUSES and status not in STOP_STATUSES:
                stopped_at = at
                first_stopped = first_stopped or at
            elif new not in STOP_STATUSES and status in STOP_STATUSES:
                stopped_at = None
                reopens += 1
            if new in pause_statuses:
                pauses += 1
        status = new
        reacted = reacted or state["assigned_at"] is not None or status in STOP_STATUSES
        moments.append(
            Moment(at, seq, kind, status, str(state["priority"]), state["assignee"], reacted)
        )
    assert state is not None
    return TicketFacts(
        moments=tuple(moments),
        state=state,
        entered_at=state["entered_at"],
        assigned_at=state["assigned_at"],
        stopped_at=stopped_at,
        first_stopped_at=first_stopped,
        initial_priority=str(moments[0].priority),
        reopens=reopens,
        pauses=pauses,
    )


def _as_tuple(e: Any) -> tuple[datetime, int, str, Mapping[str, Any]]:
    if isinstance(e, Mapping):
        return e["at"], e["seq"], e["kind"], e["data"]
    return e.at, e.seq, e.kind, e.data
