"""SLA countdowns for the desk: one clock of the SLA engine, carried forward in time.

The engine (sla.ticket_clocks) replays a ticket's log at one instant. A page needs the same
figure every second without a replay: a counting clock loses exactly the business seconds of
its calendar, so a countdown holds the remaining time at `base` plus the calendar's open
windows after `base`; `remaining_at(t)` subtracts their overlap with [base, t]. The browser
does the same arithmetic (static/desk.js) from the JSON below, so a countdown stops at night
and on holidays instead of running through a closed calendar, and shows when it resumes.
A paused clock (waiting on the customer) has no windows until an event moves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sla
from sla.instants import from_epoch, to_epoch

#: how far ahead open windows are sent; a page refreshes long before (live events, polling)
HORIZON = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class Countdown:
    name: str
    state: str  # running | paused | met | breached (at `base`)
    target: int
    remaining: int  # business seconds left at `base` (negative: overdue)
    base: int  # epoch seconds
    windows: tuple[tuple[int, int], ...]  # open [start, end) epochs after base, merged
    deadline: datetime | None

    def remaining_at(self, t: int) -> int:
        used = 0
        for start, end in self.windows:  # sorted, disjoint, all after base
            if start >= t:
                break
            used += (end if end < t else t) - start
        return self.remaining - used

    def state_at(self, t: int, remaining: int | None = None) -> str:
        if self.state in ("met", "paused"):
            return self.state
        left = self.remaining_at(t) if remaining is None else remaining
        return "breached" if left < 0 else "running"

    def ticking_at(self, t: int) -> bool:
        return any(start <= t < end for start, end in self.windows)

    def resumes_at(self, t: int) -> int | None:
        """When a counting clock that is outside business hours at `t` starts again."""
        return next((start for start, end in self.windows if start > t), None)

    def share_at(self, t: int) -> float:
        return (self.target - self.remaining_at(t)) / self.target

    def json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "target": self.target,
            "remaining": self.remaining,
            "base": self.base,
            "windows": [list(w) for w in self.windows],
            "deadline": self.deadline.isoformat() if self.deadline else None,
        }


def open_windows(calendar: sla.Calendar, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """The calendar's open stretches within [start, end), contiguous ones merged."""
    if calendar.is_always_open:
        return ((start, end),)
    line = calendar.timeline_for(start, end)
    out: list[tuple[int, int]] = []
    for a, b in zip(line.starts.tolist(), line.ends.tolist(), strict=True):
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return tuple(out)


def countdown(clock: sla.Clock, policy: sla.SlaPolicy, priority: str, now: datetime) -> Countdown:
    """The countdown of one engine clock computed at `now`."""
    base = to_epoch(now)
    counting = clock.state in ("running", "breached") and not clock.stopped
    windows: tuple[tuple[int, int], ...] = ()
    if counting:
        calendar = policy.for_priority(priority).calendar
        windows = open_windows(calendar, base, base + int(HORIZON.total_seconds()))
    return Countdown(
        name=clock.name,
        state=clock.state,
        target=clock.target_seconds,
        remaining=clock.remaining_seconds,
        base=base,
        windows=windows,
        deadline=clock.deadline,
    )


def duration(seconds: int | float | None) -> str:
    """`1 d 2 h`, `3 h 05 m`, `4 m 09 s` (the sign is the caller's business)."""
    if seconds is None:
        return ""
    s = abs(int(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m:02d} m"
    return f"{m} m {s:02d} s"


def label(cd: Countdown, t: int) -> tuple[str, str]:
    """Text and CSS class of a countdown at `t`; static/desk.js computes the same."""
    state = cd.state_at(t)
    if state == "met":
        return "met", "met"
    rem = cd.remaining_at(t)
    if state == "paused":
        return f"paused · {duration(rem)} left", "paused"
    if state == "breached":
        return f"breached · {duration(-rem)} over", "breached"
    share = cd.share_at(t)
    css = "p90" if share >= 0.9 else "p75" if share >= 0.75 else "p50" if share >= 0.5 else ""
    if not cd.ticking_at(t):
        resumes = cd.resumes_at(t)
        when = f" until {from_epoch(resumes):%a %H:%M} UTC" if resumes else ""
        return f"{duration(rem)} · paused{when}", f"{css} paused".strip()
    return duration(rem), css
