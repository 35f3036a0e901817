"""What the planner decides on for one alert: its hot row, its ticket's state and, for a
device outage reported by a probe, the outage's other checks. Read here; never written here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge import incidents
from bridge.alert import Alert, AlertStatus
from bridge.config import SourceConfig
from bridge.intake.rows import HOT, UNKNOWN, load_open_or_last
from bridge.lifecycle import Status


@dataclass(frozen=True, slots=True)
class Facts:
    """`hot`: the alert key's hot row (status, customer_id, ticket_id, count) or None;
    `ticket`: its ticket's row, open or last (at least status and close_reason) or None;
    `shared`: the open ticket another check of the same silent device opened, or None;
    `outage_goes_on`: whether another check still finds the ticket's device silent;
    `complete`: False when the outage facts were not read (the prefetched snapshot), so only
    decisions that do not depend on them are taken from it."""

    hot: Mapping[str, Any] | None
    ticket: Mapping[str, Any] | None
    shared: Mapping[str, Any] | None = None
    outage_goes_on: bool = False
    complete: bool = True


def prefetched(
    hots: dict[tuple[str, str], Any], states: dict[int, Any], key: tuple[str, str]
) -> Facts:
    """Facts from the group's prefetched hot rows and ticket states (no outage facts)."""
    hot = hots.get(key)
    ticket = states.get(hot["ticket_id"]) if hot is not None and hot["ticket_id"] else None
    return Facts(hot, ticket, complete=False)


def gather(
    conn: sa.Connection, source: SourceConfig, alert: Alert, outage: str | None, *, hot: Any
) -> Facts:
    """Facts read now, from the store as the group's earlier writes left it. `hot` is the hot
    row when the caller knows it is current (None: there is none), else `rows.UNKNOWN`."""
    if hot is UNKNOWN:
        hot = conn.execute(HOT, {"b_source": source.name, "b_identity": alert.identity})
        hot = hot.mappings().first()
    ticket = load_open_or_last(conn, hot["ticket_id"] if hot is not None else None)
    shared = None
    goes_on = False
    if outage is not None:
        closed = ticket is None or ticket["status"] == Status.CLOSED
        if alert.status == AlertStatus.FIRING and closed:
            shared = incidents.outage_ticket(conn, outage, alert.identity)
        elif alert.status == AlertStatus.RESOLVED and not closed:
            assert ticket is not None
            goes_on = incidents.outage_goes_on(conn, ticket["id"], outage, alert.identity)
    return Facts(hot, ticket, shared, goes_on)
