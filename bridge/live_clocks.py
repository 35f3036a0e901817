"""Open tickets' SLA clocks kept between looks, so a look costs what changed since the last one.

Replaying every open ticket's history at every look held the interpreter long enough to double
webhook p99 while Prometheus scraped back to back (bench/scrape.py), and the SLA check did the
same every 30 s. Now each open ticket keeps its clock-moving events and its clocks *settled* at
its last event: elapsed business seconds of each clock, whether each still counts, the priority
and its calendar. A look reads the open tickets' ids and versions (one narrow query), fetches
the clock events of the tickets whose version moved (``tickets.version`` is the ``seq`` of a
ticket's last event), re-settles only those, and for the others adds the business time from
their last event to now when a clock still counts. The result equals ``sla.ticket_clocks`` over
the whole history (tests/bridge/test_sla_live.py holds them equal on random logs).

Used by the live SLA gauges (bridge.metrics.sla_clocks) and the SLA check (bridge.sla_live).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

import sla
from bridge.lifecycle import OPEN_STATUSES
from bridge.store.schema import ticket_events, tickets
from sla.instants import to_epoch

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


class OpenClocks:
    """Every open ticket's `KeptTicket`, brought up to date by `refresh`."""

    def __init__(self) -> None:
        self._kept: dict[int, KeptTicket] = {}
        self.refetched = 0  # tickets whose events a look read (for tests and the bench)

    def refresh(self, conn: sa.Connection) -> list[sa.Row]:
        """The open tickets (id, customer_id, priority, status, origin, version, sla_flags),
        their kept events brought up to their version; closed tickets are forgotten."""
        rows = conn.execute(
            sa.select(
                tickets.c.id, tickets.c.customer_id, tickets.c.priority, tickets.c.status,
                tickets.c.origin, tickets.c.version, tickets.c.sla_flags,
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
        self._kept = kept
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

    def figures(self, ticket_id: int, policy: sla.SlaPolicy, now: datetime) -> Figures | None:
        """A refreshed ticket's figures at `now`; see `KeptTicket.figures`."""
        return self._kept[ticket_id].figures(policy, now)
