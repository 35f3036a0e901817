"""/metrics: slabridge_node_up{node,site} and slabridge_node_probe_targets{node,site}, read
from the store at scrape time, so any node's /metrics shows every node; and this node's
slabridge_store_transaction_retries_total."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bridge.nodes import registry
from bridge.service import Services


class NodeCollector(Collector):
    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        svc = self._services
        up = GaugeMetricFamily(
            "slabridge_node_up",
            "1 while the node heartbeats (within nodes.down_after), else 0",
            labels=["node", "site"],
        )
        held = GaugeMetricFamily(
            "slabridge_node_probe_targets",
            "Probe targets the node holds a lease on",
            labels=["node", "site"],
        )
        with svc.engines.read.connect() as conn:
            rows = registry.listing(conn, svc.now(), svc.cfg.nodes.down_after)
        for r in rows:
            up.add_metric([r["name"], r["site"]], 1 if r["up"] else 0)
            held.add_metric([r["name"], r["site"]], r["probe_targets"])
        yield up
        yield held
        yield CounterMetricFamily(
            "slabridge_store_transaction_retries",
            "Write transactions of this node that PostgreSQL aborted (a deadlock with another "
            "node) and that were run again",
            value=svc.writer.retries,
        )
