"""The intake's own rows: the narrow hot row per alert key (upserted), the wide insert-only
alert row, and the writes held back until a group's end so they go out as multi-row statements.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bridge import tickets as tk
from bridge.alert import Alert
from bridge.config import SourceConfig
from bridge.routing import Route
from bridge.store.schema import alert_keys, alerts, tickets

if TYPE_CHECKING:
    from bridge.intake.engine import IngestCommand


UNKNOWN: Any = object()


CHUNK = 500


_HOT_COLUMNS = (
    alert_keys.c.identity,
    alert_keys.c.customer_id,
    alert_keys.c.ticket_id,
    alert_keys.c.status,
    alert_keys.c.count,
)


_KEY = (alert_keys.c.source == sa.bindparam("b_source"),)


_HOTS = sa.select(*_HOT_COLUMNS).where(
    *_KEY, alert_keys.c.identity.in_(sa.bindparam("b_identities", expanding=True))
)


HOT = sa.select(*_HOT_COLUMNS).where(*_KEY, alert_keys.c.identity == sa.bindparam("b_identity"))


_STATES = sa.select(tickets.c.id, tickets.c.status, tickets.c.close_reason).where(
    tickets.c.id.in_(sa.bindparam("b_ids", expanding=True))
)


_BUMP = (
    alert_keys.update()
    .where(*_KEY, alert_keys.c.identity.in_(sa.bindparam("b_identities", expanding=True)))
    .values(
        last_seen=sa.bindparam("b_last_seen", type_=alert_keys.c.last_seen.type),
        count=alert_keys.c.count + sa.bindparam("b_n", type_=sa.Integer),
    )
)


_INSERT_HOT = alert_keys.insert()


_INSERT_TICKET = tickets.insert()


UPDATE_HOT = alert_keys.update().where(*_KEY, alert_keys.c.identity == sa.bindparam("b_identity"))


_INSERT_WIDE = alerts.insert()


_INSERT_TICKETS = tickets.insert().returning(
    tickets.c.id, tickets.c.dedup_source, tickets.c.dedup_identity
)


def wide_row(
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


def insert_tickets(conn: sa.Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Insert new alert tickets (each for a distinct (source, identity)) with one statement
    where the driver can return the ids of a multi-row insert; their ids by that key (the
    order RETURNING answers in is not promised)."""
    if len(rows) > 1 and conn.dialect.insert_executemany_returning:
        result = conn.execute(_INSERT_TICKETS, rows)
        ids = {(r[1], r[2]): r[0] for r in result}
    else:
        ids = {}
        for row in rows:
            key = (row["dedup_source"], row["dedup_identity"])
            ids[key] = conn.execute(_INSERT_TICKET, row).inserted_primary_key[0]
    if len(ids) != len(rows):
        raise AssertionError("one new ticket per (source, identity)")
    return ids


class Writes:
    """Writes held back until the end of the group (or until `snapshot.gather` must see them)."""

    __slots__ = ("events", "new_hots", "repeats", "wide")

    def __init__(self) -> None:
        self.repeats: dict[tuple[str, str], tuple[int, datetime]] = {}
        self.new_hots: list[dict[str, Any]] = []
        self.wide: list[dict[str, Any]] = []
        # ticket events in the order they happened; nothing in ingest reads them back
        self.events: list[dict[str, Any]] = []

    def flush(self, conn: sa.Connection) -> None:
        if self.new_hots:
            conn.execute(_INSERT_HOT, self.new_hots)
            self.new_hots.clear()
        if self.repeats:
            _flush_repeats(conn, self.repeats)
            self.repeats.clear()
        if self.wide:
            conn.execute(_INSERT_WIDE, self.wide)
            self.wide.clear()
        if self.events:
            tk.insert_events(conn, self.events)
            self.events.clear()


def prefetch(
    conn: sa.Connection, commands: list[IngestCommand]
) -> tuple[dict[tuple[str, str], Any], dict[int, Any]]:
    by_source: dict[str, dict[str, None]] = {}
    for cmd in commands:
        ids = by_source.setdefault(cmd.source.name, {})
        for a in cmd.alerts:
            ids[a.identity] = None
    hots: dict[tuple[str, str], Any] = {}
    for name, ids in by_source.items():
        identities = list(ids)
        for i in range(0, len(identities), CHUNK):
            params = {"b_source": name, "b_identities": identities[i : i + CHUNK]}
            for r in conn.execute(_HOTS, params).mappings():
                hots[(name, r["identity"])] = r
    ticket_ids = list({h["ticket_id"] for h in hots.values() if h["ticket_id"] is not None})
    states: dict[int, Any] = {}
    for i in range(0, len(ticket_ids), CHUNK):
        rows = conn.execute(_STATES, {"b_ids": ticket_ids[i : i + CHUNK]}).mappings()
        states.update((r["id"], r) for r in rows)
    return hots, states


def _flush_repeats(
    conn: sa.Connection, pending: dict[tuple[str, str], tuple[int, datetime]]
) -> None:
    """Count repeats: one UPDATE per source, count and last receipt (usually just one)."""
    groups: dict[tuple[str, int, datetime], list[str]] = {}
    for (source, identity), (n, last_seen) in pending.items():
        groups.setdefault((source, n, last_seen), []).append(identity)
    for (source, n, last_seen), identities in groups.items():
        for i in range(0, len(identities), CHUNK):
            conn.execute(
                _BUMP,
                {
                    "b_source": source,
                    "b_identities": identities[i : i + CHUNK],
                    "b_last_seen": last_seen,
                    "b_n": n,
                },
            )


def load_open_or_last(conn: sa.Connection, ticket_id: int | None) -> dict | None:
    if ticket_id is None:
        return None
    try:
        return tk.load(conn, ticket_id)
    except tk.NotFound:
        return None


def upsert_hot(
    conn: sa.Connection,
    writes: Writes,
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
        # held back: the caller flushes before anything reads this key again
        values.update(source=source.name, identity=alert.identity, first_seen=received_at, count=1)
        writes.new_hots.append(values)
    else:
        values.update(b_source=source.name, b_identity=alert.identity, count=hot["count"] + 1)
        conn.execute(UPDATE_HOT, values)
