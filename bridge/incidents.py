"""Major incidents: one parent ticket for a flood of related alerts, answered from one place."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bridge import projection
from bridge import tickets as tk
from bridge.alert import Alert
from bridge.config import Config
from bridge.config.service import MajorIncidentConfig
from bridge.lifecycle import Origin, Priority, Status
from bridge.store.schema import alert_keys, tickets
from probes.state import CHECK_ICMP, CHECK_SNMP

_DIMENSION = {"alertname": tickets.c.alertname, "parent": tickets.c.parent_device}
MAJOR_ACTOR = "major-incident"


# The lookups below spell `kind` and the closed status as literals so that SQLite (and
# PostgreSQL) can prove the partial indexes of migration 0003 apply: an open major incident per
# customer and dimension, and the open unparented incidents of one customer and dimension by
# entry time. Built once; executed with parameters.
_OPEN_LIT = tickets.c.status != sa.literal_column("'closed'")
_MAJOR_LIT = tickets.c.kind == sa.literal_column("'major'")
_INCIDENT_LIT = tickets.c.kind == sa.literal_column("'incident'")
# An incident whose alert has recovered no longer counts toward (or joins) a major incident:
# a flood is what is firing now, not what fired once.
_STILL_FIRING = ~sa.exists().where(
    alert_keys.c.source == tickets.c.dedup_source,
    alert_keys.c.identity == tickets.c.dedup_identity,
    alert_keys.c.status == sa.literal_column("'resolved'"),
)


def _major_query(column: sa.Column) -> sa.Select:
    return (
        sa.select(tickets.c.id)
        .where(tickets.c.customer_id == sa.bindparam("customer"), column == sa.bindparam("value"))
        .where(_MAJOR_LIT, _OPEN_LIT)
        .order_by(tickets.c.id)  # the lowest id if several, as `lookup` answers
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
        _STILL_FIRING,
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
    # ties broken by id: tickets of one notification share their entry time, and the order
    # they are linked in is the order of their events
    dim: _window(sa.select(tickets), col).order_by(tickets.c.entered_at, tickets.c.id)
    for dim, col in _DIMENSION.items()
}


#: Several nodes (PostgreSQL): one transaction at a time decides on major incidents, holding
#: this transaction-scoped advisory lock from its first look until it commits. The next one then
#: sees every ticket of the flood the others committed, so a flood split across nodes opens one
#: major incident. SQLite has one writer: nothing to take. (A single key, not one per customer or
#: alert name, so that two transactions can never take two of them in opposite orders.)
_DECIDING = sa.text("SELECT pg_advisory_xact_lock(5148042516104818496)")


def _decide_alone(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(_DECIDING)


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
        _STILL_FIRING,
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
    _decide_alone(conn)
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


@dataclass(frozen=True, slots=True)
class OpenMajor:
    """The threshold is reached on this dimension: a major incident opens for it."""

    dim: str
    value: str


#: where a new ticket belongs: the open major incident it joins (its id), a major incident to
#: open, or None: it stays a loose incident
Correlation = int | OpenMajor | None
#: what correlation reads of one dimension's value: its open major incident (or None) and how
#: many loose incidents of it (open, unparented, still firing) entered within the window, at
#: least up to threshold - 1
Facts = Callable[[str, str], tuple[int | None, int]]


def dimensions(rules: MajorIncidentConfig, row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(dimension, value) for each dimension of `rules.group_by` the ticket has a value of."""
    out = []
    for dim in rules.group_by:
        value = row["alertname"] if dim == "alertname" else row["parent_device"]
        if value:
            out.append((dim, value))
    return out


def decide(rules: MajorIncidentConfig, row: Mapping[str, Any], facts: Facts) -> Correlation:
    """The one home of correlation, pure over `facts`: dimensions in `group_by` order, the
    first with an open major incident is joined; else the first whose loose incidents reach
    the threshold with this ticket opens one. `correlate` asks the store one dimension at a
    time; the batched opening of new tickets (bridge/intake/new_tickets.py) answers from one
    lookup for the whole run."""
    for dim, value in dimensions(rules, row):
        major, loose = facts(dim, value)
        if major is not None:
            return major
        if loose + 1 >= rules.threshold:
            return OpenMajor(dim, value)
    return None


def correlate(
    conn: sa.Connection,
    cfg: Config,
    row: dict[str, Any],
    *,
    at: datetime,
    now: datetime,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Hang a new ticket under its major incident, opening one when the threshold is reached
    (as `decide` says, on facts read now).

    Returns the (possibly updated) new ticket row. `events`: see `tickets.record`.
    """
    rules = cfg.major_incidents
    if not dimensions(rules, row):
        return row
    _decide_alone(conn)

    def params(value: str) -> dict[str, Any]:
        return {
            "customer": row["customer_id"],
            "value": value,
            "since": at - timedelta(seconds=rules.window),
            "own": row["id"],
            "upto": rules.threshold - 1,
        }

    def facts(dim: str, value: str) -> tuple[int | None, int]:
        # one round trip: the open major incident if any, else how many would join one
        major, loose = conn.execute(_LOOKUP[dim], params(value)).one()
        return major, loose

    decision = decide(rules, row, facts)
    if decision is None:
        return row
    if not isinstance(decision, OpenMajor):
        row = _link(conn, row, decision, at=at, now=now, events=events)
        recount(conn, decision, at=at, now=now, events=events)
        return row
    dim, value = decision.dim, decision.value
    recent = [dict(r) for r in conn.execute(_RECENT[dim], params(value)).mappings()]
    members = [*recent, row]
    priority = min((Priority(m["priority"]) for m in members), key=lambda p: p.value)
    major_row = tk.create(
        conn,
        cfg,
        customer_id=row["customer_id"],
        title=major_title(dim, value, len(members)),
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


# -- one device outage, one ticket ----------------------------------------------------------------

#: checks whose silence means the device itself is silent (ping, SNMP agent)
_REACHABILITY = (CHECK_ICMP, CHECK_SNMP)
_FIRING_LIT = alert_keys.c.status.in_(
    [sa.literal_column("'firing'"), sa.literal_column("'acknowledged'")]
)
_OUTAGE_TICKET = (
    sa.select(tickets)
    .join(alert_keys, alert_keys.c.ticket_id == tickets.c.id)
    .where(
        alert_keys.c.source.like("probe.%"),
        alert_keys.c.identity.in_(sa.bindparam("identities", expanding=True)),
        _FIRING_LIT,
        _OPEN_LIT,
    )
    .order_by(tickets.c.id)
    .limit(1)
)
_OUTAGE_GOES_ON = (
    sa.select(alert_keys.c.identity)
    .where(
        alert_keys.c.ticket_id == sa.bindparam("ticket"),
        alert_keys.c.source.like("probe.%"),
        alert_keys.c.identity.in_(sa.bindparam("identities", expanding=True)),
        _FIRING_LIT,
    )
    .limit(1)
)


def outage_device(source_type: str, alert: Alert) -> str | None:
    """The device whose silence this probe alert reports (no ping, no SNMP answer), else None.

    Such alerts of one device are one outage: the first opens its ticket, the others are
    observations attached to it, and it recovers when the last of them recovers."""
    if not source_type.startswith("probe"):
        return None
    device, check = alert.labels.get("device"), alert.labels.get("check")
    if device and check in _REACHABILITY and alert.identity == f"{device}:{check}":
        return device
    return None


def _others(device: str, identity: str) -> list[str]:
    return [f"{device}:{c}" for c in _REACHABILITY if f"{device}:{c}" != identity]


def outage_ticket(conn: sa.Connection, device: str, identity: str) -> dict[str, Any] | None:
    """The open ticket another check of this device opened for its outage, still firing."""
    params = {"identities": _others(device, identity)}
    found = conn.execute(_OUTAGE_TICKET, params).mappings().first()
    return dict(found) if found is not None else None


def outage_goes_on(conn: sa.Connection, ticket_id: int, device: str, identity: str) -> bool:
    """Whether another check still finds this ticket's device silent."""
    params = {"ticket": ticket_id, "identities": _others(device, identity)}
    return conn.execute(_OUTAGE_GOES_ON, params).first() is not None


# -- major incidents' counts ----------------------------------------------------------------------


def major_title(dim: str, value: str, firing: int) -> str:
    label = "alert" if dim == "alertname" else "devices behind"
    return f"Major incident: {label} {value} ({firing} alerts)"


_FIRING_CHILDREN = (
    sa.select(sa.func.count())
    .select_from(tickets)
    .where(tickets.c.parent_id == sa.bindparam("major"), _OPEN_LIT, _STILL_FIRING)
)


def firing_children(conn: sa.Connection, major_id: int) -> int:
    return int(conn.execute(_FIRING_CHILDREN, {"major": major_id}).scalar_one())


def retitle(
    conn: sa.Connection,
    major: dict[str, Any],
    firing: int,
    *,
    at: datetime,
    now: datetime,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Keep the count in an open major incident's title equal to its children still firing."""
    if major["kind"] != "major" or major["status"] == Status.CLOSED:
        return major
    if major["alertname"]:
        title = major_title("alertname", major["alertname"], firing)
    else:
        title = major_title("parent", major["device_id"] or "", firing)
    if title == major["title"]:
        return major
    data = {"from": major["title"], "to": title}
    return tk.record(conn, major, "retitled", at, MAJOR_ACTOR, data, now=now, events=events)


_MAJOR_LOCKED = sa.select(tickets).where(tickets.c.id == sa.bindparam("major")).with_for_update()


def recount(
    conn: sa.Connection,
    major_id: int,
    *,
    at: datetime,
    now: datetime,
    events: list[dict[str, Any]] | None = None,
) -> None:
    """A child joined, recovered or fired again: bring the major's count up to date. The
    major's row is read locked (PostgreSQL), so a node counting at the same time waits and
    then counts from the other's result instead of failing its compare-and-set."""
    major = dict(conn.execute(_MAJOR_LOCKED, {"major": major_id}).mappings().one())
    retitle(conn, major, firing_children(conn, major_id), at=at, now=now, events=events)


def _link(
    conn: sa.Connection,
    row: dict,
    parent_id: int,
    *,
    at: datetime,
    now: datetime,
    events: list[dict[str, Any]] | None = None,
) -> dict:
    data = _linked(parent_id)
    return tk.record(conn, row, "linked", at, MAJOR_ACTOR, data, now=now, events=events)


def _linked(parent_id: int) -> dict[str, Any]:
    return {"parent_id": parent_id}


def linked_before_insert(row: dict[str, Any], parent_id: int, at: datetime) -> dict[str, Any]:
    """A new ticket's row hung under its major incident before it is inserted (the batched
    opening); `linked_event` is the event that goes with it, as `_link` would record it."""
    return projection.apply(row, "linked", at, _linked(parent_id))


def linked_event(
    ticket_id: int, row: Mapping[str, Any], *, at: datetime, now: datetime
) -> dict[str, Any]:
    """The `linked` event of a row made by `linked_before_insert`, once its id is known."""
    data = _linked(row["parent_id"])
    return tk.event_row(ticket_id, row["version"], "linked", data, at, MAJOR_ACTOR, now=now)


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
