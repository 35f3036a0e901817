"""Reaction and resolution clocks replayed from a ticket's event log.

Decisions (the contract the service and the reports rely on):

* Events are applied in time order, ties in ``seq`` order; events after ``now`` are ignored,
  so the same log replays any past moment. Only ``created``, ``assigned``,
  ``status_changed`` and ``priority_changed`` matter; other kinds are ignored. The first
  event applied must be ``created``.
* Reaction runs from ``created`` until the first assignment to a non-empty assignee (an
  assignee in ``created`` counts as an assignment at creation). A ticket resolved or closed
  before anyone was assigned stops its reaction clock there: whoever resolved it reacted.
  Reaction never pauses.
* Resolution runs in every status except the pause statuses (paused), ``resolved`` and
  ``closed`` (stopped). A reopen (``resolved`` -> anything else) runs it again; the
  verification time after a resolution therefore never counts; a close stops it for good.
* A priority change swaps target *and* calendar but keeps the elapsed time: each stretch
  of the log is measured in the calendar of the priority in force during that stretch,
  and the target is the one of the priority in force at the end of the replay.
* ``state``: ``breached`` as soon as elapsed > target (running or not); otherwise ``met``
  when stopped, ``paused`` while in a pause status, else ``running``.
* ``deadline``: when elapsed >= target, the instant it reached the target (in the past);
  otherwise, for a running clock, ``now`` plus the remaining business time in the current
  calendar; ``None`` while paused or when stopped within target (it is unknowable/moot).
* All figures are whole seconds (instants are truncated to the second).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sla.calendar import Calendar
from sla.events import CLOCK_KINDS, STOP_STATUSES, Status
from sla.fold import fold
from sla.instants import from_epoch, require_aware, to_epoch

__all__ = [
    "CLOCK_KINDS",
    "STOP_STATUSES",
    "Clock",
    "ClockEvent",
    "ClockInterval",
    "EventRef",
    "PriorityTargets",
    "SlaPolicy",
    "TicketClocks",
    "ticket_clocks",
]


ClockState = Literal["running", "paused", "met", "breached"]
IntervalKind = Literal["counted", "paused", "stopped"]


@dataclass(frozen=True)
class ClockEvent:
    """One entry of a ticket's append-only log, in the shape the SLA engine reads.

    ``data``: ``created`` {"priority", "status"[, "assignee"]}, ``assigned`` {"assignee"},
    ``status_changed`` {"from", "to"}, ``priority_changed`` {"from", "to"}.
    """

    at: datetime
    seq: int
    kind: str
    data: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_aware(self.at, f"event {self.kind}#{self.seq} at")


@dataclass(frozen=True)
class EventRef:
    """Which event started or ended an interval, for explanations."""

    kind: str
    seq: int
    at: datetime


@dataclass(frozen=True)
class PriorityTargets:
    """Targets of one priority, counted in its own calendar."""

    reaction_seconds: int
    resolution_seconds: int
    calendar: Calendar

    def __post_init__(self) -> None:
        if self.reaction_seconds <= 0 or self.resolution_seconds <= 0:
            raise ValueError("SLA targets must be positive seconds")


@dataclass(frozen=True)
class SlaPolicy:
    """Targets per priority and the statuses that pause the resolution clock."""

    targets: Mapping[str, PriorityTargets]
    pause_statuses: frozenset[str] = frozenset({Status.WAITING.value})

    def for_priority(self, priority: str) -> PriorityTargets:
        """Targets of ``priority``; raises ValueError naming it when the policy lacks it."""
        try:
            return self.targets[priority]
        except KeyError:
            raise ValueError(f"no SLA targets for priority {priority!r}") from None


@dataclass(frozen=True)
class ClockInterval:
    """A stretch of the log during which a clock counted or was paused, and why."""

    kind: IntervalKind
    start: datetime
    end: datetime
    business_seconds: int
    priority: str
    started_by: EventRef
    ended_by: EventRef | None  # None: still open at ``now``


@dataclass(frozen=True)
class Clock:
    """One SLA clock at ``now``; see the module docstring for state and deadline rules."""

    name: Literal["reaction", "resolution"]
    elapsed_seconds: int
    target_seconds: int
    remaining_seconds: int
    deadline: datetime | None
    state: ClockState
    stopped: bool
    intervals: tuple[ClockInterval, ...]


@dataclass(frozen=True)
class TicketClocks:
    """Both clocks of a ticket and the priority/status in force at ``now``."""

    reaction: Clock
    resolution: Clock
    priority: str
    status: str
    now: datetime


@dataclass(frozen=True)
class _Stretch:
    start: int
    end: int
    priority: str
    reaction: IntervalKind
    resolution: IntervalKind
    started_by: EventRef
    ended_by: EventRef | None


def _replay(
    events: Iterable[ClockEvent], policy: SlaPolicy, now_epoch: int, now: datetime
) -> tuple[list[_Stretch], str, str]:
    facts = fold(events, until=now, pause_statuses=policy.pause_statuses)
    if facts is None:
        raise ValueError("a ticket's log must start with a 'created' event at or before now")
    moments = facts.moments
    stretches: list[_Stretch] = []
    for i, m in enumerate(moments):
        policy.for_priority(m.priority)
        nxt = moments[i + 1] if i + 1 < len(moments) else None
        if m.status in STOP_STATUSES:
            resolution: IntervalKind = "stopped"
        elif m.status in policy.pause_statuses:
            resolution = "paused"
        else:
            resolution = "counted"
        stretches.append(
            _Stretch(
                start=to_epoch(m.at),
                end=to_epoch(nxt.at) if nxt else now_epoch,
                priority=m.priority,
                reaction="stopped" if m.reacted else "counted",
                resolution=resolution,
                started_by=EventRef(m.kind, m.seq, m.at),
                ended_by=EventRef(nxt.kind, nxt.seq, nxt.at) if nxt else None,
            )
        )
    return stretches, facts.priority, facts.status


def _clock(
    name: Literal["reaction", "resolution"],
    stretches: list[_Stretch],
    policy: SlaPolicy,
    priority: str,
    now_epoch: int,
) -> Clock:
    targets = policy.for_priority(priority)
    target = targets.reaction_seconds if name == "reaction" else targets.resolution_seconds
    last_kind: IntervalKind = getattr(stretches[-1], name)

    # Merge consecutive stretches of the same kind and priority (zero-length ones vanish).
    merged: list[tuple[IntervalKind, _Stretch, _Stretch]] = []
    for s in stretches:
        kind: IntervalKind = getattr(s, name)
        if s.end == s.start:
            continue
        if merged and merged[-1][0] == kind and merged[-1][1].priority == s.priority:
            merged[-1] = (kind, merged[-1][1], s)
        else:
            merged.append((kind, s, s))

    intervals: list[ClockInterval] = []
    elapsed = 0
    crossing: int | None = None
    for kind, first, last in merged:
        if kind == "stopped":
            continue
        calendar = policy.for_priority(first.priority).calendar
        seconds = calendar.business_between(first.start, last.end)
        if kind == "counted":
            if crossing is None and elapsed < target <= elapsed + seconds:
                crossing = calendar.add_business_epoch(first.start, target - elapsed)
            elapsed += seconds
        intervals.append(
            ClockInterval(
                kind=kind,
                start=from_epoch(first.start),
                end=from_epoch(last.end),
                business_seconds=seconds,
                priority=first.priority,
                started_by=first.started_by,
                ended_by=last.ended_by,
            )
        )

    stopped = last_kind == "stopped"
    state: ClockState
    if elapsed > target:
        state = "breached"
    elif stopped:
        state = "met"
    elif last_kind == "paused":
        state = "paused"
    else:
        state = "running"
    deadline: int | None
    if elapsed >= target:
        deadline = crossing
    elif state == "running":
        deadline = targets.calendar.add_business_epoch(now_epoch, target - elapsed)
    else:
        deadline = None
    return Clock(
        name=name,
        elapsed_seconds=elapsed,
        target_seconds=target,
        remaining_seconds=target - elapsed,
        deadline=None if deadline is None else from_epoch(deadline),
        state=state,
        stopped=stopped,
        intervals=tuple(intervals),
    )


def ticket_clocks(events: Iterable[ClockEvent], policy: SlaPolicy, now: datetime) -> TicketClocks:
    """Replay a ticket's log up to ``now`` into its reaction and resolution clocks.

    Raises ValueError for a naive ``now``, a log not starting with ``created``, or a
    priority the policy has no targets for.
    """
    now_epoch = to_epoch(now, "now")
    stretches, priority, status = _replay(events, policy, now_epoch, now)
    return TicketClocks(
        reaction=_clock("reaction", stretches, policy, priority, now_epoch),
        resolution=_clock("resolution", stretches, policy, priority, now_epoch),
        priority=priority,
        status=status,
        now=now,
    )
