"""The ticket projection as a fold over its events.

The live write path and the rebuild use this same function, so `tickets` can always be
recomputed from `ticket_events` alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

EVENT_KINDS = frozenset(
    {
        "created",
        "assigned",
        "status_changed",
        "commented",
        "escalated",
        "priority_changed",
        "linked",
        "retitled",
        "alert_attached",
        "recovery",
        "alert_acknowledged",
        "sla_warning",
        "sla_breach",
    }
)

_CREATED_FIELDS = (
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


def apply(
    state: Mapping[str, Any] | None, kind: str, at: datetime, data: Mapping[str, Any]
) -> dict:
    """Return the projection after one event; `state` is None before `created`."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    if state is None:
        if kind != "created":
            raise ValueError("the first event of a ticket must be 'created'")
        row: dict[str, Any] = {f: data.get(f) for f in _CREATED_FIELDS}
        row.update(
            summary=data.get("summary") or "",
            description=data.get("description") or "",
            kind=data.get("kind") or "incident",
            status="new",
            assignee=None,
            entered_at=at,
            updated_at=at,
            assigned_at=None,
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
        row["assignee"] = data["assignee"]
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
            if data.get("from") == "resolved":
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
        flag = f"{data['clock']}:{'warning' if kind == 'sla_warning' else 'breach'}"
        flags = set(filter(None, row["sla_flags"].split(",")))
        flags.add(flag)
        row["sla_flags"] = ",".join(sorted(flags))
    return row


def rebuild(events: Iterable[Mapping[str, Any]]) -> dict | None:
    """Fold a ticket's events (in seq order) into its projection."""
    state: dict | None = None
    for ev in events:
        state = apply(state, ev["kind"], ev["at"], ev["data"])
    return state
