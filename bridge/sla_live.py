"""Live SLA clocks in the service: config → sla/ policies, event log → clocks, warnings, metrics.

sla/ is pure; this module feeds it what the store holds and "now" from the injected clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

import sla
from bridge import tickets as tk
from bridge.config import Config
from bridge.config.models import CalendarConfig, _expand_days
from bridge.lifecycle import Priority, Status
from bridge.store.schema import ticket_events, tickets

log = logging.getLogger(__name__)
CLOCKS = ("reaction", "resolution")
SLA_ACTOR = "sla"


def calendar_from_config(name: str, cal: CalendarConfig) -> sla.Calendar:
    if cal.type == "24x7":
        return sla.Calendar.always(name)
    hours: dict[int, list[str]] = {}
    for key, ranges in cal.hours.items():
        for day in _expand_days(key):
            hours.setdefault(day, []).extend(ranges)
    return sla.Calendar.business_hours(
        cal.timezone,
        hours,
        country=cal.holidays.country if cal.holidays else None,
        subdiv=cal.holidays.subdivision if cal.holidays else None,
        closed_days=cal.closed_days,
        open_days={d.date: d.hours for d in cal.open_days},
        name=name,
    )


@dataclass(frozen=True)
class Policies:
    """The sla/ policy of every customer, built once from the config."""

    by_customer: Mapping[str, sla.SlaPolicy]
    warning_share: Mapping[str, float]

    @classmethod
    def from_config(cls, cfg: Config) -> Policies:
        calendars = {n: calendar_from_config(n, c) for n, c in cfg.calendars.items()}
        built: dict[str, sla.SlaPolicy] = {}
        for name, p in cfg.sla_policies.items():
            built[name] = sla.SlaPolicy(
                targets={
                    prio.value: sla.PriorityTargets(
                        reaction_seconds=int(t.reaction),
                        resolution_seconds=int(t.resolution),
                        calendar=calendars[t.calendar],
                    )
                    for prio, t in p.priorities.items()
                },
                pause_statuses=frozenset(s.value for s in p.pause_statuses),
            )
        return cls(
            by_customer={c.id: built[c.sla_policy] for c in cfg.customers},
            warning_share={
                c.id: cfg.sla_policies[c.sla_policy].warning_share for c in cfg.customers
            },
        )


def clock_events(history: Iterable[Mapping[str, Any]]) -> list[sla.ClockEvent]:
    return [
        sla.ClockEvent(at=e["at"], seq=e["seq"], kind=e["kind"], data=e["data"])
        for e in history
        if e["kind"] in sla.CLOCK_KINDS
    ]


def clocks_for(
    policies: Policies, customer_id: str, history: Iterable[Mapping[str, Any]], now: datetime
) -> sla.TicketClocks:
    return sla.ticket_clocks(clock_events(history), policies.by_customer[customer_id], now)


def _ref(ref: sla.EventRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"kind": ref.kind, "seq": ref.seq, "at": ref.at.isoformat()}


def clock_json(c: sla.Clock) -> dict[str, Any]:
    return {
        "state": c.state,
        "elapsed_seconds": c.elapsed_seconds,
        "target_seconds": c.target_seconds,
        "remaining_seconds": c.remaining_seconds,
        "deadline": c.deadline.isoformat() if c.deadline else None,
        "stopped": c.stopped,
        "explanation": [
            {
                "kind": i.kind,
                "start": i.start.isoformat(),
                "end": i.end.isoformat(),
                "business_seconds": i.business_seconds,
                "priority": i.priority,
                "started_by": _ref(i.started_by),
                "ended_by": _ref(i.ended_by),
            }
            for i in c.intervals
        ],
    }


def ticket_sla_json(clocks: sla.TicketClocks) -> dict[str, Any]:
    return {
        "now": clocks.now.isoformat(),
        "priority": clocks.priority,
        "status": clocks.status,
        "reaction": clock_json(clocks.reaction),
        "resolution": clock_json(clocks.resolution),
    }


def _open_histories(conn: sa.Connection) -> Iterator[tuple[dict, list[dict]]]:
    rows = [
        dict(r)
        for r in conn.execute(
            sa.select(tickets).where(tickets.c.status != Status.CLOSED.value)
        ).mappings()
    ]
    if not rows:
        return
    by_ticket: dict[int, list[dict]] = {r["id"]: [] for r in rows}
    ids = list(by_ticket)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for ev in conn.execute(
            sa.select(ticket_events)
            .where(ticket_events.c.ticket_id.in_(chunk))
            .order_by(ticket_events.c.ticket_id, ticket_events.c.seq)
        ).mappings():
            by_ticket[ev["ticket_id"]].append(dict(ev))
    for r in rows:
        yield r, by_ticket[r["id"]]


_CLOCK_KIND_LIST = sorted(sla.CLOCK_KINDS)


def _open_clock_histories(
    conn: sa.Connection,
) -> tuple[list[sa.Row], dict[int, list[sla.ClockEvent]]]:
    """The collector's view of the open tickets: only the columns it reads, and only the
    events that move a clock (read in one query, straight into ``sla.ClockEvent``)."""
    rows = conn.execute(
        sa.select(
            tickets.c.id, tickets.c.customer_id, tickets.c.priority, tickets.c.status,
            tickets.c.origin,
        ).where(tickets.c.status != Status.CLOSED.value)
    ).all()  # fmt: skip
    by_ticket: dict[int, list[sla.ClockEvent]] = {r[0]: [] for r in rows}
    if not rows:
        return rows, by_ticket
    events = conn.execute(
        sa.select(
            ticket_events.c.ticket_id, ticket_events.c.at, ticket_events.c.seq,
            ticket_events.c.kind, ticket_events.c.data,
        )
        .select_from(ticket_events.join(tickets, tickets.c.id == ticket_events.c.ticket_id))
        .where(
            tickets.c.status != Status.CLOSED.value,
            ticket_events.c.kind.in_(_CLOCK_KIND_LIST),
        )
        .order_by(ticket_events.c.ticket_id, ticket_events.c.seq)
    )  # fmt: skip
    event = sla.ClockEvent
    for ticket_id, at, seq, kind, data in events:
        history = by_ticket.get(ticket_id)
        if history is not None:  # a ticket opened between the two reads waits a scrape
            history.append(event(at, seq, kind, data))
    return rows, by_ticket


@dataclass(frozen=True, slots=True)
class Due:
    ticket_id: int
    kind: str  # sla_warning | sla_breach
    clock: str
    at: datetime
    data: dict[str, Any]


def due_events(
    policies: Policies, row: Mapping[str, Any], history: list[dict], now: datetime
) -> list[Due]:
    """Warnings and breaches not yet in the ticket's history; each goes in once."""
    flags = set(filter(None, row["sla_flags"].split(",")))
    clocks = clocks_for(policies, row["customer_id"], history, now)
    share = policies.warning_share[row["customer_id"]]
    out = []
    for name in CLOCKS:
        c: sla.Clock = getattr(clocks, name)
        data = {
            "clock": name,
            "priority": clocks.priority,
            "elapsed_seconds": c.elapsed_seconds,
            "target_seconds": c.target_seconds,
        }
        if c.state == "breached" and f"{name}:breach" not in flags:
            at = min(now, c.deadline) if c.deadline else now
            out.append(Due(row["id"], "sla_breach", name, at, data))
        elif (
            c.state in ("running", "paused")
            and c.elapsed_seconds >= share * c.target_seconds
            and f"{name}:warning" not in flags
        ):
            out.append(Due(row["id"], "sla_warning", name, now, data))
    return out


def check_clocks(conn_read: sa.Connection, policies: Policies, now: datetime) -> list[Due]:
    due: list[Due] = []
    for row, history in _open_histories(conn_read):
        due.extend(due_events(policies, row, history, now))
    return due


def record_due(conn: sa.Connection, items: list[Due], now: datetime) -> int:
    written = 0
    for d in items:
        row = tk.load(conn, d.ticket_id)
        flag = f"{d.clock}:{'breach' if d.kind == 'sla_breach' else 'warning'}"
        if flag in row["sla_flags"].split(","):
            continue
        tk.record(conn, row, d.kind, d.at, SLA_ACTOR, d.data, now=now)
        written += 1
    return written


class SlaCollector(Collector):
    """Open tickets at risk or breached, and the smallest time to breach, computed at scrape
    time from the store and the injected clock. Labels: configured customers × P1..P4."""

    def __init__(self, cfg: Config, engine: sa.Engine, policies: Policies, clock: Any) -> None:
        self._cfg = cfg
        self._engine = engine
        self._policies = policies
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self._clock.now()
        customers = [c.id for c in self._cfg.customers]
        keys = [(c, p.value) for c in customers for p in Priority]
        at_risk = dict.fromkeys(keys, 0)
        breached = dict.fromkeys(keys, 0)
        to_breach: dict[tuple[str, str], float] = {}
        open_count: dict[tuple[str, str, str, str], int] = {}
        by_customer = self._policies.by_customer
        warning_share = self._policies.warning_share
        with self._engine.connect() as conn:
            rows, histories = _open_clock_histories(conn)
        for ticket_id, cust, priority, status, origin in rows:
            policy = by_customer.get(cust)
            if policy is None:
                continue
            okey = (cust, priority, status, origin)
            open_count[okey] = open_count.get(okey, 0) + 1
            history = histories[ticket_id]
            if not history:
                continue  # opened after the events were read: counted, clocks next scrape
            clocks = sla.ticket_clocks(history, policy, now)
            key = (cust, clocks.priority)
            share = warning_share[cust]
            running = [c for c in (clocks.reaction, clocks.resolution) if not c.stopped]
            if any(c.state == "breached" for c in running):
                breached[key] += 1
            elif any(c.elapsed_seconds >= share * c.target_seconds for c in running):
                at_risk[key] += 1
            for c in running:
                if c.state == "running":
                    to_breach[key] = min(to_breach.get(key, float("inf")), c.remaining_seconds)
        g_risk = GaugeMetricFamily(
            "slabridge_sla_tickets_at_risk",
            "Open tickets past the warning share of a target, not yet breached",
            labels=["customer", "priority"],
        )
        g_breach = GaugeMetricFamily(
            "slabridge_sla_tickets_breached",
            "Open tickets whose reaction or resolution target is breached",
            labels=["customer", "priority"],
        )
        g_next = GaugeMetricFamily(
            "slabridge_sla_time_to_breach_seconds",
            "Smallest business time left before a running clock breaches its target",
            labels=["customer", "priority"],
        )
        for key in keys:
            g_risk.add_metric(list(key), at_risk[key])
            g_breach.add_metric(list(key), breached[key])
        for key, value in sorted(to_breach.items()):
            g_next.add_metric(list(key), value)
        g_open = GaugeMetricFamily(
            "slabridge_tickets_open",
            "Open (not closed) tickets by customer, priority, status and origin",
            labels=["customer", "priority", "status", "origin"],
        )
        for okey, n in sorted(open_count.items()):
            g_open.add_metric(list(okey), n)
        yield from (g_risk, g_breach, g_next, g_open)
