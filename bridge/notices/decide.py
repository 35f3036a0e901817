"""Which notice a ticket event causes, decided where the event is written, in its transaction.

Only the decision is stored here (`notices` rows: ticket, event seq, kind); recipients,
language and rendering come later (bridge.notices.outbox), so this hot path needs no config
and costs one small query and one insert per batch that carries a notice at all.

No mail storm: a child of a major incident is never announced on its own; its major incident
is (once when it opens, once when it is resolved). A proactive notice not yet expanded when its
ticket is linked under a major incident is withdrawn (see `MailConfig.hold`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from bridge.lifecycle import Origin, Status
from bridge.store.schema import notices, tickets

PENDING = "pending"
EXPANDED = "expanded"
WITHDRAWN = "withdrawn"

_WORTH_A_LOOK = frozenset({"created", "status_changed", "commented", "linked"})
_ROWS = sa.select(tickets.c.id, tickets.c.kind, tickets.c.parent_id, tickets.c.origin).where(
    tickets.c.id.in_(sa.bindparam("b_ids", expanding=True))
)
_INSERT = notices.insert()
_WITHDRAW = (
    notices.update()
    .where(
        notices.c.ticket_id.in_(sa.bindparam("b_ids", expanding=True)),
        notices.c.kind == "proactive",
        notices.c.state == PENDING,
    )
    .values(state=WITHDRAWN)
)


def notice_for(event: dict[str, Any], ticket: dict[str, Any]) -> tuple[str, dict] | None:
    """The notice (kind, data) one event causes for a ticket in its state after the batch."""
    kind, data = event["kind"], event["data"]
    major = ticket["kind"] == "major"
    if kind == "created":
        # a child's proactive notice is recorded and then withdrawn by its `linked` event, so a
        # batch and the same commands one by one leave the same rows
        if major:
            return "major", {"phase": "opened"}
        if Origin(ticket["origin"]).proactive:
            return "proactive", {}
        return None
    if ticket["parent_id"] is not None:
        return None  # its major incident speaks for it
    if kind == "commented":
        if data.get("visibility") == "customer" and not data.get("by_customer") and not major:
            return "update", {"text": data.get("text", "")}
        return None
    if kind != "status_changed":
        return None
    to = data["to"]
    if major:
        return ("major", {"phase": "resolved"}) if to == Status.RESOLVED else None
    if to == Status.WAITING:
        return "question", {"text": data.get("reason", "")}
    if to == Status.RESOLVED:
        return "resolved", {"close_deadline": data.get("close_deadline")}
    if to == Status.CLOSED:
        return "closed", {"close_reason": data.get("close_reason"), "actor": event["actor"]}
    return None


def record_notices(conn: sa.Connection, events: Iterable[dict[str, Any]]) -> None:
    """Store the notices these just-written ticket events cause (same connection, same
    transaction), and withdraw pending proactive notices of tickets now under a major one."""
    relevant = [e for e in events if e["kind"] in _WORTH_A_LOOK]
    if not relevant:
        return
    linked = [
        e["ticket_id"] for e in relevant if e["kind"] == "linked" and e["data"].get("parent_id")
    ]
    ids = list({e["ticket_id"] for e in relevant if e["kind"] != "linked"})
    if not ids:
        if linked:
            conn.execute(_WITHDRAW, {"b_ids": linked})
        return
    rows = {r["id"]: r for r in conn.execute(_ROWS, {"b_ids": ids}).mappings()}
    out = []
    for e in relevant:
        ticket = rows.get(e["ticket_id"])
        decided = notice_for(e, ticket) if ticket is not None else None
        if decided is None:
            continue
        kind, data = decided
        out.append(
            {
                "ticket_id": e["ticket_id"],
                "seq": e["seq"],
                "kind": kind,
                "at": e["at"],
                "created_at": e["recorded_at"],
                "state": PENDING,
                "data": data,
            }
        )
    if out:
        conn.execute(_INSERT, out)
    if linked:
        conn.execute(_WITHDRAW, {"b_ids": linked})
