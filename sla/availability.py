"""Availability of devices and services over a period, from monitoring state intervals.

``availability = up / (period - excluded)``. Excluded time is maintenance (always), plus,
by policy, unknown time (no data, including any instant no state interval covers) and the
time a device was unreachable behind a down parent. ``impaired`` time is when the probes
themselves could not be trusted (their own site lost its network): no data, accounted as
unknown time but never as downtime, and shown on its own. ``unconfirmed`` time is failed
probes that debouncing never confirmed as an outage (a blip): up by default, by policy down
or excluded. Every instant of the period is put in exactly one class (up, down, excluded),
in this precedence: maintenance > state > no data. An outage is a maximal run of down time;
excluded time (a maintenance window inside an outage, say) splits it, and the period bounds
(local midnight in the period's zone) cut it.
A wholly excluded period has availability ``None``, never 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sla.instants import from_epoch, require_aware, to_epoch
from sla.period import Period

__all__ = [
    "DEVICE_STATES",
    "IMPAIRED",
    "UNCONFIRMED",
    "AvailabilityPolicy",
    "AvailabilityReport",
    "MaintenanceWindow",
    "Outage",
    "StateInterval",
    "device_availability",
    "service_availability",
    "state_seconds",
]

DeviceState = Literal["up", "degraded", "down", "unreachable", "unknown", "impaired", "unconfirmed"]
UNCONFIRMED = "unconfirmed"
IMPAIRED = "impaired"
DEVICE_STATES: frozenset[str] = frozenset(
    {"up", "degraded", "down", "unreachable", "unknown", IMPAIRED, UNCONFIRMED}
)
#: states that are no trustworthy data: they do not count toward coverage
NO_DATA: frozenset[str] = frozenset({"unknown", IMPAIRED})
_COUNTED_AS = {
    "excluded": "excluded from the period",
    "up": "counted as available",
    "down": "counted as downtime",
}
Class = Literal["up", "down", "excluded"]
_Segment = tuple[int, int, Class, bool]  # start, end, class, state known


@dataclass(frozen=True)
class StateInterval:
    """A device was in ``state`` during ``[start, end)``; intervals of a device never overlap."""

    start: datetime
    end: datetime
    state: str

    def __post_init__(self) -> None:
        require_aware(self.start, "interval start")
        require_aware(self.end, "interval end")
        if self.state not in DEVICE_STATES:
            raise ValueError(f"unknown device state {self.state!r}")
        if self.end < self.start:
            raise ValueError(f"interval ends {self.end.isoformat()} before it starts")


@dataclass(frozen=True)
class MaintenanceWindow:
    """Agreed maintenance ``[start, end)``; excluded from the period."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_aware(self.start, "maintenance start")
        require_aware(self.end, "maintenance end")


@dataclass(frozen=True)
class AvailabilityPolicy:
    """How unknown, unreachable and unconfirmed time is accounted.

    ``unknown``: "excluded" (default), "up" or "down". ``unreachable``: "child" (default,
    counted as down against the child) or "parent" (excluded for the child; the parent's own
    down time carries it). ``unconfirmed`` (failed probes never confirmed as an outage):
    "up" (default: debouncing said the device was not down), "down" or "excluded".
    """

    unknown: Literal["excluded", "up", "down"] = "excluded"
    unreachable: Literal["child", "parent"] = "child"
    unconfirmed: Literal["excluded", "up", "down"] = "up"

    def __post_init__(self) -> None:
        if self.unknown not in _COUNTED_AS:
            raise ValueError(f"unknown-time policy must be excluded/up/down, not {self.unknown!r}")
        if self.unreachable not in ("child", "parent"):
            raise ValueError(f"unreachable policy must be child/parent, not {self.unreachable!r}")
        if self.unconfirmed not in _COUNTED_AS:
            raise ValueError(
                f"unconfirmed-failure policy must be excluded/up/down, not {self.unconfirmed!r}"
            )

    def classify(self, state: str) -> Class:
        """Accounting class of a device state under this policy."""
        if state in ("up", "degraded"):
            return "up"
        if state == "down":
            return "down"
        if state == "unreachable":
            return "down" if self.unreachable == "child" else "excluded"
        if state == IMPAIRED:  # the probes' own outage is never charged to the customer
            return "excluded" if self.unknown == "down" else self.unknown
        return self.unconfirmed if state == UNCONFIRMED else self.unknown

    def describe(self) -> str:
        """The accounting rules in words, printed on reports."""
        unknown = _COUNTED_AS[self.unknown]
        unreachable = (
            "counted as downtime of the device"
            if self.unreachable == "child"
            else "attributed to the parent (excluded for the device)"
        )
        return (
            "Availability = time up / (period - excluded time). Degraded counts as up. "
            f"Maintenance windows are excluded. Time without monitoring data is {unknown}. "
            "Time the probes themselves were impaired (no trustworthy data) is "
            f"{_COUNTED_AS[self.classify(IMPAIRED)]}, never downtime. "
            f"Time unreachable behind a down parent is {unreachable}. "
            "An outage runs from its first failed probe to its first good probe; failed "
            "probes never confirmed as an outage (fewer than the debounce count) are "
            f"{_COUNTED_AS[self.unconfirmed]}."
        )


@dataclass(frozen=True)
class Outage:
    """A maximal run of downtime inside the period."""

    start: datetime
    end: datetime
    seconds: int


@dataclass(frozen=True)
class AvailabilityReport:
    """Figures of one device or service over one period; ``availability`` is a 0..1 ratio."""

    period_label: str
    tz: str
    period_seconds: int
    up_seconds: int
    down_seconds: int
    excluded_seconds: int
    maintenance_seconds: int
    availability: float | None
    outages: tuple[Outage, ...]
    longest_outage_seconds: int
    coverage_pct: float
    policy: str

    @property
    def counted_seconds(self) -> int:
        """The denominator: period minus excluded time."""
        return self.period_seconds - self.excluded_seconds

    @property
    def outage_count(self) -> int:
        """Number of outages."""
        return len(self.outages)

    @property
    def availability_pct(self) -> float | None:
        """Availability in percent, ``None`` for a wholly excluded period."""
        return None if self.availability is None else self.availability * 100.0


def _bounds(period: Period) -> tuple[int, int]:
    return to_epoch(period.start, "period start"), to_epoch(period.end, "period end")


def _clip(pairs: Iterable[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    """Clip to ``[lo, hi)``, drop empties, merge overlaps."""
    out: list[tuple[int, int]] = []
    for a, b in sorted((max(a, lo), min(b, hi)) for a, b in pairs):
        if a >= b:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _device_segments(
    lo: int,
    hi: int,
    intervals: Sequence[StateInterval],
    maintenance: Sequence[MaintenanceWindow],
    policy: AvailabilityPolicy,
) -> list[_Segment]:
    """Partition ``[lo, hi)`` into classified segments (adjacent equal ones merged)."""
    raw = sorted((to_epoch(i.start), to_epoch(i.end), i.state) for i in intervals)
    for (_, end, _), (start, _, _) in zip(raw, raw[1:], strict=False):
        if start < end:
            raise ValueError("state intervals of one device overlap")
    states = [(max(a, lo), min(b, hi), s) for a, b, s in raw if min(b, hi) > max(a, lo)]
    maint = _clip(((to_epoch(w.start), to_epoch(w.end)) for w in maintenance), lo, hi)
    cuts = {lo, hi}
    cuts.update(x for a, b, _ in states for x in (a, b))
    cuts.update(x for a, b in maint for x in (a, b))
    points = sorted(cuts)
    segments: list[_Segment] = []
    si = mi = 0
    for a, b in zip(points, points[1:], strict=False):
        while si < len(states) and states[si][1] <= a:
            si += 1
        while mi < len(maint) and maint[mi][1] <= a:
            mi += 1
        state = states[si][2] if si < len(states) and states[si][0] <= a else "unknown"
        known = state not in NO_DATA
        in_maint = mi < len(maint) and maint[mi][0] <= a
        cls: Class = "excluded" if in_maint else policy.classify(state)
        if segments and segments[-1][2] == cls and segments[-1][3] == known:
            segments[-1] = (segments[-1][0], b, cls, known)
        else:
            segments.append((a, b, cls, known))
    return segments


def _summarise(
    period: Period, segments: list[_Segment], maintenance_seconds: int, policy: AvailabilityPolicy
) -> AvailabilityReport:
    lo, hi = _bounds(period)
    total = hi - lo
    seconds = {"up": 0, "down": 0, "excluded": 0}
    known = 0
    outages: list[Outage] = []
    run_start: int | None = None
    for i, (a, b, cls, is_known) in enumerate(segments):
        seconds[cls] += b - a
        known += (b - a) if is_known else 0
        if cls == "down" and run_start is None:
            run_start = a
        nxt_down = i + 1 < len(segments) and segments[i + 1][2] == "down"
        if cls == "down" and not nxt_down:
            assert run_start is not None
            outages.append(Outage(from_epoch(run_start), from_epoch(b), b - run_start))
            run_start = None
    counted = total - seconds["excluded"]
    return AvailabilityReport(
        period_label=period.label,
        tz=period.tz,
        period_seconds=total,
        up_seconds=seconds["up"],
        down_seconds=seconds["down"],
        excluded_seconds=seconds["excluded"],
        maintenance_seconds=maintenance_seconds,
        availability=seconds["up"] / counted if counted > 0 else None,
        outages=tuple(outages),
        longest_outage_seconds=max((o.seconds for o in outages), default=0),
        coverage_pct=100.0 * known / total if total else 0.0,
        policy=policy.describe(),
    )


def device_availability(
    period: Period,
    intervals: Sequence[StateInterval],
    maintenance: Sequence[MaintenanceWindow] = (),
    policy: AvailabilityPolicy = AvailabilityPolicy(),
) -> AvailabilityReport:
    """Availability of one device; raises ValueError if its state intervals overlap."""
    lo, hi = _bounds(period)
    segments = _device_segments(lo, hi, intervals, maintenance, policy)
    maint = _clip(((to_epoch(w.start), to_epoch(w.end)) for w in maintenance), lo, hi)
    return _summarise(period, segments, sum(b - a for a, b in maint), policy)


def state_seconds(
    period: Period,
    intervals: Sequence[StateInterval],
    maintenance: Sequence[MaintenanceWindow] = (),
) -> dict[str, int]:
    """Seconds of the period in maintenance and in each device state, whatever the policy:
    the figures a reader adds up to the period's length (maintenance first, as in the
    accounting; time no interval covers is unknown). Keys: "maintenance" and every state."""
    lo, hi = _bounds(period)
    maint = _clip(((to_epoch(w.start), to_epoch(w.end)) for w in maintenance), lo, hi)
    out = {"maintenance": sum(b - a for a, b in maint)} | dict.fromkeys(sorted(DEVICE_STATES), 0)
    for iv in intervals:
        a, b = max(to_epoch(iv.start), lo), min(to_epoch(iv.end), hi)
        if b > a:
            out[iv.state] += b - a - sum(max(0, min(b, y) - max(a, x)) for x, y in maint)
    out["unknown"] += (hi - lo) - sum(out.values())
    return out


def service_availability(
    period: Period,
    members: Mapping[str, Sequence[StateInterval]],
    mode: Literal["all", "any"] = "all",
    maintenance: Sequence[MaintenanceWindow] = (),
    member_maintenance: Mapping[str, Sequence[MaintenanceWindow]] | None = None,
    policy: AvailabilityPolicy = AvailabilityPolicy(),
) -> AvailabilityReport:
    """Availability of a service made of devices: up when all (or any) members are up.

    Members whose time is excluded (their maintenance, or per policy) are left out of the
    vote at that instant; when every member is excluded, so is the service. ``maintenance``
    excludes the whole service. Coverage counts the time every member's state was known.
    """
    if mode not in ("all", "any"):
        raise ValueError(f"service mode must be 'all' or 'any', not {mode!r}")
    if not members:
        raise ValueError("a service needs at least one member device")
    lo, hi = _bounds(period)
    per_member = [
        _device_segments(lo, hi, ivs, (member_maintenance or {}).get(name, ()), policy)
        for name, ivs in members.items()
    ]
    maint = _clip(((to_epoch(w.start), to_epoch(w.end)) for w in maintenance), lo, hi)
    points = sorted(
        {lo, hi}
        | {s[0] for segs in per_member for s in segs}
        | {x for a, b in maint for x in (a, b)}
    )
    cursors = [0] * len(per_member)
    mi = 0
    segments: list[_Segment] = []
    for a, b in zip(points, points[1:], strict=False):
        classes: list[Class] = []
        known = True
        for k, segs in enumerate(per_member):
            while segs[cursors[k]][1] <= a:
                cursors[k] += 1
            classes.append(segs[cursors[k]][2])
            known = known and segs[cursors[k]][3]
        while mi < len(maint) and maint[mi][1] <= a:
            mi += 1
        voting = [c for c in classes if c != "excluded"]
        cls: Class
        if (mi < len(maint) and maint[mi][0] <= a) or not voting:
            cls = "excluded"
        elif mode == "all":
            cls = "up" if all(c == "up" for c in voting) else "down"
        else:
            cls = "up" if any(c == "up" for c in voting) else "down"
        if segments and segments[-1][2] == cls and segments[-1][3] == known:
            segments[-1] = (segments[-1][0], b, cls, known)
        else:
            segments.append((a, b, cls, known))
    return _summarise(period, segments, sum(b - a for a, b in maint), policy)
