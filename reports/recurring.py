"""Recurring problems: the month's most frequent alert names and devices.

The desk turns its most frequent tickets into FAQ entries and knowledge-base articles; the
account manager shows the customer what kept coming back. Both need the count of tickets and
the downtime behind each: for a device its downtime in the availability figures, for an alert
name the outages that its tickets covered (each outage once per name).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["TOP", "recurring_rows"]

#: Rows per kind (alert name, device).
TOP = 10


def recurring_rows(
    tickets: Sequence[Mapping[str, Any]],
    alertnames: Mapping[str, str | None],
    outages: Sequence[Mapping[str, Any]],
    availability: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Rows of the ``recurring`` table: alert names first, then devices, each by tickets then
    downtime (most first), at most ``TOP`` of each; only subjects with a ticket or downtime."""
    by_alert = Counter(a for t in tickets if (a := alertnames.get(t["ticket"])))
    alert_down: Counter[str] = Counter()
    alert_outages: Counter[str] = Counter()
    for o in outages:
        # "INC-000001, INC-000007 (on parent-device)": the covering tickets' keys
        keys = [k.split(" ")[0] for k in (o["tickets"] or "").split(", ") if k]
        for name in {alertnames.get(k) for k in keys} - {None}:
            alert_down[name] += o["duration"]
            alert_outages[name] += 1
    by_device = Counter(t["device"] for t in tickets if t["device"])
    device_down = {a["device"]: a["downtime"] for a in availability}
    device_outages = Counter(o["device"] for o in outages)
    rows = []
    for kind, counts, down, outs in (
        ("alert", by_alert, alert_down, alert_outages),
        ("device", by_device, device_down, device_outages),
    ):
        subjects = {s for s, n in counts.items() if n} | {s for s, d in down.items() if d}
        ranked = sorted(subjects, key=lambda s: (-counts.get(s, 0), -down.get(s, 0), s))
        rows += [
            {
                "kind": kind,
                "subject": s,
                "tickets": counts.get(s, 0),
                "outages": outs.get(s, 0),
                "downtime": int(down.get(s, 0)),
            }
            for s in ranked[:TOP]
        ]
    return rows
