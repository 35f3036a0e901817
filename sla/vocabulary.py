"""The ticket event log's vocabulary: statuses, priorities, lines and event kinds.

Plain enums and the few sets derived from them (the kinds that move a clock, the statuses
that stop one); :mod:`sla.events` types the events built from them and bridge re-exports the
enums. Pure: no I/O, no project imports.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CLOCK_KINDS",
    "KINDS",
    "STOP_STATUSES",
    "EventKind",
    "Line",
    "Priority",
    "Status",
]


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Line(StrEnum):
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"

    @property
    def level(self) -> int:
        return int(self.value[1])


class EventKind(StrEnum):
    CREATED = "created"
    ASSIGNED = "assigned"
    STATUS_CHANGED = "status_changed"
    PRIORITY_CHANGED = "priority_changed"
    COMMENTED = "commented"
    ESCALATED = "escalated"
    LINKED = "linked"
    RETITLED = "retitled"
    ALERT_ATTACHED = "alert_attached"
    RECOVERY = "recovery"
    ALERT_ACKNOWLEDGED = "alert_acknowledged"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"


#: Event kinds that move an SLA clock; every other kind is ignored by the clocks.
CLOCK_KINDS = frozenset(
    k.value
    for k in (
        EventKind.CREATED,
        EventKind.ASSIGNED,
        EventKind.STATUS_CHANGED,
        EventKind.PRIORITY_CHANGED,
    )
)
#: Statuses in which the resolution clock is stopped (not paused).
STOP_STATUSES = frozenset({Status.RESOLVED.value, Status.CLOSED.value})

#: Every kind a ticket's log may hold, as plain strings.
KINDS = frozenset(k.value for k in EventKind)
