"""Tickets entered per local hour of the week, against the opening hours of the calendar."""

from __future__ import annotations

import sla
from reports.workload import open_hours, workload_calendar, workload_rows


def test_tickets_are_counted_at_their_local_weekday_and_hour_across_dst():
    rows = workload_rows([
        "2026-10-25T02:20:00+01:00",  # Sunday, the repeated hour, after the change
        "2026-10-25T00:20:00+00:00",  # the same Sunday 02:20 local, before the change
        "2026-10-26T07:59:59+00:00",  # Monday 08:59:59 in Warsaw
        None,
    ], "Europe/Warsaw")
    by_day = {r["day"]: r for r in rows}
    assert by_day["Sun"]["h02"] == 2 and by_day["Sun"]["total"] == 2
    assert by_day["Mon"]["h08"] == 1
    assert sum(r["total"] for r in rows) == 3


def test_open_hours_are_shares_of_each_hour_of_the_weekly_windows():
    office = sla.Calendar.business_hours("Europe/Prague", {d: "08:00-16:30" for d in range(5)},
                                         name="prague")
    policy = sla.SlaPolicy({
        "P1": sla.PriorityTargets(900, 3600, sla.Calendar.always()),
        "P3": sla.PriorityTargets(3600, 86400, office),
    })
    assert workload_calendar(policy) is office
    grid = open_hours(office)
    assert grid[0][7:18] == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0]
    assert grid[6] == [0.0] * 24
