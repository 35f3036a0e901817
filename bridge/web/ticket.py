"""The ticket page at /desk/tickets/{id}: every attribute, the whole history, both SLA clocks
with their explanation, the device's probe state and recent alerts, and the actions this
person may take (none for readers)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from aiohttp import web

from bridge import sla_live
from bridge import tickets as tk
from bridge.accounts.sessions import Session
from bridge.api.sla import POLICIES
from bridge.api.tickets import SERVICES
from bridge.config import Role
from bridge.lifecycle import TransitionRefused
from bridge.store.schema import alerts, device_states, probe_samples, users
from bridge.web import actions
from bridge.web.countdown import countdown
from bridge.web.desk import desk_session, majors
from bridge.web.login import require_csrf
from bridge.web.render import page
from sla.instants import to_epoch

RECENT_ALERTS = 10


def _device(conn: sa.Connection, device_id: str | None) -> dict[str, Any]:
    if not device_id:
        return {"states": [], "samples": [], "alerts": []}
    states = conn.execute(
        sa.select(device_states)
        .where(device_states.c.device_id == device_id, device_states.c.ended_at.is_(None))
        .where(device_states.c.site == "*")  # the decided state, not each site's
        .order_by(device_states.c.check)
    ).mappings().all()
    samples = conn.execute(
        sa.select(probe_samples).where(probe_samples.c.device_id == device_id)
        .order_by(probe_samples.c.check)
    ).mappings().all()
    recent = conn.execute(
        sa.select(alerts.c.source, alerts.c.status, alerts.c.severity, alerts.c.title,
                  alerts.c.received_at, alerts.c.ticket_id)
        .where(alerts.c.device_id == device_id)
        .order_by(alerts.c.received_at.desc(), alerts.c.id.desc())
        .limit(RECENT_ALERTS)
    ).mappings().all()
    return {"states": [dict(r) for r in states], "samples": [dict(r) for r in samples],
            "alerts": [dict(r) for r in recent]}


def _engineers(conn: sa.Connection) -> list[str]:
    return list(conn.execute(
        sa.select(users.c.name).where(users.c.role.in_([Role.ENGINEER.value, Role.ADMIN.value]),
                                      users.c.disabled.is_(False)).order_by(users.c.name)
    ).scalars())


async def _render(request: web.Request, found: Session, *, status: int = 200,
                  problem: str = "") -> web.Response:
    svc = request.app[SERVICES]
    key = request.match_info["id"]
    try:
        row, history, keys = await svc.get_ticket(key)
    except tk.NotFound:
        return page("error.html", status=404, session=found, title="No such ticket",
                    message=f"There is no ticket {key}.")
    now = svc.now()
    policies = request.app[POLICIES]

    def extra(conn: sa.Connection) -> tuple[dict, list[str], list[dict], dict | None]:
        parent = tk.load(conn, row["parent_id"]) if row["parent_id"] else None
        return _device(conn, row["device_id"]), _engineers(conn), majors(conn), parent

    device, engineers, bulletin, parent = await svc.read(extra)
    clocks = sla_live.clocks_for(policies, row["customer_id"], history, now)
    policy = policies.by_customer[row["customer_id"]]
    cds = {name: countdown(getattr(clocks, name), policy, clocks.priority, now)
           for name in sla_live.CLOCKS}
    return page(
        "ticket.html", status=status, session=found, t=row, key=svc.keys.format(row["id"]),
        keys=svc.keys, history=history, alert_keys=keys, clocks=clocks, cds=cds,
        now=now, now_epoch=to_epoch(now), device=device, bulletin=bulletin,
        customer=svc.cfg.customer(row["customer_id"]), engineers=engineers,
        majors=[m for m in bulletin if m["customer_id"] == row["customer_id"]
                and m["id"] != row["id"]],
        parent=parent, allowed=actions.allowed(row, found.user), problem=problem,
        comment_default="customer" if actions.talks_to_customer(found.user) else "internal",
    )


async def ticket_page(request: web.Request) -> web.Response:
    found = await desk_session(request)
    if isinstance(found, web.Response):
        return found
    return await _render(request, found)


def _act(form: Any) -> actions.Act:
    def text(name: str, limit: int = 2000) -> str:
        return str(form.get(name, ""))[:limit]

    version = text("version", 20)
    parent = text("parent", 20)
    return actions.Act(
        name=text("action", 32), note=text("note", 10000), assignee=text("assignee", 128),
        line=text("line", 4), priority=text("priority", 4), close_reason=text("close_reason", 32),
        visibility=text("visibility", 16) or "internal",
        parent=int(parent) if parent.isdigit() and len(parent) < 12 else None,
        version=int(version) if version.isdigit() and len(version) < 12 else None,
    )


async def ticket_action(request: web.Request) -> web.Response:
    checked = await require_csrf(request)
    if isinstance(checked, web.Response):
        return checked
    if not actions.may_act(checked.user) or checked.user.role not in (Role.ADMIN, Role.ENGINEER):
        return page("error.html", status=403, session=checked, title="Read only",
                    message="Your role reads tickets; engineers and admins act on them.")
    svc = request.app[SERVICES]
    act = _act(await request.post())
    ctx = actions.Ctx(svc.cfg, checked.user, svc.now())
    key = request.match_info["id"]
    try:
        await svc.command(key, lambda conn, row: actions.run(conn, row, act, ctx))
    except tk.NotFound:
        return page("error.html", status=404, session=checked, title="No such ticket",
                    message=f"There is no ticket {key}.")
    except actions.StalePage as err:
        return await _render(request, checked, status=409, problem=str(err))
    except tk.Conflict:
        return await _render(request, checked, status=409,
                             problem="changed by someone else just now — reload")
    except TransitionRefused as err:
        return await _render(request, checked, status=409, problem=err.why)
    except (actions.Refused, tk.Invalid) as err:
        return await _render(request, checked, status=409, problem=str(err))
    raise web.HTTPSeeOther(f"/desk/tickets/{key}")


def setup(app: web.Application) -> None:
    app.router.add_get("/desk/tickets/{id}", ticket_page)
    app.router.add_post("/desk/tickets/{id}", ticket_action)



