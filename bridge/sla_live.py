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
from bridge.config import Config
from bridge.config.calendars import CalendarConfig, _expand_days
from bridge.live_clocks import OpenClocks
from bridge.store.schema import ticket_events, tickets
from sla.fold import sla_flag, sla_flags

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


def histories(
    conn: sa.Connection, ids: list[int]
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """These tickets' rows and whole histories, a chunk of tickets per query."""
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(sa.select(tickets).where(tickets.c.id.in_(chunk))).mappings()
        by_ticket: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {
            r["id"]: (dict(r), []) for r in rows
        }
        for ev in conn.execute(
            sa.select(ticket_events)
            .where(ticket_events.c.ticket_id.in_(chunk))
            .order_by(ticket_events.c.ticket_id, ticket_events.c.seq)
        ).mappings():
            by_ticket[ev["ticket_id"]][1].append(dict(ev))
        yield from by_ticket.values()


@dataclass(frozen=True, slots=True)
class Due:
    ticket_id: int
    kind: str  # sla_warning | sla_breach
    clock: str
    at: datetime
    data: dict[str, Any]


def _due_kind(
    name: str, state: str, elapsed: int, target: int, flags: set[str], share: float
) -> str | None:
    """The SLA event a clock calls for now, if its history does not hold it yet."""
    if state == "breached":
        kind = "sla_breach"
    elif state in ("running", "paused") and elapsed >= share * target:
        kind = "sla_warning"
    else:
        return None
    return None if sla_flag(name, kind) in flags else kind


def due_events(
    policies: Policies, row: Mapping[str, Any], history: list[dict], now: datetime
) -> list[Due]:
    """Warnings and breaches not yet in the ticket's history; each goes in once."""
    flags = sla_flags(row["sla_flags"])
    clocks = clocks_for(policies, row["customer_id"], history, now)
    share = policies.warning_share[row["customer_id"]]
    out = []
    for name in CLOCKS:
        c: sla.Clock = getattr(clocks, name)
        kind = _due_kind(name, c.state, c.elapsed_seconds, c.target_seconds, flags, share)
        if kind is None:
            continue
        data = {
            "clock": name,
            "priority": clocks.priority,
            "elapsed_seconds": c.elapsed_seconds,
            "target_seconds": c.target_seconds,
        }
        at = (min(now, c.deadline) if c.deadline else now) if kind == "sla_breach" else now
        out.append(Due(row["id"], kind, name, at, data))
    return out


def check_clocks(
    conn_read: sa.Connection, policies: Policies, now: datetime, kept: OpenClocks | None = None
) -> list[Due]:
    """Every warning and breach due now. The kept clocks (`live_clocks`, equal to a replay)
    say which open tickets may have one due; only those are replayed in full, by
    `due_events`, so a check costs what changed and what is due, not every open history.
    Without `kept`, everything is read afresh."""
    kept = kept if kept is not None else OpenClocks()
    maybe: list[int] = []
    for ticket_id, customer, _prio, _status, _origin, _version, flags in kept.refresh(conn_read):
        policy = policies.by_customer.get(customer)
        if policy is None:
            continue
        try:
            f = kept.figures(ticket_id, policy, now)
        except ValueError as err:  # a log sla/ refuses: that ticket, not the whole check
            log.warning("SLA clocks of ticket %s skipped: %s", ticket_id, err)
            continue
        if f is None:
            continue
        share, seen = policies.warning_share[customer], sla_flags(flags)
        if any(
            _due_kind(name, c.state, c.elapsed, c.target, seen, share)
            for name, c in (("reaction", f.reaction), ("resolution", f.resolution))
        ):
            maybe.append(ticket_id)
    due: list[Due] = []
    for row, history in histories(conn_read, maybe):
        due.extend(due_events(policies, row, history, now))
    return due
