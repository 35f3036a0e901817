"""Desk countdowns carried forward in time agree with a fresh replay of the SLA engine, through
a closed calendar night and a pause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sla
from bridge.web.countdown import countdown
from sla.instants import to_epoch

OFFICE = sla.Calendar.business_hours("Europe/Warsaw", {d: "08:00-17:00" for d in range(5)})
POLICY = sla.SlaPolicy(
    targets={"P2": sla.PriorityTargets(4 * 3600, 16 * 3600, OFFICE),
             "P1": sla.PriorityTargets(900, 4 * 3600, sla.Calendar.always())},
)
# Monday 2026-10-05 15:00 Warsaw (13:00 UTC): two open hours left that day
CREATED = datetime(2026, 10, 5, 13, 0, tzinfo=UTC)


def ev(at: datetime, seq: int, kind: str, **data: object) -> sla.ClockEvent:
    return sla.ClockEvent(at, seq, kind, data)


def replay(events: list[sla.ClockEvent], now: datetime) -> sla.TicketClocks:
    return sla.ticket_clocks(events, POLICY, now)


def test_a_countdown_stops_overnight_like_the_engine():
    events = [ev(CREATED, 1, "created", priority="P2", status="new")]
    base = CREATED + timedelta(minutes=30)
    clocks = replay(events, base)
    cd = countdown(clocks.reaction, POLICY, "P2", base)
    for minutes in range(0, 24 * 60, 7):  # through 17:00, the night, and 08:00 next morning
        t = base + timedelta(minutes=minutes)
        assert cd.remaining_at(to_epoch(t)) == replay(events, t).reaction.remaining_seconds
        assert cd.state_at(to_epoch(t)) == replay(events, t).reaction.state
    night = datetime(2026, 10, 5, 20, 0, tzinfo=UTC)  # 22:00 in Warsaw
    assert not cd.ticking_at(to_epoch(night))
    assert cd.resumes_at(to_epoch(night)) == to_epoch(datetime(2026, 10, 6, 6, 0, tzinfo=UTC))


def test_a_breach_is_reached_when_the_engine_says_so():
    events = [ev(CREATED, 1, "created", priority="P1", status="new")]
    cd = countdown(replay(events, CREATED).reaction, POLICY, "P1", CREATED)
    for seconds in (899, 900, 901, 2000):
        t = CREATED + timedelta(seconds=seconds)
        engine = replay(events, t).reaction
        assert (cd.remaining_at(to_epoch(t)), cd.state_at(to_epoch(t))) == (
            engine.remaining_seconds, engine.state)


def test_a_paused_clock_stays_put_like_the_engine():
    events = [
        ev(CREATED, 1, "created", priority="P2", status="new"),
        ev(CREATED + timedelta(minutes=5), 2, "assigned", assignee="alice"),
        ev(CREATED + timedelta(minutes=5), 3, "status_changed", **{"from": "new",
                                                                   "to": "in_progress"}),
        ev(CREATED + timedelta(minutes=20), 4, "status_changed", **{"from": "in_progress",
                                                                    "to": "waiting"}),
    ]
    base = CREATED + timedelta(minutes=30)
    clocks = replay(events, base)
    res = countdown(clocks.resolution, POLICY, "P2", base)
    react = countdown(clocks.reaction, POLICY, "P2", base)
    assert (res.state, react.state) == ("paused", "met")
    for hours in (1, 5, 30):
        t = base + timedelta(hours=hours)
        assert res.remaining_at(to_epoch(t)) == replay(events, t).resolution.remaining_seconds
        assert react.remaining_at(to_epoch(t)) == replay(events, t).reaction.remaining_seconds
    assert res.json()["windows"] == []
