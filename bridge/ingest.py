"""From normalized alerts to tickets: route, deduplicate, recover, reopen, correlate.

Runs inside the writer's transaction, one notification at a time, so all of a notification's
alerts are committed together or not at all. Uniqueness is the database's job: the hot row's
primary key (source, identity) and the partial unique index on open tickets. A redelivered
notification finds every alert in the state it already recorded and adds nothing to any history.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bridge import incidents
from bridge import tickets as tk
from bridge.alert import Alert, AlertStatus
from bridge.config import Config, SourceConfig
from bridge.lifecycle import CloseReason, Origin, Priority, Status
from bridge.routing import Route, Router
from bridge.store.schema import alert_keys, alerts, tickets

MONITORING = "monitoring"


@dataclass
class IngestResult:
    outcomes: Counter[str] = field(default_factory=Counter)
    tickets: list[int] = field(default_factory=list)
    opened: int = 0

    def as_json(self, keys: tk.TicketKey) -> dict[str, Any]:
        return {
            "accepted": self.outcomes["accepted"],
            "duplicate": self.outcomes["duplicate"],
            "unrouted": self.outcomes["unrouted"],
            "tickets": [keys.format(t) for t in dict.fromkeys(self.tickets)],
        }


@dataclass(frozen=True, slots=True)
class Context:
    cfg: Config
    router: Router


def _origin(source_type: str) -> Origin:
    return Origin.PROBE if source_type.startswith("probe") else Origin.MONITORING


def _description(alert: Alert) -> str:
    parts = [alert.description] if alert.description else []
    parts += [
        f"{k}: {v}" for k, v in sorted(alert.annotations.items()) if v and v != alert.description
    ]
    parts += [f"label {k}={v}" for k, v in sorted(alert.labels.items())]
    return "\n".join(parts)


def _wide_row(
    source: SourceConfig, alert: Alert, route: Route, ticket_id: int | None, received_at: datetime
) -> dict[str, Any]:
    return {
        "source": source.name,
        "source_type": source.type,
        "identity": alert.identity,
        "status": alert.status.value,
        "received_at": received_at,
        "customer_id": route.customer_id,
        "device_id": route.device_id,
        "ticket_id": ticket_id,
        "unrouted": route.customer_id is None,
        "severity": alert.severity[:64] if alert.severity else alert.severity,
        "title": alert.title[:512],
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "raw": dict(alert.raw),
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
    }


def _firing(status: str | None) -> bool:
    return status in (AlertStatus.FIRING.value, AlertStatus.ACKNOWLEDGED.value)


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
) -> dict[str, Any]:
    assert route.customer_id is not None
    priority: Priority = ctx.router.priority(route.customer_id, alert.severity)
    row = tk.create(
        conn,
        ctx.cfg,
        customer_id=route.customer_id,
        title=alert.title[:512],
        origin=_origin(source.type),
        priority=priority,
        at=at,
        actor=MONITORING if not source.type.startswith("probe") else source.type,
        now=now,
        device_id=route.device_id,
        summary=alert.annotations.get("summary", "")[:2000],
        description=_description(alert),
        alertname=(alert.labels.get("alertname") or alert.title)[:256],
        dedup_source=source.name,
        dedup_identity=alert.identity,
        related_id=related_id,
    )
    if related_id is not None:
        row = tk.record(conn, row, "linked", at, MONITORING, {"related_id": related_id}, now=now)
    return incidents.correlate(conn, ctx.cfg, row, at=at, now=now)


def _attach(
    conn: sa.Connection,
    row: dict,
    source: SourceConfig,
    alert: Alert,
    *,
    at: datetime,
    now: datetime,
    note: str,
) -> dict:
    data = {
        "source": source.name,
        "identity": alert.identity,
        "status": alert.status.value,
        "note": note,
    }
    return tk.record(conn, row, "alert_attached", at, MONITORING, data, now=now)


def ingest(
    conn: sa.Connection,
    ctx: Context,
    source: SourceConfig,
    batch: list[Alert],
    *,
    received_at: datetime,
    now: datetime,
) -> IngestResult:
    """Repeats (the common case: Alertmanager re-sends whole groups) take a batched path: the
    hot rows and their tickets' states are read for the whole notification at once and the
    counters bumped with one UPDATE; anything else goes through `_one`, after the pending
    counters are written, so it sees the store exactly as the one-by-one path would."""
    result = IngestResult()
    hots, states = _prefetch(conn, source, batch)
    pending: dict[str, int] = {}
    touched: set[str] = set()
    for alert in batch:
        hot = None if alert.identity in touched else hots.get(alert.identity)
        if hot is not None and _is_repeat(ctx, source, alert, hot, states):
            pending[alert.identity] = pending.get(alert.identity, 0) + 1
            outcome, ticket_id = (
                ("unrouted" if hot["customer_id"] is None else "duplicate"),
                hot["ticket_id"],
            )
        else:
            _flush_repeats(conn, source, pending, received_at)
            outcome, ticket_id = _one(conn, ctx, source, alert, received_at=received_at, now=now)
            touched.add(alert.identity)
        result.outcomes[outcome] += 1
        if ticket_id is not None:
            result.tickets.append(ticket_id)
    _flush_repeats(conn, source, pending, received_at)
    return result


_CHUNK = 500


def _prefetch(
    conn: sa.Connection, source: SourceConfig, batch: list[Alert]
) -> tuple[dict[str, Any], dict[int, Any]]:
    identities = list(dict.fromkeys(a.identity for a in batch))
    hots: dict[str, Any] = {}
    for i in range(0, len(identities), _CHUNK):
        rows = conn.execute(
            sa.select(alert_keys).where(
                alert_keys.c.source == source.name,
                alert_keys.c.identity.in_(identities[i : i + _CHUNK]),
            )
        ).mappings()
        hots.update((r["identity"], r) for r in rows)
    ticket_ids = list({h["ticket_id"] for h in hots.values() if h["ticket_id"] is not None})
    states: dict[int, Any] = {}
    for i in range(0, len(ticket_ids), _CHUNK):
        rows = conn.execute(
            sa.select(tickets.c.id, tickets.c.status, tickets.c.close_reason).where(
                tickets.c.id.in_(ticket_ids[i : i + _CHUNK])
            )
        ).mappings()
        states.update((r["id"], r) for r in rows)
    return hots, states


def _is_repeat(
    ctx: Context, source: SourceConfig, alert: Alert, hot: Any, states: dict[int, Any]
) -> bool:
    """The first branch of `_one`, decided on prefetched rows."""
    status = alert.status.value
    if not (hot["status"] == status or (_firing(hot["status"]) and status == "firing")):
        return False
    if hot["customer_id"] is None and ctx.router.route(alert, source.routing).customer_id:
        return False
    last = states.get(hot["ticket_id"]) if hot["ticket_id"] is not None else None
    return (
        last is None
        or last["status"] != Status.CLOSED
        or not _firing(status)
        or last["close_reason"] in (CloseReason.DUPLICATE, CloseReason.FALSE_ALARM)
    )


def _flush_repeats(
    conn: sa.Connection, source: SourceConfig, pending: dict[str, int], received_at: datetime
) -> None:
    by_n: dict[int, list[str]] = {}
    for identity, n in pending.items():
        by_n.setdefault(n, []).append(identity)
    for n, identities in by_n.items():
        for i in range(0, len(identities), _CHUNK):
            conn.execute(
                sa.update(alert_keys)
                .where(
                    alert_keys.c.source == source.name,
                    alert_keys.c.identity.in_(identities[i : i + _CHUNK]),
                )
                .values(last_seen=received_at, count=alert_keys.c.count + n)
            )
    pending.clear()


def _one(
    conn: sa.Connection,
    ctx: Context,
    source: SourceConfig,
    alert: Alert,
    *,
    received_at: datetime,
    now: datetime,
) -> tuple[str, int | None]:
    key = (alert_keys.c.source == source.name, alert_keys.c.identity == alert.identity)
    hot = conn.execute(sa.select(alert_keys).where(*key)).mappings().first()
    status = alert.status.value
    same_state = hot is not None and (
        hot["status"] == status or (_firing(hot["status"]) and status == AlertStatus.FIRING.value)
    )
    route = ctx.router.route(alert, source.routing)

    if (
        hot is not None
        and same_state
        and (hot["customer_id"] is not None or route.customer_id is None)
    ):
        # A repeat: Alertmanager's repeat_interval, a retry, a redelivery. Count it, no history.
        ticket_id = hot["ticket_id"]
        last = _load_open_or_last(conn, ticket_id)
        if (
            last is None
            or last["status"] != Status.CLOSED
            or not _firing(status)
            or last["close_reason"] in (CloseReason.DUPLICATE, CloseReason.FALSE_ALARM)
        ):
            conn.execute(
                sa.update(alert_keys)
                .where(*key)
                .values(last_seen=received_at, count=hot["count"] + 1)
            )
            return ("unrouted" if hot["customer_id"] is None else "duplicate"), ticket_id

    if route.customer_id is None:
        _upsert_hot(conn, hot, source, alert, route, None, received_at)
        conn.execute(sa.insert(alerts).values(**_wide_row(source, alert, route, None, received_at)))
        return "unrouted", None

    ticket_id = hot["ticket_id"] if hot is not None else None
    row = _load_open_or_last(conn, ticket_id)
    if alert.status == AlertStatus.FIRING:
        if row is None:
            row = open_ticket(conn, ctx, source, alert, route, at=received_at, now=now)
        elif row["status"] == Status.CLOSED:
            row = open_ticket(
                conn, ctx, source, alert, route, at=received_at, now=now, related_id=row["id"]
            )
        elif row["status"] == Status.RESOLVED:
            row = tk.transition(
                conn,
                row,
                Status.IN_PROGRESS,
                cfg=ctx.cfg,
                at=received_at,
                actor=MONITORING,
                now=now,
                reason="the alert fired again during verification",
            )
            row = _attach(conn, row, source, alert, at=received_at, now=now, note="fired again")
        else:
            row = _attach(conn, row, source, alert, at=received_at, now=now, note="fired again")
    elif alert.status == AlertStatus.RESOLVED:
        if row is not None and row["status"] != Status.CLOSED:
            data = {
                "source": source.name,
                "identity": alert.identity,
                "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
            }
            row = tk.record(conn, row, "recovery", received_at, MONITORING, data, now=now)
            customer = ctx.cfg.customer(row["customer_id"])
            if (
                customer is not None
                and customer.recovery == "resolve"
                and row["status"] in (Status.IN_PROGRESS, Status.WAITING)
            ):
                row = tk.transition(
                    conn,
                    row,
                    Status.RESOLVED,
                    cfg=ctx.cfg,
                    at=received_at,
                    actor=MONITORING,
                    now=now,
                    reason="monitoring reports recovery",
                )
    elif row is not None and row["status"] != Status.CLOSED:
        data = {"source": source.name, "identity": alert.identity, "text": alert.description}
        row = tk.record(conn, row, "alert_acknowledged", received_at, MONITORING, data, now=now)

    new_ticket = row["id"] if row is not None else None
    _upsert_hot(conn, hot, source, alert, route, new_ticket, received_at)
    conn.execute(
        sa.insert(alerts).values(**_wide_row(source, alert, route, new_ticket, received_at))
    )
    return "accepted", new_ticket


def _load_open_or_last(conn: sa.Connection, ticket_id: int | None) -> dict | None:
    if ticket_id is None:
        return None
    try:
        return tk.load(conn, ticket_id)
    except tk.NotFound:
        return None


def _upsert_hot(
    conn: sa.Connection,
    hot: Any,
    source: SourceConfig,
    alert: Alert,
    route: Route,
    ticket_id: int | None,
    received_at: datetime,
) -> None:
    values = {
        "customer_id": route.customer_id,
        "device_id": route.device_id,
        "ticket_id": ticket_id,
        "status": alert.status.value,
        "last_seen": received_at,
    }
    if hot is None:
        conn.execute(
            sa.insert(alert_keys).values(
                source=source.name,
                identity=alert.identity,
                first_seen=received_at,
                count=1,
                **values,
            )
        )
    else:
        conn.execute(
            sa.update(alert_keys)
            .where(alert_keys.c.source == source.name, alert_keys.c.identity == alert.identity)
            .values(count=hot["count"] + 1, **values)
        )
