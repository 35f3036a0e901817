"""Availability against the minute-walking oracle, and hand-computed months."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla import (
    AvailabilityPolicy,
    MaintenanceWindow,
    Month,
    StateInterval,
    device_availability,
    service_availability,
    state_seconds,
)
from tests.sla import oracle

WARSAW = ZoneInfo("Europe/Warsaw")
H = 3600


@dataclass(frozen=True)
class Span:
    """A short ad-hoc period, so the oracle walks few minutes."""

    start: datetime
    end: datetime
    tz: str = "UTC"
    label: str = "span"


@st.composite
def device_case(draw: st.DrawFn):
    base = datetime(2025, 3, 29, tzinfo=UTC)
    lo, hi = base, base + timedelta(minutes=draw(st.integers(1, 3000)))
    t = base - timedelta(minutes=draw(st.integers(0, 300)))
    intervals = []
    for _ in range(draw(st.integers(0, 12))):
        t += timedelta(minutes=draw(st.integers(0, 400)))  # gaps are unknown time
        end = t + timedelta(minutes=draw(st.integers(0, 600)))
        state = draw(st.sampled_from(
            ("up", "up", "degraded", "down", "unreachable", "unknown", "impaired", "unconfirmed")
        ))
        intervals.append((t, end, state))
        t = end
    maint = []
    for _ in range(draw(st.integers(0, 3))):
        a = base + timedelta(minutes=draw(st.integers(-200, 3200)))
        maint.append((a, a + timedelta(minutes=draw(st.integers(0, 500)))))
    policy = AvailabilityPolicy(
        unknown=draw(st.sampled_from(("excluded", "up", "down"))),
        unreachable=draw(st.sampled_from(("child", "parent"))),
        unconfirmed=draw(st.sampled_from(("excluded", "up", "down"))),
    )
    return Span(lo, hi), intervals, maint, policy


@settings(max_examples=150, deadline=None)
@given(device_case())
def test_device_availability_matches_minute_walk(case):
    span, intervals, maint, policy = case
    got = device_availability(
        span,
        [StateInterval(a, b, s) for a, b, s in intervals],
        [MaintenanceWindow(a, b) for a, b in maint],
        policy,
    )
    want = oracle.availability(span.start, span.end, intervals, maint, policy.unknown,
                               policy.unreachable, policy.unconfirmed)
    assert (got.up_seconds, got.down_seconds, got.excluded_seconds) == (
        want["up"], want["down"], want["excluded"]
    )
    assert got.availability == want["availability"]
    assert (got.outage_count, got.longest_outage_seconds) == (want["outages"], want["longest"])
    assert got.coverage_pct == pytest.approx(want["coverage"])
    assert sum(o.seconds for o in got.outages) == got.down_seconds


MARCH = Month(2026, 3, "Europe/Warsaw")


def w(day: int, hour: int, month: int = 3, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WARSAW)


def test_march_in_warsaw_has_743_hours():
    assert MARCH.seconds == 743 * H and MARCH.label == "2026-03"
    assert Month(2026, 10, "Europe/Warsaw").seconds == 745 * H
    assert MARCH.start == datetime(2026, 2, 28, 23, tzinfo=UTC)


def test_maintenance_is_excluded_and_splits_an_outage():
    intervals = [
        StateInterval(MARCH.start, w(10, 10), "up"),
        StateInterval(w(10, 10), w(10, 14), "down"),
        StateInterval(w(10, 14), MARCH.end, "up"),
    ]
    report = device_availability(MARCH, intervals, [MaintenanceWindow(w(10, 11), w(10, 12))])
    assert report.excluded_seconds == report.maintenance_seconds == H
    assert report.down_seconds == 3 * H
    assert [o.seconds for o in report.outages] == [H, 2 * H]
    assert report.availability == pytest.approx((743 - 4) / 742)
    assert report.coverage_pct == 100.0


@pytest.mark.parametrize(
    ("unknown", "availability", "down"),
    [("excluded", 1.0, 0), ("up", 1.0, 0), ("down", 733 / 743, 10 * H)],
)
def test_unknown_gap_follows_the_policy(unknown: str, availability: float, down: int):
    intervals = [
        StateInterval(MARCH.start, w(5, 0), "up"),
        StateInterval(w(5, 10), MARCH.end, "degraded"),  # degraded answered: up
    ]
    report = device_availability(MARCH, intervals, policy=AvailabilityPolicy(unknown=unknown))
    assert report.availability == pytest.approx(availability)
    assert report.down_seconds == down
    assert report.coverage_pct == pytest.approx(100 * 733 / 743)
    assert unknown.replace("excluded", "excluded from") in report.policy or unknown != "excluded"


@pytest.mark.parametrize(
    ("unknown", "excluded", "up", "words"),
    [("excluded", 10 * H, 733 * H, "excluded from the period"),
     ("up", 0, 743 * H, "counted as available"),
     ("down", 10 * H, 733 * H, "excluded from the period")],
)
def test_time_the_probes_were_impaired_is_unknown_never_down_and_not_coverage(
    unknown: str, excluded: int, up: int, words: str
):
    intervals = [
        StateInterval(MARCH.start, w(5, 0), "up"),
        StateInterval(w(5, 0), w(5, 10), "impaired"),
        StateInterval(w(5, 10), MARCH.end, "up"),
    ]
    report = device_availability(MARCH, intervals, policy=AvailabilityPolicy(unknown=unknown))
    assert (report.down_seconds, report.excluded_seconds, report.up_seconds) == (
        0, excluded, up)
    assert report.outage_count == 0
    assert report.coverage_pct == pytest.approx(100 * 733 / 743)
    assert f"impaired (no trustworthy data) is {words}, never downtime" in report.policy
    split = state_seconds(MARCH, intervals)
    assert (split["impaired"], split["unknown"]) == (10 * H, 0)


@pytest.mark.parametrize(
    ("unconfirmed", "down", "excluded", "words"),
    [("up", 0, 0, "counted as available"), ("down", 120, 0, "counted as downtime"),
     ("excluded", 0, 120, "excluded from the period")],
)
def test_unconfirmed_failures_follow_the_policy_which_the_report_states(
    unconfirmed: str, down: int, excluded: int, words: str
):
    intervals = [
        StateInterval(MARCH.start, w(5, 0), "up"),
        StateInterval(w(5, 0), w(5, 0, minute=2), "unconfirmed"),  # a blip of two minutes
        StateInterval(w(5, 0, minute=2), MARCH.end, "up"),
    ]
    policy = AvailabilityPolicy(unconfirmed=unconfirmed)
    report = device_availability(MARCH, intervals, policy=policy)
    assert (report.down_seconds, report.excluded_seconds) == (down, excluded)
    assert report.outage_count == (1 if down else 0)
    assert f"never confirmed as an outage (fewer than the debounce count) are {words}" in (
        report.policy
    )
    assert state_seconds(MARCH, intervals)["unconfirmed"] == 120
    assert AvailabilityPolicy().unconfirmed == "up"


def test_outage_crossing_the_month_boundary_is_split_at_local_midnight():
    outage = [StateInterval(w(31, 22), w(1, 3, month=4), "down")]
    march = device_availability(MARCH, outage)
    april = device_availability(MARCH.next(), outage)
    assert march.longest_outage_seconds == 2 * H and march.outages[0].end == MARCH.end
    assert april.longest_outage_seconds == 3 * H


def test_wholly_excluded_period_has_no_availability():
    report = device_availability(MARCH, [], [MaintenanceWindow(MARCH.start, MARCH.end)])
    assert report.availability is None and report.availability_pct is None
    assert device_availability(MARCH, []).availability is None  # no data, excluded


def test_unreachable_child_is_charged_or_attributed_to_parent():
    intervals = [
        StateInterval(MARCH.start, w(3, 0), "up"),
        StateInterval(w(3, 0), w(3, 2), "unreachable"),
        StateInterval(w(3, 2), MARCH.end, "up"),
    ]
    child = device_availability(MARCH, intervals)
    parent = device_availability(MARCH, intervals, policy=AvailabilityPolicy(unreachable="parent"))
    assert child.down_seconds == 2 * H and child.outage_count == 1
    assert parent.down_seconds == 0 and parent.availability == 1.0
    assert parent.excluded_seconds == 2 * H


def test_service_all_and_any():
    a = [StateInterval(MARCH.start, w(2, 0), "up"), StateInterval(w(2, 0), w(2, 1), "down"),
         StateInterval(w(2, 1), MARCH.end, "up")]
    b = [StateInterval(MARCH.start, w(2, 0, minute=30), "up"),
         StateInterval(w(2, 0, minute=30), w(2, 2), "down"),
         StateInterval(w(2, 2), MARCH.end, "up")]
    every = service_availability(MARCH, {"a": a, "b": b}, "all")
    either = service_availability(MARCH, {"a": a, "b": b}, "any")
    assert every.down_seconds == 2 * H and every.outage_count == 1
    assert either.down_seconds == H // 2


def test_it_rejects_overlapping_intervals_and_naive_datetimes():
    with pytest.raises(ValueError, match="overlap"):
        device_availability(MARCH, [StateInterval(w(1, 0), w(1, 2), "up"),
                                    StateInterval(w(1, 1), w(1, 3), "down")])
    with pytest.raises(ValueError, match="timezone-aware"):
        StateInterval(datetime(2026, 3, 1), w(1, 1), "up")
    with pytest.raises(ValueError, match="unknown device state"):
        StateInterval(w(1, 0), w(1, 1), "sideways")
