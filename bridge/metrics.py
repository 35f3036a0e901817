"""Prometheus metrics on an explicit registry made in the app factory (never the global one).

Label values come only from the config (source names, customer ids, device ids) or from fixed
vocabularies (outcomes, priorities, statuses); nothing a sender writes becomes a label.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from bridge.config import Config

OUTCOMES = ("accepted", "duplicate", "unrouted", "rejected-auth", "rejected-invalid")
UNKNOWN_SOURCE = "_unknown"


class Metrics:
    def __init__(self, cfg: Config, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.notifications = Counter(
            "slabridge_notifications_received_total",
            "Webhook notifications received, by source and outcome",
            ["source", "outcome"],
            registry=r,
        )
        self.alerts = Counter(
            "slabridge_alerts_received_total",
            "Alerts received (webhooks and probes), by source and outcome",
            ["source", "outcome"],
            registry=r,
        )
        self.ingest_latency = Histogram(
            "slabridge_ingest_latency_seconds",
            "Time from receiving a notification to answering it (commit included)",
            ["source"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.store_errors = Counter(
            "slabridge_store_errors_total", "Commits that failed (senders got 503)", registry=r
        )
        self.truncated = Counter(
            "slabridge_alerts_truncated_total",
            "Alerts a sender left out of a notification (Alertmanager truncatedAlerts)",
            ["source"],
            registry=r,
        )
        self.tickets_opened = Counter(
            "slabridge_tickets_opened_total", "Tickets opened, by origin", ["origin"], registry=r
        )
        sources = [s.name for s in cfg.sources] + [UNKNOWN_SOURCE]
        for name in sources:
            for outcome in OUTCOMES:
                self.notifications.labels(name, outcome)
                self.alerts.labels(name, outcome)
        self.source_names = frozenset(sources)

    def source_label(self, name: str) -> str:
        return name if name in self.source_names else UNKNOWN_SOURCE


METRICS = web.AppKey("metrics", Metrics)


async def metrics_handler(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = await asyncio.to_thread(encoder, metrics.registry)
    resp = web.Response(body=body)
    resp.headers["Content-Type"] = content_type
    return resp


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics_handler)
