"""Pure SLA engine: business calendars, ticket clocks, availability, vectorized frames.

No I/O, no clock reads: every input, "now" included, is passed in; every result is a small
frozen dataclass (or a DataFrame in :mod:`sla.frames`). Instants must be timezone-aware.
"""

from sla.availability import (
    DEVICE_STATES,
    IMPAIRED,
    UNCONFIRMED,
    AvailabilityPolicy,
    AvailabilityReport,
    MaintenanceWindow,
    Outage,
    StateInterval,
    device_availability,
    service_availability,
    state_seconds,
)
from sla.calendar import Calendar, Timeline, Window, parse_hours
from sla.clocks import (
    CLOCK_KINDS,
    STOP_STATUSES,
    Clock,
    ClockEvent,
    ClockInterval,
    EventRef,
    PriorityTargets,
    SlaPolicy,
    TicketClocks,
    ticket_clocks,
)
from sla.events import (
    EventInvalid,
    EventKind,
    Line,
    Priority,
    Status,
    TicketEvent,
    parse,
)
from sla.fold import TicketFacts, fold, step
from sla.period import Month, Period

__all__ = [
    "CLOCK_KINDS",
    "DEVICE_STATES",
    "STOP_STATUSES",
    "IMPAIRED",
    "UNCONFIRMED",
    "AvailabilityPolicy",
    "AvailabilityReport",
    "Calendar",
    "Clock",
    "ClockEvent",
    "ClockInterval",
    "EventInvalid",
    "EventKind",
    "EventRef",
    "Line",
    "MaintenanceWindow",
    "Month",
    "Outage",
    "Period",
    "Priority",
    "PriorityTargets",
    "SlaPolicy",
    "StateInterval",
    "Status",
    "TicketEvent",
    "TicketClocks",
    "TicketFacts",
    "Timeline",
    "Window",
    "device_availability",
    "fold",
    "parse",
    "parse_hours",
    "service_availability",
    "state_seconds",
    "step",
    "ticket_clocks",
]
