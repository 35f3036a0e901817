"""Reporting periods that carry their own bounds and time zone.

A month is cut at local midnight in the report's zone, so its length varies with DST
(March is 743 hours in Europe/Warsaw); the bounds are exposed as aware UTC datetimes so
that every duration is a UTC subtraction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo

from sla.instants import require_aware, to_epoch

__all__ = ["Month", "Period"]


class Period(Protocol):
    """What availability needs from a period: bounds (aware UTC), zone and a label."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...

    @property
    def tz(self) -> str: ...

    @property
    def label(self) -> str: ...


@dataclass(frozen=True, order=True)
class Month:
    """Calendar month ``[start, end)`` in zone ``tz`` (an IANA key such as "Europe/Warsaw")."""

    year: int
    month: int
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")
        ZoneInfo(self.tz)

    @classmethod
    def containing(cls, instant: datetime, tz: str) -> Month:
        """The month of ``tz`` that contains ``instant``."""
        local = require_aware(instant, "instant").astimezone(ZoneInfo(tz))
        return cls(local.year, local.month, tz)

    @property
    def zone(self) -> ZoneInfo:
        """The zone in which the month is cut."""
        return ZoneInfo(self.tz)

    @property
    def start(self) -> datetime:
        """First instant, as an aware UTC datetime."""
        return datetime.combine(date(self.year, self.month, 1), time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """First instant of the next month (exclusive), as an aware UTC datetime."""
        return self.next().start

    @property
    def label(self) -> str:
        """"2026-10"; reports print ``tz`` next to it."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def seconds(self) -> int:
        """Length in real (UTC) seconds."""
        return to_epoch(self.end) - to_epoch(self.start)

    def next(self) -> Month:
        """The following month in the same zone."""
        y, m = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return Month(y, m, self.tz)

    def previous(self) -> Month:
        """The preceding month in the same zone."""
        y, m = (self.year - 1, 12) if self.month == 1 else (self.year, self.month - 1)
        return Month(y, m, self.tz)
