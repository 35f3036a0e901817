"""Live SLA clocks in the service: config → sla/ policies, event log → clocks and warnings.

sla/ is pure; this module feeds it what the store holds and "now" from the injected clock.
The live SLA gauges on /metrics are bridge.metrics.sla_clocks.SlaCollector.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

import sla
from bridge import tickets as tk
from bridge.config import Config
from bridge.config.calendars import CalendarConfig, _expand_days
from bridge.lifecycle import Status
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
