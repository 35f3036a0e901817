"""Every route of the people's pages, and the static files they ship with."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bridge.api import openapi
from bridge.web import admin_api, desk, login, portal, stats, ticket

STATIC = Path(__file__).resolve().parent / "static"


def add_routes(app: web.Application) -> None:
    login.add_routes(app)
    admin_api.add_routes(app)
    desk.setup(app)
    ticket.setup(app)
    stats.setup(app)
    portal.setup(app)
    app.router.add_static("/static/web", STATIC)


def html(summary: str, *codes: str) -> dict:
    """An HTML page's OpenAPI entry (people's pages: session cookie, no bearer needed)."""
    responses = {"200": {"description": "HTML"}, "303": {"description": "sign in first"}}
    responses.update({c: {"description": "see the page"} for c in codes})
    return {"get": {"summary": summary, "security": [], "responses": responses}}


def _form_post(summary: str, *codes: str) -> dict:
    """A portal form post's OpenAPI entry (session cookie and CSRF field)."""
    responses = {"303": {"description": "done: see the ticket"},
                 "403": {"description": "missing or wrong CSRF token, or not a customer"}}
    responses.update({c: {"description": "a page naming the problem"} for c in codes})
    return {"summary": summary, "security": [], "responses": responses}


openapi.register(
    {
        "/": html("The front door: the signed-in person's home, else /login"),
        "/desk": html("The queue: views, filters and sort in the query string", "400", "403"),
        "/desk/events": html("Server-Sent Events: ticket changes for open desks", "403"),
        "/desk/bulk": {"post": {
            "summary": "One action on ticked tickets (form: csrf, action, ticket…, note)",
            "security": [],
            "responses": {"303": {"description": "done"}, "400": {"description": "nothing"},
                          "403": {"description": "CSRF or role"},
                          "409": {"description": "some tickets not changed (why)"}}}},
        "/desk/tickets/{id}": {
            **html("A ticket: attributes, history, SLA clocks, device, allowed actions", "404"),
            "post": {"summary": "One action (form: csrf, version, action, note, …)",
                     "security": [],
                     "parameters": [{"name": "id", "in": "path", "required": True,
                                     "schema": {"type": "string"}}],
                     "responses": {"303": {"description": "done"},
                                   "403": {"description": "CSRF or role"},
                                   "409": {"description": "stale page or refused (why)"}}},
        },
        "/desk/stats": html("Per engineer figures of the monthly reports (?from=&to= months)",
                            "400", "403"),
        "/portal": html("A customer user's tickets, device status, incidents, this month's "
                        "availability so far and monthly reports (?page=N)"),
        "/portal/new": html("The form that opens a ticket (title, description, device, urgency)"),
        "/portal/tickets": {"post": _form_post(
            "Open a ticket (form: csrf, title, description, device, urgency low|normal|high|"
            "critical; the customer's SLA policy maps the urgency to a priority)", "400")},
        "/portal/tickets/{id}": html("A customer's ticket: status and the history meant for "
                                     "the customer", "404"),
        "/portal/tickets/{id}/reply": {"post": _form_post(
            "A comment from the customer (form: csrf, text); on a resolved ticket it reopens it",
            "400", "404", "409")},
        "/portal/tickets/{id}/works": {"post": _form_post(
            "It works: closes a resolved ticket as confirmed (form: csrf, resolution, rating "
            "1-5, comment)", "400", "404", "409")},
        "/portal/tickets/{id}/broken": {"post": _form_post(
            "Still broken: reopens a resolved ticket (form: csrf, resolution, text)",
            "400", "404", "409")},
        "/portal/events": html("Server-Sent Events: which of the customer's tickets changed"),
        "/static/web": html("CSS and JavaScript of the pages, shipped in the package"),
        "/session": {
            "get": {
                "summary": "The signed-in person and the session's CSRF token (JSON)",
                "security": [],
                "responses": {"200": {"description": "who"},
                              "401": {"description": "not signed in"}},
            }
        },
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
