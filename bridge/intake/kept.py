"""Routing a kept (unrouted) alert by hand: an admin names its customer and device, and the
intake opens its ticket as if the alert had been routed when it first arrived (the reaction
clock starts at the first receipt), correlated like any new ticket (`alert_tickets.open_ticket`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bridge import tickets as tk
from bridge.alert import Alert, AlertStatus
from bridge.config import SourceConfig
from bridge.intake.alert_tickets import open_ticket
from bridge.intake.result import Context
from bridge.routing import Route
from bridge.store.schema import alert_keys, alerts


class NotKept(LookupError):
    """No alert of this source and identity is waiting for a route."""


def route_kept(
    conn: sa.Connection,
    ctx: Context,
    source: SourceConfig,
    identity: str,
    route: Route,
    *,
    by: str,
    now: datetime,
) -> int:
    """Open the kept alert's ticket and point its hot and wide rows at it; the ticket id."""
    key = (alert_keys.c.source == source.name, alert_keys.c.identity == identity)
    hot = conn.execute(sa.select(alert_keys).where(*key)).mappings().first()
    if hot is None or hot["customer_id"] is not None:
        raise NotKept(identity)
    last = (
        conn.execute(
            sa.select(alerts)
            .where(alerts.c.source == source.name, alerts.c.identity == identity)
            .order_by(alerts.c.id.desc())
            .limit(1)
        )
        .mappings()
        .one()
    )
    alert = Alert(
        source=source.type,
        identity=identity,
        status=AlertStatus(last["status"]),
        title=last["title"],
        severity=last["severity"],
        labels=last["labels"],
        annotations=last["annotations"],
        starts_at=last["starts_at"],
        ends_at=last["ends_at"],
        raw=last["raw"],
    )
    row = open_ticket(conn, ctx, source, alert, route, at=hot["first_seen"], now=now)
    row = tk.comment(
        conn, row, f"routed by {by} after arriving unrouted", at=now, actor=by, now=now
    )
    routed = {"customer_id": route.customer_id, "device_id": route.device_id}
    conn.execute(sa.update(alert_keys).where(*key).values(**routed, ticket_id=row["id"]))
    conn.execute(
        sa.update(alerts)
        .where(alerts.c.source == source.name, alerts.c.identity == identity)
        .values(**routed, ticket_id=row["id"], unrouted=False)
    )
    return row["id"]
