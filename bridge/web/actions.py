"""Ticket actions of the desk, single or in bulk: one function per action, each calling the
ticket commands of bridge.tickets inside the writer's transaction, so a bulk action writes
exactly the events of the same single actions.

A form carries the ticket version it was rendered from; when the ticket moved meanwhile the
action is refused with who changed it and when (the store's compare-and-set would refuse a
lost update anyway; this says it in words a person can act on).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bridge import incidents
from bridge import tickets as tk
from bridge.accounts.users import User
from bridge.config import Config, Role
from bridge.lifecycle import CloseReason, Line, Priority, Status, allowed_targets, can_escalate

BULK = {"take": "Take", "assign": "Assign to", "line": "Set line", "waiting": "Move to waiting",
        "resolve": "Resolve"}
VISIBILITIES = ("internal", "customer")


class Refused(ValueError):
    """The action makes no sense as asked; the message says why."""


class StalePage(Exception):
    def __init__(self, actor: str, at: datetime) -> None:
        super().__init__(f"changed by {actor} at {at:%Y-%m-%d %H:%M:%S} UTC — reload")
        self.actor = actor
        self.at = at


@dataclass(frozen=True)
class Act:
    name: str
    note: str = ""
    assignee: str = ""
    line: str = ""
    priority: str = ""
    close_reason: str = ""
    visibility: str = "internal"
    parent: int | None = None
    version: int | None = None


@dataclass(frozen=True)
class Ctx:
    cfg: Config
    user: User
    at: datetime


def _note(conn: sa.Connection, row: dict, ctx: Ctx, text: str, visibility: str) -> dict:
    if not text:
        return row
    return tk.record(conn, row, "commented", ctx.at, ctx.user.name,
                     {"text": text, "visibility": visibility}, now=ctx.at)


def _move(conn: sa.Connection, row: dict, ctx: Ctx, target: Status, act: Act,
          close_reason: CloseReason | None = None) -> dict:
    row = tk.transition(conn, row, target, cfg=ctx.cfg, at=ctx.at, actor=ctx.user.name,
                        now=ctx.at, reason=act.note, close_reason=close_reason)
    incidents.resolve_children(conn, ctx.cfg, row, at=ctx.at, actor=ctx.user.name, now=ctx.at)
    return row


def _take(conn: sa.Connection, row: dict, act: Act, ctx: Ctx) -> dict:
    row = tk.assign(conn, row, ctx.user.name, at=ctx.at, actor=ctx.user.name, now=ctx.at)
    return _note(conn, row, ctx, act.note, "internal")


def _assign(conn: sa.Connection, row: dict, act: Act, ctx: Ctx) -> dict:
    if not act.assignee:
        raise Refused("assign to whom?")
    row = tk.assign(conn, row, act.assignee, at=ctx.at, actor=ctx.user.name, now=ctx.at)
    return _note(conn, row, ctx, act.note, "internal")


def _line(conn: sa.Connection, row: dict, act: Act, ctx: Ctx) -> dict:
    try:
        target = Line(act.line)
    except ValueError:
        raise Refused(f"no line '{act.line}' (L1, L2, L3)") from None
    if target.value == row["line"]:
        return row
    return tk.escalate(conn, row, target, act.note, at=ctx.at, actor=ctx.user.name, now=ctx.at)


def _priority(conn: sa.Connection, row: dict, act: Act, ctx: Ctx) -> dict:
    try:
        target = Priority(act.priority)
    except ValueError:
        raise Refused(f"no priority '{act.priority}' (P1..P4)") from None
    if not act.note:
        raise Refused("a priority change needs a reason")
    return tk.change_priority(conn, row, target, act.note, at=ctx.at, actor=ctx.user.name,
                              now=ctx.at)


def _comment(conn: sa.Connection, row: dict, act: Act, ctx: Ctx) -> dict:
    if not act.note.strip():
        raise Refused("an empty comment")
    if act.visibility not in VISIBILITIES:
        raise Refused(f"a comment is internal or to the customer, not '{act.visibility}'")
    if act.visibility == "customer" and not talks_to_customer(ctx.user):
        raise Refused("only L1 talks to the customer: L2 and L3 comments are internal")
    return _note(conn, row, ctx, act.note, act.visibility)


def _close(conn: sa.Connection, row: dict, act: Act, ctx: Ctx) -> dict:
    try:
        reason = CloseReason(act.close_reason or "verified")
    except ValueError:
        raise Refused(f"no close reason '{act.close_reason}'") from None
    return _move(conn, row, ctx, Status.CLOSED, act, reason)


def _link(conn: sa.Connection, row: dict, act: Act, ctx: Ctx) -> dict:
    if act.name == "detach":
        if row["parent_id"] is None:
            return row
        return tk.record(conn, row, "linked", ctx.at, ctx.user.name, {"parent_id": None},
                         now=ctx.at)
    parent = tk.load(conn, act.parent) if act.parent else None
    if parent is None or parent["kind"] != "major" or parent["status"] == Status.CLOSED:
        raise Refused("attach to an open major incident")
    if parent["customer_id"] != row["customer_id"] or parent["id"] == row["id"]:
        raise Refused("a major incident gathers tickets of its own customer")
    return tk.record(conn, row, "linked", ctx.at, ctx.user.name, {"parent_id": parent["id"]},
                     now=ctx.at)


def _status(target: Status) -> Callable[[sa.Connection, dict, Act, Ctx], dict]:
    return lambda conn, row, act, ctx: _move(conn, row, ctx, target, act)


ACTIONS: dict[str, Callable[[sa.Connection, dict, Act, Ctx], dict]] = {
    "take": _take,
    "assign": _assign,
    "line": _line,
    "priority": _priority,
    "comment": _comment,
    "waiting": _status(Status.WAITING),
    "resume": _status(Status.IN_PROGRESS),
    "resolve": _status(Status.RESOLVED),
    "reopen": _status(Status.IN_PROGRESS),
    "close": _close,
    "attach": _link,
    "detach": _link,
}


def talks_to_customer(user: User) -> bool:
    return user.line in (None, Line.L1)


def may_act(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.ENGINEER)


def run(conn: sa.Connection, row: dict, act: Act, ctx: Ctx) -> dict:
    """Apply one action to one loaded ticket (inside the writer's transaction)."""
    if act.name not in ACTIONS:
        raise Refused(f"no action '{act.name}'")
    if act.version is not None and row["version"] != act.version:
        last = tk.history(conn, row["id"])[-1]
        raise StalePage(last["actor"], last["at"])
    return ACTIONS[act.name](conn, row, act, ctx)


def allowed(row: dict[str, Any], user: User) -> dict[str, Any]:
    """What the ticket page offers this user for this ticket (nothing to a reader)."""
    if not may_act(user) or row["status"] == Status.CLOSED:
        return {}
    status = Status(row["status"])
    targets = {t.value for t in allowed_targets(status)}
    out: dict[str, Any] = {"comment": True, "assign": True,
                           "take": row["assignee"] != user.name,
                           "priority": [p.value for p in Priority if p.value != row["priority"]],
                           "lines": [v.value for v in Line if can_escalate(Line(row["line"]), v)],
                           "customer_comment": talks_to_customer(user)}
    if "waiting" in targets:
        out["waiting"] = True
    if status == Status.WAITING:
        out["resume"] = True
    if "resolved" in targets and row["assignee"]:
        out["resolve"] = True
    if status == Status.RESOLVED:
        out["reopen"] = True
        out["close"] = ["verified"]
    if status == Status.NEW:
        out["close"] = ["duplicate", "false_alarm"]
    if row["kind"] != "major":
        out["detach" if row["parent_id"] else "attach"] = True
    return out
