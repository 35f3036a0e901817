"""From normalized alerts to tickets: route, deduplicate, recover, reopen, correlate.

Runs inside the writer's transaction, one notification at a time, so all of a notification's
alerts are committed together or not at all. Uniqueness is the database's job: the hot row's
primary key (source, identity) and the partial unique index on open tickets. A redelivered
notification finds every alert in the state it already recorded and adds nothing to any history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bridge import incidents
from bridge.alert import Alert
from bridge.config import SourceConfig
from bridge.intake.actions import Do
from bridge.intake.apply import apply
from bridge.intake.new_tickets import New, open_new
from bridge.intake.plan import plan_alert
from bridge.intake.result import Context, IngestResult
from bridge.intake.rows import UNKNOWN, Writes, prefetch
from bridge.intake.snapshot import gather, prefetched


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
    `apply`, after the pending counters are written, so it is decided on the store exactly as
    the one-by-one path would see it."""
    return ingest_many(conn, [IngestCommand(ctx, source, batch, received_at, now)])[0]


def ingest_many(conn: sa.Connection, commands: list[IngestCommand]) -> list[IngestResult]:
    """Several notifications, in order, with the effect of running `ingest` on each in turn:
    the writer hands a group commit's ingest commands over together, so their hot rows are
    read with one query, repeats of the whole group bumped with one UPDATE per count, and the
    wide alert rows and new hot rows written with one multi-row INSERT each.

    Every alert is decided by `plan.plan_alert`. On the prefetched snapshot its answer is
    taken for a repeat and for a first sighting that opens a ticket (batched); anything else,
    or a key the group already changed, is decided again on facts read after the group's
    pending writes (`snapshot.gather`) and written by `apply.apply`."""
    results = [IngestResult() for _ in commands]
    hots, states = prefetch(conn, commands)
    w = Writes()
    # (source, identity) whose prefetched hot row may be stale: they are gathered again
    touched: set[tuple[str, str]] = set()
    # keys counted as repeats: their prefetched count is stale once the bump is flushed
    bumped: set[tuple[str, str]] = set()
    # first sightings that open a ticket, opened together (`open_new`) before anything else
    # reads or writes tickets
    pending: list[New] = []
    for cmd, result in zip(commands, results, strict=True):
        source = cmd.source
        for alert in cmd.alerts:
            key = (source.name, alert.identity)
            outage = incidents.outage_device(source.type, alert)
            route = None
            if key not in touched:
                action = plan_alert(cmd.ctx, source, alert, prefetched(hots, states, key))
                route = action.route
                if action.do is Do.REPEAT:
                    n = w.repeats.get(key)
                    w.repeats[key] = (n[0] + 1 if n else 1, cmd.received_at)
                    bumped.add(key)
                    result.outcomes[action.outcome] += 1
                    ticket_id = hots[key]["ticket_id"]
                    if ticket_id is not None:
                        result.tickets.append(ticket_id)
                    continue
                if action.do is Do.OPEN and outage is None and key not in hots:
                    assert route is not None
                    pending.append(New(cmd, alert, route, result, len(result.tickets)))
                    result.tickets.append(0)  # the id once opened
                    result.outcomes["accepted"] += 1
                    touched.add(key)
                    continue
            if pending:
                open_new(conn, pending, w)
            if key in touched or key in bumped or outage is not None:
                # facts are read again: write what they must see
                w.flush(conn)
                known: Any = UNKNOWN
            else:
                known = hots.get(key)
            facts = gather(conn, source, alert, outage, hot=known)
            action = plan_alert(cmd.ctx, source, alert, facts, route)
            ticket_id = apply(
                conn, cmd.ctx, source, alert, action, facts,
                received_at=cmd.received_at, now=cmd.now, writes=w,
            )  # fmt: skip
            touched.add(key)
            result.outcomes[action.outcome] += 1
            if ticket_id is not None:
                result.tickets.append(ticket_id)
    if pending:
        open_new(conn, pending, w)
    w.flush(conn)
    return results


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
