"""The one place an alert's decided `Action` becomes SQL: its ticket's events, its hot row and
its wide alert row. Runs inside the writer's transaction; decides nothing (see `plan`), except
what the store answers while writing: the id of a ticket it opens and the major incident that
ticket joins (`incidents.correlate`, the one home of correlation)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bridge import incidents
from bridge import tickets as tk
from bridge.alert import Alert
from bridge.config import SourceConfig
from bridge.intake.actions import Action, Do
from bridge.intake.alert_tickets import actor, attach, open_ticket
from bridge.intake.result import Context
from bridge.intake.rows import UPDATE_HOT, Writes, upsert_hot, wide_row
from bridge.intake.snapshot import Facts
from bridge.lifecycle import Status


def apply(
    conn: sa.Connection,
    ctx: Context,
    source: SourceConfig,
    alert: Alert,
    action: Action,
    facts: Facts,
    *,
    received_at: datetime,
    now: datetime,
    writes: Writes,
) -> tuple[int | None, dict[str, Any] | None]:
    """Write one alert's action (decided on `facts`, read from the store as it is now); the
    ticket id the sender is told, if any, and that ticket's row when the action wrote to it.
    A repeat is counted here one by one; the batched path counts its repeats with
    `Writes.repeats` instead."""
    assert action.do is not Do.LOOK_CLOSER, "decided on complete facts only"
    hot = facts.hot
    if action.do is Do.REPEAT:
        assert hot is not None
        key = {"b_source": source.name, "b_identity": alert.identity}
        conn.execute(UPDATE_HOT, {**key, "last_seen": received_at, "count": hot["count"] + 1})
        return hot["ticket_id"], None
    route = action.route
    assert route is not None
    if action.do is Do.KEEP_UNROUTED:
        upsert_hot(conn, writes, hot, source, alert, route, None, received_at)
        writes.wide.append(wide_row(source, alert, route, None, received_at))
        return None, None
    row = _ticket(conn, ctx, source, alert, action, facts, at=received_at, now=now, writes=writes)
    ticket_id = row["id"] if row is not None else None
    upsert_hot(conn, writes, hot, source, alert, route, ticket_id, received_at)
    writes.wide.append(wide_row(source, alert, route, ticket_id, received_at))
    if action.firing_changed and row is not None and row["parent_id"] is not None:
        # a child recovered or fired again: its major incident's count follows
        incidents.recount(conn, row["parent_id"], at=received_at, now=now, events=writes.events)
    return ticket_id, row


def _ticket(
    conn: sa.Connection,
    ctx: Context,
    source: SourceConfig,
    alert: Alert,
    action: Action,
    facts: Facts,
    *,
    at: datetime,
    now: datetime,
    writes: Writes,
) -> dict[str, Any] | None:
    """The ticket side of an action; the alert's ticket row afterwards (None: it has none)."""
    ev = writes.events
    do = action.do
    row: Any = dict(facts.ticket) if facts.ticket is not None else None
    route = action.route
    assert route is not None
    if do is Do.JOIN_OUTAGE:
        assert facts.shared is not None
        row = attach(
            conn, dict(facts.shared), source, alert, at=at, now=now, note="same device outage",
            events=ev,
        )  # fmt: skip
        if action.raise_to is not None:
            row = tk.change_priority(
                conn, row, action.raise_to, f"{alert.title}: the same device outage",
                at=at, actor=actor(source), now=now, events=ev,
            )  # fmt: skip
    elif do is Do.OPEN:
        row = open_ticket(conn, ctx, source, alert, route, at=at, now=now, events=ev)
    elif do is Do.REOPEN:
        row = open_ticket(
            conn, ctx, source, alert, route, at=at, now=now, related_id=row["id"], events=ev
        )
    elif do is Do.RESUME:
        row = tk.transition(
            conn, row, Status.IN_PROGRESS, cfg=ctx.cfg, at=at, actor=actor(source), now=now,
            reason="the alert fired again during verification", events=ev,
        )  # fmt: skip
        row = attach(conn, row, source, alert, at=at, now=now, note="fired again", events=ev)
    elif do is Do.ATTACH:
        row = attach(conn, row, source, alert, at=at, now=now, note="fired again", events=ev)
    elif do is Do.RECOVER_OUTAGE_GOES_ON:
        row = attach(
            conn, row, source, alert, at=at, now=now,
            note="recovered; another check still finds the device silent", events=ev,
        )  # fmt: skip
    elif do is Do.RECOVER:
        data = {
            "source": source.name,
            "identity": alert.identity,
            "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
        }
        row = tk.record(conn, row, "recovery", at, actor(source), data, now=now, events=ev)
        if action.resolve:
            row = tk.transition(
                conn, row, Status.RESOLVED, cfg=ctx.cfg, at=at, actor=actor(source), now=now,
                reason="monitoring reports recovery", events=ev,
            )  # fmt: skip
    elif do is Do.ACKNOWLEDGE:
        data = {"source": source.name, "identity": alert.identity, "text": alert.description}
        row = tk.record(
            conn, row, "alert_acknowledged", at, actor(source), data, now=now, events=ev
        )
    return row
