"""Who is calling: a person by session cookie, or a machine by `Authorization: Bearer`.

Config API tokens are for machines only and are never read from a cookie. The session cookie
holds a random id (the store keeps its hash), HttpOnly, SameSite=Lax, Secure when the request
came over TLS directly or through a trusted proxy's `X-Forwarded-Proto: https`.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote

from aiohttp import web

from bridge.accounts import sessions
from bridge.accounts.sessions import Session
from bridge.api.auth import Principal, bearer
from bridge.api.errors import ApiError
from bridge.api.tickets import SERVICES, TOKENS
from bridge.config import Role

COOKIE = "slabridge_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
_SESSION = web.RequestKey("slabridge.session", object)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

HOMES = {
    Role.ADMIN: "/desk",
    Role.ENGINEER: "/desk",
    Role.ACCOUNT_MANAGER: "/reports",
    Role.CUSTOMER: "/portal",
}

# printable ASCII without backslash, starting with one slash: no scheme, host or control char
_LOCAL_PATH = re.compile(r"/(?![/\\])[\x21-\x5b\x5d-\x7e]*")


def safe_next(value: str | None) -> str | None:
    """`value` when it is a plain local path (no //host, no backslash, no control character
    that a URL library would strip into one), else None."""
    if value and _LOCAL_PATH.fullmatch(value):
        return value
    return None


def _from_trusted_proxy(request: web.Request) -> bool:
    proxies = request.app[SERVICES].cfg.service.trusted_proxies
    if not proxies or not request.remote:
        return False
    try:
        peer = ipaddress.ip_address(request.remote)
    except ValueError:
        return False
    return any(peer in net for net in proxies)


def is_secure(request: web.Request) -> bool:
    if request.secure:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" and _from_trusted_proxy(request)


def client_address(request: web.Request) -> str:
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and _from_trusted_proxy(request):
        return forwarded.split(",")[-1].strip()
    return request.remote or "unknown"


def set_session_cookie(request: web.Request, resp: web.StreamResponse, session_id: str) -> None:
    resp.set_cookie(
        COOKIE, session_id, httponly=True, samesite="Lax", path="/", secure=is_secure(request),
        max_age=int(sessions.ABSOLUTE.total_seconds()),
    )


def clear_session_cookie(resp: web.StreamResponse) -> None:
    resp.del_cookie(COOKIE, path="/")


async def session(request: web.Request) -> Session | None:
    """The caller's live session (looked up once per request), refreshing its idle timer."""
    if _SESSION in request:
        return request[_SESSION]  # type: ignore[return-value]
    found = None
    cookie = request.cookies.get(COOKIE)
    if cookie:
        svc = request.app[SERVICES]
        now = svc.now()
        found = await svc.read(lambda conn: sessions.find(conn, cookie, now=now))
        if found is not None and sessions.needs_touch(found, now):
            await svc.write(lambda conn: sessions.touch(conn, found.id_hash, now=now))
    request[_SESSION] = found
    return found


def login_redirect(request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")


async def caller(request: web.Request, *roles: Role, page: bool) -> Principal:
    """A machine by bearer token, else a person by session. Nobody: a page redirects to
    /login, anything else answers 401. A role outside `roles`: 403."""
    token = bearer(request)
    who: Principal | None
    if token is not None:
        who = request.app[TOKENS].lookup(token)
        if who is None:
            raise ApiError(401, "unknown token")
    else:
        found = await session(request)
        who = found.user.principal if found else None
        if who is None:
            if page:
                raise login_redirect(request)
            raise ApiError(401, "sign in, or send a bearer token")
        if request.method not in SAFE_METHODS and not found.csrf_ok(
            await presented_csrf(request)
        ):
            raise ApiError(403, f"missing or wrong CSRF token (send {CSRF_HEADER})")
    if roles and who.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise ApiError(403, f"role {who.role.value} may not do this (needs: {allowed})")
    return who


async def presented_csrf(request: web.Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None
