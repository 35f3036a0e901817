"""The queue at /desk, its live events, and bulk actions.

Engineers and admins work the queue; account managers read it (no action controls);
customers get 403 here. Every view, filter, sort and page is in the URL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from bridge import tickets as tk
from bridge.accounts.sessions import Session
from bridge.api.sla import POLICIES
from bridge.api.tickets import SERVICES
from bridge.config import Role
from bridge.lifecycle import Line
from bridge.store.schema import tickets
from bridge.web import actions, identity
from bridge.web import queue as q
from bridge.web.live import ChangeFeed, stream
from bridge.web.login import require_csrf
from bridge.web.render import page, render
from sla.instants import to_epoch

FEED = web.AppKey("desk_feed", ChangeFeed)
CACHE = web.AppKey("desk_queue", q.QueueCache)
WARMING: web.AppKey[list[asyncio.Task[Any]]] = web.AppKey("desk_warming", list)
DESK_ROLES = (Role.ADMIN, Role.ENGINEER, Role.ACCOUNT_MANAGER)


async def desk_session(request: web.Request) -> Session | web.Response:
    """The signed-in desk user; nobody → /login; a customer → a 403 page."""
    found = await identity.session(request)
    if found is None:
        raise identity.login_redirect(request)
    if found.user.role not in DESK_ROLES:
        return page("error.html", status=403, session=found, title="Not for customers",
                    message="The desk is for the service desk. Your tickets are on your portal.")
    return found


def majors(conn: sa.Connection) -> list[dict[str, Any]]:
    """Active major incidents, for the bulletin on every desk page."""
    stmt = (
        sa.select(tickets.c.id, tickets.c.customer_id, tickets.c.title, tickets.c.status,
                  tickets.c.entered_at)
        .where(tickets.c.kind == "major", tickets.c.status.in_(["new", "in_progress", "waiting"]))
        .order_by(tickets.c.entered_at)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


async def queue_page(request: web.Request) -> web.Response:
    found = await desk_session(request)
    if isinstance(found, web.Response):
        return found
    svc = request.app[SERVICES]
    try:
        query = q.QueueQuery.parse(request.query)
    except q.BadQuery as err:
        return page("error.html", status=400, session=found, title="No such queue",
                    message=str(err))
    now = svc.now()
    policies = request.app[POLICIES]
    cache = request.app[CACHE]

    user = found.user
    my_line = user.line.value if user.line else None
    template = "queue_body.html" if request.query.get("partial") else "queue.html"

    def load(conn: sa.Connection) -> str:
        # the whole page is built in a reader thread: the event loop keeps serving webhooks
        # and live streams meanwhile
        result = q.build(cache.items(conn, policies, now), query, user.name, my_line)
        return render(
            template, session=found, query=query, result=result, views=q.VIEWS,
            sorts=q.SORTS, bulletin=majors(conn), keys=svc.keys, now=now,
            now_epoch=to_epoch(now), can_act=actions.may_act(user), bulk=actions.BULK,
            lines=[v.value for v in Line], customers=[c.id for c in svc.cfg.customers],
            choices=q._CHOICES,
        )

    return web.Response(text=await svc.read(load), content_type="text/html",
                        headers={"Cache-Control": "no-store"})


async def bulk(request: web.Request) -> web.Response:
    checked = await require_csrf(request)
    if isinstance(checked, web.Response):
        return checked
    if not actions.may_act(checked.user):
        return page("error.html", status=403, session=checked, title="Read only",
                    message="Your role reads the queue; engineers and admins act on it.")
    form = await request.post()
    svc = request.app[SERVICES]
    keys = [str(v) for v in form.getall("ticket", [])][:500]
    name = str(form.get("action", ""))
    if name not in actions.BULK or not keys:
        return page("error.html", status=400, session=checked, title="Nothing done",
                    message="Tick some tickets and choose an action.")
    versions = {k: str(form.get(f"v-{k}", "")) for k in keys}
    at = svc.now()
    ctx = actions.Ctx(svc.cfg, checked.user, at)
    failures = []
    for key in keys:
        act = actions.Act(
            name=name, note=str(form.get("note", ""))[:2000],
            assignee=str(form.get("assignee", ""))[:128], line=str(form.get("line", "")),
            version=int(versions[key]) if versions[key].isdigit() else None,
        )
        try:
            await svc.command(key, lambda conn, row, act=act: actions.run(conn, row, act, ctx))
        except (actions.Refused, actions.StalePage, tk.Invalid, tk.Conflict, tk.NotFound,
                ValueError) as err:
            failures.append(f"{key}: {err}")
    if request.headers.get("Accept", "").startswith("application/json"):
        return web.json_response({"done": len(keys) - len(failures), "failed": failures},
                                 status=200 if not failures else 409)
    back = identity.safe_next(str(form.get("back", ""))) or "/desk"
    if failures:
        return page("error.html", status=409, session=checked, title="Some tickets not changed",
                    message="; ".join(failures))
    raise web.HTTPSeeOther(back)


async def events(request: web.Request) -> web.StreamResponse:
    found = await desk_session(request)
    if isinstance(found, web.Response):
        return found
    return await stream(request, request.app[FEED])


def setup(app: web.Application) -> None:
    app[CACHE] = q.QueueCache()
    app[FEED] = ChangeFeed(app[SERVICES])

    async def stop_feed(app: web.Application) -> None:
        await app[FEED].stop()  # open streams end, so shutdown does not wait for them
        await asyncio.gather(*app[WARMING], return_exceptions=True)

    async def warm(app: web.Application) -> None:
        # replaying every open ticket's clocks once takes seconds with 10,000 of them: do it
        # now rather than in the first engineer's request after a restart
        svc, policies = app[SERVICES], app[POLICIES]
        app[WARMING].append(asyncio.create_task(
            svc.read(lambda conn: app[CACHE].refresh(conn, policies, svc.now()))))

    app[WARMING] = []
    app.on_startup.append(warm)
    app.on_shutdown.append(stop_feed)
    app.router.add_get("/desk", queue_page)
    app.router.add_post("/desk/bulk", bulk)
    app.router.add_get("/desk/events", events)

