"""Plain inputs of a monthly report, and the column types every renderer understands.

reports/ knows nothing of the store or the service: ``bridge.reporting`` turns store rows and
the config into these inputs. The built report is a plain, JSON-able dict (the reference the
HTML, XLSX and CSV renderings are checked against): ``{"customer", "period", "policy",
"overview", "tables": {name: {"title", "columns": [{"key", "label", "type"}], "rows": [...]}}}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sla
from sla.instants import require_aware

__all__ = [
    "COLUMN_TYPES",
    "PROACTIVE_ORIGINS",
    "CustomerInfo",
    "DeviceInfo",
    "ReportInput",
    "ReportPeriod",
    "TicketInfo",
]

#: text, int, bool; seconds (a duration, whole seconds); pct (0..100 float);
#: datetime (ISO 8601 in the report's zone, with its UTC offset); number (a plain float,
#: such as a mean rating).
COLUMN_TYPES = frozenset({"text", "int", "bool", "seconds", "pct", "datetime", "number"})

#: Ticket origins that count as proactive (opened by monitoring before the customer called).
PROACTIVE_ORIGINS = frozenset({"monitoring", "probe"})


@dataclass(frozen=True)
class ReportPeriod:
    """The month as reported: ``[start, end)`` where ``end`` is min(month end, as-of).

    Satisfies :class:`sla.Period`; a month still running is measured up to "now" only, so a
    report of a past month never changes once its end has passed.
    """

    month: sla.Month
    end: datetime

    def __post_init__(self) -> None:
        require_aware(self.end, "report end")
        if not self.month.start < self.end <= self.month.end:
            raise ValueError(
                f"report end {self.end.isoformat()} is outside month {self.month.label}"
            )

    @classmethod
    def of(cls, month: sla.Month, now: datetime) -> ReportPeriod:
        """The month as seen at ``now``; raises ValueError when it has not started yet."""
        require_aware(now, "now")
        if now <= month.start:
            raise ValueError(f"month {month.label} ({month.tz}) has not started yet")
        return cls(month, min(now, month.end))

    @property
    def start(self) -> datetime:
        return self.month.start

    @property
    def tz(self) -> str:
        return self.month.tz

    @property
    def label(self) -> str:
        return self.month.label

    @property
    def complete(self) -> bool:
        """True when the whole month has passed (the report is final)."""
        return self.end == self.month.end


@dataclass(frozen=True)
class CustomerInfo:
    id: str
    name: str
    contract: str
    tz: str


@dataclass(frozen=True)
class DeviceInfo:
    id: str
    name: str
    ip: str = ""
    tags: tuple[str, ...] = ()
    parent: str | None = None  # the device it depends on (its outages cover this one's)


@dataclass(frozen=True)
class TicketInfo:
    """A ticket entered in the month, with its clock-relevant log (any order)."""

    id: int
    title: str
    device_id: str | None
    origin: str
    events: tuple[sla.ClockEvent, ...]
    alertname: str | None = None  # the alert that opened it, for the recurring problems
    ratings: tuple[int, ...] = ()  # the customer's ratings (1-5) given with "It works"
    first_notice_at: datetime | None = None  # its first customer notice sent (outbox)


@dataclass(frozen=True)
class ReportInput:
    """Everything one customer's month needs; nothing is read from elsewhere.

    ``maintenance`` is per device and already includes customer-wide windows.
    ``states_source`` says in words which monitoring check the states come from.
    """

    customer: CustomerInfo
    period: ReportPeriod
    policy_name: str
    policy: sla.SlaPolicy
    availability_target_pct: float
    availability_policy: sla.AvailabilityPolicy
    ticket_prefix: str
    devices: Sequence[DeviceInfo]
    tickets: Sequence[TicketInfo]
    states: Mapping[str, Sequence[sla.StateInterval]] = field(default_factory=dict)
    maintenance: Mapping[str, Sequence[sla.MaintenanceWindow]] = field(default_factory=dict)
    states_source: str = "ICMP reachability check"

    def ticket_key(self, ticket_id: int) -> str:
        return f"{self.ticket_prefix}-{ticket_id:06d}"
