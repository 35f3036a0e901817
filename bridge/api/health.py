"""Liveness and readiness for orchestrators and load balancers."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bridge.api.tickets import SERVICES


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    try:
        await asyncio.wait_for(svc.count_open(), timeout=5)
    except Exception as err:  # noqa: BLE001 - any failure means not ready
        return web.json_response({"status": "unavailable", "error": str(err)}, status=503)
    return web.json_response({"status": "ready"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
