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
    service_availability,
    ticket_clocks,
)
from sla.frames import (
    device_availability_frame,
    device_frames,
    device_outages_frame,
    events_frame,
    intervals_frame,
    maintenance_frame,
    service_frames,
    ticket_clocks_frame,
)
from sla.instants import to_epoch
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


def _devices(cases):
    ivs = {f"d{i}": [StateInterval(a, b, s) for a, b, s in c[1]] for i, c in enumerate(cases)}
    mws = {f"d{i}": [MaintenanceWindow(a, b) for a, b in c[2]] for i, c in enumerate(cases)}
    return cases[0][0], cases[0][3], ivs, mws


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(device_case(), min_size=1, max_size=6))
def test_device_outages_frame_equals_per_device_outages(cases):
    span, policy, ivs, mws = _devices(cases)
    frame = device_outages_frame(span, intervals_frame(ivs), maintenance_frame(mws), policy,
                                 devices=ivs)
    got = list(frame.itertuples(index=False, name=None))
    want = [
        (dev, to_epoch(o.start), to_epoch(o.end), o.seconds)
        for dev in ivs
        for o in device_availability(span, ivs[dev], mws[dev], policy).outages
    ]
    assert sorted(got) == sorted(want)  # devices in order of first appearance, then time
    avail, outages = device_frames(span, intervals_frame(ivs), maintenance_frame(mws), policy,
                                   devices=ivs)
    assert list(outages.itertuples(index=False, name=None)) == got
    assert avail.equals(device_availability_frame(
        span, intervals_frame(ivs), maintenance_frame(mws), policy, devices=ivs))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(device_case(), min_size=1, max_size=6), st.data())
def test_service_frames_equal_per_service_availability(cases, data):
    span, policy, ivs, mws = _devices(cases)
    names = list(ivs)
    services = {
        f"s{k}": data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4,
                                    unique=True))
        for k in range(data.draw(st.integers(1, 3)))
    }
    mode = data.draw(st.sampled_from(("all", "any")))
    avail, outages = service_frames(span, intervals_frame(ivs), services,
                                    maintenance_frame(mws), policy, mode)
    want_outages = []
    for name, members in services.items():
        want = service_availability(
            span, {m: ivs[m] for m in members}, mode,
            member_maintenance={m: mws[m] for m in members}, policy=policy,
        )
        row = avail.loc[name]
        got_av = None if pd.isna(row["availability"]) else row["availability"]
        assert (
            got_av, row["up_seconds"], row["down_seconds"], row["excluded_seconds"],
            row["maintenance_seconds"], row["counted_seconds"], row["outage_count"],
            row["longest_outage_seconds"], row["coverage_pct"],
        ) == (
            want.availability, want.up_seconds, want.down_seconds, want.excluded_seconds,
            want.maintenance_seconds, want.counted_seconds, want.outage_count,
            want.longest_outage_seconds, want.coverage_pct,
        ), name
        want_outages += [(name, to_epoch(o.start), to_epoch(o.end), o.seconds)
                         for o in want.outages]
    assert list(outages.itertuples(index=False, name=None)) == want_outages


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


def _expected_rows(logs, policy, now) -> dict:
    return {tid: ticket_clocks(evs, policy, now) for tid, evs in logs.items()
            if min(e.at for e in evs) <= now}


def _assert_rows_equal(frame: pd.DataFrame, expected: dict) -> None:
    assert sorted(frame.index) == sorted(expected)
    for tid, clocks in expected.items():
        row = frame.loc[tid]
        assert (row["priority"], row["status"]) == (clocks.priority, clocks.status)
        for clock in (clocks.reaction, clocks.resolution):
            deadline = row[f"{clock.name}_deadline"]
            assert (
                row[f"{clock.name}_elapsed"], row[f"{clock.name}_state"],
                bool(row[f"{clock.name}_stopped"]),
                None if pd.isna(deadline) else deadline.to_pydatetime(),
            ) == (clock.elapsed_seconds, clock.state, clock.stopped, clock.deadline), tid


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(many_tickets(), st.randoms(use_true_random=False))
def test_ticket_frame_ignores_row_order_id_spacing_and_categoricals(case, rnd):
    """Shuffled rows, sparse int64 ids (as reports pack them) and categorical string columns
    give the same figures; rows come out in order of each ticket's first event."""
    policy, logs, now = case
    base = ticket_clocks_frame(events_frame(logs), policy, now)
    ids = {tid: i * 2**32 + 7 for i, tid in enumerate(logs)}
    events = events_frame(logs)
    events["ticket_id"] = events["ticket_id"].map(ids).astype("int64")
    order = list(range(len(events)))
    rnd.shuffle(order)
    # Events of one ticket with the same (at, seq) keep their relative order (stable sort).
    key = events[["ticket_id", "at", "seq"]].astype(str).agg("|".join, axis=1).to_numpy()
    first_of: dict[str, list[int]] = {}
    for pos in order:
        first_of.setdefault(key[pos], []).append(pos)
    slots = {k: iter(sorted(v)) for k, v in first_of.items()}
    order = [next(slots[key[pos]]) for pos in order]
    shuffled = events.iloc[order].reset_index(drop=True)
    for col in ("kind", "status", "priority"):
        shuffled[col] = shuffled[col].astype("category")
    frame = ticket_clocks_frame(shuffled, policy, now)
    kept = shuffled[shuffled["kind"].astype(object).isin(
        ["created", "assigned", "status_changed", "priority_changed"])
        & (shuffled["at"] <= pd.Timestamp(now))]
    assert list(frame.index) == list(pd.unique(kept["ticket_id"]))
    if base.empty:
        assert frame.empty and list(frame.columns) == list(base.columns)
        return
    back = {v: k for k, v in ids.items()}
    frame.index = pd.Index([back[i] for i in frame.index], name="ticket_id")
    pd.testing.assert_frame_equal(frame.loc[base.index], base)


def test_ticket_frame_orders_by_sub_second_instants_and_cuts_at_now():
    t0 = pd.Timestamp("2026-03-02 10:00:00.100", tz="UTC").to_pydatetime()
    ms = pd.Timedelta(milliseconds=1).to_pytimedelta()
    logs = {
        "A": [
            ClockEvent(t0, 1, "created", {"priority": "P1", "status": "new"}),
            ClockEvent(t0 + 800 * ms, 2, "assigned", {"assignee": "bob"}),
            ClockEvent(t0 + 400 * ms, 3, "status_changed", {"from": "new", "to": "resolved"}),
            ClockEvent(t0 + 2000 * ms, 4, "status_changed", {"from": "resolved", "to": "open"}),
        ],
        "B": [ClockEvent(t0 + 3000 * ms, 1, "created", {"priority": "P1", "status": "new"})],
    }
    from sla import Calendar, PriorityTargets, SlaPolicy

    policy = SlaPolicy({"P1": PriorityTargets(60, 3600, Calendar.always())})
    now = t0 + 2950 * ms  # B's creation is 50 ms after now: B is absent
    frame = ticket_clocks_frame(events_frame(logs), policy, now)
    _assert_rows_equal(frame, _expected_rows(logs, policy, now))
    assert list(frame.index) == ["A"]


def test_ticket_frame_with_huge_seq_and_span_falls_back_to_lexsort():
    """Keys too wide to pack into one int64 take the multi-key sort; same figures."""
    from sla import Calendar, PriorityTargets, SlaPolicy

    policy = SlaPolicy({"P1": PriorityTargets(60, 3600, Calendar.always()),
                        "P2": PriorityTargets(600, 7200, Calendar.always())})
    base = pd.Timestamp("1990-01-01 00:00:00.000001", tz="UTC").to_pydatetime()
    late = pd.Timestamp("2030-06-01 12:00:00.5", tz="UTC").to_pydatetime()
    logs = {
        n: [
            ClockEvent(base, 2**40 + n, "created", {"priority": "P2", "status": "new"}),
            ClockEvent(late, 2**50, "priority_changed", {"from": "P2", "to": "P1"}),
            ClockEvent(late, -(2**30), "assigned", {"assignee": "x"}),
        ]
        for n in range(5)
    }
    now = late + pd.Timedelta(hours=1).to_pytimedelta()
    events = events_frame(logs).iloc[::-1]
    _assert_rows_equal(ticket_clocks_frame(events, policy, now),
                       _expected_rows(logs, policy, now))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(device_case(), min_size=2, max_size=6), st.randoms(use_true_random=False))
def test_device_frame_ignores_row_order_and_categorical_states(cases, rnd):
    span, policy = cases[0][0], cases[0][3]
    ivs = {f"d{i}": [StateInterval(a, b, s) for a, b, s in c[1]] for i, c in enumerate(cases)}
    mws = {f"d{i}": [MaintenanceWindow(a, b) for a, b in c[2]] for i, c in enumerate(cases)}
    base = device_availability_frame(
        span, intervals_frame(ivs), maintenance_frame(mws), policy, devices=ivs
    )
    intervals = intervals_frame(ivs)
    order = list(range(len(intervals)))
    rnd.shuffle(order)
    intervals = intervals.iloc[order].reset_index(drop=True)
    intervals["state"] = intervals["state"].astype("category")
    maint = maintenance_frame(mws)
    frame = device_availability_frame(span, intervals, maint.iloc[::-1], policy, devices=ivs)
    pd.testing.assert_frame_equal(frame.loc[base.index], base)
