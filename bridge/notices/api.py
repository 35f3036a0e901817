"""The mail API: a ticket's messages and how each fared; mail from unknown senders, kept for
an admin, listed and routed to a customer (its ticket entered when the mail arrived)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from bridge import tickets as tk
from bridge.api.auth import TokenBook, principal
from bridge.api.errors import ApiError, read_model
from bridge.config.models import Role
from bridge.lifecycle import Origin, Priority
from bridge.notices import outbox
from bridge.notices.inbound import parse
from bridge.service import Services
from bridge.store.schema import inbound_mail


class RouteMail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: str
    device: str | None = None


def _json(r: Any, keys: tk.TicketKey) -> dict[str, Any]:
    return {
        "id": r["id"],
        "sender": r["sender"],
        "subject": r["subject"],
        "received_at": r["received_at"].isoformat(),
        "outcome": r["outcome"],
        "ticket": keys.format(r["ticket_id"]) if r["ticket_id"] else None,
    }


def add_routes(app: web.Application, services: Services, tokens: TokenBook) -> None:
    async def listing(request: web.Request) -> web.Response:
        principal(request, tokens, Role.ADMIN, Role.ENGINEER)
        query = (
            sa.select(inbound_mail)
            .where(inbound_mail.c.outcome == "unrouted")
            .order_by(inbound_mail.c.received_at)
            .limit(1000)
        )
        found = await services.read(lambda c: [dict(r) for r in c.execute(query).mappings()])
        return web.json_response([_json(r, services.keys) for r in found])

    async def route(request: web.Request) -> web.Response:
        who = principal(request, tokens, Role.ADMIN)
        body = await read_model(request, RouteMail)
        try:
            mail_id = int(request.match_info["id"])
        except ValueError:
            raise ApiError(404, "no such unrouted mail") from None
        cfg = services.cfg
        now = services.now()

        def run(conn: sa.Connection) -> dict[str, Any]:
            row = conn.execute(
                sa.select(inbound_mail).where(inbound_mail.c.id == mail_id)
            ).mappings().first()  # fmt: skip
            if row is None or row["outcome"] != "unrouted":
                raise ApiError(404, "no such unrouted mail")
            m = parse(row["raw"])
            try:
                ticket = tk.create(
                    conn, cfg, customer_id=body.customer, title=(m.subject or "(no subject)")[:512],
                    origin=Origin.EMAIL, priority=Priority.P3, at=row["received_at"],
                    actor=who.name, now=now, device_id=body.device, description=m.full_text,
                )  # fmt: skip
            except tk.Invalid as err:
                problem = {"path": "customer", "message": str(err)}
                raise ApiError(400, "invalid request", problems=[problem]) from err
            done = conn.execute(
                inbound_mail.update()
                .where(inbound_mail.c.id == mail_id, inbound_mail.c.outcome == "unrouted")
                .values(outcome="ticket", ticket_id=ticket["id"], customer_id=body.customer,
                        routed_at=now, routed_by=who.name)
            )  # fmt: skip
            if done.rowcount != 1:
                raise tk.Conflict("routed meanwhile")
            return dict(conn.execute(
                sa.select(inbound_mail).where(inbound_mail.c.id == mail_id)
            ).mappings().one())  # fmt: skip

        routed = await services.write(run)
        return web.json_response(_json(routed, services.keys), status=201)

    async def ticket_mail(request: web.Request) -> web.Response:
        principal(request, tokens, Role.ADMIN, Role.ENGINEER, Role.ACCOUNT_MANAGER)
        try:
            ticket_id = services.keys.parse(request.match_info["id"])
        except tk.NotFound:
            raise ApiError(404, "no such ticket") from None
        found = await services.read(lambda c: outbox.for_ticket(c, ticket_id))
        body = [
            {**m, "sent_at": m["sent_at"].isoformat() if m["sent_at"] else None} for m in found
        ]
        return web.json_response(body)

    app.router.add_get("/api/v1/tickets/{id}/mail", ticket_mail)
    app.router.add_get("/api/v1/mail/unrouted", listing)
    app.router.add_post("/api/v1/mail/unrouted/{id}/route", route)
