"""Sign-in, sign-out and the front door `/` (the customers' portal: bridge.web.portal).

Failed sign-ins are counted per account and per client address; the tenth within 15 minutes
locks both for 15 minutes, during which even the right password is refused. A password is
checked against a dummy hash when the name is unknown, so timing does not tell who exists.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from aiohttp import web

from bridge.accounts import passwords, sessions
from bridge.accounts.sessions import Session
from bridge.accounts.users import password_hash
from bridge.api.tickets import SERVICES
from bridge.web import identity
from bridge.web.render import page


def _form(
    *, error: str = "", next_url: str = "", name: str = "", status: int = 200
) -> web.Response:
    return page("login.html", status=status, error=error, next_url=next_url, name=name)


async def front_door(request: web.Request) -> web.Response:
    found = await identity.session(request)
    raise web.HTTPSeeOther(identity.HOMES[found.user.role] if found else "/login")


async def login_form(request: web.Request) -> web.Response:
    found = await identity.session(request)
    next_url = identity.safe_next(request.query.get("next"))
    if found is not None:
        raise web.HTTPSeeOther(next_url or identity.HOMES[found.user.role])
    return _form(next_url=next_url or "")


async def login(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    form = await request.post()
    name = str(form.get("username", "")).strip()[:128]
    password = str(form.get("password", ""))
    next_url = identity.safe_next(str(form.get("next", "")))
    keys = sessions.throttle_keys(name, identity.client_address(request))
    now = svc.now()
    locked = await svc.read(lambda conn: sessions.locked_until(conn, keys, now=now))
    if locked is not None:
        return _form(
            error=f"Too many failed sign-ins. Try again after {locked:%H:%M} UTC.",
            next_url=next_url or "", name=name, status=429,
        )
    user, stored = await svc.read(lambda conn: password_hash(conn, name))
    ok = await asyncio.to_thread(passwords.verify, stored, password)
    if not ok or user is None or user.disabled:
        await svc.write(lambda conn: sessions.record_failure(conn, keys, now=now))
        return _form(
            error="Wrong name or password.", next_url=next_url or "", name=name, status=401
        )

    def sign_in(conn: sa.Connection) -> str:
        sessions.clear_failures(conn, name)
        sessions.purge(conn, now=now)
        return sessions.start(conn, user, now=now)[0]

    session_id = await svc.write(sign_in)
    resp = web.HTTPSeeOther(next_url or identity.HOMES[user.role])
    identity.set_session_cookie(request, resp, session_id)
    raise resp


async def require_csrf(request: web.Request) -> Session | web.Response:
    """The caller's session when the request carries its CSRF token; else a 403 page (and the
    caller changes nothing). No session at all: the sign-in page."""
    found = await identity.session(request)
    if found is None:
        raise identity.login_redirect(request)
    if not found.csrf_ok(await identity.presented_csrf(request)):
        return page("error.html", status=403, title="Form expired",
                    message="This form is out of date or did not come from slabridge. "
                            "Reload the page and try again.")
    return found


async def logout(request: web.Request) -> web.Response:
    checked = await require_csrf(request)
    if isinstance(checked, web.Response):
        return checked
    cookie = request.cookies[identity.COOKIE]
    await request.app[SERVICES].write(lambda conn: sessions.end(conn, cookie))
    resp = web.HTTPSeeOther("/login")
    identity.clear_session_cookie(resp)
    raise resp


async def whoami(request: web.Request) -> web.Response:
    """The signed-in person and the session's CSRF token, for scripts in the pages (JSON is
    not readable cross-origin, so this does not hand the token to another site)."""
    found = await identity.session(request)
    if found is None:
        return web.json_response({"error": "not signed in"}, status=401)
    u = found.user
    return web.json_response({
        "name": u.name, "role": u.role.value, "customer": u.customer,
        "line": u.line.value if u.line else None, "csrf": found.csrf,
    }, headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", front_door)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/session", whoami)
