"""The desk's internal monthly report: every customer's tickets together, for staffing.

Built from the customers' monthly reports (their tickets, clocks and recurring problems),
so its figures are those the customers see. Tickets are counted by the hour they were
entered in the desk calendar's zone, with its opening hours over them, and reaction and
resolution are shown by that hour of entry: when the desk is short-handed, the hours
whose tickets wait longest show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

import sla
from reports.builder import clock_stats
from reports.calendar_rules import HOLIDAYS_VERSION, describe_calendar
from reports.model import ReportPeriod
from reports.recurring import TOP
from reports.timefmt import iso_one
from reports.workload import open_hours, workload_columns, workload_rows
from sla.instants import to_epoch

__all__ = ["DESK_ID", "DESK_TABLES", "build_desk_report"]

DESK_ID = "_desk"
DESK_TABLES: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    "workload": ("Tickets entered per hour of the week", tuple(workload_columns())),
    "by_hour": (
        "Reaction and resolution by hour of entry",
        (
            ("hour", "Hour entered", "int"),
            ("tickets", "Tickets", "int"),
            ("reaction_met_pct", "Reaction met %", "pct"),
            ("reaction_median", "Reaction median", "seconds"),
            ("reaction_p90", "Reaction p90", "seconds"),
            ("resolution_met_pct", "Resolution met %", "pct"),
            ("resolution_median", "Resolution median", "seconds"),
            ("resolution_p90", "Resolution p90", "seconds"),
        ),
    ),
    "customers": (
        "Customers",
        (
            ("customer", "Customer", "text"),
            ("name", "Name", "text"),
            ("tickets", "Tickets", "int"),
            ("proactive", "Proactive", "int"),
            ("running", "Running", "int"),
            ("breaches", "Breaches", "int"),
            ("outages_without_ticket", "Outages without ticket", "int"),
        ),
    ),
    "recurring": (
        "Recurring problems over every customer",
        (
            ("kind", "Kind", "text"),
            ("subject", "Alert name or device", "text"),
            ("tickets", "Tickets", "int"),
            ("outages", "Outages", "int"),
            ("downtime", "Downtime", "seconds"),
        ),
    ),
}
DEFINITIONS = (
    "Every customer's tickets of the month (entered in the month of the customer's own zone), "
    "counted by the local hour of the desk calendar's zone they were entered in.",
    "Reaction and resolution by hour of entry: met % and nearest-rank median and p90 over the "
    "met and breached clocks, in business time of each ticket's priority calendar.",
    "Recurring problems add up the customers' tables: alert names over all customers, "
    "devices as they are.",
)


def _table(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    title, cols = DESK_TABLES[name]
    return {"title": title,
            "columns": [{"key": k, "label": label, "type": t} for k, label, t in cols],
            "rows": rows}


def _by_hour(tickets: list[dict[str, Any]], tz: str) -> list[dict[str, Any]]:
    zone = ZoneInfo(tz)
    hours = np.array([datetime.fromisoformat(t["entered"]).astimezone(zone).hour
                      for t in tickets], dtype=np.int64)
    cols = {c: np.array([t[c] for t in tickets], dtype=object if "state" in c else np.int64)
            for c in ("reaction", "reaction_state", "resolution", "resolution_state")}
    rows = []
    for h in range(24):
        sel = hours == h
        r = clock_stats(cols["reaction_state"][sel], cols["reaction"][sel])
        s = clock_stats(cols["resolution_state"][sel], cols["resolution"][sel])
        rows.append({
            "hour": h, "tickets": int(sel.sum()),
            "reaction_met_pct": r["met_pct"], "reaction_median": r["median"],
            "reaction_p90": r["p90"],
            "resolution_met_pct": s["met_pct"], "resolution_median": s["median"],
            "resolution_p90": s["p90"],
        })
    return rows


def _recurring(reports: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    sums: dict[tuple[str, str], list[int]] = {}
    for rep in reports:
        for r in rep["tables"]["recurring"]["rows"]:
            acc = sums.setdefault((r["kind"], r["subject"]), [0, 0, 0])
            acc[0] += r["tickets"]
            acc[1] += r["outages"]
            acc[2] += r["downtime"]
    rows = []
    for kind in ("alert", "device"):
        ranked = sorted(((s, v) for (k, s), v in sums.items() if k == kind),
                        key=lambda sv: (-sv[1][0], -sv[1][2], sv[0]))
        rows += [{"kind": kind, "subject": s, "tickets": v[0], "outages": v[1],
                  "downtime": v[2]} for s, v in ranked[:TOP]]
    return rows


def build_desk_report(
    reports: Sequence[dict[str, Any]], calendar: sla.Calendar, month: sla.Month,
    as_of: datetime,
) -> dict[str, Any]:
    """The desk report of the customers' ``reports`` of ``month`` (cut in the calendar's
    zone), as of ``as_of``; the same dict shape as a customer report where they share."""
    period = ReportPeriod.of(month, as_of)
    tz = month.tz
    tickets = [t for rep in reports for t in rep["tables"]["tickets"]["rows"]]
    first = date(month.year, month.month, 1)
    last = date(month.year + month.month // 12, month.month % 12 + 1, 1) - timedelta(days=1)
    start, end = to_epoch(period.start), to_epoch(period.end)
    customers = [
        {"customer": rep["customer"]["id"], "name": rep["customer"]["name"],
         **{k: rep["overview"][k] for k in ("tickets", "proactive", "running", "breaches",
                                            "outages_without_ticket")}}
        for rep in reports
    ]
    return {
        "report": "desk-workload",
        "version": 1,
        "customer": {"id": DESK_ID, "name": "Service desk — all customers",
                     "contract": "internal"},
        "period": {
            "label": month.label, "tz": tz, "start": iso_one(start, tz),
            "end": iso_one(to_epoch(month.end), tz), "as_of": iso_one(end, tz),
            "complete": period.complete, "seconds": end - start,
        },
        "policy": {
            "name": "desk",
            "calendars": {calendar.name: describe_calendar(calendar, first, last)},
            "holidays_version": HOLIDAYS_VERSION,
            "definitions": list(DEFINITIONS),
        },
        "overview": {
            "customers": len(reports),
            "tickets": len(tickets),
            "proactive": sum(c["proactive"] for c in customers),
            "running": sum(c["running"] for c in customers),
            "breaches": sum(c["breaches"] for c in customers),
        },
        "workload": {"calendar": calendar.name, "tz": tz, "open": open_hours(calendar)},
        "tables": {
            "workload": _table("workload", workload_rows((t["entered"] for t in tickets), tz)),
            "by_hour": _table("by_hour", _by_hour(tickets, tz)),
            "customers": _table("customers", customers),
            "recurring": _table("recurring", _recurring(reports)),
        },
    }
