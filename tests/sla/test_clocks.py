"""Ticket clocks against the minute-walking oracle, and hand-computed scenarios."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla import Calendar, ClockEvent, PriorityTargets, SlaPolicy, ticket_clocks
from tests.sla import oracle
from tests.sla.strategies import ANCHORS, policies, tickets, to_calendar

WARSAW = ZoneInfo("Europe/Warsaw")
OFFICE = Calendar.business_hours("Europe/Warsaw", {d: "08:00-17:00" for d in range(5)})
ALWAYS = Calendar.always()
H = 3600


def sla_policy(cal_of, targets, pause=frozenset({"waiting"})) -> SlaPolicy:
    cals = {id(spec): to_calendar(spec) for spec in cal_of.values()}
    return SlaPolicy(
        {p: PriorityTargets(r, s, cals[id(cal_of[p])]) for p, (r, s) in targets.items()},
        pause_statuses=pause,
    )


@st.composite
def scenario(draw: st.DrawFn):
    anchor = draw(st.sampled_from(ANCHORS))
    cal_of, targets = draw(policies(anchor))
    events, now = draw(tickets(anchor))
    pauses = (frozenset({"waiting"}), frozenset(), frozenset({"waiting", "new"}))
    pause = draw(st.sampled_from(pauses))
    return cal_of, targets, events, now, pause


@settings(max_examples=150, deadline=None)
@given(scenario(), st.randoms(use_true_random=False))
def test_clocks_match_minute_walk(case, rnd):
    cal_of, targets, events, now, pause = case
    shuffled = list(events)
    rnd.shuffle(shuffled)  # the engine must order by (at, seq) itself
    got = ticket_clocks(
        [ClockEvent(at, seq, kind, data) for at, seq, kind, data in shuffled],
        sla_policy(cal_of, targets, pause),
        now,
    )
    want = oracle.ticket_clocks(events, cal_of, targets, pause, now)
    for clock in (got.reaction, got.resolution):
        expected = want[clock.name]
        assert (clock.elapsed_seconds, clock.target_seconds, clock.state, clock.stopped) == (
            expected.elapsed, expected.target, expected.state, expected.stopped
        ), clock.name
        assert clock.deadline == expected.deadline, clock.name
        assert clock.remaining_seconds == clock.target_seconds - clock.elapsed_seconds
        counted = sum(i.business_seconds for i in clock.intervals if i.kind == "counted")
        assert counted == clock.elapsed_seconds


def ev(at: datetime, seq: int, kind: str, **data: str) -> ClockEvent:
    return ClockEvent(at, seq, kind, data)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """January 2026 in Warsaw; Jan 9 is a Friday."""
    return datetime(2026, 1, day, hour, minute, tzinfo=WARSAW)


OFFICE_POLICY = SlaPolicy(
    {
        "P1": PriorityTargets(30 * 60, 4 * H, ALWAYS),
        "P2": PriorityTargets(2 * H, 8 * H, OFFICE),
        "P3": PriorityTargets(4 * H, 16 * H, OFFICE),
    }
)


def test_reaction_over_a_weekend_counts_105_minutes():
    clocks = ticket_clocks(
        [ev(at(9, 16, 30), 1, "created", priority="P2", status="new"),
         ev(at(12, 9, 15), 2, "assigned", assignee="alice")],
        OFFICE_POLICY,
        now=at(12, 12),
    )
    assert clocks.reaction.elapsed_seconds == 105 * 60
    assert clocks.reaction.state == "met" and clocks.reaction.stopped
    (interval,) = clocks.reaction.intervals
    assert (interval.started_by.kind, interval.ended_by.kind) == ("created", "assigned")


def test_reaction_keeps_running_while_unassigned():
    clocks = ticket_clocks(
        [ev(at(9, 16, 30), 1, "created", priority="P2", status="new")], OFFICE_POLICY, at(12, 9)
    )
    assert clocks.reaction.state == "running"
    assert clocks.reaction.elapsed_seconds == 90 * 60
    assert clocks.reaction.deadline == at(12, 9, 30)
    assert clocks.reaction.intervals[-1].ended_by is None


def test_christmas_eve_ticket_counts_from_next_business_day():
    pl = Calendar.business_hours("Europe/Warsaw", {d: "08:00-17:00" for d in range(5)},
                                 country="PL")
    policy = SlaPolicy({"P3": PriorityTargets(4 * H, 16 * H, pl)})
    entered = datetime(2025, 12, 24, 10, 0, tzinfo=WARSAW)
    clocks = ticket_clocks([ev(entered, 1, "created", priority="P3")], policy,
                           datetime(2025, 12, 29, 9, 0, tzinfo=WARSAW))
    assert clocks.reaction.elapsed_seconds == 1 * H
    assert clocks.reaction.deadline == datetime(2025, 12, 29, 12, 0, tzinfo=WARSAW)


def test_waiting_pauses_and_reopen_resumes_but_verification_never_counts():
    log = [
        ev(at(12, 8), 1, "created", priority="P2", status="new"),
        ev(at(12, 9), 2, "assigned", assignee="alice"),
        ev(at(12, 9), 3, "status_changed", **{"from": "new", "to": "in_progress"}),
        ev(at(12, 10), 4, "status_changed", **{"from": "in_progress", "to": "waiting"}),
        ev(at(12, 12), 5, "commented"),
        ev(at(12, 13), 6, "status_changed", **{"from": "waiting", "to": "in_progress"}),
        ev(at(12, 14), 7, "status_changed", **{"from": "in_progress", "to": "resolved"}),
        ev(at(12, 16), 8, "status_changed", **{"from": "resolved", "to": "in_progress"}),
        ev(at(13, 9), 9, "status_changed", **{"from": "in_progress", "to": "resolved"}),
        ev(at(14, 9), 10, "status_changed", **{"from": "resolved", "to": "closed"}),
    ]
    res = ticket_clocks(log, OFFICE_POLICY, at(20, 12)).resolution
    # 8-10 (2 h) + 13-14 (1 h) + Mon 16-17 and Tue 8-9 (2 h); waiting and verification out.
    assert res.elapsed_seconds == 5 * H
    assert res.state == "met" and res.stopped and res.deadline is None
    kinds = [(i.kind, i.started_by.seq, i.ended_by.seq if i.ended_by else None)
             for i in res.intervals]
    assert kinds == [("counted", 1, 4), ("paused", 4, 6), ("counted", 6, 7), ("counted", 8, 9)]


def test_priority_change_keeps_elapsed_time_and_switches_calendar():
    log = [
        ev(at(9, 16), 1, "created", priority="P3", status="new"),
        # Escalated to P1 (24x7) on Friday 17:00: the weekend now counts.
        ev(at(9, 17), 2, "priority_changed", **{"from": "P3", "to": "P1"}),
    ]
    clocks = ticket_clocks(log, OFFICE_POLICY, at(9, 19))
    # 1 h under P3 office hours + 2 h under P1 24x7; P1 targets apply.
    assert clocks.priority == "P1"
    assert clocks.resolution.elapsed_seconds == 3 * H
    assert clocks.resolution.target_seconds == 4 * H
    assert clocks.resolution.deadline == at(9, 20)
    assert clocks.reaction.state == "breached"  # 3 h > 30 min P1 reaction target
    # The new, shorter target was already reached under P3: the crossing is in the past.
    assert clocks.reaction.deadline == at(9, 16, 30)
    assert [i.priority for i in clocks.resolution.intervals] == ["P3", "P1"]


def test_closed_without_resolution_stops_at_close():
    log = [
        ev(at(12, 8), 1, "created", priority="P2", status="new"),
        ev(at(12, 11), 2, "status_changed", **{"from": "new", "to": "closed"}),
    ]
    clocks = ticket_clocks(log, OFFICE_POLICY, at(30, 12))
    assert clocks.resolution.elapsed_seconds == 3 * H and clocks.resolution.state == "met"
    assert clocks.reaction.elapsed_seconds == 3 * H and clocks.reaction.state == "breached"
    assert clocks.reaction.stopped


def test_paused_clock_has_no_deadline():
    log = [
        ev(at(12, 8), 1, "created", priority="P2", status="new"),
        ev(at(12, 9), 2, "status_changed", **{"from": "new", "to": "waiting"}),
    ]
    res = ticket_clocks(log, OFFICE_POLICY, at(12, 15)).resolution
    assert (res.state, res.deadline, res.elapsed_seconds) == ("paused", None, H)


def test_events_after_now_are_ignored():
    log = [
        ev(at(12, 8), 1, "created", priority="P2", status="new"),
        ev(at(12, 9), 2, "assigned", assignee="alice"),
    ]
    assert ticket_clocks(log, OFFICE_POLICY, at(12, 8, 30)).reaction.state == "running"


def test_it_rejects_bad_logs():
    with pytest.raises(ValueError, match="must start with a 'created'"):
        ticket_clocks([ev(at(12, 9), 1, "assigned", assignee="a")], OFFICE_POLICY, at(12, 10))
    with pytest.raises(ValueError, match="no SLA targets for priority 'P9'"):
        ticket_clocks([ev(at(12, 9), 1, "created", priority="P9")], OFFICE_POLICY, at(12, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        ClockEvent(datetime(2026, 1, 1), 1, "created", {})
    with pytest.raises(ValueError, match="timezone-aware"):
        ticket_clocks([ev(at(12, 9), 1, "created", priority="P2")], OFFICE_POLICY,
                      datetime(2026, 1, 12, 10))
    assert UTC  # keep the import for readers comparing zones
