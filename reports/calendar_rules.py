"""A business calendar's rules in words, as printed in a report's policy section.

A reader checking a resolution time by hand needs every rule the clock followed: the weekly
hours, the public holidays of the month (with the version of the ``holidays`` tables they
came from: holidays are data, and the data changes between releases), the weekend days the
country works instead of a bridged holiday, and the contract's extra closed and open days.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays

import sla
from sla.calendar import DAY, Window

__all__ = ["HOLIDAYS_VERSION", "describe_calendar"]

HOLIDAYS_VERSION: str = holidays.__version__
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _hours(windows: tuple[Window, ...]) -> str:
    if not windows:
        return "closed"
    if windows == ((0, DAY),):
        return "all day"
    return ", ".join(
        f"{a // 3600:02d}:{a % 3600 // 60:02d}–{b // 3600:02d}:{b % 3600 // 60:02d}"
        for a, b in windows
    )


def _weekly(cal: sla.Calendar) -> str:
    runs: list[tuple[int, int, tuple[Window, ...]]] = []
    for day, windows in enumerate(cal.weekly):
        if runs and runs[-1][2] == windows:
            runs[-1] = (runs[-1][0], day, windows)
        else:
            runs.append((day, day, windows))
    return ", ".join(
        f"{_DAYS[a]}{'' if a == b else '–' + _DAYS[b]} {_hours(w)}" for a, b, w in runs
    )


def _dated(days: list[tuple[date, str]]) -> str:
    return "; ".join(f"{d.isoformat()} {text}".rstrip() for d, text in days) or "none"


@lru_cache(maxsize=256)
def describe_calendar(cal: sla.Calendar, first: date, last: date) -> str:
    """The rules of ``cal`` in words; holidays and worked weekend days of ``first..last``
    (local dates, inclusive) are listed by date."""
    if cal.is_always_open:
        return f"{cal.name}: round the clock (24×7), every day."
    parts = [f"{cal.name}: business hours in {cal.tz}: {_weekly(cal)}."]
    if cal.country:
        region = cal.country + (f"-{cal.subdiv}" if cal.subdiv else "")
        years = list(range(first.year, last.year + 1))
        table = holidays.country_holidays(cal.country, subdiv=cal.subdiv, years=years)
        public = sorted((d, str(name)) for d, name in table.items() if first <= d <= last)
        worked = sorted(d for d in getattr(table, "weekend_workdays", ()) if first <= d <= last)
        parts.append(
            f"Public holidays of {region} (holidays {HOLIDAYS_VERSION}), closed: "
            f"{_dated(public)}."
        )
        parts.append(
            "Weekend days worked instead of a bridged holiday (transferred working days), "
            f"open {_hours(cal.transfer_hours)}: {_dated([(d, '') for d in worked])}."
        )
    if cal.closed_days:
        parts.append(
            "Extra closed days: " + ", ".join(d.isoformat() for d in sorted(cal.closed_days)) + "."
        )
    if cal.open_days:
        parts.append(
            "Extra open days (their own hours, before any other rule): "
            + _dated([(d, _hours(w)) for d, w in cal.open_days]) + "."
        )
    return " ".join(parts)
