"""Every route of the people's pages, and the static files they ship with."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bridge.api import openapi
from bridge.web import login

STATIC = Path(__file__).resolve().parent / "static"


def add_routes(app: web.Application) -> None:
    login.add_routes(app)
    app.router.add_static("/static/web", STATIC)


openapi.register(
    {
        "/login": {
            "get": {
                "summary": "The sign-in form (HTML)",
                "security": [],
                "responses": {"200": {"description": "HTML"}},
            },
            "post": {
                "summary": "Sign in with a user name and password (form fields `name`, "
                           "`password`, optional local `next`); sets an HttpOnly SameSite=Lax "
                           "session cookie and redirects to the user's home",
                "security": [],
                "responses": {"303": {"description": "signed in"},
                              "401": {"description": "wrong name or password"},
                              "429": {"description": "too many failures: locked 15 minutes"}},
            },
        },
        "/logout": {
            "post": {
                "summary": "Sign out (form field `csrf`): ends the session, redirects to /login",
                "security": [],
                "responses": {"303": {"description": "signed out"},
                              "403": {"description": "missing or wrong CSRF token"}},
            }
        },
    }
)
