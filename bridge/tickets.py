"""Ticket commands. Each runs inside the writer's transaction and appends events.

Every change goes through `record`, which folds the event into the projection with
bridge.projection.apply and updates the row compare-and-set on its version (and, for status
changes, on the old status), so two writers can never both move one ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bridge import projection
from bridge.config import Config
from bridge.lifecycle import (
    CloseReason,
    Line,
    Origin,
    Priority,
    Status,
    TransitionRefused,
    can_escalate,
    plan_transition,
)
from bridge.notices.decide import record_notices
from bridge.store.schema import ticket_events, tickets
from sla.events import EventInvalid as EventInvalid  # re-exported: what a bad event raises
from sla.events import validate


class NotFound(Exception):
    """No such ticket (or not visible to the caller: same answer, so ids do not leak)."""


class Conflict(Exception):
    """The ticket changed under us; the caller may read it again and retry."""


class Invalid(Exception):
    """A command that is well-formed but makes no sense for this ticket."""


class InvalidEvent(Invalid, EventInvalid):
    """An event the log refuses (unknown status, empty assignee, ...): an Invalid command to
    every caller that handles those (pages, API), and sla.events.EventInvalid naming the kind
    and field."""


def _validate(kind: str, data: Mapping[str, Any]) -> None:
    try:
        validate(kind, data)
    except EventInvalid as err:
        raise InvalidEvent(err.kind, err.field, err.problem) from None


@dataclass(frozen=True, slots=True)
class TicketKey:
    prefix: str

    def format(self, ticket_id: int) -> str:
        return f"{self.prefix}-{ticket_id:06d}"

    def parse(self, text: str) -> int:
        prefix, _, number = text.partition("-")
        # ASCII digits only ("²" is a digit to str.isdigit), and within a 64-bit id
        if prefix != self.prefix or not (number.isascii() and number.isdigit()) or len(number) > 18:
            raise NotFound(text)
        return int(number)


# Built once: SQLAlchemy caches the compiled form under each statement's (memoized) cache key, so
# executing these with plain parameter dicts skips building and keying a statement every time.
_INSERT_TICKET = tickets.insert()
_INSERT_EVENT = ticket_events.insert()
_LOAD = sa.select(tickets).where(tickets.c.id == sa.bindparam("b_id"))
_CAS = tickets.update().where(
    tickets.c.id == sa.bindparam("b_id"), tickets.c.version == sa.bindparam("b_version")
)
_CAS_STATUS = _CAS.where(tickets.c.status == sa.bindparam("b_status"))


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}


def _event(conn: sa.Connection, events: list | None, values: dict[str, Any]) -> None:
    if events is None:
        insert_events(conn, [values])
    else:
        events.append(values)


def insert_events(conn: sa.Connection, events: list[dict[str, Any]]) -> None:
    """Write events held back by `record`/`create` (one executemany), and in the same
    transaction the customer notices they cause.

    Every event is validated first (sla.events.validate): an unknown kind or status, an empty
    assignee, ... raises InvalidEvent and nothing of the batch is written; the caller's
    transaction then rolls back the projection change that came with it."""
    for ev in events:
        _validate(ev["kind"], ev["data"])
    if events:
        conn.execute(_INSERT_EVENT, events if len(events) > 1 else events[0])
        record_notices(conn, events)


def load(conn: sa.Connection, ticket_id: int) -> dict[str, Any]:
    row = conn.execute(_LOAD, {"b_id": ticket_id}).mappings().first()
    if row is None:
        raise NotFound(str(ticket_id))
    return dict(row)


def record(
    conn: sa.Connection,
    row: dict[str, Any],
    kind: str,
    at: datetime,
    actor: str,
    data: Mapping[str, Any],
    *,
    now: datetime,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Append one event and update the projection with compare-and-set.

    With `events`, the event row is appended to that list for the caller to insert (in order,
    before its transaction ends) together with others: ingest writes a group's events at once.
    """
    data = _jsonable(data)
    _validate(kind, data)  # refused before the projection moves; insert_events checks again
    new = projection.apply(row, kind, at, data)
    params = {k: v for k, v in new.items() if k != "id"}
    params["b_id"] = row["id"]
    params["b_version"] = row["version"]
    if kind == "status_changed":
        params["b_status"] = data["from"]
        result = conn.execute(_CAS_STATUS, params)
    else:
        result = conn.execute(_CAS, params)
    if result.rowcount != 1:
        raise Conflict(f"ticket {row['id']} changed meanwhile")
    _event(conn, events, event_row(row["id"], new["version"], kind, data, at, actor, now=now))
    new["id"] = row["id"]
    return new


def create(
    conn: sa.Connection,
    cfg: Config,
    *,
    at: datetime,
    actor: str,
    now: datetime,
    events: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Open a ticket; ``fields`` are :func:`created_data`'s (customer_id, title, origin,
    priority, …), declared there once, so an unknown or missing one is a TypeError."""
    data = created_data(cfg, **fields)
    row = projection.apply(None, "created", at, data)
    ticket_id = conn.execute(_INSERT_TICKET, row).inserted_primary_key[0]
    _event(conn, events, created_event(ticket_id, data, at=at, actor=actor, now=now))
    row["id"] = ticket_id
    return row


def event_row(
    ticket_id: int,
    seq: int,
    kind: str,
    data: Mapping[str, Any],
    at: datetime,
    actor: str,
    *,
    now: datetime,
) -> dict[str, Any]:
    """A `ticket_events` row; the batched opening of tickets, which projects a new ticket's
    first events before inserting it, writes its events with this too."""
    return {
        "ticket_id": ticket_id,
        "seq": seq,
        "at": at,
        "recorded_at": now,
        "kind": kind,
        "actor": actor,
        "data": data,
    }


def created_event(
    ticket_id: int, data: dict[str, Any], *, at: datetime, actor: str, now: datetime
) -> dict[str, Any]:
    return event_row(ticket_id, 1, "created", data, at, actor, now=now)


def created_data(
    cfg: Config,
    *,
    customer_id: str,
    title: str,
    origin: Origin,
    priority: Priority,
    device_id: str | None = None,
    summary: str = "",
    description: str = "",
    kind: str = "incident",
    alertname: str | None = None,
    dedup_source: str | None = None,
    dedup_identity: str | None = None,
    related_id: int | None = None,
) -> dict[str, Any]:
    """The `created` event's data for a new ticket; Invalid for an unknown customer or device."""
    customer = cfg.customer(customer_id)
    if customer is None:
        raise Invalid(f"unknown customer '{customer_id}'")
    device = cfg.device(device_id) if device_id else None
    if device_id and (device is None or device.customer != customer_id):
        raise Invalid(f"unknown device '{device_id}' for customer '{customer_id}'")
    data = {
        "customer_id": customer_id,
        "contract": customer.contract,
        "device_id": device_id,
        "device_ip": device.ip if device else None,
        "title": title,
        "summary": summary,
        "description": description,
        "priority": priority.value,
        "line": cfg.service.default_line.value,
        "origin": origin.value,
        "kind": kind,
        "alertname": alertname,
        "parent_device": device.depends_on if device else None,
        "dedup_source": dedup_source,
        "dedup_identity": dedup_identity,
        "parent_id": None,
        "related_id": related_id,
        "status": Status.NEW.value,
    }
    return data


def assign(
    conn: sa.Connection, row: dict, assignee: str, *, at: datetime, actor: str, now: datetime
) -> dict:
    """Assigning a new ticket means the engineer accepted it: it goes in progress."""
    if row["status"] == Status.CLOSED:
        raise TransitionRefused(Status.CLOSED, Status.CLOSED, [], "a closed ticket is final")
    if row["assignee"] == assignee:
        return row
    row = record(
        conn, row, "assigned", at, actor, {"assignee": assignee, "from": row["assignee"]}, now=now
    )
    if row["status"] == Status.NEW:
        row = transition(conn, row, Status.IN_PROGRESS, cfg=None, at=at, actor=actor, now=now)
    return row


def transition(
    conn: sa.Connection,
    row: dict,
    target: Status,
    *,
    cfg: Config | None,
    at: datetime,
    actor: str,
    now: datetime,
    reason: str = "",
    close_reason: CloseReason | None = None,
    events: list[dict[str, Any]] | None = None,
) -> dict:
    current = Status(row["status"])
    plan = plan_transition(current, target, assignee=row["assignee"], close_reason=close_reason)
    data: dict[str, Any] = {"from": plan.old.value, "to": plan.new.value, "rule": plan.rule}
    if reason:
        data["reason"] = reason
    if plan.close_reason is not None:
        data["close_reason"] = plan.close_reason.value
    if target == Status.RESOLVED:
        window = 24 * 3600.0
        if cfg is not None and (customer := cfg.customer(row["customer_id"])) is not None:
            window = customer.verification_window
        data["close_deadline"] = at + timedelta(seconds=window)
    return record(conn, row, "status_changed", at, actor, data, now=now, events=events)


def comment(
    conn: sa.Connection, row: dict, text: str, *, at: datetime, actor: str, now: datetime
) -> dict:
    return record(conn, row, "commented", at, actor, {"text": text}, now=now)


def escalate(
    conn: sa.Connection,
    row: dict,
    target: Line,
    reason: str,
    *,
    at: datetime,
    actor: str,
    now: datetime,
) -> dict:
    current = Line(row["line"])
    if row["status"] == Status.CLOSED:
        raise Invalid("a closed ticket is final")
    if not can_escalate(current, target):
        raise Invalid(f"escalation goes up only: the ticket is at {current.value}")
    data = {"from": current.value, "to": target.value, "reason": reason}
    return record(conn, row, "escalated", at, actor, data, now=now)


def change_priority(
    conn: sa.Connection,
    row: dict,
    target: Priority,
    reason: str,
    *,
    at: datetime,
    actor: str,
    now: datetime,
    events: list[dict[str, Any]] | None = None,
) -> dict:
    if row["status"] == Status.CLOSED:
        raise Invalid("a closed ticket is final")
    if row["priority"] == target:
        return row
    data = {"from": row["priority"], "to": target.value, "reason": reason}
    return record(conn, row, "priority_changed", at, actor, data, now=now, events=events)


_DUE_TO_CLOSE = (
    sa.select(tickets)
    .where(
        tickets.c.status == Status.RESOLVED.value,
        tickets.c.close_deadline <= sa.bindparam("now", type_=tickets.c.close_deadline.type),
    )
    .order_by(tickets.c.close_deadline, tickets.c.id)
    .with_for_update(skip_locked=True)
)


def close_due(conn: sa.Connection, *, now: datetime, actor: str = "auto-close") -> list[int]:
    """Close every resolved ticket whose verification window has passed, at its deadline;
    tickets another node is changing right now are left to its (or the next) sweep."""
    due = conn.execute(_DUE_TO_CLOSE, {"now": now}).mappings().all()
    closed = []
    for r in due:
        row = dict(r)
        transition(
            conn,
            row,
            Status.CLOSED,
            cfg=None,
            at=row["close_deadline"],
            actor=actor,
            now=now,
            reason="no answer within the verification window",
            close_reason=CloseReason.NO_ANSWER,
        )
        closed.append(row["id"])
    return closed


def history(conn: sa.Connection, ticket_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(ticket_events)
        .where(ticket_events.c.ticket_id == ticket_id)
        .order_by(ticket_events.c.seq)
    ).mappings()
    return [dict(r) for r in rows]


def rebuild_projection(conn: sa.Connection, ticket_id: int) -> dict[str, Any]:
    """Recompute a ticket's row from its events alone and write it back."""
    state = projection.rebuild(history(conn, ticket_id))
    if state is None:
        raise NotFound(str(ticket_id))
    conn.execute(sa.update(tickets).where(tickets.c.id == ticket_id).values(**state))
    state["id"] = ticket_id
    return state
