"""The live SLA gauges, folding only what changed since the last scrape (bridge.live_clocks)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bridge.config import Config
from bridge.lifecycle import Priority
from bridge.live_clocks import OpenClocks
from bridge.sla_live import Policies

log = logging.getLogger(__name__)


class SlaCollector(Collector):
    """Open tickets at risk or breached, and the smallest time to breach, at scrape time from
    the store and the injected clock. Labels: configured customers × P1..P4."""

    def __init__(self, cfg: Config, engine: sa.Engine, policies: Policies, clock: Any) -> None:
        self._customers = [c.id for c in cfg.customers]
        self._engine = engine
        self._policies = policies
        self._clock = clock
        self._lock = threading.Lock()
        self.clocks = OpenClocks()

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
                rows = self.clocks.refresh(conn)
            for ticket_id, cust, priority, status, origin, _version, _flags in rows:
                policy = by_customer.get(cust)
                if policy is None:
                    continue
                okey = (cust, priority, status, origin)
                open_count[okey] = open_count.get(okey, 0) + 1
                try:
                    f = self.clocks.figures(ticket_id, policy, now)
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
