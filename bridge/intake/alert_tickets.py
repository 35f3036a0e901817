"""The ticket side of an alert: its fields, opening its ticket (correlated), attaching news."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bridge import incidents
from bridge import tickets as tk
from bridge.alert import Alert
from bridge.config import SourceConfig
from bridge.intake.result import MONITORING, Context
from bridge.lifecycle import Origin, Priority
from bridge.routing import Route


def _origin(source_type: str) -> Origin:
    return Origin.PROBE if source_type.startswith("probe") else Origin.MONITORING


def _description(alert: Alert) -> str:
    parts = [alert.description] if alert.description else []
    parts += [
        f"{k}: {v}" for k, v in sorted(alert.annotations.items()) if v and v != alert.description
    ]
    parts += [f"label {k}={v}" for k, v in sorted(alert.labels.items())]
    return "\n".join(parts)


def actor(source: SourceConfig) -> str:
    return MONITORING if not source.type.startswith("probe") else source.type


def ticket_fields(ctx: Context, source: SourceConfig, alert: Alert, route: Route) -> dict[str, Any]:
    """The new ticket's fields taken from the alert (`tickets.create` keyword arguments)."""
    assert route.customer_id is not None
    priority: Priority = ctx.router.priority(route.customer_id, alert.severity)
    return {
        "customer_id": route.customer_id,
        "title": alert.title[:512],
        "origin": _origin(source.type),
        "priority": priority,
        "device_id": route.device_id,
        "summary": alert.annotations.get("summary", "")[:2000],
        "description": _description(alert),
        "alertname": (alert.labels.get("alertname") or alert.title)[:256],
        "dedup_source": source.name,
        "dedup_identity": alert.identity,
    }


def open_ticket(
    conn: sa.Connection,
    ctx: Context,
    source: SourceConfig,
    alert: Alert,
    route: Route,
    *,
    at: datetime,
    now: datetime,
    related_id: int | None = None,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    row = tk.create(
        conn,
        ctx.cfg,
        **ticket_fields(ctx, source, alert, route),
        at=at,
        actor=actor(source),
        now=now,
        related_id=related_id,
        events=events,
    )
    if related_id is not None:
        data = {"related_id": related_id}
        row = tk.record(conn, row, "linked", at, actor(source), data, now=now, events=events)
    return incidents.correlate(conn, ctx.cfg, row, at=at, now=now, events=events)


def attach(
    conn: sa.Connection,
    row: dict,
    source: SourceConfig,
    alert: Alert,
    *,
    at: datetime,
    now: datetime,
    note: str,
    events: list[dict[str, Any]] | None = None,
) -> dict:
    data = {
        "source": source.name,
        "identity": alert.identity,
        "status": alert.status.value,
        "note": note,
    }
    return tk.record(conn, row, "alert_attached", at, actor(source), data, now=now, events=events)
