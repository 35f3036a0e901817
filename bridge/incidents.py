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


def _open(query: sa.Select) -> sa.Select:
    return query.where(tickets.c.status != Status.CLOSED.value)


def correlate(
    conn: sa.Connection, cfg: Config, row: dict[str, Any], *, at: datetime, now: datetime
) -> dict[str, Any]:
    """Hang a new ticket under its major incident, opening one when the threshold is reached.

    Returns the (possibly updated) new ticket row.
    """
    rules = cfg.major_incidents
    for dim in rules.group_by:
        column = _DIMENSION[dim]
        value = row["alertname"] if dim == "alertname" else row["parent_device"]
        if not value:
            continue
        same = [tickets.c.customer_id == row["customer_id"], column == value]
        major = (
            conn.execute(_open(sa.select(tickets).where(*same, tickets.c.kind == "major")))
            .mappings()
            .first()
        )
        if major is not None:
            return _link(conn, row, major["id"], at=at, now=now)
        since = at - timedelta(seconds=rules.window)
        window = [
            *same,
            tickets.c.kind == "incident",
            tickets.c.parent_id.is_(None),
            tickets.c.entered_at >= since,
            tickets.c.id != row["id"],
        ]
        # Below the threshold (the common case) count at most threshold-1 ids instead of
        # loading every open ticket of a busy alert name: that made each new ticket O(n).
        enough = conn.execute(
            _open(sa.select(tickets.c.id).where(*window)).limit(rules.threshold - 1)
        ).all()
        if len(enough) + 1 < rules.threshold:
            continue
        recent = [
            dict(r)
            for r in conn.execute(
                _open(
                    sa.select(tickets).where(
                        *same,
                        tickets.c.kind == "incident",
                        tickets.c.parent_id.is_(None),
                        tickets.c.entered_at >= since,
                        tickets.c.id != row["id"],
                    )
                ).order_by(tickets.c.entered_at)
            ).mappings()
        ]
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
        )
        for m in recent:
            _link(conn, m, major_row["id"], at=at, now=now)
        return _link(conn, row, major_row["id"], at=at, now=now)
    return row


def _link(conn: sa.Connection, row: dict, parent_id: int, *, at: datetime, now: datetime) -> dict:
    return tk.record(conn, row, "linked", at, MAJOR_ACTOR, {"parent_id": parent_id}, now=now)


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
