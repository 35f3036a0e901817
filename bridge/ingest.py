"""From normalized alerts to tickets: route, deduplicate, recover, reopen, correlate.

Runs inside the writer's transaction, one notification at a time, so all of a notification's
alerts are committed together or not at all. Uniqueness is the database's job: the hot row's
primary key (source, identity) and the partial unique index on open tickets. A redelivered
notification finds every alert in the state it already recorded and adds nothing to any history.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bridge import incidents, projection
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


def _actor(source: SourceConfig) -> str:
    return MONITORING if not source.type.startswith("probe") else source.type


def _ticket_fields(
    ctx: Context, source: SourceConfig, alert: Alert, route: Route
) -> dict[str, Any]:
    """The new ticket's fields taken from the alert (`tickets.create` keyword arguments)."""
    assert route.customer_id is not None
    priority: Priority = ctx.router.priority(route.customer_id, alert.severity)
    return {
        "customer_id": route.customer_id,
        "title": alert.title[:512],
        "origin": _origin(source.type),
        "priority": priority,
        "device_id": route.device_id,
        "summary": alert.annotations.get("summary", "")[:2000],
        "description": _description(alert),
        "alertname": (alert.labels.get("alertname") or alert.title)[:256],
        "dedup_source": source.name,
        "dedup_identity": alert.identity,
    }


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
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    row = tk.create(
        conn,
        ctx.cfg,
        **_ticket_fields(ctx, source, alert, route),
        at=at,
        actor=_actor(source),
        now=now,
        related_id=related_id,
        events=events,
    )
    if related_id is not None:
        data = {"related_id": related_id}
        row = tk.record(conn, row, "linked", at, _actor(source), data, now=now, events=events)
    return incidents.correlate(conn, ctx.cfg, row, at=at, now=now, events=events)


def _attach(
    conn: sa.Connection,
    row: dict,
    source: SourceConfig,
    alert: Alert,
    *,
    at: datetime,
    now: datetime,
    note: str,
    events: list[dict[str, Any]] | None = None,
) -> dict:
    data = {
        "source": source.name,
        "identity": alert.identity,
        "status": alert.status.value,
        "note": note,
    }
    return tk.record(
        conn, row, "alert_attached", at, _actor(source), data, now=now, events=events
    )


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
    hots, states = _prefetch(conn, commands)
    w = _Writes()
    # (source, identity) whose prefetched hot row may be stale: `_one` reads them again
    touched: set[tuple[str, str]] = set()
    # first sightings that open a ticket, opened together (`_open_new`) before anything else
    # reads or writes tickets
    pending: list[_New] = []
    firing = AlertStatus.FIRING
    for cmd, result in zip(commands, results, strict=True):
        source = cmd.source
        for alert in cmd.alerts:
            key = (source.name, alert.identity)
            hot = None if key in touched else hots.get(key)
            if hot is not None and _is_repeat(cmd.ctx, source, alert, hot, states):
                n = w.repeats.get(key)
                w.repeats[key] = (n[0] + 1 if n else 1, cmd.received_at)
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
                        pending.append(_New(cmd, alert, route, result, len(result.tickets)))
                        result.tickets.append(0)  # the id once opened
                        result.outcomes["accepted"] += 1
                        touched.add(key)
                        continue
                if pending:
                    _open_new(conn, pending, w)
                if key in touched or key in w.repeats or outage is not None:
                    # `_one` reads this key's hot row (or, for an outage, its device's): write
                    # what it must see
                    w.flush(conn)
                    known: Any = _UNKNOWN
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
        _open_new(conn, pending, w)
    w.flush(conn)
    return results


@dataclass(slots=True)
class _New:
    """A first sighting of a firing, routed alert: it opens a ticket."""

    cmd: IngestCommand
    alert: Alert
    route: Route
    result: IngestResult
    slot: int  # its place in result.tickets


def _open_new(conn: sa.Connection, pending: list[_New], w: _Writes) -> None:
    """Open the pending tickets in order, with the effect of `open_ticket` on each in turn.

    Runs of them are inserted with one statement after one correlation lookup per customer
    and dimension (`_open_run`); one that may reach a major incident's threshold, or whose
    lookup the run cannot answer exactly, is opened by `open_ticket` itself."""
    i = 0
    while i < len(pending):
        i += _open_run(conn, pending[i:], w)
        if i < len(pending):
            p = pending[i]
            cmd = p.cmd
            row = open_ticket(
                conn, cmd.ctx, cmd.source, p.alert, p.route,
                at=cmd.received_at, now=cmd.now, events=w.events,
            )  # fmt: skip
            _opened(conn, p, row["id"], w)
            i += 1
    pending.clear()


_EXACT: Any = object()


def _dimension_keys(cfg: Config, row: dict[str, Any]) -> list[tuple[int, str, str, str]]:
    """(config, customer, dimension, value) for each dimension the ticket correlates on."""
    keys = []
    for dim in cfg.major_incidents.group_by:
        value = row["alertname"] if dim == "alertname" else row["parent_device"]
        if value:
            keys.append((id(cfg), row["customer_id"], dim, value))
    return keys


def _correlation(
    cfg: Config,
    row: dict[str, Any],
    at: datetime,
    majors: dict[tuple, int],
    loose: dict[tuple, list[datetime]],
) -> Any:
    """`incidents.correlate` decided on looked-up rows: the open major incident to join, None
    for none, or _EXACT when the threshold may be reached (opening one is correlate's job)."""
    rules = cfg.major_incidents
    since = at - timedelta(seconds=rules.window)
    for key in _dimension_keys(cfg, row):
        major = majors.get(key)
        if major is not None:
            return major
        seen = loose.get(key, ())
        if len(seen) + 1 >= rules.threshold and (
            sum(1 for t in seen if t >= since) + 1 >= rules.threshold
        ):
            return _EXACT
    return None


def _correlation_lookup(
    conn: sa.Connection, made: list[tuple[Config, dict[str, Any]]]
) -> tuple[dict[tuple, int], dict[tuple, list[datetime]]]:
    """Open major incidents and loose incidents (entered since the earliest window start) for
    every (config, customer, dimension, value) of these new tickets, a query or two each."""
    wanted: dict[tuple[int, str, str], tuple[Config, dict[str, None], datetime]] = {}
    for cfg, row in made:
        since = row["entered_at"] - timedelta(seconds=cfg.major_incidents.window)
        for cfg_id, customer, dim, value in _dimension_keys(cfg, row):
            got = wanted.get((cfg_id, customer, dim))
            if got is None:
                wanted[(cfg_id, customer, dim)] = (cfg, {value: None}, since)
            else:
                got[1][value] = None
                if since < got[2]:
                    wanted[(cfg_id, customer, dim)] = (cfg, got[1], since)
    majors: dict[tuple, int] = {}
    loose: dict[tuple, list[datetime]] = {}
    for (cfg_id, customer, dim), (_cfg, values, since) in wanted.items():
        found_majors, found_loose = incidents.lookup(conn, customer, dim, list(values), since)
        for value, major in found_majors.items():
            majors[(cfg_id, customer, dim, value)] = major
        for value, entered in found_loose.items():
            loose[(cfg_id, customer, dim, value)] = entered
    return majors, loose


def _opened(conn: sa.Connection, p: _New, ticket_id: int, w: _Writes) -> None:
    cmd = p.cmd
    p.result.tickets[p.slot] = ticket_id
    _upsert_hot(conn, w, None, cmd.source, p.alert, p.route, ticket_id, cmd.received_at)
    w.wide.append(_wide_row(cmd.source, p.alert, p.route, ticket_id, cmd.received_at))


def _open_run(conn: sa.Connection, pending: list[_New], w: _Writes) -> int:
    """Open a prefix of `pending` together; returns how many (0: the first needs the long way).

    Correlation as `incidents.correlate` decides it, from the store's open major incidents and
    loose incidents (read once per customer and dimension for the whole run) plus the run's
    own earlier tickets: a ticket joins an open major incident; one that could reach the
    threshold ends the run, since opening a major incident is `correlate`'s job."""
    made = []
    for p in pending:
        cmd = p.cmd
        data = tk.created_data(cmd.ctx.cfg, **_ticket_fields(cmd.ctx, cmd.source, p.alert, p.route))
        made.append((p, data, projection.apply(None, "created", cmd.received_at, data)))
    majors, loose = _correlation_lookup(conn, [(p.cmd.ctx.cfg, row) for p, _d, row in made])
    run = []  # (pending, created data, final row, major incident id or None)
    for p, data, row in made:
        cfg = p.cmd.ctx.cfg
        at = p.cmd.received_at
        parent = _correlation(cfg, row, at, majors, loose)
        if parent is _EXACT:
            break
        if parent is None:  # a loose incident: later tickets of this run count it
            for key in _dimension_keys(cfg, row):
                loose.setdefault(key, []).append(row["entered_at"])
        else:
            row = projection.apply(row, "linked", at, {"parent_id": parent})
        run.append((p, data, row, parent))
    if not run:
        return 0
    ids = _insert_tickets(conn, [row for _p, _d, row, _m in run])
    # the majors these tickets join and how many of their children fire before the run
    joined: dict[int, list] = {}
    for _p, _d, _row, parent in run:
        if parent is not None and parent not in joined:
            joined[parent] = [tk.load(conn, parent), 0]
    for parent, state in joined.items():
        state[1] = incidents.firing_children(conn, parent) - sum(
            1 for _p, _d, _r, m in run if m == parent
        )
    for p, data, _row, parent in run:
        cmd = p.cmd
        ticket_id = ids[(cmd.source.name, p.alert.identity)]
        at = cmd.received_at
        w.events.append(
            tk.created_event(ticket_id, data, at=at, actor=_actor(cmd.source), now=cmd.now)
        )
        if parent is not None:
            w.events.append(
                {
                    "ticket_id": ticket_id,
                    "seq": 2,
                    "at": at,
                    "recorded_at": cmd.now,
                    "kind": "linked",
                    "actor": incidents.MAJOR_ACTOR,
                    "data": {"parent_id": parent},
                }
            )
            state = joined[parent]
            state[1] += 1
            state[0] = incidents.retitle(
                conn, state[0], state[1], at=at, now=cmd.now, events=w.events
            )
        _opened(conn, p, ticket_id, w)
    return len(run)


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


_UNKNOWN: Any = object()
_CHUNK = 500

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
_HOT = sa.select(*_HOT_COLUMNS).where(*_KEY, alert_keys.c.identity == sa.bindparam("b_identity"))
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
_UPDATE_HOT = alert_keys.update().where(*_KEY, alert_keys.c.identity == sa.bindparam("b_identity"))
_INSERT_WIDE = alerts.insert()
_INSERT_TICKETS = tickets.insert().returning(
    tickets.c.id, tickets.c.dedup_source, tickets.c.dedup_identity
)


def _insert_tickets(conn: sa.Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
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


class _Writes:
    """Writes held back until the end of the group (or until `_one` must see them)."""

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


def _prefetch(
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
        for i in range(0, len(identities), _CHUNK):
            params = {"b_source": name, "b_identities": identities[i : i + _CHUNK]}
            for r in conn.execute(_HOTS, params).mappings():
                hots[(name, r["identity"])] = r
    ticket_ids = list({h["ticket_id"] for h in hots.values() if h["ticket_id"] is not None})
    states: dict[int, Any] = {}
    for i in range(0, len(ticket_ids), _CHUNK):
        rows = conn.execute(_STATES, {"b_ids": ticket_ids[i : i + _CHUNK]}).mappings()
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
    conn: sa.Connection, pending: dict[tuple[str, str], tuple[int, datetime]]
) -> None:
    """Count repeats: one UPDATE per source, count and last receipt (usually just one)."""
    groups: dict[tuple[str, int, datetime], list[str]] = {}
    for (source, identity), (n, last_seen) in pending.items():
        groups.setdefault((source, n, last_seen), []).append(identity)
    for (source, n, last_seen), identities in groups.items():
        for i in range(0, len(identities), _CHUNK):
            conn.execute(
                _BUMP,
                {
                    "b_source": source,
                    "b_identities": identities[i : i + _CHUNK],
                    "b_last_seen": last_seen,
                    "b_n": n,
                },
            )


def _one(
    conn: sa.Connection,
    ctx: Context,
    source: SourceConfig,
    alert: Alert,
    *,
    received_at: datetime,
    now: datetime,
    hot: Any = _UNKNOWN,
    writes: _Writes,
    route: Route | None = None,
) -> tuple[str, int | None]:
    """One alert the long way. `hot` is its hot row when the caller read it and nothing has
    changed it since (None: there is none); `writes` holds the rows written at the end."""
    key = {"b_source": source.name, "b_identity": alert.identity}
    ev = writes.events
    if hot is _UNKNOWN:
        hot = conn.execute(_HOT, key).mappings().first()
    status = alert.status.value
    same_state = hot is not None and (
        hot["status"] == status or (_firing(hot["status"]) and status == AlertStatus.FIRING.value)
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
        last = _load_open_or_last(conn, ticket_id)
        if (
            last is None
            or last["status"] != Status.CLOSED
            or not _firing(status)
            or last["close_reason"] in (CloseReason.DUPLICATE, CloseReason.FALSE_ALARM)
        ):
            conn.execute(_UPDATE_HOT, {**key, "last_seen": received_at, "count": hot["count"] + 1})
            return ("unrouted" if hot["customer_id"] is None else "duplicate"), ticket_id

    if route.customer_id is None:
        _upsert_hot(conn, writes, hot, source, alert, route, None, received_at)
        writes.wide.append(_wide_row(source, alert, route, None, received_at))
        return "unrouted", None

    ticket_id = hot["ticket_id"] if hot is not None else None
    row = _load_open_or_last(conn, ticket_id)
    outage = incidents.outage_device(source.type, alert)
    shared = None
    if (
        outage is not None
        and alert.status == AlertStatus.FIRING
        and (row is None or row["status"] == Status.CLOSED)
    ):
        shared = incidents.outage_ticket(conn, outage, alert.identity)
    if shared is not None:
        row = _attach(
            conn, shared, source, alert, at=received_at, now=now, note="same device outage",
            events=ev,
        )  # fmt: skip
        priority = ctx.router.priority(route.customer_id, alert.severity)
        if priority.value < row["priority"]:
            row = tk.change_priority(
                conn, row, priority, f"{alert.title}: the same device outage",
                at=received_at, actor=MONITORING, now=now, events=ev,
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
                actor=_actor(source),
                now=now,
                reason="the alert fired again during verification",
                events=ev,
            )
            row = _attach(
                conn, row, source, alert, at=received_at, now=now, note="fired again", events=ev
            )
        else:
            row = _attach(
                conn, row, source, alert, at=received_at, now=now, note="fired again", events=ev
            )
    elif alert.status == AlertStatus.RESOLVED:
        if (
            row is not None
            and row["status"] != Status.CLOSED
            and outage is not None
            and incidents.outage_goes_on(conn, row["id"], outage, alert.identity)
        ):
            row = _attach(
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
                conn, row, "recovery", received_at, _actor(source), data, now=now, events=ev
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
                    actor=_actor(source),
                    now=now,
                    reason="monitoring reports recovery",
                    events=ev,
                )
    elif row is not None and row["status"] != Status.CLOSED:
        data = {"source": source.name, "identity": alert.identity, "text": alert.description}
        row = tk.record(
            conn, row, "alert_acknowledged", received_at, _actor(source), data, now=now, events=ev
        )

    new_ticket = row["id"] if row is not None else None
    _upsert_hot(conn, writes, hot, source, alert, route, new_ticket, received_at)
    writes.wide.append(_wide_row(source, alert, route, new_ticket, received_at))
    if (
        row is not None
        and row["parent_id"] is not None
        and hot is not None
        and _firing(hot["status"]) != _firing(status)
    ):
        # a child recovered or fired again: its major incident's count follows
        incidents.recount(conn, row["parent_id"], at=received_at, now=now, events=ev)
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
    writes: _Writes,
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
        conn.execute(_UPDATE_HOT, values)
