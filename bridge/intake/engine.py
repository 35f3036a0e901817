"""From normalized alerts to tickets: route, deduplicate, recover, reopen, correlate.

Runs inside the writer's transaction, one notification at a time, so all of a notification's
alerts are committed together or not at all. Uniqueness is the database's job: the hot row's
primary key (source, identity) and the partial unique index on open tickets. A redelivered
notification finds every alert in the state it already recorded and adds nothing to any history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bridge import incidents
from bridge import tickets as tk
from bridge.alert import Alert, AlertStatus
from bridge.config import SourceConfig
from bridge.intake.alert_tickets import actor, attach, firing, open_ticket
from bridge.intake.new_tickets import New, open_new
from bridge.intake.result import Context, IngestResult
from bridge.intake.rows import (
    HOT,
    UNKNOWN,
    UPDATE_HOT,
    Writes,
    load_open_or_last,
    prefetch,
    upsert_hot,
    wide_row,
)
from bridge.lifecycle import CloseReason, Status
from bridge.routing import Route


def ingest(
    conn: sa.Connection,
    ctx: Context,
    source: SourceConfig,
    batch: list[Alert],
    *,
    received_at: datetime,
    now: datetime,
) -> IngestResult:
    """Ingest one notification. Repeats (the common case: Alertmanager re-sends whole groups)
    take a batched path: the hot rows and their tickets' states are read for the whole
    notification at once and the counters bumped with one UPDATE; anything else goes through
    `_one`, after the pending counters are written, so it sees the store exactly as the
    one-by-one path would."""
    return ingest_many(conn, [IngestCommand(ctx, source, batch, received_at, now)])[0]


def ingest_many(conn: sa.Connection, commands: list[IngestCommand]) -> list[IngestResult]:
    """Several notifications, in order, with the effect of running `ingest` on each in turn:
    the writer hands a group commit's ingest commands over together, so their hot rows are
    read with one query, repeats of the whole group bumped with one UPDATE per count, and the
    wide alert rows and new hot rows written with one multi-row INSERT each."""
    results = [IngestResult() for _ in commands]
    hots, states = prefetch(conn, commands)
    w = Writes()
    # (source, identity) whose prefetched hot row may be stale: `_one` reads them again
    touched: set[tuple[str, str]] = set()
    # keys counted as repeats: their prefetched count is stale once the bump is flushed
    bumped: set[tuple[str, str]] = set()
    # first sightings that open a ticket, opened together (`open_new`) before anything else
    # reads or writes tickets
    pending: list[New] = []
    firing = AlertStatus.FIRING
    for cmd, result in zip(commands, results, strict=True):
        source = cmd.source
        for alert in cmd.alerts:
            key = (source.name, alert.identity)
            hot = None if key in touched else hots.get(key)
            if hot is not None and _is_repeat(cmd.ctx, source, alert, hot, states):
                n = w.repeats.get(key)
                w.repeats[key] = (n[0] + 1 if n else 1, cmd.received_at)
                bumped.add(key)
                outcome, ticket_id = (
                    ("unrouted" if hot["customer_id"] is None else "duplicate"),
                    hot["ticket_id"],
                )
            else:
                route = None
                outage = incidents.outage_device(source.type, alert)
                if hot is None and key not in touched and alert.status == firing:
                    route = cmd.ctx.router.route(alert, source.routing)
                    if route.customer_id is not None and outage is None:
                        # what `_one` would do: no hot row, no ticket, firing: open one
                        pending.append(New(cmd, alert, route, result, len(result.tickets)))
                        result.tickets.append(0)  # the id once opened
                        result.outcomes["accepted"] += 1
                        touched.add(key)
                        continue
                if pending:
                    open_new(conn, pending, w)
                if key in touched or key in bumped or outage is not None:
                    # `_one` reads this key's hot row (or, for an outage, its device's): write
                    # what it must see
                    w.flush(conn)
                    known: Any = UNKNOWN
                else:
                    known = hot
                outcome, ticket_id = _one(
                    conn,
                    cmd.ctx,
                    source,
                    alert,
                    received_at=cmd.received_at,
                    now=cmd.now,
                    hot=known,
                    writes=w,
                    route=route,
                )
                touched.add(key)
            result.outcomes[outcome] += 1
            if ticket_id is not None:
                result.tickets.append(ticket_id)
    if pending:
        open_new(conn, pending, w)
    w.flush(conn)
    return results


@dataclass(frozen=True, slots=True)
class IngestCommand:
    """One notification for the writer; consecutive ones are run together by `ingest_many`."""

    ctx: Context
    source: SourceConfig
    alerts: list[Alert]
    received_at: datetime
    now: datetime

    def __call__(self, conn: sa.Connection) -> IngestResult:
        return ingest_many(conn, [self])[0]

    # the writer groups consecutive commands whose `run_batch` is this same function
    run_batch = staticmethod(ingest_many)


def _is_repeat(
    ctx: Context, source: SourceConfig, alert: Alert, hot: Any, states: dict[int, Any]
) -> bool:
    """The first branch of `_one`, decided on prefetched rows."""
    status = alert.status.value
    if not (hot["status"] == status or (firing(hot["status"]) and status == "firing")):
        return False
    if hot["customer_id"] is None and ctx.router.route(alert, source.routing).customer_id:
        return False
    last = states.get(hot["ticket_id"]) if hot["ticket_id"] is not None else None
    return (
        last is None
        or last["status"] != Status.CLOSED
        or not firing(status)
        or last["close_reason"] in (CloseReason.DUPLICATE, CloseReason.FALSE_ALARM)
    )


def _one(
    conn: sa.Connection,
    ctx: Context,
    source: SourceConfig,
    alert: Alert,
    *,
    received_at: datetime,
    now: datetime,
    hot: Any = UNKNOWN,
    writes: Writes,
    route: Route | None = None,
) -> tuple[str, int | None]:
    """One alert the long way. `hot` is its hot row when the caller read it and nothing has
    changed it since (None: there is none); `writes` holds the rows written at the end."""
    key = {"b_source": source.name, "b_identity": alert.identity}
    ev = writes.events
    if hot is UNKNOWN:
        hot = conn.execute(HOT, key).mappings().first()
    status = alert.status.value
    same_state = hot is not None and (
        hot["status"] == status or (firing(hot["status"]) and status == AlertStatus.FIRING.value)
    )
    if route is None:
        route = ctx.router.route(alert, source.routing)

    if (
        hot is not None
        and same_state
        and (hot["customer_id"] is not None or route.customer_id is None)
    ):
        # A repeat: Alertmanager's repeat_interval, a retry, a redelivery. Count it, no history.
        ticket_id = hot["ticket_id"]
        last = load_open_or_last(conn, ticket_id)
        if (
            last is None
            or last["status"] != Status.CLOSED
            or not firing(status)
            or last["close_reason"] in (CloseReason.DUPLICATE, CloseReason.FALSE_ALARM)
        ):
            conn.execute(UPDATE_HOT, {**key, "last_seen": received_at, "count": hot["count"] + 1})
            return ("unrouted" if hot["customer_id"] is None else "duplicate"), ticket_id

    if route.customer_id is None:
        upsert_hot(conn, writes, hot, source, alert, route, None, received_at)
        writes.wide.append(wide_row(source, alert, route, None, received_at))
        return "unrouted", None

    ticket_id = hot["ticket_id"] if hot is not None else None
    row = load_open_or_last(conn, ticket_id)
    outage = incidents.outage_device(source.type, alert)
    shared = None
    if (
        outage is not None
        and alert.status == AlertStatus.FIRING
        and (row is None or row["status"] == Status.CLOSED)
    ):
        shared = incidents.outage_ticket(conn, outage, alert.identity)
    if shared is not None:
        row = attach(
            conn, shared, source, alert, at=received_at, now=now, note="same device outage",
            events=ev,
        )  # fmt: skip
        priority = ctx.router.priority(route.customer_id, alert.severity)
        if priority.value < row["priority"]:
            row = tk.change_priority(
                conn, row, priority, f"{alert.title}: the same device outage",
                at=received_at, actor=actor(source), now=now, events=ev,
            )  # fmt: skip
    elif alert.status == AlertStatus.FIRING:
        if row is None:
            row = open_ticket(conn, ctx, source, alert, route, at=received_at, now=now, events=ev)
        elif row["status"] == Status.CLOSED:
            row = open_ticket(
                conn,
                ctx,
                source,
                alert,
                route,
                at=received_at,
                now=now,
                related_id=row["id"],
                events=ev,
            )
        elif row["status"] == Status.RESOLVED:
            row = tk.transition(
                conn,
                row,
                Status.IN_PROGRESS,
                cfg=ctx.cfg,
                at=received_at,
                actor=actor(source),
                now=now,
                reason="the alert fired again during verification",
                events=ev,
            )
            row = attach(
                conn, row, source, alert, at=received_at, now=now, note="fired again", events=ev
            )
        else:
            row = attach(
                conn, row, source, alert, at=received_at, now=now, note="fired again", events=ev
            )
    elif alert.status == AlertStatus.RESOLVED:
        if (
            row is not None
            and row["status"] != Status.CLOSED
            and outage is not None
            and incidents.outage_goes_on(conn, row["id"], outage, alert.identity)
        ):
            row = attach(
                conn, row, source, alert, at=received_at, now=now,
                note="recovered; another check still finds the device silent", events=ev,
            )  # fmt: skip
        elif row is not None and row["status"] != Status.CLOSED:
            data = {
                "source": source.name,
                "identity": alert.identity,
                "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
            }
            row = tk.record(
                conn, row, "recovery", received_at, actor(source), data, now=now, events=ev
            )
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
                    actor=actor(source),
                    now=now,
                    reason="monitoring reports recovery",
                    events=ev,
                )
    elif row is not None and row["status"] != Status.CLOSED:
        data = {"source": source.name, "identity": alert.identity, "text": alert.description}
        row = tk.record(
            conn, row, "alert_acknowledged", received_at, actor(source), data, now=now, events=ev
        )

    new_ticket = row["id"] if row is not None else None
    upsert_hot(conn, writes, hot, source, alert, route, new_ticket, received_at)
    writes.wide.append(wide_row(source, alert, route, new_ticket, received_at))
    if (
        row is not None
        and row["parent_id"] is not None
        and hot is not None
        and firing(hot["status"]) != firing(status)
    ):
        # a child recovered or fired again: its major incident's count follows
        incidents.recount(conn, row["parent_id"], at=received_at, now=now, events=ev)
    return "accepted", new_ticket
