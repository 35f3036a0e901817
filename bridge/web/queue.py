"""The desk's queue: open tickets, their SLA countdowns, views with counts, filters and sorts.

Countdowns come from the SLA engine (sla.ticket_clocks, as bridge.sla_live uses it) and are
cached per ticket version: a countdown carries itself forward in time
(bridge.web.countdown), so only tickets that changed since the last request are replayed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

import sla
from bridge.lifecycle import Line, Origin, Priority, Status
from bridge.sla_live import Policies
from bridge.store.schema import ticket_events, tickets
from bridge.web.countdown import Countdown, countdown
from sla.instants import to_epoch

PAGE_SIZE = 50
SOON = 3600

VIEWS: dict[str, str] = {
    "unassigned": "Unassigned",
    "mine": "Mine",
    "line": "My line",
    "waiting": "Waiting on customer",
    "soon": "Breach within 1 h",
    "breached": "Breached",
    "majors": "Major incidents",
    "all": "All open",
}
SORTS = {"breach": "time to breach", "order": "priority, then oldest"}
FILTERS: dict[str, Any] = {
    "customer": tickets.c.customer_id,
    "device": tickets.c.device_id,
    "priority": tickets.c.priority,
    "status": tickets.c.status,
    "line": tickets.c.line,
    "origin": tickets.c.origin,
    "assignee": tickets.c.assignee,
}
_CHOICES: dict[str, list[str]] = {
    "priority": [p.value for p in Priority],
    "status": [s.value for s in Status if s != Status.CLOSED],
    "line": [v.value for v in Line],
    "origin": [o.value for o in Origin],
}
_PRIORITY_RANK = {p.value: n for n, p in enumerate(Priority)}


class BadQuery(ValueError):
    """A queue URL naming something that does not exist; the message says what."""


@dataclass(frozen=True)
class QueueQuery:
    view: str = "unassigned"
    sort: str = "breach"
    page: int = 1
    q: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> QueueQuery:
        view = query.get("view") or "unassigned"
        if view not in VIEWS:
            raise BadQuery(f"no view '{view}' (views: {', '.join(VIEWS)})")
        sort = query.get("sort") or "breach"
        if sort not in SORTS:
            raise BadQuery(f"no sort '{sort}' (sorts: {', '.join(SORTS)})")
        try:
            page = int(query.get("page") or 1)
        except ValueError:
            raise BadQuery("page must be a whole number") from None
        if not 1 <= page <= 100000:
            raise BadQuery("page must be between 1 and 100000")
        filters = {k: query[k] for k in FILTERS if query.get(k)}
        for name, value in filters.items():
            if name in _CHOICES and value not in _CHOICES[name]:
                raise BadQuery(f"no {name} '{value}' ({', '.join(_CHOICES[name])})")
        return cls(view, sort, page, (query.get("q") or "").strip()[:200], filters)

    def url(self, **change: Any) -> str:
        """This queue's URL with some parts changed (views and filters are pasteable)."""
        from urllib.parse import urlencode

        target = replace(self, **{k: v for k, v in change.items() if k != "filters"})
        params = {"view": target.view, **dict(change.get("filters", self.filters))}
        if target.sort != "breach":
            params["sort"] = target.sort
        if target.q:
            params["q"] = target.q
        if target.page != 1:
            params["page"] = str(target.page)
        return "/desk?" + urlencode(params)


@dataclass(frozen=True, slots=True)
class Entry:
    """One open ticket as cached: its row and both countdowns, for one version."""

    row: dict[str, Any]
    reaction: Countdown
    resolution: Countdown


@dataclass(frozen=True, slots=True)
class Item:
    """An entry seen at one instant: what views, sorts and pages read."""

    row: dict[str, Any]
    reaction: Countdown
    resolution: Countdown
    states: tuple[str, str]
    soonest: int | None  # least remaining business seconds of a counting clock
    paused: int | None  # least remaining of a paused clock

    @classmethod
    def at(cls, e: Entry, t: int) -> Item:
        r, s = e.reaction, e.resolution
        r_left, s_left = r.remaining_at(t), s.remaining_at(t)
        counting = [left for c, left in ((r, r_left), (s, s_left))
                    if c.windows or c.state == "breached"]
        paused = [c.remaining for c in (r, s) if c.state == "paused"]
        return cls(e.row, r, s, (r.state_at(t, r_left), s.state_at(t, s_left)),
                   min(counting) if counting else None, min(paused) if paused else None)


_COLUMNS = [tickets.c[n] for n in (
    "id", "customer_id", "device_id", "device_ip", "title", "status", "priority", "line",
    "assignee", "origin", "kind", "parent_id", "entered_at", "updated_at", "version",
)]
_FILTER_KEYS = {"customer": "customer_id", "device": "device_id"}


class QueueCache:
    """Open tickets with their countdowns, per (ticket, version). Each request reads only the
    ids and versions of the open tickets; rows and clocks are read and replayed again only
    for tickets that changed (countdowns carry themselves forward: bridge.web.countdown)."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[int, Entry]] = {}
        self._lock = threading.Lock()  # requests refresh from reader threads
        self._generation = 0  # bumped whenever an entry comes, changes or goes
        self._seen: tuple[int, int, list[Item]] | None = None

    def refresh(self, conn: sa.Connection, policies: Policies, now: datetime) -> list[Entry]:
        with self._lock:
            return self._refresh(conn, policies, now)

    def items(self, conn: sa.Connection, policies: Policies, now: datetime) -> list[Item]:
        """Every open ticket seen at `now` (whole seconds); requests within one second and
        without a change in between share the same list."""
        t = to_epoch(now)
        with self._lock:
            entries = self._refresh(conn, policies, now)
            if self._seen is None or self._seen[:2] != (self._generation, t):
                self._seen = (self._generation, t, [Item.at(e, t) for e in entries])
            return self._seen[2]

    def _refresh(self, conn: sa.Connection, policies: Policies, now: datetime) -> list[Entry]:
        versions = dict(conn.execute(
            sa.select(tickets.c.id, tickets.c.version)
            .where(tickets.c.status != Status.CLOSED.value)
        ).all())
        stale = [i for i, v in versions.items() if self._by_id.get(i, (None,))[0] != v]
        for start in range(0, len(stale), 500):
            chunk = stale[start:start + 500]
            rows = conn.execute(sa.select(*_COLUMNS).where(tickets.c.id.in_(chunk))).mappings()
            histories = _clock_histories(conn, chunk)
            for r in rows:
                policy = policies.by_customer.get(r["customer_id"])
                history = histories.get(r["id"])
                if policy is None or not history or r["status"] == Status.CLOSED.value:
                    continue
                clocks = sla.ticket_clocks(history, policy, now)
                self._by_id[r["id"]] = (r["version"], Entry(
                    dict(r),
                    countdown(clocks.reaction, policy, clocks.priority, now),
                    countdown(clocks.resolution, policy, clocks.priority, now),
                ))
        gone = set(self._by_id) - set(versions)
        for ticket_id in gone:
            del self._by_id[ticket_id]
        if stale or gone:
            self._generation += 1
        return [e for v, e in self._by_id.values() if versions.get(e.row["id"]) == v]


def _clock_histories(conn: sa.Connection, ids: list[int]) -> dict[int, list[sla.ClockEvent]]:
    out: dict[int, list[sla.ClockEvent]] = {i: [] for i in ids}
    rows = conn.execute(
        sa.select(ticket_events.c.ticket_id, ticket_events.c.at, ticket_events.c.seq,
                  ticket_events.c.kind, ticket_events.c.data)
        .where(ticket_events.c.ticket_id.in_(ids),
               ticket_events.c.kind.in_(sorted(sla.CLOCK_KINDS)))
        .order_by(ticket_events.c.ticket_id, ticket_events.c.seq)
    )
    for ticket_id, at, seq, kind, data in rows:
        out[ticket_id].append(sla.ClockEvent(at, seq, kind, data))
    return out


def matching(items: list[Item], query: QueueQuery) -> list[Item]:
    """The items passing the query's filters and title search (case-insensitive)."""
    wanted = [(_FILTER_KEYS.get(k, k), v) for k, v in query.filters.items()]
    if not wanted and not query.q:
        return items
    text = query.q.casefold()
    return [i for i in items
            if all(i.row[col] == v for col, v in wanted)
            and (not text or text in i.row["title"].casefold())]


def view_tests(me: str, my_line: str | None) -> dict[str, Callable[[Item], bool]]:
    return {
        "unassigned": lambda i: not i.row["assignee"] and i.row["kind"] != "major",
        "mine": lambda i: i.row["assignee"] == me,
        "line": lambda i: i.row["line"] == my_line,
        "waiting": lambda i: i.row["status"] == Status.WAITING.value,
        "soon": lambda i: (i.soonest is not None and 0 <= i.soonest <= SOON
                           and "breached" not in i.states),
        "breached": lambda i: "breached" in i.states,
        "majors": lambda i: i.row["kind"] == "major",
        "all": lambda i: True,
    }


def breach_key(item: Item) -> tuple[int, int, int]:
    """Least time left first (overdue ones first of all); paused clocks after the running
    ones by remaining time; tickets with both clocks stopped last."""
    if item.soonest is not None:
        return (0, item.soonest, item.row["id"])
    if item.paused is not None:
        return (1, item.paused, item.row["id"])
    return (2, 0, item.row["id"])


def order_key(item: Item) -> tuple[int, int, datetime, int]:
    r = item.row
    return (_PRIORITY_RANK.get(r["priority"], 9), 0 if r["kind"] == "major" else 1,
            r["entered_at"], r["id"])


@dataclass(frozen=True)
class QueuePage:
    items: list[Item]
    counts: dict[str, int]
    total: int
    pages: int




def build(everything: list[Item], query: QueueQuery, me: str, my_line: str | None) -> QueuePage:
    items = matching(everything, query)
    tests = view_tests(me, my_line)
    counts = {name: sum(1 for i in items if test(i)) for name, test in tests.items()}
    chosen = [i for i in items if tests[query.view](i)]
    chosen.sort(key=breach_key if query.sort == "breach" else order_key)
    pages = max(1, -(-len(chosen) // PAGE_SIZE))
    start = (query.page - 1) * PAGE_SIZE
    return QueuePage(chosen[start:start + PAGE_SIZE], counts, len(chosen), pages)
