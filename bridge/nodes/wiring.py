"""Wiring for the composition root: register this node, heartbeat while it runs, sign off on a
clean stop; the nodes route and the node series on /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client.registry import CollectorRegistry

from bridge.nodes import api, registry, side
from bridge.nodes.metrics import NodeCollector
from bridge.service import Services

log = logging.getLogger(__name__)


async def _beat(services: Services) -> None:
    node, every = services.node, services.cfg.nodes.heartbeat_interval
    while True:
        await asyncio.sleep(every)
        try:
            # beside the writer, not behind it: a burst of writes must not make us look dead
            await side.run(services.engines, lambda c: registry.heartbeat(c, node, services.now()))
        except Exception as err:  # noqa: BLE001 - the store is away: try again next beat
            log.warning("node %s: heartbeat not written: %s", node.name, err)


def install(
    app: web.Application, services: Services, metrics: CollectorRegistry, *, run_jobs: bool = True
) -> None:
    """Call after the writer's cleanup context is added (this one writes through it). Without
    `run_jobs` (an app without its scheduler, as in tests) the node registers but does not
    heartbeat, so the store changes only when asked to."""
    api.add_routes(app)
    metrics.register(NodeCollector(services))

    async def node_ctx(_app: web.Application) -> AsyncIterator[None]:
        node, down_after = services.node, services.cfg.nodes.down_after
        await services.write(lambda conn: registry.register(conn, node, services.now(), down_after))
        log.info("node %s (site %s) registered", node.name, node.site)
        beating = asyncio.create_task(_beat(services), name="node-heartbeat") if run_jobs else None
        yield
        if beating is not None:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        with contextlib.suppress(Exception):
            await services.write(lambda conn: registry.sign_off(conn, node, services.now()))

    app.cleanup_ctx.append(node_ctx)
