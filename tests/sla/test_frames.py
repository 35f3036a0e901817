"""The vectorized frames give exactly the per-ticket and per-device figures."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla import (
    AvailabilityPolicy,
    ClockEvent,
    MaintenanceWindow,
    Month,
    StateInterval,
    device_availability,
    ticket_clocks,
)
from sla.frames import (
    device_availability_frame,
    events_frame,
    intervals_frame,
    maintenance_frame,
    ticket_clocks_frame,
)
from tests.sla.strategies import anchor_instant, policies, tickets
from tests.sla.test_availability import device_case
from tests.sla.test_clocks import sla_policy

ANCHOR = date(2025, 10, 26)


@st.composite
def many_tickets(draw: st.DrawFn):
    cal_of, targets = draw(policies(ANCHOR))
    now = draw(anchor_instant(ANCHOR))
    logs = {}
    for n in range(draw(st.integers(1, 12))):
        events, _ = draw(tickets(ANCHOR))
        logs[f"T{n}"] = [ClockEvent(at, seq, kind, data) for at, seq, kind, data in events]
    return sla_policy(cal_of, targets), logs, now


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(many_tickets())
def test_ticket_frame_equals_per_ticket_clocks(case):
    policy, logs, now = case
    frame = ticket_clocks_frame(events_frame(logs), policy, now)
    expected = {tid: ticket_clocks(evs, policy, now) for tid, evs in logs.items()
                if min(e.at for e in evs) <= now}
    assert sorted(frame.index) == sorted(expected)
    for tid, clocks in expected.items():
        row = frame.loc[tid]
        assert row["priority"] == clocks.priority and row["status"] == clocks.status
        for clock in (clocks.reaction, clocks.resolution):
            got_deadline = row[f"{clock.name}_deadline"]
            assert (
                row[f"{clock.name}_elapsed"], row[f"{clock.name}_target"],
                row[f"{clock.name}_remaining"], row[f"{clock.name}_state"],
                bool(row[f"{clock.name}_stopped"]),
                None if pd.isna(got_deadline) else got_deadline.to_pydatetime(),
            ) == (
                clock.elapsed_seconds, clock.target_seconds, clock.remaining_seconds,
                clock.state, clock.stopped, clock.deadline,
            ), (tid, clock.name)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(device_case(), min_size=1, max_size=6))
def test_device_frame_equals_per_device_availability(cases):
    span = cases[0][0]
    policy = cases[0][3]
    ivs = {f"d{i}": [StateInterval(a, b, s) for a, b, s in c[1]] for i, c in enumerate(cases)}
    mws = {f"d{i}": [MaintenanceWindow(a, b) for a, b in c[2]] for i, c in enumerate(cases)}
    frame = device_availability_frame(
        span, intervals_frame(ivs), maintenance_frame(mws), policy, devices=ivs
    )
    for dev in ivs:
        want = device_availability(span, ivs[dev], mws[dev], policy)
        row = frame.loc[dev]
        got_av = None if pd.isna(row["availability"]) else row["availability"]
        assert (
            got_av, row["up_seconds"], row["down_seconds"], row["excluded_seconds"],
            row["maintenance_seconds"], row["outage_count"], row["longest_outage_seconds"],
            row["coverage_pct"],
        ) == (
            want.availability, want.up_seconds, want.down_seconds, want.excluded_seconds,
            want.maintenance_seconds, want.outage_count, want.longest_outage_seconds,
            want.coverage_pct,
        ), dev


def test_device_frame_over_a_dst_month():
    march = Month(2026, 3, "Europe/Warsaw")
    ivs = {"r1": [StateInterval(march.start, march.end, "up")], "r2": []}
    frame = device_availability_frame(march, intervals_frame(ivs), policy=AvailabilityPolicy(),
                                      devices=ivs)
    assert frame.loc["r1", "up_seconds"] == 743 * 3600
    assert pd.isna(frame.loc["r2", "availability"])


def test_frames_reject_naive_columns():
    frame = pd.DataFrame({"ticket_id": [1], "at": [pd.Timestamp("2026-01-01")], "seq": [1],
                          "kind": ["created"], "priority": ["P1"], "status": ["new"],
                          "assignee": [None]})
    with pytest.raises(ValueError, match="timezone-aware"):
        ticket_clocks_frame(frame, sla_policy({}, {}), pd.Timestamp("2026-01-02", tz="UTC"))
