"""The customer portal at /portal: a customer user's own tickets, their customer-visible
history, replies, "It works" / "Still broken" on a resolved ticket, opening a ticket with an
urgency their SLA policy maps to a priority, the status of their devices and incidents with
this month's availability so far, and their monthly reports.

Built on the desk's machinery (sessions, CSRF, templates, error pages, the change feed) and on
the shared decisions of bridge.customer_view (what a customer sees) and
bridge.customer_actions (what a customer may do). Another customer's anything is a 404.
"""

from __future__ import annotations

from aiohttp import web

from bridge.web.portal import home, live, ticket


def setup(app: web.Application) -> None:
    app.router.add_get("/portal", home.home)
    app.router.add_get("/portal/new", ticket.new_form)
    app.router.add_post("/portal/tickets", ticket.create)
    app.router.add_get("/portal/tickets/{id}", ticket.show)
    app.router.add_post("/portal/tickets/{id}/reply", ticket.reply)
    app.router.add_post("/portal/tickets/{id}/works", ticket.works)
    app.router.add_post("/portal/tickets/{id}/broken", ticket.broken)
    app.router.add_get("/portal/events", live.events)
