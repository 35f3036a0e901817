"""Who may use the portal and which ticket is theirs: customer users only, their own customer
only. Anything else of another customer answers exactly like something that does not exist."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bridge import tickets as tk
from bridge.accounts.sessions import Session
from bridge.api.tickets import SERVICES
from bridge.config import Role
from bridge.web import identity
from bridge.web.login import require_csrf
from bridge.web.render import page


async def customer_session(request: web.Request) -> Session:
    """The signed-in customer user; nobody → /login; staff → their own home page."""
    found = await identity.session(request)
    if found is None:
        raise identity.login_redirect(request)
    if found.user.role != Role.CUSTOMER or not found.user.customer:
        raise web.HTTPSeeOther(identity.HOMES[found.user.role])
    return found


async def customer_post(request: web.Request) -> Session | web.Response:
    """A customer's form post carrying the session's CSRF token; else the desk's 403 page."""
    checked = await require_csrf(request)
    if isinstance(checked, web.Response):
        return checked
    if checked.user.role != Role.CUSTOMER or not checked.user.customer:
        return page(
            "error.html",
            status=403,
            session=checked,
            title="For customers",
            message="The portal is where customers work their tickets.",
        )
    return checked


def not_found(found: Session, key: str) -> web.Response:
    return page(
        "error.html",
        status=404,
        session=found,
        title="No such ticket",
        message=f"You have no ticket {key}.",
    )


def own(row: dict[str, Any], found: Session) -> dict[str, Any]:
    """The row when it is the customer's own ticket; else the same NotFound as a missing one."""
    if row["customer_id"] != found.user.customer:
        raise tk.NotFound(str(row["id"]))
    return row


def zone(request: web.Request, found: Session) -> ZoneInfo:
    customer = request.app[SERVICES].cfg.customer(found.user.customer or "")
    return ZoneInfo(customer.timezone if customer else "UTC")


def local(value: datetime | str | None, tz: ZoneInfo) -> str:
    """A time as the customer reads it: in their own time zone, named."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
