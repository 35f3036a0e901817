"""The desk's queue: open tickets, their SLA countdowns, views with counts, filters and sorts.

Countdowns come from the SLA engine (bridge.sla_live.clocks_for) and are cached per ticket
version: a countdown carries itself forward in time (bridge.web.countdown), so only tickets
that changed since the last request are replayed.
"""

from __future__ import annotations

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
class Item:
    row: dict[str, Any]
    reaction: Countdown
    resolution: Countdown

    def counting(self) -> list[Countdown]:
        return [c for c in (self.reaction, self.resolution) if c.windows or c.state == "breached"]


class ClockCache:
    """Countdowns per (ticket, version); a ticket that did not change is not replayed."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[int, Countdown, Countdown]] = {}

    def fill(
        self, conn: sa.Connection, rows: list[dict[str, Any]], policies: Policies, now: datetime
    ) -> list[Item]:
        stale = [r for r in rows if self._by_id.get(r["id"], (None,))[0] != r["version"]]
        histories = _clock_histories(conn, [r["id"] for r in stale])
        for r in stale:
            policy = policies.by_customer.get(r["customer_id"])
            history = histories.get(r["id"])
            if policy is None or not history:
                continue
            clocks = sla.ticket_clocks(history, policy, now)
            self._by_id[r["id"]] = (
                r["version"],
                countdown(clocks.reaction, policy, clocks.priority, now),
                countdown(clocks.resolution, policy, clocks.priority, now),
            )
        if len(self._by_id) > 2 * len(rows) + 1000:
            keep = {r["id"] for r in rows}
            self._by_id = {k: v for k, v in self._by_id.items() if k in keep}
        out = []
        for r in rows:
            cached = self._by_id.get(r["id"])
            if cached is not None and cached[0] == r["version"]:
                out.append(Item(r, cached[1], cached[2]))
        return out


def _clock_histories(conn: sa.Connection, ids: list[int]) -> dict[int, list[sla.ClockEvent]]:
    out: dict[int, list[sla.ClockEvent]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            sa.select(ticket_events.c.ticket_id, ticket_events.c.at, ticket_events.c.seq,
                      ticket_events.c.kind, ticket_events.c.data)
            .where(ticket_events.c.ticket_id.in_(ids[start:start + 500]),
                   ticket_events.c.kind.in_(sorted(sla.CLOCK_KINDS)))
            .order_by(ticket_events.c.ticket_id, ticket_events.c.seq)
        )
        for ticket_id, at, seq, kind, data in rows:
            out[ticket_id].append(sla.ClockEvent(at, seq, kind, data))
    return out


_COLUMNS = [tickets.c[n] for n in (
    "id", "customer_id", "device_id", "device_ip", "title", "status", "priority", "line",
    "assignee", "origin", "kind", "parent_id", "entered_at", "updated_at", "version",
)]


def open_rows(conn: sa.Connection, query: QueueQuery) -> list[dict[str, Any]]:
    stmt = sa.select(*_COLUMNS).where(tickets.c.status != Status.CLOSED.value)
    for name, value in query.filters.items():
        stmt = stmt.where(FILTERS[name] == value)
    if query.q:
        escaped = query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(tickets.c.title.ilike(f"%{escaped}%", escape="\\"))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def view_tests(me: str, my_line: str | None, now: int) -> dict[str, Callable[[Item], bool]]:
    def soon(i: Item) -> bool:
        return any(0 <= c.remaining_at(now) <= SOON and c.state_at(now) == "running"
                   for c in i.counting())

    def breached(i: Item) -> bool:
        return any(c.state_at(now) == "breached" for c in (i.reaction, i.resolution))

    return {
        "unassigned": lambda i: not i.row["assignee"] and i.row["kind"] != "major",
        "mine": lambda i: i.row["assignee"] == me,
        "line": lambda i: i.row["line"] == my_line,
        "waiting": lambda i: i.row["status"] == Status.WAITING.value,
        "soon": soon,
        "breached": breached,
        "majors": lambda i: i.row["kind"] == "major",
        "all": lambda i: True,
    }


def breach_key(item: Item, now: int) -> tuple[int, int, int]:
    """Soonest deadline first (overdue ones first of all); paused clocks after the running
    ones by remaining time; tickets with both clocks stopped last."""
    counting = [c.remaining_at(now) for c in item.counting()]
    if counting:
        return (0, min(counting), item.row["id"])
    paused = [c.remaining for c in (item.reaction, item.resolution) if c.state == "paused"]
    if paused:
        return (1, min(paused), item.row["id"])
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


def build(items: list[Item], query: QueueQuery, me: str, my_line: str | None,
          now: datetime) -> QueuePage:
    t = to_epoch(now)
    tests = view_tests(me, my_line, t)
    counts = {name: sum(1 for i in items if test(i)) for name, test in tests.items()}
    chosen = [i for i in items if tests[query.view](i)]
    if query.sort == "breach":
        chosen.sort(key=lambda i: breach_key(i, t))
    else:
        chosen.sort(key=order_key)
    pages = max(1, -(-len(chosen) // PAGE_SIZE))
    start = (query.page - 1) * PAGE_SIZE
    return QueuePage(chosen[start:start + PAGE_SIZE], counts, len(chosen), pages)
