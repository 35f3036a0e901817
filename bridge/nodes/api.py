"""GET /api/v1/nodes (admins): every node sharing the store, whether it is up, its site, its
last heartbeat and how many probe targets it holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bridge.api import openapi
from bridge.api.tickets import SERVICES
from bridge.config import Role
from bridge.nodes import registry
from bridge.web.identity import caller


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def node_json(row: dict[str, Any], own: str) -> dict[str, Any]:
    return {
        "name": row["name"],
        "site": row["site"],
        "up": row["up"],
        "this_node": row["name"] == own,
        "address": row["address"],
        "port": row["port"],
        "pid": row["pid"],
        "version": row["version"],
        "started_at": _iso(row["started_at"]),
        "heartbeat_at": _iso(row["heartbeat_at"]),
        "stopped_at": _iso(row["stopped_at"]),
        "probe_targets": row["probe_targets"],
    }


async def list_nodes(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN, page=False)
    svc = request.app[SERVICES]
    now, down_after = svc.now(), svc.cfg.nodes.down_after
    rows = await svc.read(lambda conn: registry.listing(conn, now, down_after))
    return web.json_response(
        {
            "down_after_seconds": down_after,
            "nodes": [node_json(r, svc.node.name) for r in rows],
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/nodes", list_nodes)


openapi.register(
    {
        "/api/v1/nodes": {
            "get": {
                "summary": "Every node sharing the store (admins): site, up or down (no "
                "heartbeat within nodes.down_after), last heartbeat, probe targets held",
                "responses": {
                    "200": {"description": "nodes"},
                    "401": {"description": "no token or session"},
                    "403": {"description": "not an admin"},
                },
            }
        }
    }
)
