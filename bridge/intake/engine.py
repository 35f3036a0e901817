"""From normalized alerts to tickets: route, deduplicate, recover, reopen, correlate.

Runs inside the writer's transaction, one notification at a time, so all of a notification's
alerts are committed together or not at all. Uniqueness is the database's job: the hot row's
primary key (source, identity) and the partial unique index on open tickets. A redelivered
notification finds every alert in the state it already recorded and adds nothing to any history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
from bridge.lifecycle import Status


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
    # keys the group changed: their hot row may be held back (`w`), so the store is brought up
    # to date before anything reads or updates it
    touched: set[tuple[str, str]] = set()
    # keys counted as repeats: their count in the store is stale until the bump is flushed
    bumped: set[tuple[str, str]] = set()
    # first sightings that open a ticket, opened together (`open_new`) before anything else
    # reads or writes tickets
    pending: list[New] = []
    opening: set[tuple[str, str]] = set()

    def open_pending() -> None:
        done = list(pending)
        open_new(conn, pending, w)  # clears `pending`
        for p in done:
            ticket_id = p.result.tickets[p.slot]
            hots[(p.cmd.source.name, p.alert.identity)]["ticket_id"] = ticket_id
            states[ticket_id] = {"id": ticket_id, "status": Status.NEW.value, "close_reason": None}
        opening.clear()

    for cmd, result in zip(commands, results, strict=True):
        source = cmd.source
        for alert in cmd.alerts:
            key = (source.name, alert.identity)
            if key in opening:
                open_pending()
            outage = incidents.outage_device(source.type, alert)
            # `hots` and `states` are kept current as the group is decided (the snapshot)
            action = plan_alert(cmd.ctx, source, alert, prefetched(hots, states, key))
            route = action.route
            if action.do is Do.REPEAT:
                n = w.repeats.get(key)
                w.repeats[key] = (n[0] + 1 if n else 1, cmd.received_at)
                bumped.add(key)  # its count in `hots` is stale from here: read again below
                result.outcomes[action.outcome] += 1
                ticket_id = hots[key]["ticket_id"]
                if ticket_id is not None:
                    result.tickets.append(ticket_id)
                continue
            if action.do is Do.OPEN and outage is None:
                assert route is not None and route.customer_id is not None
                pending.append(New(cmd, alert, route, result, len(result.tickets)))
                opening.add(key)
                result.tickets.append(0)  # the id once opened
                result.outcomes["accepted"] += 1
                hots[key] = _hot(alert, route.customer_id, None, 1)
                touched.add(key)
                continue
            if pending:
                open_pending()
            if key in touched or key in bumped or outage is not None:
                # held-back writes this alert reads or updates go out first
                w.flush(conn)
            facts = gather(
                conn, source, alert, outage, hot=UNKNOWN if key in bumped else hots.get(key)
            )
            action = plan_alert(cmd.ctx, source, alert, facts, route)
            ticket_id, row = apply(
                conn, cmd.ctx, source, alert, action, facts,
                received_at=cmd.received_at, now=cmd.now, writes=w,
            )  # fmt: skip
            old = facts.hot
            if action.do is not Do.REPEAT:  # a repeat leaves all but the count as it was
                assert action.route is not None
                count = old["count"] + 1 if old is not None else 1
                hots[key] = _hot(alert, action.route.customer_id, ticket_id, count)
            elif key not in bumped:
                assert old is not None
                hots[key] = {**old, "count": old["count"] + 1}
            if row is not None:
                states[row["id"]] = row
            touched.add(key)
            result.outcomes[action.outcome] += 1
            if ticket_id is not None:
                result.tickets.append(ticket_id)
    if pending:
        open_pending()
    w.flush(conn)
    return results


def _hot(alert: Alert, customer_id: str | None, ticket_id: int | None, count: int) -> dict:
    """An alert key's hot row as the group left it (the columns `rows.prefetch` reads)."""
    return {
        "identity": alert.identity,
        "customer_id": customer_id,
        "ticket_id": ticket_id,
        "status": alert.status.value,
        "count": count,
    }


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
