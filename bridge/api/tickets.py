"""REST routes for engineers, account managers and customers working tickets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bridge import customer_actions, customer_view, incidents
from bridge import tickets as tk
from bridge.api.auth import Principal, TokenBook, principal
from bridge.api.errors import ApiError, read_model
from bridge.config import Role
from bridge.config.models import Urgency
from bridge.lifecycle import CloseReason, Line, Origin, Priority, Status
from bridge.service import FILTERS, Services

SERVICES = web.AppKey("services", Services)
TOKENS = web.AppKey("tokens", TokenBook)

WRITERS = (Role.ADMIN, Role.ENGINEER)
READERS = (Role.ADMIN, Role.ENGINEER, Role.ACCOUNT_MANAGER, Role.CUSTOMER)
NOT_INTERNAL = "a customer's comment is always visible to the customer"

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
    # a customer token gives an urgency (mapped by its SLA policy); a priority it sends is
    # capped; engineers give a priority (or an urgency, mapped the same way)
    urgency: Urgency | None = None
    priority: Priority | None = None
    origin: Origin = Origin.CUSTOMER


class Assign(Body):
    assignee: Name


class Transition(Body):
    to: Status
    reason: Annotated[str, Field(max_length=2000)] = ""
    close_reason: CloseReason | None = None


class Comment(Body):
    text: Text
    # engineers: internal unless they say customer; a customer's comment is always to the desk
    # and visible to the customer
    visibility: Literal["internal", "customer"] | None = None


class Escalate(Body):
    to: Line
    reason: Annotated[str, Field(max_length=2000)] = ""


class ChangePriority(Body):
    priority: Priority
    reason: Annotated[str, Field(max_length=2000)] = ""


B = TypeVar("B", bound=Body)


def _ctx(request: web.Request, *roles: Role) -> tuple[Services, Principal]:
    return request.app[SERVICES], principal(request, request.app[TOKENS], *roles)


def _priority(svc: Services, who: Principal, customer: str, body: CreateTicket) -> Priority:
    """The new ticket's priority: a customer's through their policy's urgency map (never more
    urgent than it allows); an engineer's as given, else their urgency mapped, else P3."""
    found = svc.cfg.customer(customer)
    policy = svc.cfg.sla_policies[found.sla_policy] if found is not None else None
    if who.role == Role.CUSTOMER and policy is not None:
        return customer_view.customer_priority(policy, urgency=body.urgency, priority=body.priority)
    if body.priority is not None:
        return body.priority
    if body.urgency is not None and policy is not None:
        return customer_view.priority_for(policy, body.urgency)
    return Priority.P3


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
    priority = _priority(svc, who, customer, body)
    at = svc.now()

    def run(conn: Any) -> dict:
        return tk.create(
            conn,
            svc.cfg,
            customer_id=customer,
            title=body.title,
            origin=origin,
            priority=priority,
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
    if who.role == Role.CUSTOMER:
        # only what is meant for the customer: no internal comments, no desk bookkeeping
        events = customer_view.customer_history(events)
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


async def _act(
    request: web.Request, model: type[B], act: Callable[[Any, dict, B, dict[str, Any]], dict]
) -> web.Response:
    """An engineer's command on one ticket: ``act(conn, row, body, stamp)`` runs in the
    ticket's transaction, ``stamp`` being the at/actor/now every write records."""
    svc, who = _ctx(request, *WRITERS)
    body = await read_model(request, model)
    at = svc.now()
    stamp = {"at": at, "actor": who.name, "now": at}
    return await _apply(request, lambda conn, row: act(conn, row, body, stamp))


async def assign(request: web.Request) -> web.Response:
    return await _act(
        request, Assign, lambda conn, row, body, stamp: tk.assign(conn, row, body.assignee, **stamp)
    )


async def transition(request: web.Request) -> web.Response:
    cfg = request.app[SERVICES].cfg

    def run(conn: Any, row: dict, body: Transition, stamp: dict[str, Any]) -> dict:
        row = tk.transition(
            conn,
            row,
            body.to,
            cfg=cfg,
            reason=body.reason,
            close_reason=body.close_reason,
            **stamp,
        )
        incidents.resolve_children(conn, cfg, row, **stamp)
        return row

    return await _act(request, Transition, run)


async def comment(request: web.Request) -> web.Response:
    svc, who = _ctx(request, *WRITERS, Role.CUSTOMER)
    body = await read_model(request, Comment)
    at = svc.now()
    if who.role == Role.CUSTOMER:
        if body.visibility == "internal":
            raise ApiError(
                400,
                "invalid request",
                problems=[{"path": "visibility", "message": NOT_INTERNAL}],
            )
        return await _apply(
            request,
            lambda conn, row: _customer_comment(conn, svc, who, row, body.text, at),
        )
    data = {"text": body.text, "visibility": body.visibility or "internal"}
    return await _apply(
        request,
        lambda conn, row: tk.record(conn, row, "commented", at, who.name, data, now=at),
    )


def _customer_comment(
    conn: Any, svc: Services, who: Principal, row: dict, text: str, at: Any
) -> dict:
    """A customer's comment: their own ticket only (else the same 404 as a missing one); on a
    resolved ticket it is "still broken" with their words (the verification decision)."""
    if not who.sees_customer(row["customer_id"]):
        raise tk.NotFound(str(row["id"]))
    return customer_actions.comment(conn, svc.cfg, row, text, actor=who.name, at=at)


async def escalate(request: web.Request) -> web.Response:
    return await _act(
        request,
        Escalate,
        lambda conn, row, body, stamp: tk.escalate(conn, row, body.to, body.reason, **stamp),
    )


async def change_priority(request: web.Request) -> web.Response:
    return await _act(
        request,
        ChangePriority,
        lambda conn, row, body, stamp: tk.change_priority(
            conn, row, body.priority, body.reason, **stamp
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
