"""Tickets ever opened and closed, by customer and origin, counted in the store incrementally.

Counted in the store rather than incremented in process: the store is the truth, the figures
survive restarts and include tickets opened by any node. Tickets are never deleted and closed
is final, so both only grow (Prometheus sees counters).

A scrape does not count the whole table: tickets up to a settled id are counted once and kept;
each scrape reads, in one statement (one snapshot), the tickets above that id and the open ones
(``closed = opened - open``). The settled id moves to the highest id a scrape saw ``settle``
seconds ago or more, so a transaction that took an id earlier but committed later (several
writers on PostgreSQL) is still counted when it commits, as long as it commits within
``settle`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from bridge.config import Config
from bridge.lifecycle import OPEN_STATUSES, Origin
from bridge.store.schema import tickets

_ORIGINS = frozenset(o.value for o in Origin)
#: every status but closed, as an IN list (an index can serve it, ``!=`` it cannot)

Key = tuple[str, str]  # (customer, origin)


class TicketTotalsCollector(Collector):
    """``slabridge_tickets_opened`` and ``slabridge_tickets_closed`` by customer and origin."""

    def __init__(
        self,
        cfg: Config,
        engine: sa.Engine,
        *,
        settle: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._customers = [c.id for c in cfg.customers]
        self._engine = engine
        self._settle = settle
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._settled_id = 0  # tickets with id <= this are in _base
        self._base: dict[Key, int] = {}
        self._candidate: tuple[int, float] | None = None  # (max id seen, when)

    def counts(self) -> dict[Key, tuple[int, int]]:
        """(customer, origin) → (opened, closed), for configured customers and known origins."""
        with self._lock, self._engine.connect() as conn:
            self._advance(conn)
            w = self._settled_id
            is_new = tickets.c.id > w
            is_open = tickets.c.status.in_(OPEN_STATUSES)
            rows = conn.execute(
                sa.select(
                    tickets.c.customer_id,
                    tickets.c.origin,
                    sa.func.sum(sa.case((is_new, 1), else_=0)),
                    sa.func.sum(sa.case((is_open, 1), else_=0)),
                    sa.func.max(tickets.c.id),
                )
                .where(sa.or_(is_new, is_open))
                .group_by(tickets.c.customer_id, tickets.c.origin)
            ).all()
            opened = dict(self._base)
            open_now: dict[Key, int] = {}
            top = w
            for customer, origin, n_new, n_open, max_id in rows:
                key = (customer, origin)
                opened[key] = opened.get(key, 0) + int(n_new or 0)
                open_now[key] = int(n_open or 0)
                top = max(top, int(max_id or 0))
            if self._candidate is None and top > w:
                self._candidate = (top, self._monotonic())
        known = set(self._customers)
        out = {(c, o): (0, 0) for c in self._customers for o in sorted(_ORIGINS)}
        for key, n in opened.items():
            if key[0] in known and key[1] in _ORIGINS:
                out[key] = (n, n - open_now.get(key, 0))
        return out

    def _advance(self, conn: sa.Connection) -> None:
        """Fold the tickets up to the candidate id into the kept counts once it has settled."""
        cand = self._candidate
        if cand is None or self._monotonic() - cand[1] < self._settle:
            return
        top = cand[0]
        if top > self._settled_id:
            for customer, origin, n in conn.execute(
                sa.select(tickets.c.customer_id, tickets.c.origin, sa.func.count())
                .where(tickets.c.id > self._settled_id, tickets.c.id <= top)
                .group_by(tickets.c.customer_id, tickets.c.origin)
            ):
                key = (customer, origin)
                self._base[key] = self._base.get(key, 0) + int(n)
            self._settled_id = top
        self._candidate = None

    def collect(self) -> Iterator[CounterMetricFamily]:
        opened = CounterMetricFamily(
            "slabridge_tickets_opened",
            "Tickets opened, by customer and origin (counted in the store)",
            labels=["customer", "origin"],
        )
        done = CounterMetricFamily(
            "slabridge_tickets_closed",
            "Tickets closed, by customer and origin (counted in the store)",
            labels=["customer", "origin"],
        )
        for key, (total, n_closed) in self.counts().items():
            opened.add_metric(list(key), total)
            done.add_metric(list(key), n_closed)
        yield opened
        yield done
