"""Every second of a device's month is accounted once: up, degraded, down, unreachable,
unknown or maintenance, whatever the accounting policy; the batched frames and the per-device
function agree with a minute walk."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports import build_reports
from reports.builder import check_accounting
from reports.figures import STATE_COLUMNS
from sla import MaintenanceWindow, StateInterval, state_seconds
from sla.frames import device_availability_frame, intervals_frame, maintenance_frame
from tests.reports.demo import demo_inputs, demo_store
from tests.sla.test_availability import device_case

MINUTE = timedelta(minutes=1)


def minute_walk(span, intervals, maint) -> dict[str, int]:
    out: dict[str, int] = {}
    t = span.start
    while t < span.end:
        if any(a <= t < b for a, b in maint):
            key = "maintenance"
        else:
            key = next((s for a, b, s in intervals if a <= t < b), "unknown")
        out[key] = out.get(key, 0) + 60
        t += MINUTE
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(device_case(), min_size=1, max_size=4))
def test_state_seconds_sum_to_the_period_and_match_a_minute_walk(cases):
    span, policy = cases[0][0], cases[0][3]
    ivs = {f"d{i}": [StateInterval(a, b, s) for a, b, s in c[1]] for i, c in enumerate(cases)}
    mws = {f"d{i}": [MaintenanceWindow(a, b) for a, b in c[2]] for i, c in enumerate(cases)}
    frame = device_availability_frame(
        span, intervals_frame(ivs), maintenance_frame(mws), policy, devices=ivs
    )
    for i, dev in enumerate(ivs):
        got = state_seconds(span, ivs[dev], mws[dev])
        assert sum(got.values()) == int((span.end - span.start).total_seconds())
        assert {k: v for k, v in got.items() if v} == minute_walk(span, cases[i][1], cases[i][2])
        assert {k: int(frame.loc[dev, f"state_{k}"]) for k in got} == got, dev
        assert got["maintenance"] == frame.loc[dev, "maintenance_seconds"]


def test_the_builder_refuses_parts_that_do_not_add_up():
    row = {c: 0 for c in STATE_COLUMNS} | {"device": "d1", "state_up": 10, "period": 11}
    with pytest.raises(ValueError, match="d1 adds up to 10 s, not 11 s"):
        check_accounting([row])
    check_accounting([row | {"state_unknown": 1}])


def test_the_demo_month_splits_downtime_by_state_and_says_how_each_clock_ended(tmp_path, cfg):
    engines = demo_store(tmp_path, cfg)
    try:
        report = build_reports(demo_inputs(engines, cfg)[:1])[0]
    finally:
        engines.dispose()
    avail = {r["device"]: r for r in report["tables"]["availability"]["rows"]}
    for row in report["tables"]["accounting"]["rows"]:
        assert sum(row[c] for c in STATE_COLUMNS) == row["period"] == report["period"]["seconds"]
        a = avail[row["device"]]
        # unreachable time counts against the device (policy "child"); unknown is excluded
        assert a["downtime"] == row["state_down"] + row["state_unreachable"]
        assert a["excluded"] == row["state_unknown"] + row["state_maintenance"]
    web = next(r for r in report["tables"]["accounting"]["rows"] if r["device"] == "acme-web")
    assert (web["state_unknown"], web["state_unreachable"], web["state_down"]) == (
        4 * 3600, 2700, 1320)
    tickets = {r["ticket"]: r for r in report["tables"]["tickets"]["rows"]}
    assert tickets["INC-000006"]["reaction_state"] == "breached"
    assert tickets["INC-000006"]["reaction_clock"] == "running"
    assert tickets["INC-000006"]["reaction_stopped"] is None
    assert tickets["INC-000005"]["resolution_clock"] == "paused"
    assert tickets["INC-000003"]["resolution_state"] == "breached"
    assert tickets["INC-000003"]["resolution_stopped"] == "2026-10-12T18:30:00+02:00"
