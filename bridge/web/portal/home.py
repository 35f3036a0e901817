"""`/portal`: the customer's tickets (open first, then the newest), the status of their devices
and incidents with this month's availability so far, and links to their monthly reports."""

from __future__ import annotations

import sqlalchemy as sa
from aiohttp import web

from bridge import reporting
from bridge.api.sla import POLICIES
from bridge.api.tickets import SERVICES
from bridge.store.schema import tickets
from bridge.web.portal import status
from bridge.web.portal.access import customer_session, local, zone
from bridge.web.render import page, render

PAGE_SIZE = 25
_COLUMNS = (
    tickets.c.id,
    tickets.c.title,
    tickets.c.status,
    tickets.c.priority,
    tickets.c.device_id,
    tickets.c.entered_at,
    tickets.c.updated_at,
    tickets.c.kind,
    tickets.c.origin,
    tickets.c.close_reason,
    tickets.c.parent_id,
)


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 7 else 1


def _tickets(conn: sa.Connection, customer_id: str, number: int) -> tuple[list[dict], int]:
    mine = tickets.c.customer_id == customer_id
    total = int(
        conn.execute(sa.select(sa.func.count()).select_from(tickets).where(mine)).scalar_one()
    )
    rows = conn.execute(
        sa.select(*_COLUMNS)
        .where(mine)
        .order_by(
            sa.case((tickets.c.status == "closed", 1), else_=0),
            tickets.c.entered_at.desc(),
            tickets.c.id.desc(),
        )
        .limit(PAGE_SIZE)
        .offset((number - 1) * PAGE_SIZE)
    ).mappings()
    return [dict(r) for r in rows], total


async def home(request: web.Request) -> web.Response:
    found = await customer_session(request)
    svc = request.app[SERVICES]
    policies = request.app[POLICIES]
    customer_id = found.user.customer or ""
    customer = svc.cfg.customer(customer_id)
    if customer is None:  # the account outlived its customer's entry in the config
        return page(
            "error.html",
            status=404,
            session=found,
            title="No such customer",
            message=f"Customer '{customer_id}' is not served here any more. Ask the service desk.",
        )
    number = _page_number(request.query.get("page"))
    now = svc.now()
    tz = zone(request, found)

    def load(conn: sa.Connection) -> str:
        rows, total = _tickets(conn, customer_id, number)
        pages = max(1, -(-total // PAGE_SIZE))
        return render(
            "portal.html",
            session=found,
            customer=customer,
            tickets=rows,
            keys=svc.keys,
            page=min(number, pages),
            pages=pages,
            total=total,
            local=lambda v: local(v, tz),
            devices=status.devices(conn, svc.cfg, customer_id),
            incidents=status.incidents(conn, customer_id),
            availability=status.availability(conn, svc.cfg, customer_id, now, policies),
            months=reporting.recent_months(svc.cfg, customer_id, now),
            policy=customer.sla_policy,
        )

    # built in a reader thread: the month's availability is the report's own computation
    return web.Response(
        text=await svc.read(load), content_type="text/html", headers={"Cache-Control": "no-store"}
    )
