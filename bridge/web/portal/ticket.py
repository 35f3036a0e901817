"""A customer's ticket at /portal/tickets/{id} (its status and the history meant for them), the
reply, "It works" / "Still broken" on a resolved ticket, and the form that opens a ticket.

Every action is a function of bridge.customer_actions inside the writer's transaction, where
the ticket is checked to be the customer's own: a foreign ticket is the same 404 as a missing
one, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from bridge import customer_actions, customer_view
from bridge import tickets as tk
from bridge.accounts.sessions import Session
from bridge.api.tickets import SERVICES
from bridge.config.models import URGENCIES
from bridge.lifecycle import Priority, TransitionRefused
from bridge.notices.verify import current_resolution
from bridge.web.portal.access import customer_post, customer_session, local, not_found, own, zone
from bridge.web.render import page

MAX_TEXT = 10_000
MAX_DESCRIPTION = 20_000
RATINGS = ("1", "2", "3", "4", "5")


def _text(form: Any, name: str, limit: int = MAX_TEXT) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


async def _render(
    request: web.Request,
    found: Session,
    *,
    status: int = 200,
    problem: str = "",
    typed: dict[str, str] | None = None,
) -> web.Response:
    svc = request.app[SERVICES]
    key = request.match_info["id"]

    def load(conn: sa.Connection) -> dict[str, Any]:
        row = own(tk.load(conn, svc.keys.parse(key)), found)
        parent = tk.load(conn, row["parent_id"]) if row["parent_id"] else None
        return {
            "t": row,
            "history": customer_view.customer_history(tk.history(conn, row["id"])),
            "resolution": current_resolution(conn, row["id"]),
            "parent": parent,
        }

    try:
        found_ticket = await svc.read(load)
    except tk.NotFound:
        return not_found(found, key)
    row = found_ticket["t"]
    tz = zone(request, found)
    return page(
        "portal_ticket.html",
        status=status,
        session=found,
        key=svc.keys.format(row["id"]),
        keys=svc.keys,
        device=svc.cfg.device(row["device_id"]) if row["device_id"] else None,
        customer=svc.cfg.customer(row["customer_id"]),
        problem=problem,
        typed=typed or {},
        local=lambda v: local(v, tz),
        ratings=RATINGS,
        **found_ticket,
    )


async def show(request: web.Request) -> web.Response:
    return await _render(request, await customer_session(request))


async def _act(
    request: web.Request,
    found: Session,
    fn: Callable[[sa.Connection, dict[str, Any]], tuple[dict[str, Any], bool]],
    typed: dict[str, str],
) -> web.Response:
    """Run `fn` on the customer's own ticket in the writer; redirect back, or show why not."""
    svc = request.app[SERVICES]
    key = request.match_info["id"]

    def run(conn: sa.Connection, row: dict[str, Any]) -> dict[str, Any]:
        row, acted = fn(conn, own(row, found))
        if not acted:
            raise tk.Invalid(
                f"this ticket moved on since you loaded the page: it is now "
                f"{row['status'].replace('_', ' ')}"
            )
        return row

    try:
        await svc.command(key, run)
    except tk.NotFound:
        return not_found(found, key)
    except tk.Conflict:
        problem = "the ticket changed just now; look at it again and retry"
        return await _render(request, found, status=409, problem=problem, typed=typed)
    except TransitionRefused as err:
        return await _render(request, found, status=409, problem=err.why, typed=typed)
    except tk.Invalid as err:
        return await _render(request, found, status=409, problem=str(err), typed=typed)
    raise web.HTTPSeeOther(f"/portal/tickets/{key}")


def _resolution(form: Any) -> int | None:
    value = _text(form, "resolution", 12)
    return int(value) if value.isascii() and value.isdigit() else None


def _posted(
    handler: Callable[[web.Request, Session, Any], Awaitable[web.Response]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route of a form a signed-in customer posts: ``handler(request, session, form)``,
    or what :func:`customer_post` answers instead (sign in, a refused origin)."""

    async def route(request: web.Request) -> web.Response:
        found = await customer_post(request)
        if isinstance(found, web.Response):
            return found
        return await handler(request, found, await request.post())

    route.__name__ = route.__qualname__ = handler.__name__
    route.__doc__ = handler.__doc__
    return route


@_posted
async def reply(request: web.Request, found: Session, form: Any) -> web.Response:
    text = _text(form, "text")
    if not text:
        return await _render(request, found, status=400, problem="Write something to send.")
    svc = request.app[SERVICES]
    at = svc.now()

    def run(conn: sa.Connection, row: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        return customer_actions.comment(
            conn, svc.cfg, row, text, actor=found.user.name, at=at
        ), True

    return await _act(request, found, run, {"text": text})


async def _answer(
    request: web.Request,
    found: Session,
    form: Any,
    answer: str,
    text: str,
    field: str,
    **extra: Any,
) -> web.Response:
    """The customer's answer ("works" or "broken") to the resolution the page showed, with
    their ``text`` (typed into the form's ``field``, shown again when it is refused)."""
    svc = request.app[SERVICES]
    at, seq = svc.now(), _resolution(form)

    def run(conn: sa.Connection, row: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        return customer_actions.answer(
            conn, svc.cfg, row, seq, answer, text=text, actor=found.user.name, at=at, **extra
        )

    return await _act(request, found, run, {field: text})


@_posted
async def works(request: web.Request, found: Session, form: Any) -> web.Response:
    text, raw = _text(form, "comment"), _text(form, "rating", 4)
    if raw and raw not in RATINGS:
        return await _render(
            request, found, status=400, problem="A rating is a whole number from 1 to 5."
        )
    rating = int(raw) if raw else None
    return await _answer(request, found, form, "works", text, "comment", rating=rating)


@_posted
async def broken(request: web.Request, found: Session, form: Any) -> web.Response:
    text = _text(form, "text")
    if not text:
        return await _render(request, found, status=400, problem="Tell us what is still broken.")
    return await _answer(request, found, form, "broken", text, "broken")


# -- a new ticket ---------------------------------------------------------------------------


def _new_page(
    request: web.Request,
    found: Session,
    *,
    status: int = 200,
    problem: str = "",
    typed: dict[str, str] | None = None,
) -> web.Response:
    cfg = request.app[SERVICES].cfg
    customer = cfg.customer(found.user.customer or "")
    policy = cfg.sla_policies[customer.sla_policy] if customer else None
    urgencies = []
    for u in reversed(URGENCIES):
        p = customer_view.priority_for(policy, u) if policy else Priority.P3
        targets = policy.priorities[p] if policy else None
        urgencies.append(
            {
                "name": u,
                "priority": p.value,
                "reaction": targets.reaction if targets else None,
                "resolution": targets.resolution if targets else None,
            }
        )
    devices = [d for d in cfg.devices if d.customer == found.user.customer]
    return page(
        "portal_new.html",
        status=status,
        session=found,
        customer=customer,
        urgencies=urgencies,
        devices=devices,
        problem=problem,
        typed=typed or {"urgency": customer_view.DEFAULT_URGENCY},
    )


async def new_form(request: web.Request) -> web.Response:
    return _new_page(request, await customer_session(request))


@_posted
async def create(request: web.Request, found: Session, form: Any) -> web.Response:
    svc = request.app[SERVICES]
    typed = {
        "title": _text(form, "title", 600),
        "description": _text(form, "description", MAX_DESCRIPTION),
        "device": _text(form, "device", 64),
        "urgency": _text(form, "urgency", 16),
    }
    mine = {d.id for d in svc.cfg.devices if d.customer == found.user.customer}
    problem = ""
    if not typed["title"] or len(typed["title"]) > 512:
        problem = "Give the ticket a title (at most 512 characters)."
    elif typed["urgency"] not in URGENCIES:
        problem = f"Choose how urgent it is: {', '.join(URGENCIES)}."
    elif typed["device"] and typed["device"] not in mine:
        problem = "That device is not one of yours; choose one from the list, or none."
    if problem:
        return _new_page(request, found, status=400, problem=problem, typed=typed)
    at = svc.now()

    def run(conn: sa.Connection) -> dict[str, Any]:
        return customer_actions.open_ticket(
            conn,
            svc.cfg,
            customer_id=found.user.customer or "",
            title=typed["title"],
            description=typed["description"],
            device_id=typed["device"] or None,
            urgency=typed["urgency"],
            actor=found.user.name,
            at=at,
        )

    try:
        row = await svc.write(run)
    except tk.Invalid as err:
        return _new_page(request, found, status=400, problem=str(err), typed=typed)
    raise web.HTTPSeeOther(f"/portal/tickets/{svc.keys.format(row['id'])}")
