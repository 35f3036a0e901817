"""The ticket projection as a fold over its events.

The live write path and the rebuild use this same function, so `tickets` can always be
recomputed from `ticket_events` alone. The transition itself is `sla.events.step`, the one the
SLA clocks and the reports fold with, so the row and the SLA figures cannot disagree on what an
event means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sla.events import KINDS
from sla.fold import step

EVENT_KINDS = KINDS


def apply(
    state: Mapping[str, Any] | None, kind: str, at: datetime, data: Mapping[str, Any]
) -> dict:
    """Return the projection after one event; `state` is None before `created`."""
    return step(state, kind, at, data)


def rebuild(events: Iterable[Mapping[str, Any]]) -> dict | None:
    """Fold a ticket's events (in seq order) into its projection."""
    state: dict | None = None
    for ev in events:
        state = step(state, ev["kind"], ev["at"], ev["data"])
    return state
