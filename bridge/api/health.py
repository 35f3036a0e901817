"""Liveness and readiness for orchestrators and load balancers."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bridge.api.tickets import SERVICES

log = logging.getLogger(__name__)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    try:
        await asyncio.wait_for(svc.count_open(), timeout=5)
    except Exception as err:  # noqa: BLE001 - any failure means not ready
        # the detail (host, port, SQL) is for the operator's log, not for anyone who asks
        log.warning("not ready: the store check failed: %s", err or type(err).__name__)
        return web.json_response(
            {"status": "unavailable", "error": "store unavailable"}, status=503
        )
    return web.json_response({"status": "ready"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
