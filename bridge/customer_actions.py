"""What a customer may do to the store: open a ticket, comment, answer a resolution.

Shared by the portal (bridge.web.portal) and the API with a customer token, and built from the
same ticket commands the desk, the mail reader and the verification links use: a customer's
answer to a resolved ticket is bridge.notices.verify.answer_resolution, whichever way it came.
Each function runs inside the writer's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bridge import customer_view
from bridge import tickets as tk
from bridge.config import Config
from bridge.lifecycle import Origin, Status
from bridge.notices.verify import answer_resolution, current_resolution


def open_ticket(
    conn: sa.Connection,
    cfg: Config,
    *,
    customer_id: str,
    title: str,
    description: str,
    device_id: str | None,
    urgency: str,
    actor: str,
    at: datetime,
) -> dict[str, Any]:
    """A ticket the customer opens themselves (origin customer), its priority their urgency
    as their SLA policy maps it. Invalid for a device that is not theirs."""
    customer = cfg.customer(customer_id)
    if customer is None:
        raise tk.Invalid(f"unknown customer '{customer_id}'")
    try:
        priority = customer_view.priority_for(cfg.sla_policies[customer.sla_policy], urgency)
    except ValueError as err:
        raise tk.Invalid(str(err)) from None
    return tk.create(
        conn, cfg, customer_id=customer_id, title=title, origin=Origin.CUSTOMER,
        priority=priority, at=at, actor=actor, now=at, device_id=device_id,
        description=description,
    )  # fmt: skip


def comment(
    conn: sa.Connection, cfg: Config, row: dict[str, Any], text: str, *, actor: str, at: datetime
) -> dict[str, Any]:
    """The customer's words on their ticket, visible to them and to the desk. On a resolved
    ticket they mean it is not fixed: the ticket is reopened ("still broken") with their text,
    as a reply by mail does. A closed ticket is final (Invalid)."""
    text = text.strip()
    if not text:
        raise tk.Invalid("an empty comment")
    if row["status"] == Status.CLOSED:
        raise tk.Invalid("a closed ticket is final: open a new ticket")
    if row["status"] == Status.RESOLVED:
        seq = current_resolution(conn, row["id"])
        row, _acted = answer(conn, cfg, row, seq, "broken", text=text, actor=actor, at=at)
        return row
    data = {"text": text, "visibility": "customer", "by_customer": True}
    return tk.record(conn, row, "commented", at, actor, data, now=at)


def answer(
    conn: sa.Connection,
    cfg: Config,
    row: dict[str, Any],
    seq: int | None,
    answer: str,
    *,
    text: str,
    actor: str,
    at: datetime,
    rating: int | None = None,
) -> tuple[dict[str, Any], bool]:
    """Answer "works" (closed, confirmed by the customer, optional rating) or "broken" (back in
    progress) for the resolution `seq` the customer saw; (ticket, False) when it moved on."""
    if answer not in ("works", "broken"):
        raise tk.Invalid(f"an answer is 'works' or 'broken', not '{answer}'")
    if answer == "broken" and not text.strip():
        raise tk.Invalid("say what is still broken")
    return answer_resolution(
        conn, cfg, row["id"], seq, answer, text=text.strip(), rating=rating, actor=actor, at=at
    )
