"""Accounts over the API, for admins (bearer token, or an admin's session with its CSRF
header): the same operations as ``slabridge user``."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bridge.accounts import users
from bridge.accounts.passwords import WeakPassword
from bridge.api import openapi
from bridge.api.errors import ApiError, read_model
from bridge.api.tickets import SERVICES
from bridge.config import Role
from bridge.web.identity import caller

Password = Annotated[str, Field(min_length=1, max_length=1024)]


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=128)]
    role: str
    password: Password
    customer: str | None = None
    line: str | None = None
    email: Annotated[str, Field(max_length=254)] | None = None


class ChangeUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Password | None = None
    disabled: bool | None = None
    #: a customer user's address for the customer's notices; "" removes it
    email: Annotated[str, Field(max_length=254)] | None = None


def user_json(u: users.User) -> dict[str, Any]:
    return {
        "name": u.name,
        "role": u.role.value,
        "customer": u.customer,
        "line": u.line.value if u.line else None,
        "disabled": u.disabled,
        "email": u.email,
    }


async def _run(request: web.Request, fn: Any) -> Any:
    try:
        return await request.app[SERVICES].write(fn)
    except (users.AccountError, WeakPassword) as err:
        status = 404 if str(err).startswith("no user") else 400
        status = 409 if "exists already" in str(err) else status
        raise ApiError(status, str(err)) from None


async def list_users(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN, page=False)
    found = await request.app[SERVICES].read(users.all_users)
    return web.json_response({"users": [user_json(u) for u in found]})


async def add_user(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN, page=False)
    body = await read_model(request, NewUser)
    svc = request.app[SERVICES]
    now = svc.now()
    made = await _run(request, lambda conn: users.add(
        conn, svc.cfg, name=body.name, role=body.role, password=body.password, now=now,
        customer=body.customer, line=body.line, email=body.email,
    ))
    return web.json_response(user_json(made), status=201)


async def change_user(request: web.Request) -> web.Response:
    await caller(request, Role.ADMIN, page=False)
    body = await read_model(request, ChangeUser)
    name = request.match_info["name"]
    now = request.app[SERVICES].now()

    def run(conn: Any) -> users.User:
        if body.password is not None:
            users.set_password(conn, name, body.password, now=now)
        if body.disabled is not None:
            users.set_disabled(conn, name, body.disabled)
        if body.email is not None:
            users.set_email(conn, name, body.email or None)
        found = users.get(conn, name)
        if found is None:
            raise users.AccountError(f"no user '{name}'")
        return found

    return web.json_response(user_json(await _run(request, run)))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/users", list_users)
    app.router.add_post("/api/v1/users", add_user)
    app.router.add_patch("/api/v1/users/{name}", change_user)


_ERR = {"401": {"description": "no token or session"}, "403": {"description": "not an admin"}}
openapi.register(
    {
        "/api/v1/users": {
            "get": {"summary": "Every account (admins)",
                    "responses": {"200": {"description": "users"}, **_ERR}},
            "post": {"summary": "Add an account: name, role, password[, customer, line, email]",
                     "responses": {"201": {"description": "added"},
                                   "400": {"description": "bad role, customer or password"},
                                   "409": {"description": "the name exists"}, **_ERR}},
        },
        "/api/v1/users/{name}": {
            "patch": {"summary": "New password, disabled flag (ends sessions), e-mail",
                      "parameters": [{"name": "name", "in": "path", "required": True,
                                      "schema": {"type": "string"}}],
                      "responses": {"200": {"description": "changed"},
                                    "404": {"description": "no such user"}, **_ERR}},
        },
    }
)
