"""The live SLA gauges, folding only what changed since the last scrape.

Replaying every open ticket's history at every scrape held the interpreter long enough to
double webhook p99 while Prometheus scraped back to back (bench/scrape.py). Now each open
ticket keeps its clock-moving events and its clocks *settled* at its last event: elapsed
business seconds of each clock, whether each still counts, the priority and its calendar. A
scrape reads the open tickets' ids and versions (one narrow query), fetches the clock events of
the tickets whose version moved (``tickets.version`` is the ``seq`` of a ticket's last event),
re-settles only those, and for the others adds the business time from their last event to now
when a clock still counts. The result equals ``sla.ticket_clocks`` over the whole history
(tests/bridge/test_sla_live.py holds them equal on random logs).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

import sla
from bridge.config import Config
from bridge.lifecycle import Priority
from bridge.metrics.collectors import OPEN_STATUSES
from bridge.sla_live import Policies
from bridge.store.schema import ticket_events, tickets
from sla.instants import to_epoch

log = logging.getLogger(__name__)
_CLOCK_KIND_LIST = sorted(sla.CLOCK_KINDS)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ClockFigure:
    """What the gauges read of one clock at a moment."""

    state: str
    elapsed: int
    target: int
    stopped: bool

    @property
    def remaining(self) -> int:
        return self.target - self.elapsed


@dataclass(frozen=True, slots=True)
class Figures:
    priority: str
    reaction: ClockFigure
    resolution: ClockFigure


def figures_of(clocks: sla.TicketClocks) -> Figures:
    """The gauges' view of a full replay (``sla.ticket_clocks``)."""

    def one(c: sla.Clock) -> ClockFigure:
        return ClockFigure(c.state, c.elapsed_seconds, c.target_seconds, c.stopped)

    return Figures(clocks.priority, one(clocks.reaction), one(clocks.resolution))


@dataclass(frozen=True, slots=True)
class Settled:
    """Both clocks at a ticket's last event; what follows only adds counted time."""

    at: datetime
    epoch: int
    priority: str
    calendar: sla.Calendar
    reaction: tuple[int, int, str]  # elapsed, target, kind after the last event
    resolution: tuple[int, int, str]

    @classmethod
    def of(cls, events: Sequence[sla.ClockEvent], policy: sla.SlaPolicy) -> Settled:
        last = max(e.at for e in events)
        c = sla.ticket_clocks(events, policy, last)
        if c.resolution.stopped:
            kind = "stopped"
        elif c.status in policy.pause_statuses:
            kind = "paused"
        else:
            kind = "counted"
        return cls(
            at=last,
            epoch=to_epoch(last),
            priority=c.priority,
            calendar=policy.for_priority(c.priority).calendar,
            reaction=(
                c.reaction.elapsed_seconds,
                c.reaction.target_seconds,
                "stopped" if c.reaction.stopped else "counted",
            ),
            resolution=(c.resolution.elapsed_seconds, c.resolution.target_seconds, kind),
        )

    def at_now(self, now: datetime) -> Figures:
        """The figures at ``now`` (not before the last event)."""
        tail: int | None = None
        out = []
        for elapsed, target, kind in (self.reaction, self.resolution):
            if kind == "counted":
                if tail is None:
                    tail = self.calendar.business_between(self.epoch, to_epoch(now))
                elapsed += tail
            if elapsed > target:
                state = "breached"
            elif kind == "stopped":
                state = "met"
            elif kind == "paused":
                state = "paused"
            else:
                state = "running"
            out.append(ClockFigure(state, elapsed, target, kind == "stopped"))
        return Figures(self.priority, out[0], out[1])


class KeptTicket:
    """One open ticket's clock events and their settled clocks, between scrapes."""

    __slots__ = ("events", "settled", "version")

    def __init__(self) -> None:
        self.version = 0
        self.events: list[sla.ClockEvent] = []
        self.settled: Settled | None = None

    def add(self, events: Iterable[sla.ClockEvent], version: int) -> None:
        known = {e.seq for e in self.events}
        new = [e for e in events if e.seq not in known]
        self.version = max(self.version, version)
        if new:
            self.events.extend(new)
            self.events.sort(key=lambda e: (e.at, e.seq))
            self.settled = None

    def figures(self, policy: sla.SlaPolicy, now: datetime) -> Figures | None:
        """None without events yet; raises ValueError for a log sla/ refuses."""
        if not self.events:
            return None
        if self.events[-1].at > now:  # a later event (another node's clock): replay to now
            return figures_of(sla.ticket_clocks(self.events, policy, now))
        if self.settled is None:
            self.settled = Settled.of(self.events, policy)
        return self.settled.at_now(now)


class SlaCollector(Collector):
    """Open tickets at risk or breached, and the smallest time to breach, at scrape time from
    the store and the injected clock. Labels: configured customers × P1..P4."""

    def __init__(self, cfg: Config, engine: sa.Engine, policies: Policies, clock: Any) -> None:
        self._customers = [c.id for c in cfg.customers]
        self._engine = engine
        self._policies = policies
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: dict[int, KeptTicket] = {}
        self.refetched = 0  # tickets whose events a scrape read (for tests and the bench)

    def _refresh(self, conn: sa.Connection) -> list[sa.Row]:
        rows = conn.execute(
            sa.select(
                tickets.c.id, tickets.c.customer_id, tickets.c.priority, tickets.c.status,
                tickets.c.origin, tickets.c.version,
            ).where(tickets.c.status.in_(OPEN_STATUSES))
        ).all()  # fmt: skip
        old = self._kept
        kept: dict[int, KeptTicket] = {}
        moved: dict[int, int] = {}  # ticket → version already kept
        for r in rows:
            k = old.get(r[0]) or KeptTicket()
            kept[r[0]] = k
            if k.version != r[5]:
                moved[r[0]] = k.version
        self._kept = kept  # closed tickets are forgotten
        versions = {r[0]: r[5] for r in rows}
        ids = sorted(moved)
        self.refetched += len(ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            since = min(moved[t] for t in chunk)
            found: dict[int, list[sla.ClockEvent]] = {t: [] for t in chunk}
            for ticket_id, at, seq, kind, data in conn.execute(
                sa.select(
                    ticket_events.c.ticket_id, ticket_events.c.at, ticket_events.c.seq,
                    ticket_events.c.kind, ticket_events.c.data,
                ).where(
                    ticket_events.c.ticket_id.in_(chunk),
                    ticket_events.c.seq > since,
                    ticket_events.c.kind.in_(_CLOCK_KIND_LIST),
                )
            ):  # fmt: skip
                if seq > moved[ticket_id]:
                    found[ticket_id].append(sla.ClockEvent(at, seq, kind, data))
            for t, events in found.items():
                kept[t].add(events, versions[t])
        return rows

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self._clock.now()
        keys = [(c, p.value) for c in self._customers for p in Priority]
        at_risk = dict.fromkeys(keys, 0)
        breached = dict.fromkeys(keys, 0)
        to_breach: dict[tuple[str, str], float] = {}
        open_count: dict[tuple[str, str, str, str], int] = {}
        by_customer = self._policies.by_customer
        warning_share = self._policies.warning_share
        with self._lock:
            with self._engine.connect() as conn:
                rows = self._refresh(conn)
            for ticket_id, cust, priority, status, origin, _version in rows:
                policy = by_customer.get(cust)
                if policy is None:
                    continue
                okey = (cust, priority, status, origin)
                open_count[okey] = open_count.get(okey, 0) + 1
                try:
                    f = self._kept[ticket_id].figures(policy, now)
                except ValueError as err:  # a log sla/ refuses: that ticket, not the scrape
                    log.warning("SLA clocks of ticket %s skipped: %s", ticket_id, err)
                    continue
                if f is None:
                    continue
                key = (cust, f.priority)
                share = warning_share[cust]
                running = [c for c in (f.reaction, f.resolution) if not c.stopped]
                if any(c.state == "breached" for c in running):
                    breached[key] += 1
                elif any(c.elapsed >= share * c.target for c in running):
                    at_risk[key] += 1
                for c in running:
                    if c.state == "running":
                        to_breach[key] = min(to_breach.get(key, float("inf")), c.remaining)
        yield from _families(keys, at_risk, breached, to_breach, open_count)


def _families(
    keys: list[tuple[str, str]],
    at_risk: dict[tuple[str, str], int],
    breached: dict[tuple[str, str], int],
    to_breach: dict[tuple[str, str], float],
    open_count: dict[tuple[str, str, str, str], int],
) -> Iterator[GaugeMetricFamily]:
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
