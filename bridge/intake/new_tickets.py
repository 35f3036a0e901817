"""Opening a group's new tickets together: one insert for a run of them, correlated by
`incidents.decide` (the one home of correlation, which `incidents.correlate` asks too) over one
lookup for the run; the property test holds this equal to opening each in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bridge import incidents, projection
from bridge import tickets as tk
from bridge.alert import Alert
from bridge.config import Config
from bridge.intake.alert_tickets import actor, open_ticket, ticket_fields
from bridge.intake.result import IngestResult
from bridge.intake.rows import Writes, insert_tickets, upsert_hot, wide_row
from bridge.routing import Route

if TYPE_CHECKING:
    from bridge.intake.engine import IngestCommand


@dataclass(slots=True)
class New:
    """A first sighting of a firing, routed alert: it opens a ticket."""

    cmd: IngestCommand
    alert: Alert
    route: Route
    result: IngestResult
    slot: int  # its place in result.tickets


def open_new(conn: sa.Connection, pending: list[New], w: Writes) -> None:
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


def _keys(cfg: Config, row: dict[str, Any]) -> list[tuple[int, str, str, str]]:
    """(config, customer, dimension, value) for each dimension the ticket correlates on."""
    customer = row["customer_id"]
    return [(id(cfg), customer, d, v) for d, v in incidents.dimensions(cfg.major_incidents, row)]


def _correlation(
    cfg: Config,
    row: dict[str, Any],
    at: datetime,
    majors: dict[tuple, int],
    loose: dict[tuple, list[datetime]],
) -> incidents.Correlation:
    """`incidents.decide` on the run's looked-up rows (plus its own earlier tickets)."""
    since = at - timedelta(seconds=cfg.major_incidents.window)

    def facts(dim: str, value: str) -> tuple[int | None, int]:
        key = (id(cfg), row["customer_id"], dim, value)
        return majors.get(key), sum(1 for t in loose.get(key, ()) if t >= since)

    return incidents.decide(cfg.major_incidents, row, facts)


def _correlation_lookup(
    conn: sa.Connection, made: list[tuple[Config, dict[str, Any]]]
) -> tuple[dict[tuple, int], dict[tuple, list[datetime]]]:
    """Open major incidents and loose incidents (entered since the earliest window start) for
    every (config, customer, dimension, value) of these new tickets, a query or two each."""
    wanted: dict[tuple[int, str, str], tuple[Config, dict[str, None], datetime]] = {}
    for cfg, row in made:
        since = row["entered_at"] - timedelta(seconds=cfg.major_incidents.window)
        for cfg_id, customer, dim, value in _keys(cfg, row):
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


def _opened(conn: sa.Connection, p: New, ticket_id: int, w: Writes) -> None:
    cmd = p.cmd
    p.result.tickets[p.slot] = ticket_id
    upsert_hot(conn, w, None, cmd.source, p.alert, p.route, ticket_id, cmd.received_at)
    w.wide.append(wide_row(cmd.source, p.alert, p.route, ticket_id, cmd.received_at))


def _open_run(conn: sa.Connection, pending: list[New], w: Writes) -> int:
    """Open a prefix of `pending` together; returns how many (0: the first needs the long way).

    Correlated by `incidents.decide` over the store's open major incidents and loose incidents
    (read once per customer and dimension for the whole run) plus the run's own earlier
    tickets: a ticket joins an open major incident; one that reaches the threshold ends the
    run, since opening a major incident is `incidents.correlate`'s job."""
    made = []
    for p in pending:
        cmd = p.cmd
        data = tk.created_data(cmd.ctx.cfg, **ticket_fields(cmd.ctx, cmd.source, p.alert, p.route))
        made.append((p, data, projection.apply(None, "created", cmd.received_at, data)))
    majors, loose = _correlation_lookup(conn, [(p.cmd.ctx.cfg, row) for p, _d, row in made])
    run = []  # (pending, created data, final row, major incident id or None)
    for p, data, row in made:
        cfg = p.cmd.ctx.cfg
        at = p.cmd.received_at
        parent = _correlation(cfg, row, at, majors, loose)
        if isinstance(parent, incidents.OpenMajor):
            break  # opening a major incident is `incidents.correlate`'s job: the long way
        if parent is None:  # a loose incident: later tickets of this run count it
            for key in _keys(cfg, row):
                loose.setdefault(key, []).append(row["entered_at"])
        else:
            row = incidents.linked_before_insert(row, parent, at)
        run.append((p, data, row, parent))
    if not run:
        return 0
    ids = insert_tickets(conn, [row for _p, _d, row, _m in run])
    # the majors these tickets join and how many of their children fire before the run
    joined: dict[int, list] = {}
    for _p, _d, _row, parent in run:
        if parent is not None and parent not in joined:
            joined[parent] = [tk.load(conn, parent), 0]
    for parent, state in joined.items():
        state[1] = incidents.firing_children(conn, parent) - sum(
            1 for _p, _d, _r, m in run if m == parent
        )
    for p, data, row, parent in run:
        cmd = p.cmd
        ticket_id = ids[(cmd.source.name, p.alert.identity)]
        at = cmd.received_at
        w.events.append(
            tk.created_event(ticket_id, data, at=at, actor=actor(cmd.source), now=cmd.now)
        )
        if parent is not None:
            w.events.append(incidents.linked_event(ticket_id, row, at=at, now=cmd.now))
            state = joined[parent]
            state[1] += 1
            state[0] = incidents.retitle(
                conn, state[0], state[1], at=at, now=cmd.now, events=w.events
            )
        _opened(conn, p, ticket_id, w)
    return len(run)
