"""REST routes for engineers, account managers and customers working tickets."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bridge import incidents
from bridge import tickets as tk
from bridge.api.auth import Principal, TokenBook, principal
from bridge.api.errors import ApiError, read_model
from bridge.config import Role
from bridge.lifecycle import CloseReason, Line, Origin, Priority, Status
from bridge.service import FILTERS, Services

SERVICES = web.AppKey("services", Services)
TOKENS = web.AppKey("tokens", TokenBook)

WRITERS = (Role.ADMIN, Role.ENGINEER)
READERS = (Role.ADMIN, Role.ENGINEER, Role.ACCOUNT_MANAGER, Role.CUSTOMER)

Text = Annotated[str, Field(min_length=1, max_length=10000)]
Name = Annotated[str, Field(min_length=1, max_length=128)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateTicket(Body):
    customer: str | None = None
    title: Annotated[str, Field(min_length=1, max_length=512)]
    summary: Annotated[str, Field(max_length=2000)] = ""
    description: Annotated[str, Field(max_length=20000)] = ""
    device: str | None = None
    priority: Priority = Priority.P3
    origin: Origin = Origin.CUSTOMER


class Assign(Body):
    assignee: Name


class Transition(Body):
    to: Status
    reason: Annotated[str, Field(max_length=2000)] = ""
    close_reason: CloseReason | None = None


class Comment(Body):
    text: Text


class Escalate(Body):
    to: Line
    reason: Annotated[str, Field(max_length=2000)] = ""


class ChangePriority(Body):
    priority: Priority
    reason: Annotated[str, Field(max_length=2000)] = ""


def _ctx(request: web.Request, *roles: Role) -> tuple[Services, Principal]:
    return request.app[SERVICES], principal(request, request.app[TOKENS], *roles)


async def create_ticket(request: web.Request) -> web.Response:
    svc, who = _ctx(request, Role.ADMIN, Role.ENGINEER, Role.CUSTOMER)
    body = await read_model(request, CreateTicket)
    customer = body.customer
    origin = body.origin
    if who.role == Role.CUSTOMER:
        if customer not in (None, who.customer):
            raise ApiError(403, "a customer token creates tickets for its own customer only")
        customer = who.customer
        origin = Origin.CUSTOMER
    if customer is None:
        raise ApiError(
            400, "invalid request", problems=[{"path": "customer", "message": "field required"}]
        )
    if origin.proactive:
        raise ApiError(
            400,
            "invalid request",
            problems=[
                {"path": "origin", "message": "monitoring and probe tickets come from alerts"}
            ],
        )
    at = svc.now()

    def run(conn: Any) -> dict:
        return tk.create(
            conn,
            svc.cfg,
            customer_id=customer,
            title=body.title,
            origin=origin,
            priority=body.priority,
            at=at,
            actor=who.name,
            now=at,
            device_id=body.device,
            summary=body.summary,
            description=body.description,
        )

    try:
        row = await svc.write(run)
    except tk.Invalid as err:
        raise ApiError(
            400, "invalid request", problems=[{"path": "", "message": str(err)}]
        ) from err
    return web.json_response(svc.ticket_json(row), status=201)


async def list_tickets(request: web.Request) -> web.Response:
    svc, who = _ctx(request, *READERS)
    unknown = sorted(set(request.query) - {*FILTERS, "limit", "offset"})
    if unknown:
        raise ApiError(
            400,
            f"unknown query parameter {unknown[0]} (known: {', '.join(FILTERS)}, limit, offset)",
        )
    filters = {k: v for k, v in request.query.items() if k in FILTERS}
    if who.role == Role.CUSTOMER:
        filters["customer"] = who.customer or ""
    try:
        limit = min(int(request.query.get("limit", 100)), 1000)
        offset = max(int(request.query.get("offset", 0)), 0)
        if offset >= 2**63:
            raise ApiError(400, "offset is beyond the last ticket")
    except ValueError as err:
        raise ApiError(400, "limit and offset must be whole numbers") from err
    if limit < 1:
        raise ApiError(400, "limit must be at least 1")
    rows = await svc.list_tickets(filters, limit, offset)
    return web.json_response({"tickets": [svc.ticket_json(r) for r in rows]})


async def get_ticket(request: web.Request) -> web.Response:
    svc, who = _ctx(request, *READERS)
    row, events, alerts = await svc.get_ticket(request.match_info["id"])
    if not who.sees_customer(row["customer_id"]):
        raise tk.NotFound(request.match_info["id"])
    body = svc.ticket_json(row)
    body["history"] = [svc.event_json(e) for e in events]
    body["alerts"] = [
        {
            "source": a["source"],
            "identity": a["identity"],
            "status": a["status"],
            "count": a["count"],
            "first_seen": a["first_seen"].isoformat(),
            "last_seen": a["last_seen"].isoformat(),
        }
        for a in alerts
    ]
    return web.json_response(body)


async def _apply(request: web.Request, fn: Any) -> web.Response:
    svc: Services = request.app[SERVICES]
    row = await svc.command(request.match_info["id"], fn)
    return web.json_response(svc.ticket_json(row))


async def assign(request: web.Request) -> web.Response:
    svc, who = _ctx(request, *WRITERS)
    body = await read_model(request, Assign)
    at = svc.now()
    return await _apply(
        request,
        lambda conn, row: tk.assign(conn, row, body.assignee, at=at, actor=who.name, now=at),
    )


async def transition(request: web.Request) -> web.Response:
    svc, who = _ctx(request, *WRITERS)
    body = await read_model(request, Transition)
    at = svc.now()

    def run(conn: Any, row: dict) -> dict:
        row = tk.transition(
            conn,
            row,
            body.to,
            cfg=svc.cfg,
            at=at,
            actor=who.name,
            now=at,
            reason=body.reason,
            close_reason=body.close_reason,
        )
        incidents.resolve_children(conn, svc.cfg, row, at=at, actor=who.name, now=at)
        return row

    return await _apply(request, run)


async def comment(request: web.Request) -> web.Response:
    svc, who = _ctx(request, *WRITERS)
    body = await read_model(request, Comment)
    at = svc.now()
    return await _apply(
        request, lambda conn, row: tk.comment(conn, row, body.text, at=at, actor=who.name, now=at)
    )


async def escalate(request: web.Request) -> web.Response:
    svc, who = _ctx(request, *WRITERS)
    body = await read_model(request, Escalate)
    at = svc.now()
    return await _apply(
        request,
        lambda conn, row: tk.escalate(
            conn, row, body.to, body.reason, at=at, actor=who.name, now=at
        ),
    )


async def change_priority(request: web.Request) -> web.Response:
    svc, who = _ctx(request, *WRITERS)
    body = await read_model(request, ChangePriority)
    at = svc.now()
    return await _apply(
        request,
        lambda conn, row: tk.change_priority(
            conn, row, body.priority, body.reason, at=at, actor=who.name, now=at
        ),
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/tickets", create_ticket)
    app.router.add_get("/api/v1/tickets", list_tickets)
    app.router.add_get("/api/v1/tickets/{id}", get_ticket)
    app.router.add_post("/api/v1/tickets/{id}/assign", assign)
    app.router.add_post("/api/v1/tickets/{id}/transition", transition)
    app.router.add_post("/api/v1/tickets/{id}/comments", comment)
    app.router.add_post("/api/v1/tickets/{id}/escalate", escalate)
    app.router.add_post("/api/v1/tickets/{id}/priority", change_priority)
