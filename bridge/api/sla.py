"""A ticket's SLA state with its explanation: which intervals counted, which were paused."""

from __future__ import annotations

from aiohttp import web

from bridge import sla_live
from bridge.api import openapi
from bridge.api.auth import principal
from bridge.api.tickets import READERS, SERVICES, TOKENS
from bridge.tickets import NotFound

POLICIES = web.AppKey("policies", sla_live.Policies)


async def ticket_sla(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    who = principal(request, request.app[TOKENS], *READERS)
    key = request.match_info["id"]
    row, events, _alerts = await svc.get_ticket(key)
    if not who.sees_customer(row["customer_id"]):
        raise NotFound(key)
    clocks = sla_live.clocks_for(request.app[POLICIES], row["customer_id"], events, svc.now())
    body = sla_live.ticket_sla_json(clocks)
    body["ticket"] = svc.keys.format(row["id"])
    return web.json_response(body)


openapi.register(
    {
        "/api/v1/tickets/{id}/sla": {
            "get": {
                "summary": "Reaction and resolution clocks: elapsed business time, target, "
                "deadline, state, and the intervals that counted or were paused",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "the clocks"},
                    "404": {"description": "no such ticket"},
                },
            }
        }
    }
)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/tickets/{id}/sla", ticket_sla)
