"""The portal's status section: each of the customer's devices with its current state, their
open major incidents, and this month's availability so far against their policy's target.

Availability is the monthly report's own figure (bridge.reporting → reports), computed for the
month so far, so the portal and the report can never disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bridge import reporting
from bridge.config import Config
from bridge.sla_live import Policies
from bridge.store.schema import device_states, tickets
from reports import build_report

#: worst first: a device's headline is its worst current check
_SEVERITY = {"down": 0, "unreachable": 1, "degraded": 2, "unknown": 3, "up": 4}
OPEN = ("new", "in_progress", "waiting", "resolved")


def devices(conn: sa.Connection, cfg: Config, customer_id: str) -> list[dict[str, Any]]:
    """Every device of the customer, with each check's current state (none: not yet probed)."""
    mine = [d for d in cfg.devices if d.customer == customer_id]
    current: dict[str, list[dict[str, Any]]] = {d.id: [] for d in mine}
    if mine:
        rows = conn.execute(
            sa.select(
                device_states.c.device_id,
                device_states.c.check,
                device_states.c.state,
                device_states.c.started_at,
            )
            .where(device_states.c.device_id.in_(list(current)), device_states.c.ended_at.is_(None))
            .where(device_states.c.site == "*")  # the decided state, not each site's
            .order_by(device_states.c.device_id, device_states.c.check)
        ).mappings()
        for r in rows:
            current[r["device_id"]].append(dict(r))
    out = []
    for d in mine:
        checks = current[d.id]
        worst = min(
            (c["state"] for c in checks),
            key=lambda s: _SEVERITY.get(s, 3),
            default="not monitored" if d.probe is None else "unknown",
        )
        out.append(
            {"id": d.id, "name": d.name or d.id, "ip": d.ip, "state": worst, "checks": checks}
        )
    return out


def incidents(conn: sa.Connection, customer_id: str) -> list[dict[str, Any]]:
    """The customer's major incidents that are not closed yet, oldest first."""
    rows = conn.execute(
        sa.select(tickets.c.id, tickets.c.title, tickets.c.status, tickets.c.entered_at)
        .where(
            tickets.c.customer_id == customer_id,
            tickets.c.kind == "major",
            tickets.c.status.in_(OPEN),
        )
        .order_by(tickets.c.entered_at, tickets.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def availability(
    conn: sa.Connection, cfg: Config, customer_id: str, now: datetime, policies: Policies
) -> dict[str, Any]:
    """This month so far, as its monthly report computes it: per device and the target."""
    label = reporting.recent_months(cfg, customer_id, now, 1)[0]
    period = reporting.month_of(cfg, customer_id, label, now)
    report = build_report(reporting.load_input(conn, cfg, customer_id, period, policies))
    return {
        "month": label,
        "as_of": report["period"]["as_of"],
        "target_pct": report["policy"]["availability_target_pct"],
        "rows": report["tables"]["availability"]["rows"],
    }
