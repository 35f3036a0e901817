"""Brute-force oracles that walk minute by minute, written from the definitions only.

They share no code with ``sla`` beyond the input shapes: a minute counts when the local
wall-clock time of its first instant lies in that local date's opening hours. Generated
instants and opening hours sit on whole minutes, so minute resolution is exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

MINUTE = timedelta(minutes=1)
Hours = tuple[tuple[int, int], ...]  # minutes since local midnight, [start, end)


@dataclass(frozen=True)
class CalSpec:
    """Calendar definition in the oracle's own terms (minutes of the local day)."""

    tz: str = "UTC"
    weekly: Mapping[int, Hours] | None = None  # None: 24x7
    country: str | None = None
    subdiv: str | None = None
    closed: frozenset[date] = frozenset()
    extra_open: Mapping[date, Hours] = field(default_factory=dict)

    def __hash__(self) -> int:
        return id(self)


@cache
def _holiday_table(country: str, subdiv: str | None, year: int) -> tuple[set[date], set[date]]:
    table = holidays.country_holidays(country, subdiv=subdiv, years=year)
    return set(table.keys()), set(table.weekend_workdays)


def _hours_of(spec: CalSpec, day: date) -> Hours:
    if day in spec.extra_open:
        return spec.extra_open[day]
    if day in spec.closed:
        return ()
    assert spec.weekly is not None
    if spec.country:
        public, worked = _holiday_table(spec.country, spec.subdiv, day.year)
        if day in public:
            return ()
        if day in worked:
            # Worked weekend day: normal weekday hours (first of Mon..Fri with hours).
            return next((spec.weekly.get(d, ()) for d in range(5) if spec.weekly.get(d)), ())
    return spec.weekly.get(day.weekday(), ())


def is_open(spec: CalSpec, minute: datetime) -> bool:
    """Whether the minute starting at ``minute`` (aware) is business time."""
    if spec.weekly is None:
        return True
    local = minute.astimezone(ZoneInfo(spec.tz))
    wall = local.hour * 60 + local.minute
    return any(a <= wall < b for a, b in _hours_of(spec, local.date()))


def business_seconds(spec: CalSpec, start: datetime, end: datetime) -> int:
    """Open seconds in ``[start, end)`` by counting open minutes."""
    total, m = 0, start.astimezone(UTC)
    while m < end:
        total += 60 if is_open(spec, m) else 0
        m += MINUTE
    return total


def add_business(spec: CalSpec, start: datetime, seconds: int) -> datetime:
    """End of the minute in which the open-minute count reaches ``seconds``."""
    assert seconds % 60 == 0
    m, left = start.astimezone(UTC), seconds // 60
    while left > 0:
        if is_open(spec, m):
            left -= 1
        m += MINUTE
    return m


@dataclass(frozen=True)
class OracleClock:
    """The figures a clock must show."""

    elapsed: int
    target: int
    deadline: datetime | None
    state: str
    stopped: bool


def ticket_clocks(
    events: Sequence[tuple[datetime, int, str, Mapping[str, str]]],
    specs: Mapping[str, CalSpec],
    targets: Mapping[str, tuple[int, int]],
    pause: frozenset[str],
    now: datetime,
) -> dict[str, OracleClock]:
    """Replay minute by minute: the state of a minute is the one after all events at or
    before its first instant; a minute counts when the clock runs and the calendar of the
    priority in force is open."""
    evs = sorted((e for e in events if e[0] <= now), key=lambda e: (e[0], e[1]))
    t0 = evs[0][0]
    i = 0
    prio = status = ""
    reacted = False
    elapsed = {"reaction": 0, "resolution": 0}
    crossed: dict[str, datetime | None] = {"reaction": None, "resolution": None}
    modes = {"reaction": "stopped", "resolution": "stopped"}

    def apply_until(m: datetime) -> None:
        nonlocal i, prio, status, reacted
        while i < len(evs) and evs[i][0] <= m:
            _, _, kind, data = evs[i]
            if kind == "created":
                prio, status = data["priority"], data.get("status") or "new"
                reacted = reacted or bool(data.get("assignee"))
            elif kind == "assigned":
                reacted = reacted or bool(data.get("assignee"))
            elif kind == "status_changed":
                status = data["to"]
            elif kind == "priority_changed":
                prio = data["to"]
            reacted = reacted or status in ("resolved", "closed")
            i += 1
        modes["reaction"] = "stopped" if reacted else "counted"
        if status in ("resolved", "closed"):
            modes["resolution"] = "stopped"
        elif status in pause:
            modes["resolution"] = "paused"
        else:
            modes["resolution"] = "counted"

    m = t0
    while m < now:
        apply_until(m)
        for name in elapsed:
            if modes[name] == "counted" and is_open(specs[prio], m):
                elapsed[name] += 60
                tgt = targets[prio][0 if name == "reaction" else 1]
                if crossed[name] is None and elapsed[name] >= tgt:
                    crossed[name] = m + MINUTE
        m += MINUTE
    apply_until(now)
    out = {}
    for name in elapsed:
        tgt = targets[prio][0 if name == "reaction" else 1]
        el, mode = elapsed[name], modes[name]
        stopped = mode == "stopped"
        if el > tgt:
            state = "breached"
        elif stopped:
            state = "met"
        elif mode == "paused":
            state = "paused"
        else:
            state = "running"
        if el >= tgt:
            # The crossing happened under the current target only if it was in force;
            # recompute against the final target by walking again.
            deadline = _crossing(evs, specs, pause, now, name, tgt)
        elif state == "running":
            deadline = add_business(specs[prio], now, tgt - el)
        else:
            deadline = None
        out[name] = OracleClock(el, tgt, deadline, state, stopped)
    return out


def _crossing(evs, specs, pause, now, name, target):  # type: ignore[no-untyped-def]
    """End of the minute in which the clock's count reached ``target``."""
    prio = status = ""
    reacted = False
    count, i, m = 0, 0, evs[0][0]
    while m < now:
        while i < len(evs) and evs[i][0] <= m:
            _, _, kind, data = evs[i]
            if kind == "created":
                prio, status = data["priority"], data.get("status") or "new"
                reacted = reacted or bool(data.get("assignee"))
            elif kind == "assigned":
                reacted = reacted or bool(data.get("assignee"))
            elif kind == "status_changed":
                status = data["to"]
            elif kind == "priority_changed":
                prio = data["to"]
            reacted = reacted or status in ("resolved", "closed")
            i += 1
        if name == "reaction":
            counting = not reacted
        else:
            counting = status not in ("resolved", "closed") and status not in pause
        if counting and is_open(specs[prio], m):
            count += 60
            if count >= target:
                return m + MINUTE
        m += MINUTE
    raise AssertionError("target never reached")


def availability(
    lo: datetime,
    hi: datetime,
    intervals: Sequence[tuple[datetime, datetime, str]],
    maintenance: Sequence[tuple[datetime, datetime]],
    unknown: str,
    unreachable: str,
    unconfirmed: str = "up",
) -> dict[str, object]:
    """Classify every minute of ``[lo, hi)``; outages are runs of down minutes."""
    up = down = excluded = known = 0
    runs: list[int] = []
    prev_down = False
    m = lo
    while m < hi:
        state = next((s for a, b, s in intervals if a <= m < b), "unknown")
        known += state not in ("unknown", "impaired")
        if any(a <= m < b for a, b in maintenance):
            cls = "excluded"
        elif state in ("up", "degraded"):
            cls = "up"
        elif state == "down" or (state == "unreachable" and unreachable == "child"):
            cls = "down"
        elif state == "unreachable":
            cls = "excluded"
        elif state == "unconfirmed":
            cls = unconfirmed
        elif state == "impaired":  # the probes' own outage: unknown time, never down
            cls = "excluded" if unknown == "down" else unknown
        else:
            cls = {"excluded": "excluded", "up": "up", "down": "down"}[unknown]
        up += cls == "up"
        down += cls == "down"
        excluded += cls == "excluded"
        if cls == "down":
            if prev_down:
                runs[-1] += 60
            else:
                runs.append(60)
        prev_down = cls == "down"
        m += MINUTE
    total = int((hi - lo).total_seconds())
    counted = total - excluded * 60
    return {
        "up": up * 60,
        "down": down * 60,
        "excluded": excluded * 60,
        "availability": (up * 60) / counted if counted else None,
        "outages": len(runs),
        "longest": max(runs, default=0),
        "coverage": 100.0 * known * 60 / total,
    }
