"""The customer loop in a monthly report: how each resolution was verified, first-time fix,
satisfaction ratings and how fast the proactive notice went out.

Pure: reads a ticket's clock events (``status_changed`` carries ``close_reason``), the ratings
the customer gave with "It works" and the instant its first notice was sent, all loaded by
``bridge.reporting``. Rules (printed with the report's definitions):

* verification: **reopened** when the ticket went back from resolved to work at least once
  (the customer's "Still broken"; it stays "reopened" even when a later fix is confirmed,
  because the first fix did not hold), else **confirmed** (closed as verified by the
  customer), **no answer** (closed by the auto-close after the verification window),
  **pending** (resolved, window still running); open tickets and other closes have none;
* first-time fix = resolved tickets never reopened / tickets resolved at least once;
* satisfaction = the plain mean of every rating given (1–5), none shown as "—", never 0;
  per engineer, a rating counts for the ticket's assignee at its last resolution;
* proactive notice = wall-clock seconds from the ticket entering to its first notice sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

import sla
from sla.instants import to_epoch

__all__ = ["LOOP_COLUMNS", "TicketLoop", "engineer_ratings", "loop_row", "ticket_loop"]

CONFIRMED, NO_ANSWER, REOPENED, PENDING = "confirmed", "no answer", "reopened", "pending"

#: The one-row table of the month's loop figures.
LOOP_COLUMNS = (
    ("resolved", "Resolved tickets", "int"),
    ("first_time_fix", "Fixed first time", "int"),
    ("first_time_fix_pct", "First-time fix %", "pct"),
    ("reopens", "Reopens", "int"),
    ("confirmed", "Confirmed by customer", "int"),
    ("no_answer", "Closed without answer", "int"),
    ("reopened", "Reopened tickets", "int"),
    ("pending", "Verification pending", "int"),
    ("ratings", "Ratings", "int"),
    ("satisfaction", "Satisfaction (mean 1-5)", "number"),
    ("notices", "Proactive notices sent", "int"),
    ("notice_median", "Proactive notice median", "seconds"),
    ("notice_worst", "Proactive notice worst", "seconds"),
)


@dataclass(frozen=True)
class TicketLoop:
    """One ticket's loop facts."""

    verification: str | None
    resolved: bool  # resolved at least once by the report end
    reopens: int  # back from resolved/closed to work
    engineer: str | None  # assignee at the last resolution
    ratings: tuple[int, ...]
    notice: int | None  # seconds entered → first notice sent


_AT_SEQ = attrgetter("at", "seq")


def ticket_loop(
    events: Sequence[sla.ClockEvent],
    as_of: datetime,
    ratings: Sequence[int] = (),
    first_notice_at: datetime | None = None,
) -> TicketLoop:
    """The loop facts of one ticket's log as of ``as_of``."""
    stop = sla.STOP_STATUSES
    status = "new"
    entered = None
    assignee = engineer = None
    resolved = False
    reopens = 0
    close_reason = None
    for e in sorted((e for e in events if e.at <= as_of), key=_AT_SEQ):
        d = e.data
        if e.kind == "created":
            entered = e.at
            status = str(d.get("status") or "new")
            assignee = d.get("assignee") or assignee
        elif e.kind == "assigned" and d.get("assignee"):
            assignee = d["assignee"]
        elif e.kind == "status_changed":
            new = str(d.get("to"))
            if new in stop and status not in stop:
                resolved = True
                engineer = assignee
            elif new not in stop and status in stop:
                reopens += 1
            if new == "closed":
                close_reason = d.get("close_reason")
            status = new
    if reopens:
        verification = REOPENED
    elif status == "closed" and close_reason == "verified":
        verification = CONFIRMED
    elif status == "closed" and close_reason == "no_answer":
        verification = NO_ANSWER
    elif status == "resolved":
        verification = PENDING
    else:
        verification = None
    notice = None
    if first_notice_at is not None and entered is not None and first_notice_at <= as_of:
        notice = max(0, to_epoch(first_notice_at) - to_epoch(entered))
    return TicketLoop(verification, resolved, reopens, engineer, tuple(ratings), notice)


def _mean(values: Sequence[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _nearest_rank(values: Sequence[int], p: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return int(ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1])


def loop_row(loops: Sequence[TicketLoop], proactive: Sequence[bool]) -> dict[str, Any]:
    """The month's figures: first-time fix, reopens, verification outcomes, satisfaction and
    the proactive notice's median and worst time."""
    resolved = [x for x in loops if x.resolved]
    ftf = sum(1 for x in resolved if not x.reopens)
    ratings = [r for x in loops for r in x.ratings]
    notices = [
        x.notice for x, p in zip(loops, proactive, strict=True) if p and x.notice is not None
    ]
    count = {
        v: sum(1 for x in loops if x.verification == v)
        for v in (CONFIRMED, NO_ANSWER, REOPENED, PENDING)
    }
    return {
        "resolved": len(resolved),
        "first_time_fix": ftf,
        "first_time_fix_pct": round(100.0 * ftf / len(resolved), 4) if resolved else None,
        "reopens": sum(x.reopens for x in loops),
        "confirmed": count[CONFIRMED],
        "no_answer": count[NO_ANSWER],
        "reopened": count[REOPENED],
        "pending": count[PENDING],
        "ratings": len(ratings),
        "satisfaction": _mean(ratings),
        "notices": len(notices),
        "notice_median": _nearest_rank(notices, 50),
        "notice_worst": max(notices) if notices else None,
    }


def engineer_ratings(loops: Sequence[TicketLoop], fallback: Sequence[str]) -> dict[str, dict]:
    """Per engineer (assignee at the last resolution, else ``fallback[i]``): the number of
    ratings and their mean (None without ratings)."""
    by: dict[str, list[int]] = {}
    for x, name in zip(loops, fallback, strict=True):
        if x.ratings:
            by.setdefault(x.engineer or name, []).extend(x.ratings)
    return {k: {"ratings": len(v), "satisfaction": _mean(v)} for k, v in by.items()}
