"""Pure state-machine tests: a fake clock that moves, no sleeps, no sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from probes.state import (
    CHECK_ICMP,
    CHECK_UPTIME,
    TIMETICKS_WRAP,
    Observation,
    Policy,
    State,
    StateEngine,
    classify_if_status,
    classify_ping,
    interface_check,
    threshold_check,
    threshold_crossed,
)

OK, DEG, FAIL = Observation.OK, Observation.DEGRADED, Observation.FAIL
T0 = datetime(2024, 3, 31, 0, 30, tzinfo=UTC)
STEP = timedelta(minutes=1)


class FakeClock:
    """Moves only when told to."""

    def __init__(self, start: datetime = T0) -> None:
        self.t = start

    def now(self) -> datetime:
        return self.t

    def tick(self, step: timedelta = STEP) -> datetime:
        self.t += step
        return self.t


def feed(engine: StateEngine, clock: FakeClock, device: str, obs: list[Observation],
         check: str = CHECK_ICMP):
    out = []
    for o in obs:
        out.extend(engine.observe(device, check, o, clock.tick()))
    return out


def transitions(changes):
    return [(c.device_id, c.old_state, c.new_state, c.rule) for c in changes]


def test_it_goes_up_on_first_good_cycle_from_unknown():
    eng, clock = StateEngine(), FakeClock()
    changes = feed(eng, clock, "alice", [OK])
    assert transitions(changes) == [("alice", State.UNKNOWN, State.UP, "first_up")]


def test_it_goes_down_after_n_consecutive_failures_only():
    eng, clock = StateEngine(Policy(down_after=3, up_after=2)), FakeClock()
    feed(eng, clock, "r1", [OK])
    blips = feed(eng, clock, "r1", [FAIL, FAIL, OK, FAIL, FAIL])
    assert [c.rule for c in blips] == ["unconfirmed_failure"]
    assert eng.state("r1", CHECK_ICMP) is State.UP
    changes = feed(eng, clock, "r1", [FAIL])
    assert transitions(changes) == [("r1", State.UP, State.DOWN, "down_after_n")]
    assert changes[0].at == clock.now()
    assert changes[0].detail["streak"] == 3


def test_it_comes_back_up_after_m_good_cycles():
    eng, clock = StateEngine(Policy(down_after=3, up_after=2)), FakeClock()
    feed(eng, clock, "r1", [OK, FAIL, FAIL, FAIL])
    assert eng.state("r1", CHECK_ICMP) is State.DOWN
    assert feed(eng, clock, "r1", [OK, FAIL, OK]) == []
    changes = feed(eng, clock, "r1", [OK])
    assert transitions(changes) == [("r1", State.DOWN, State.UP, "up_after_m")]


def test_unknown_device_that_never_answers_goes_down_after_n():
    eng, clock = StateEngine(Policy(down_after=3)), FakeClock()
    assert feed(eng, clock, "r1", [FAIL, FAIL]) == []
    changes = feed(eng, clock, "r1", [FAIL])
    assert transitions(changes) == [("r1", State.UNKNOWN, State.DOWN, "down_after_n")]


def test_it_marks_degraded_and_recovers():
    eng, clock = StateEngine(Policy(down_after=2, up_after=2)), FakeClock()
    feed(eng, clock, "r1", [OK])
    changes = feed(eng, clock, "r1", [DEG, DEG])
    assert transitions(changes) == [("r1", State.UP, State.DEGRADED, "degraded_after_n")]
    changes = feed(eng, clock, "r1", [FAIL, FAIL])
    assert transitions(changes) == [("r1", State.DEGRADED, State.DOWN, "down_after_n")]
    changes = feed(eng, clock, "r1", [DEG, DEG])
    assert transitions(changes) == [("r1", State.DOWN, State.DEGRADED, "degraded_after_m")]
    changes = feed(eng, clock, "r1", [OK, OK])
    assert transitions(changes) == [("r1", State.DEGRADED, State.UP, "up_after_m")]


def test_classify_ping_thresholds():
    assert classify_ping(0, 1.0, None, 0.2, 100) is FAIL
    assert classify_ping(3, 0.0, 5.0, 0.2, 100) is OK
    assert classify_ping(2, 1 / 3, 5.0, 0.2, 100) is DEG
    assert classify_ping(3, 0.0, 150.0, 0.2, 100) is DEG
    assert classify_ping(2, 1 / 3, 5.0) is OK


def test_it_detects_flapping_and_reports_the_outcome_once_stable():
    policy = Policy(down_after=1, up_after=1, flap_changes=4, flap_window=timedelta(minutes=10))
    eng, clock = StateEngine(policy), FakeClock()
    feed(eng, clock, "r1", [OK])
    changes = feed(eng, clock, "r1", [FAIL, OK, FAIL, OK])
    rules = [c.rule for c in changes]
    assert rules == ["down_after_n", "up_after_m", "down_after_n", "up_after_m",
                     "flapping_started"]
    assert eng.is_flapping("r1", CHECK_ICMP)
    # Transitions while flapping are told for the record only, never as alerts.
    assert [c.rule for c in feed(eng, clock, "r1", [FAIL, OK, FAIL])] == [
        "flapping_suppressed"
    ] * 3
    # Stable (down) for less than the window: still flapping.
    assert feed(eng, clock, "r1", [FAIL] * 9) == []
    changes = feed(eng, clock, "r1", [FAIL])
    assert transitions(changes) == [("r1", State.UP, State.DOWN, "flapping_stopped")]
    assert not eng.is_flapping("r1", CHECK_ICMP)
    # Afterwards transitions are emitted again.
    assert [c.rule for c in feed(eng, clock, "r1", [OK])] == ["up_after_m"]


def test_changes_spread_wider_than_the_window_are_not_flapping():
    policy = Policy(down_after=1, up_after=1, flap_changes=3, flap_window=timedelta(minutes=5))
    eng, clock = StateEngine(policy), FakeClock()
    feed(eng, clock, "r1", [OK])
    for obs in [FAIL, OK, FAIL, OK]:
        clock.tick(timedelta(minutes=3))
        feed(eng, clock, "r1", [obs])
    assert not eng.is_flapping("r1", CHECK_ICMP)


def test_parent_down_makes_two_children_unreachable_with_one_down():
    eng = StateEngine(Policy(down_after=3, up_after=2),
                      parents={"gw": None, "alice": "gw", "bob": "gw"})
    clock = FakeClock()
    out = []
    for obs in [OK, FAIL, FAIL, FAIL, FAIL]:
        out += eng.observe_cycle(
            [("alice", CHECK_ICMP, obs, None), ("bob", CHECK_ICMP, obs, None),
             ("gw", CHECK_ICMP, obs, None)],
            clock.tick(),
        )
    downs = [c for c in out if c.new_state is State.DOWN]
    assert transitions(downs) == [("gw", State.UP, State.DOWN, "down_after_n")]
    unreachable = sorted(c.device_id for c in out if c.new_state is State.UNREACHABLE)
    assert unreachable == ["alice", "bob"]
    assert {c.rule for c in out if c.new_state is State.UNREACHABLE} == {
        "unreachable_parent_down"
    }
    # Parent back, children still silent: now they are really down.
    out = []
    for _ in range(2):
        out += eng.observe_cycle(
            [("gw", CHECK_ICMP, OK, None), ("alice", CHECK_ICMP, FAIL, None),
             ("bob", CHECK_ICMP, OK, None)],
            clock.tick(),
        )
    assert eng.state("gw", CHECK_ICMP) is State.UP
    assert eng.state("alice", CHECK_ICMP) is State.DOWN
    assert eng.state("bob", CHECK_ICMP) is State.UP
    assert ("alice", State.UNREACHABLE, State.DOWN, "down_parent_up") in transitions(out)


def test_child_observed_before_its_failing_parent_is_held_not_down():
    """Children swept in an earlier batch than their parent must not open a ticket."""
    eng = StateEngine(Policy(down_after=2), parents={"gw": None, "carol": "gw"})
    clock = FakeClock()
    eng.observe("gw", CHECK_ICMP, OK, clock.tick())
    eng.observe("carol", CHECK_ICMP, OK, clock.now())
    out = eng.observe("carol", CHECK_ICMP, FAIL, clock.tick())
    now = clock.tick()
    out += eng.observe("gw", CHECK_ICMP, FAIL, now)  # gw's batch runs first this cycle
    out += eng.observe("carol", CHECK_ICMP, FAIL, now + timedelta(seconds=1))
    # carol hit N failures while gw had one failure but was not down yet: held.
    assert eng.state("carol", CHECK_ICMP) is State.UP
    out += eng.observe("gw", CHECK_ICMP, FAIL, clock.tick())
    assert eng.state("gw", CHECK_ICMP) is State.DOWN
    assert eng.state("carol", CHECK_ICMP) is State.UNREACHABLE
    assert [c.new_state for c in out if c.device_id == "carol"] == [State.UNREACHABLE]


def test_dependency_cycles_are_rejected():
    with pytest.raises(ValueError, match="dependency cycle"):
        StateEngine(parents={"a": "b", "b": "a"})


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError, match="naive datetime"):
        StateEngine().observe("a", CHECK_ICMP, OK, datetime(2024, 1, 1))


def test_reboot_is_detected_when_uptime_goes_backwards():
    eng, clock = StateEngine(), FakeClock()
    assert eng.observe_uptime("sw1", 500_000, clock.tick()) == []
    assert eng.observe_uptime("sw1", 506_000, clock.tick()) == []
    changes = eng.observe_uptime("sw1", 1_200, clock.tick())
    assert [(c.check, c.rule) for c in changes] == [(CHECK_UPTIME, "reboot")]
    assert changes[0].detail["uptime_before"] == 506_000
    assert changes[0].detail["uptime_after"] == 1_200


def test_timeticks_wrap_is_not_a_reboot():
    eng, clock = StateEngine(), FakeClock()
    eng.observe_uptime("sw1", TIMETICKS_WRAP - 3_000, clock.tick())
    assert eng.observe_uptime("sw1", 3_000, clock.tick()) == []


def test_interface_and_threshold_checks_use_their_own_rules():
    eng, clock = StateEngine(Policy(down_after=2, up_after=1)), FakeClock()
    eth = interface_check("eth0")
    temp = threshold_check("temperature")
    out = []
    for status, value in [(1, 40), (2, 80), (2, 80), (1, 40)]:
        now = clock.tick()
        out += eng.observe("sw1", eth, classify_if_status(status), now, {"interface": "eth0"})
        crossed = threshold_crossed(value, ">", 70)
        out += eng.observe("sw1", temp, DEG if crossed else OK, now, {"value": value})
    rules = [(c.check, c.rule) for c in out if c.old_state is not State.UNKNOWN]
    assert rules == [
        (eth, "interface_down"), (temp, "threshold_crossed"),
        (eth, "interface_up"), (temp, "threshold_cleared"),
    ]
    down = next(c for c in out if c.rule == "interface_down")
    assert down.detail["interface"] == "eth0"


def test_threshold_operator_is_validated():
    assert threshold_crossed(5, "<=", 5)
    with pytest.raises(ValueError, match="unknown threshold operator '=='"):
        threshold_crossed(5, "==", 5)


# -- when a change began: the probes, not the debounce ------------------------------------------


def test_an_outage_runs_from_its_first_failed_probe_to_its_first_good_probe():
    eng, clock = StateEngine(Policy(down_after=3, up_after=2)), FakeClock()
    feed(eng, clock, "r1", [OK])
    first_failed = clock.now() + STEP
    [down] = feed(eng, clock, "r1", [FAIL, FAIL, FAIL])
    assert (down.new_state, down.since, down.began_at) == (State.DOWN, first_failed, first_failed)
    assert down.at == first_failed + 2 * STEP  # decided at the third failed cycle
    assert feed(eng, clock, "r1", [OK, FAIL]) == []  # one good probe is not a recovery
    first_good = clock.now() + STEP
    [up] = feed(eng, clock, "r1", [OK, OK])
    assert (up.new_state, up.since, up.at) == (State.UP, first_good, first_good + STEP)


def test_failures_never_confirmed_are_told_as_unconfirmed_from_first_failure_to_next_probe():
    eng, clock = StateEngine(Policy(down_after=3, up_after=2)), FakeClock()
    feed(eng, clock, "r1", [OK])
    first_failed = clock.now() + STEP
    [blip] = feed(eng, clock, "r1", [FAIL, FAIL, OK])
    assert (blip.old_state, blip.new_state, blip.rule) == (
        State.UP, State.UP, "unconfirmed_failure"
    )
    assert (blip.since, blip.at) == (first_failed, first_failed + 2 * STEP)
    assert blip.detail["failed_cycles"] == 2
    # a degraded cycle ends a failure run too; an outage that was confirmed is no blip
    assert [c.rule for c in feed(eng, clock, "r1", [FAIL, DEG])] == ["unconfirmed_failure"]
    feed(eng, clock, "r1", [FAIL, FAIL, FAIL])
    assert [c.rule for c in feed(eng, clock, "r1", [OK, OK])] == ["up_after_m"]


def test_after_a_start_the_first_state_begins_at_the_first_probe_whatever_it_says():
    eng, clock = StateEngine(Policy(down_after=3, up_after=2)), FakeClock()
    first = clock.now() + STEP
    [down] = feed(eng, clock, "r1", [FAIL, FAIL, FAIL])
    assert (down.old_state, down.since) == (State.UNKNOWN, first)

    eng, clock = StateEngine(Policy(down_after=3, up_after=2)), FakeClock()
    first = clock.now() + STEP
    [up] = feed(eng, clock, "r1", [DEG, OK])  # an unconfirmed degraded cycle counts as up
    assert (up.rule, up.since) == ("first_up", first)

    eng, clock = StateEngine(Policy(down_after=3, up_after=2)), FakeClock()
    first = clock.now() + STEP
    blip, up = feed(eng, clock, "r1", [FAIL, OK])
    assert (blip.rule, blip.old_state, blip.since, blip.at) == (
        "unconfirmed_failure", State.UNKNOWN, first, first + STEP
    )
    assert (up.rule, up.since) == ("first_up", first + STEP)


def test_a_child_down_on_its_own_is_unreachable_once_its_parents_outage_began():
    eng, clock = StateEngine(Policy(down_after=2, up_after=1), {"edge": None, "db": "edge"}), \
        FakeClock()

    def cycle(edge: Observation, db: Observation) -> list:
        return eng.observe_cycle(
            [("edge", CHECK_ICMP, edge, None), ("db", CHECK_ICMP, db, None)], clock.tick()
        )

    cycle(OK, OK)
    db_fail = clock.now() + STEP
    assert cycle(OK, FAIL) == []
    [db_down] = cycle(OK, FAIL)
    assert (db_down.new_state, db_down.since) == (State.DOWN, db_fail)
    edge_fail = clock.now() + STEP
    assert cycle(FAIL, FAIL) == []
    changes = cycle(FAIL, FAIL)
    got = {(c.device_id, c.new_state): c.since for c in changes}
    # db's own outage stands until its parent's began; from then on it is unreachable
    assert got == {("edge", State.DOWN): edge_fail, ("db", State.UNREACHABLE): edge_fail}
    edge_back = clock.now() + STEP
    changes = cycle(OK, FAIL)
    got = {(c.device_id, c.new_state): c.since for c in changes}
    assert got == {("edge", State.UP): edge_back, ("db", State.DOWN): edge_back}


def test_children_failing_with_their_parent_are_unreachable_from_their_first_failure():
    eng, clock = StateEngine(Policy(down_after=2, up_after=1), {"edge": None, "db": "edge"}), \
        FakeClock()
    eng.observe_cycle([("edge", CHECK_ICMP, OK, None), ("db", CHECK_ICMP, OK, None)],
                      clock.tick())
    first = clock.now() + STEP
    changes = []
    for _ in range(2):
        changes += eng.observe_cycle(
            [("edge", CHECK_ICMP, FAIL, None), ("db", CHECK_ICMP, FAIL, None)], clock.tick()
        )
    got = {(c.device_id, c.new_state): c.since for c in changes}
    assert got == {("edge", State.DOWN): first, ("db", State.UNREACHABLE): first}
