"""GET /metrics: the app key of the registry, the store-backed collectors, the handler."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import sqlalchemy as sa
from aiohttp import web
from prometheus_client.registry import Collector

from bridge.clock import Clock
from bridge.config import Config
from bridge.metrics.availability import AvailabilityCollector
from bridge.metrics.collectors import TicketTotalsCollector
from bridge.metrics.instruments import Metrics

METRICS = web.AppKey("metrics", Metrics)


def register_store_collectors(
    metrics: Metrics, cfg: Config, engine: sa.Engine, clock: Clock
) -> tuple[Collector, ...]:
    """Register the store-backed families on ``metrics.registry``; returns them."""
    collectors: Sequence[Collector] = (
        TicketTotalsCollector(cfg, engine),
        AvailabilityCollector(cfg, engine, clock),
    )
    for c in collectors:
        metrics.register(c)
    return tuple(collectors)


#: One scrape computes at a time: two scrapers arriving together (an HA pair of Prometheus
#: servers) do not both hold the interpreter for a full rendering at once.
SCRAPE_LOCK = web.AppKey("scrape_lock", asyncio.Lock)


async def metrics_handler(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    async with request.app[SCRAPE_LOCK]:
        # collectors read the store: off the event loop
        body, content_type = await asyncio.to_thread(
            metrics.exposition, request.headers.get("Accept", "")
        )
    resp = web.Response(body=body)
    resp.headers["Content-Type"] = content_type
    return resp


def add_routes(app: web.Application) -> None:
    """GET /metrics, and the store-backed collectors on the app's registry.

    Needs ``app[METRICS]`` and ``app[SERVICES]`` set (build_app sets both before)."""
    from bridge.api.tickets import SERVICES  # bridge.api imports this package

    svc = app[SERVICES]
    register_store_collectors(app[METRICS], svc.cfg, svc.engines.read, svc.clock)
    app[SCRAPE_LOCK] = asyncio.Lock()
    app.router.add_get("/metrics", metrics_handler)
