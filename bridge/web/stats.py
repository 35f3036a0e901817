"""The desk's own figures at /desk/stats?from=YYYY-MM&to=YYYY-MM: per engineer, tickets taken,
median and p90 reaction, tickets resolved, median resolution, breached clocks.

Figures are not computed twice: each month of each customer is built by the monthly report
(bridge.reporting.build, the same clocks and the same per-ticket rows an account manager
sees), and this page only groups those rows by assignee with the report's own percentile.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import defaultdict
from typing import Any

from aiohttp import web

import sla
from bridge import reporting
from bridge.api.sla import POLICIES
from bridge.api.tickets import SERVICES
from bridge.web.desk import desk_session
from bridge.web.render import page
from reports.builder import _nearest_rank

MAX_MONTHS = 12
DECIDED = ("met", "breached")


def months_between(first: str, last: str) -> list[str]:
    """Month labels from `first` to `last` inclusive; ReportError for bad or reversed input."""
    y, m = reporting.parse_month(first)
    y2, m2 = reporting.parse_month(last)
    if (y2, m2) < (y, m):
        raise reporting.ReportError(f"'to' ({last}) is before 'from' ({first})")
    out = []
    while (y, m) <= (y2, m2):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        if len(out) > MAX_MONTHS:
            raise reporting.ReportError(f"at most {MAX_MONTHS} months at once")
    return out


def per_engineer(ticket_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's ticket rows grouped by assignee."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in ticket_rows:
        if r["assignee"]:
            groups[r["assignee"]].append(r)
    out = []
    for name in sorted(groups):
        rows = groups[name]
        reactions = [r["reaction"] for r in rows if r["reaction_state"] in DECIDED]
        resolved = [r for r in rows if r["resolved"]]
        resolutions = [r["resolution"] for r in resolved if r["resolution_state"] in DECIDED]
        out.append({
            "engineer": name,
            "taken": len(rows),
            "reaction_median": statistics.median_low(reactions) if reactions else None,
            "reaction_p90": _nearest_rank(reactions, 90),
            "resolved": len(resolved),
            "resolution_median": statistics.median_low(resolutions) if resolutions else None,
            "breaches": sum((r["reaction_state"] == "breached")
                            + (r["resolution_state"] == "breached") for r in rows),
        })
    return out


async def stats_page(request: web.Request) -> web.Response:
    found = await desk_session(request)
    if isinstance(found, web.Response):
        return found
    svc = request.app[SERVICES]
    now = svc.now()
    current = sla.Month.containing(now, "UTC").label
    first = request.query.get("from") or current
    last = request.query.get("to") or first
    try:
        months = months_between(first, last)
    except reporting.ReportError as err:
        return page("error.html", status=400, session=found, title="No such period",
                    message=str(err))
    policies = request.app[POLICIES]

    def build() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for month in months:
            started = []
            for c in svc.cfg.customers:
                try:
                    reporting.month_of(svc.cfg, c.id, month, now)
                    started.append(c.id)
                except reporting.ReportError:
                    continue  # not begun yet in this customer's zone
            for report in reporting.build(svc.engines.read, svc.cfg, started, month, now,
                                          policies):
                rows.extend(report["tables"]["tickets"]["rows"])
        return per_engineer(rows)

    table = await asyncio.to_thread(build)
    return page("stats.html", session=found, months=months, first=first, last=last,
                rows=table, bulletin=[])


def setup(app: web.Application) -> None:
    app.router.add_get("/desk/stats", stats_page)
