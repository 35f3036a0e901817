"""The desk's workload: tickets entered per hour of the week, against the opening hours.

Management sets staffing levels and opening hours from the peaks and troughs of contacts
(seed 003), so a report counts tickets by the local weekday and hour they were entered, in
the report's zone, and states which of those hours the calendar is open (the share of each
hour inside the weekly opening windows; holidays are not weekly and are left out).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sla

__all__ = [
    "DAYS", "HOUR_KEYS", "open_hours", "workload_calendar", "workload_columns", "workload_rows",
]

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOUR_KEYS = tuple(f"h{h:02d}" for h in range(24))


def workload_rows(entered: Iterable[str | None], tz: str) -> list[dict[str, Any]]:
    """Rows Mon..Sun of tickets entered per local hour (``h00``..``h23``) and their total."""
    zone = ZoneInfo(tz)
    counts = [[0] * 24 for _ in range(7)]
    for text in entered:
        if text:
            local = datetime.fromisoformat(text).astimezone(zone)
            counts[local.weekday()][local.hour] += 1
    return [
        {"day": DAYS[d], **dict(zip(HOUR_KEYS, counts[d], strict=True)), "total": sum(counts[d])}
        for d in range(7)
    ]


def workload_calendar(policy: sla.SlaPolicy) -> sla.Calendar:
    """The calendar whose opening hours a workload is drawn against: the first business
    calendar of the policy's priorities (the desk's office hours), else round the clock."""
    for _, target in sorted(policy.targets.items()):
        if not target.calendar.is_always_open:
            return target.calendar
    return next(iter(policy.targets.values())).calendar


def open_hours(cal: sla.Calendar) -> list[list[float]]:
    """Per weekday (Mon first) and local hour, the share of the hour in the weekly hours."""
    out = []
    for windows in cal.weekly:
        row = []
        for h in range(24):
            lo, hi = h * 3600, (h + 1) * 3600
            row.append(round(sum(max(0, min(b, hi) - max(a, lo)) for a, b in windows) / 3600, 4))
        out.append(row)
    return out


def workload_columns() -> Sequence[tuple[str, str, str]]:
    """The ``workload`` table's columns: the day, one per local hour, the day's total."""
    return (("day", "Day", "text"), *((k, k[1:], "int") for k in HOUR_KEYS),
            ("total", "Total", "int"))

