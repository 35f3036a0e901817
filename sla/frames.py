"""Vectorized SLA figures for whole periods: many tickets and devices at once, for reports.

Gives the same numbers as :func:`sla.clocks.ticket_clocks`,
:func:`sla.availability.device_availability` (figures and outages) and
:func:`sla.availability.service_availability` (tests check it on generated data); only the
explanations (interval lists) are left to the per-item functions.

Ticket events frame (one row per event, any extra columns ignored):

==========  =================================================================
ticket_id   any hashable id
at          tz-aware datetime64 (naive is rejected)
seq         int, orders events with the same ``at``
kind        str; ``created``/``assigned``/``status_changed``/``priority_changed``
            matter, other kinds are ignored
priority    new priority for ``created`` and ``priority_changed`` (the "to"), else null
status      new status for ``created`` (null = "new") and ``status_changed``, else null
assignee    assignee for ``created`` (optional) and ``assigned``, else null
==========  =================================================================

State intervals frame: ``device_id``, ``start``, ``end`` (tz-aware), ``state`` (up,
degraded, down, unreachable, unknown). Maintenance frame: ``device_id``, ``start``, ``end``.

Business durations are differences of the cumulative business-seconds function of each
calendar, looked up with ``numpy.searchsorted`` over the open intervals of the years needed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

import pandas as pd

from sla.availability import MaintenanceWindow, StateInterval
from sla.clocks import ClockEvent
from sla.device_frames import device_availability_frame, device_frames, device_outages_frame
from sla.frame_columns import EVENT_COLUMNS, INTERVAL_COLUMNS, MAINTENANCE_COLUMNS
from sla.service_frames import service_frames
from sla.ticket_frames import ticket_clocks_frame

__all__ = [
    "EVENT_COLUMNS",
    "INTERVAL_COLUMNS",
    "MAINTENANCE_COLUMNS",
    "device_availability_frame",
    "device_frames",
    "device_outages_frame",
    "events_frame",
    "intervals_frame",
    "maintenance_frame",
    "service_frames",
    "ticket_clocks_frame",
]


def events_frame(logs: Mapping[Hashable, Iterable[ClockEvent]]) -> pd.DataFrame:
    """Flatten per-ticket :class:`ClockEvent` logs into the events frame."""
    rows = []
    for ticket_id, events in logs.items():
        for e in events:
            d = e.data
            rows.append(
                (
                    ticket_id,
                    e.at,
                    e.seq,
                    e.kind,
                    d.get("priority")
                    if e.kind == "created"
                    else d.get("to")
                    if e.kind == "priority_changed"
                    else None,
                    d.get("status")
                    if e.kind == "created"
                    else d.get("to")
                    if e.kind == "status_changed"
                    else None,
                    d.get("assignee") if e.kind in ("created", "assigned") else None,
                )
            )
    frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def intervals_frame(intervals: Mapping[Hashable, Iterable[StateInterval]]) -> pd.DataFrame:
    """Flatten per-device state intervals into the intervals frame."""
    rows = [(d, i.start, i.end, i.state) for d, ivs in intervals.items() for i in ivs]
    frame = pd.DataFrame(rows, columns=list(INTERVAL_COLUMNS))
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def maintenance_frame(windows: Mapping[Hashable, Iterable[MaintenanceWindow]]) -> pd.DataFrame:
    """Flatten per-device maintenance windows into the maintenance frame."""
    rows = [(d, w.start, w.end) for d, ws in windows.items() for w in ws]
    frame = pd.DataFrame(rows, columns=list(MAINTENANCE_COLUMNS))
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame
