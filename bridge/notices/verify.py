"""`/verify/{token}`: the customer's answer to a resolved ticket, from the link in the mail.

GET only shows a page (mail scanners fetch links); POST acts, once, and only while the ticket
is still in the resolution the link was made for. The signed token is the authority, so there
is no session and no CSRF cookie; a link for one ticket can never name another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from bridge import tickets as tk
from bridge.config import Config
from bridge.lifecycle import CloseReason, Status
from bridge.notices import links
from bridge.notices.render import _env
from bridge.service import Services

MAX_TEXT = 10_000


def _language(cfg: Config, ticket: dict[str, Any], recipient: str) -> str:
    customer = cfg.customer(ticket["customer_id"])
    for c in customer.contacts if customer else []:
        if c.email.lower() == recipient.lower():
            return c.language
    return "en"


def current_resolution(conn: sa.Connection, ticket_id: int) -> int | None:
    """The seq of the event that put the ticket in its present resolution, if it is resolved."""
    seq = None
    for ev in tk.history(conn, ticket_id):
        if ev["kind"] == "status_changed":
            seq = ev["seq"] if ev["data"].get("to") == Status.RESOLVED else None
    return seq


def answer_resolution(
    conn: sa.Connection,
    cfg: Config,
    ticket_id: int,
    seq: int | None,
    answer: str,
    *,
    text: str,
    rating: int | None,
    actor: str,
    at: datetime,
) -> tuple[dict[str, Any], bool]:
    """The customer's answer to a resolved ticket, from a mail link or the portal (one decision,
    one place): "works" closes it as verified (an optional rating and comment recorded),
    "broken" puts it back in progress with their text as a comment, the assignee kept. Acts
    only while the ticket is still in the resolution `seq` (the event that resolved it); else
    changes nothing and returns (ticket, False)."""
    row = tk.load(conn, ticket_id)
    if row["status"] != Status.RESOLVED or current_resolution(conn, row["id"]) != seq:
        return row, False
    note: dict[str, Any] = {"visibility": "customer", "by_customer": True}
    if answer == "works":
        row = tk.transition(
            conn, row, Status.CLOSED, cfg=cfg, at=at, actor=actor, now=at,
            reason="confirmed by the customer", close_reason=CloseReason.VERIFIED,
        )  # fmt: skip
        if rating is not None or text:
            note.update(text=text, rating=rating, verification="confirmed")
            row = tk.record(conn, row, "commented", at, actor, note, now=at)
    else:
        row = tk.transition(
            conn, row, Status.IN_PROGRESS, cfg=cfg, at=at, actor=actor, now=at,
            reason="reopened by the customer",
        )  # fmt: skip
        if text:
            note.update(text=text, verification="reopened")
            row = tk.record(conn, row, "commented", at, actor, note, now=at)
    return row, True


def _page(language: str, http_status: int = 200, **values: Any) -> web.Response:
    html = _env(language).get_template("verify.html").render(language=language, **values)
    return web.Response(text=html, status=http_status, content_type="text/html", charset="utf-8")


def _bad(message: str) -> web.Response:
    return _page("en", 400, state="bad", message=message, key="", title="", status="")


def _form_value(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip()[:MAX_TEXT] if isinstance(value, str) else ""


def add_routes(app: web.Application, services: Services, signing_key: str) -> None:
    cfg = services.cfg

    def check(request: web.Request) -> links.Verification:
        return links.check(signing_key, request.match_info["token"], services.now())

    def view(ticket: dict[str, Any], v: links.Verification, state: str, **extra: Any):
        return _page(
            _language(cfg, ticket, v.recipient),
            state=state,
            answer=v.answer,
            key=services.keys.format(ticket["id"]),
            title=ticket["title"],
            status=ticket["status"],
            **extra,
        )

    async def show(request: web.Request) -> web.Response:
        try:
            v = check(request)
        except links.BadLink as err:
            return _bad(str(err))

        def read(conn: sa.Connection) -> tuple[dict, int | None]:
            return tk.load(conn, v.ticket_id), current_resolution(conn, v.ticket_id)

        try:
            ticket, seq = await services.read(read)
        except tk.NotFound:
            return _bad("This link is not valid: it was changed or cut short.")
        if ticket["status"] != Status.RESOLVED or seq != v.seq:
            return view(ticket, v, "moved_on")
        return view(ticket, v, "ask")

    async def act(request: web.Request) -> web.Response:
        try:
            v = check(request)
        except links.BadLink as err:
            return _bad(str(err))
        form = await request.post()
        text = _form_value(form, "comment")
        rating: int | None = None
        if v.answer == "works" and _form_value(form, "rating"):
            raw = _form_value(form, "rating")
            if raw not in ("1", "2", "3", "4", "5"):
                return _bad("A rating is a whole number from 1 to 5.")
            rating = int(raw)
        at = services.now()
        actor = f"customer:{v.recipient}"[:128]

        def run(conn: sa.Connection) -> tuple[dict, bool]:
            return answer_resolution(
                conn, cfg, v.ticket_id, v.seq, v.answer, text=text, rating=rating, actor=actor,
                at=at,
            )  # fmt: skip

        try:
            row, acted = await services.write(run)
        except tk.NotFound:
            return _bad("This link is not valid: it was changed or cut short.")
        return view(row, v, "done" if acted else "moved_on")

    app.router.add_get("/verify/{token}", show)
    app.router.add_post("/verify/{token}", act)
