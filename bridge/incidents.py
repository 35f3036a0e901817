"""Major incidents: one parent ticket for a flood of related alerts, answered from one place."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bridge import tickets as tk
from bridge.config import Config
from bridge.lifecycle import Origin, Priority, Status
from bridge.store.schema import tickets

_DIMENSION = {"alertname": tickets.c.alertname, "parent": tickets.c.parent_device}
MAJOR_ACTOR = "major-incident"


# The lookups below spell `kind` and the closed status as literals so that SQLite (and
# PostgreSQL) can prove the partial indexes of migration 0003 apply: an open major incident per
# customer and dimension, and the open unparented incidents of one customer and dimension by
# entry time. Built once; executed with parameters.
_OPEN_LIT = tickets.c.status != sa.literal_column("'closed'")
_MAJOR_LIT = tickets.c.kind == sa.literal_column("'major'")
_INCIDENT_LIT = tickets.c.kind == sa.literal_column("'incident'")


def _major_query(column: sa.Column) -> sa.Select:
    return (
        sa.select(tickets.c.id)
        .where(tickets.c.customer_id == sa.bindparam("customer"), column == sa.bindparam("value"))
        .where(_MAJOR_LIT, _OPEN_LIT)
        .limit(1)
    )


def _window(query: sa.Select, column: sa.Column) -> sa.Select:
    return query.where(
        tickets.c.customer_id == sa.bindparam("customer"),
        column == sa.bindparam("value"),
        _INCIDENT_LIT,
        tickets.c.parent_id.is_(None),
        _OPEN_LIT,
        tickets.c.entered_at >= sa.bindparam("since", type_=tickets.c.entered_at.type),
        tickets.c.id != sa.bindparam("own"),
    )


def _count_query(column: sa.Column) -> sa.Select:
    # Below the threshold (the common case) count at most threshold-1 ids instead of loading
    # every open ticket of a busy alert name: that made each new ticket O(n).
    limited = _window(sa.select(tickets.c.id), column).limit(sa.bindparam("upto")).subquery()
    return sa.select(sa.func.count()).select_from(limited)


_LOOKUP = {
    dim: sa.select(_major_query(col).scalar_subquery(), _count_query(col).scalar_subquery())
    for dim, col in _DIMENSION.items()
}
_RECENT = {
    dim: _window(sa.select(tickets), col).order_by(tickets.c.entered_at)
    for dim, col in _DIMENSION.items()
}


_LOOKUP_MAJORS = {
    dim: sa.select(col, tickets.c.id).where(
        tickets.c.customer_id == sa.bindparam("customer"),
        col.in_(sa.bindparam("values", expanding=True)),
        _MAJOR_LIT,
        _OPEN_LIT,
    )
    for dim, col in _DIMENSION.items()
}
_LOOKUP_LOOSE = {
    dim: sa.select(col, tickets.c.entered_at).where(
        tickets.c.customer_id == sa.bindparam("customer"),
        col.in_(sa.bindparam("values", expanding=True)),
        _INCIDENT_LIT,
        tickets.c.parent_id.is_(None),
        _OPEN_LIT,
        tickets.c.entered_at >= sa.bindparam("since", type_=tickets.c.entered_at.type),
    )
    for dim, col in _DIMENSION.items()
}
_CHUNK = 500


def lookup(
    conn: sa.Connection, customer: str, dim: str, values: list[str], since: datetime
) -> tuple[dict[str, int], dict[str, list[datetime]]]:
    """What `correlate` reads, for many values of one customer's dimension at once: the open
    major incident of each value (the lowest id if several) and the entry times of its open
    incidents without a parent entered since `since`."""
    majors: dict[str, int] = {}
    loose: dict[str, list[datetime]] = {}
    for i in range(0, len(values), _CHUNK):
        params = {"customer": customer, "values": values[i : i + _CHUNK], "since": since}
        for value, major in conn.execute(_LOOKUP_MAJORS[dim], params):
            if value not in majors or major < majors[value]:
                majors[value] = major
        for value, entered in conn.execute(_LOOKUP_LOOSE[dim], params):
            loose.setdefault(value, []).append(entered)
    return majors, loose


def correlate(
    conn: sa.Connection,
    cfg: Config,
    row: dict[str, Any],
    *,
    at: datetime,
    now: datetime,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Hang a new ticket under its major incident, opening one when the threshold is reached.

    Returns the (possibly updated) new ticket row. `events`: see `tickets.record`.
    """
    rules = cfg.major_incidents
    for dim in rules.group_by:
        value = row["alertname"] if dim == "alertname" else row["parent_device"]
        if not value:
            continue
        params = {
            "customer": row["customer_id"],
            "value": value,
            "since": at - timedelta(seconds=rules.window),
            "own": row["id"],
            "upto": rules.threshold - 1,
        }
        # one round trip: the open major incident if any, else how many would join one
        major, enough = conn.execute(_LOOKUP[dim], params).one()
        if major is not None:
            return _link(conn, row, major, at=at, now=now, events=events)
        if enough + 1 < rules.threshold:
            continue
        recent = [dict(r) for r in conn.execute(_RECENT[dim], params).mappings()]
        if len(recent) + 1 < rules.threshold:
            continue
        members = [*recent, row]
        priority = min((Priority(m["priority"]) for m in members), key=lambda p: p.value)
        label = "alert" if dim == "alertname" else "devices behind"
        major_row = tk.create(
            conn,
            cfg,
            customer_id=row["customer_id"],
            title=f"Major incident: {label} {value} ({len(members)} alerts)",
            origin=Origin(row["origin"]),
            priority=priority,
            at=min(m["entered_at"] for m in members),
            actor=MAJOR_ACTOR,
            now=now,
            device_id=value if dim == "parent" else None,
            description="Opened because related alerts arrived together; the related tickets "
            "hang under it so everyone answers from one place.",
            kind="major",
            alertname=value if dim == "alertname" else None,
            events=events,
        )
        for m in recent:
            _link(conn, m, major_row["id"], at=at, now=now, events=events)
        return _link(conn, row, major_row["id"], at=at, now=now, events=events)
    return row


def _link(
    conn: sa.Connection,
    row: dict,
    parent_id: int,
    *,
    at: datetime,
    now: datetime,
    events: list[dict[str, Any]] | None = None,
) -> dict:
    data = {"parent_id": parent_id}
    return tk.record(conn, row, "linked", at, MAJOR_ACTOR, data, now=now, events=events)


def resolve_children(
    conn: sa.Connection,
    cfg: Config,
    parent: dict[str, Any],
    *,
    at: datetime,
    actor: str,
    now: datetime,
) -> list[int]:
    """Resolving a major incident resolves its open children; a new child is first accepted
    by the parent's assignee, since only an assigned ticket can be resolved."""
    if parent["kind"] != "major" or parent["status"] != Status.RESOLVED:
        return []
    done = []
    children = conn.execute(
        sa.select(tickets).where(
            tickets.c.parent_id == parent["id"],
            tickets.c.status.in_(
                [Status.NEW.value, Status.IN_PROGRESS.value, Status.WAITING.value]
            ),
        )
    ).mappings()
    for child in [dict(c) for c in children]:
        if child["status"] == Status.NEW:
            child = tk.assign(
                conn, child, parent["assignee"] or actor, at=at, actor=MAJOR_ACTOR, now=now
            )
        tk.transition(
            conn,
            child,
            Status.RESOLVED,
            cfg=cfg,
            at=at,
            actor=MAJOR_ACTOR,
            now=now,
            reason=f"major incident {parent['id']} resolved",
        )
        done.append(child["id"])
    return done
