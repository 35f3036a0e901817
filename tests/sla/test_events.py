"""Typed ticket events: what the log may hold, refused with an error naming kind and field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sla.events import (
    CLOCK_KINDS,
    KINDS,
    EventInvalid,
    EventKind,
    Status,
    parse,
    validate,
)
from sla.fold import fold

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

#: One realistic data dict per kind, as the bridge writes them.
SAMPLES: dict[str, dict] = {
    "created": {
        "customer_id": "acme",
        "contract": "PL-1",
        "device_id": "acme-edge",
        "device_ip": "127.0.10.1",
        "title": "edge router down",
        "summary": "",
        "description": "",
        "priority": "P2",
        "line": "L1",
        "origin": "monitoring",
        "kind": "incident",
        "alertname": "NodeDown",
        "parent_device": None,
        "dedup_source": "am",
        "dedup_identity": "abc",
        "parent_id": None,
        "related_id": None,
        "status": "new",
    },
    "assigned": {"assignee": "alice", "from": None},
    "status_changed": {
        "from": "in_progress",
        "to": "resolved",
        "rule": "resolve",
        "close_deadline": "2026-03-03T09:00:00+00:00",
    },
    "priority_changed": {"from": "P3", "to": "P1", "reason": "site down"},
    "commented": {"text": "found it", "visibility": "internal"},
    "escalated": {"from": "L1", "to": "L2", "reason": "deep analysis"},
    "linked": {"parent_id": 7},
    "retitled": {"from": "old", "to": "3 devices down"},
    "alert_attached": {"source": "am", "identity": "x", "status": "firing", "note": "again"},
    "recovery": {"source": "am", "identity": "x", "ends_at": None},
    "alert_acknowledged": {"source": "am", "identity": "x", "text": "seen"},
    "sla_warning": {
        "clock": "reaction",
        "priority": "P2",
        "elapsed_seconds": 600,
        "target_seconds": 900,
    },
    "sla_breach": {
        "clock": "resolution",
        "priority": "P2",
        "elapsed_seconds": 9000,
        "target_seconds": 8000,
    },
}


def test_every_kind_has_a_sample_and_the_clock_kinds_are_among_them() -> None:
    assert set(SAMPLES) == KINDS == {k.value for k in EventKind}
    assert CLOCK_KINDS < KINDS


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_kind_round_trips(kind: str) -> None:
    data = SAMPLES[kind]
    event = parse(kind, data)
    assert type(event).KIND == kind
    assert event.to_data() == data
    assert parse(kind, event.to_data()) == event


def test_fields_a_kind_does_not_declare_survive_the_round_trip() -> None:
    data = {"text": "thanks", "visibility": "customer", "by_customer": True, "rating": 5}
    assert parse("commented", data).to_data() == data


def test_an_unknown_kind_is_refused_naming_it() -> None:
    with pytest.raises(EventInvalid, match="unknown event kind 'exploded'") as err:
        validate("exploded", {})
    assert err.value.kind == "exploded"
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("field", ["from", "to"])
def test_an_unknown_status_is_refused_naming_kind_and_field(field: str) -> None:
    data = {"from": "in_progress", "to": "waiting", field: "watinig"}
    with pytest.raises(EventInvalid) as err:
        validate("status_changed", data)
    assert (err.value.kind, err.value.field) == ("status_changed", field)
    message = str(err.value)
    assert "status_changed" in message and f"'{field}'" in message and "'watinig'" in message
    assert all(s.value in message for s in Status), "the message lists the known statuses"


def test_a_created_event_with_an_unknown_status_is_refused() -> None:
    with pytest.raises(EventInvalid, match="event 'created', field 'status'"):
        validate("created", {**SAMPLES["created"], "status": "open"})


@pytest.mark.parametrize("assignee", ["", "   ", None, 42])
def test_an_empty_assignee_is_refused(assignee: object) -> None:
    with pytest.raises(EventInvalid, match="event 'assigned', field 'assignee'") as err:
        validate("assigned", {"assignee": assignee, "from": None})
    assert err.value.field == "assignee"


def test_an_assignee_missing_altogether_is_refused() -> None:
    with pytest.raises(EventInvalid, match="field 'assignee'"):
        validate("assigned", {"from": "bob"})


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("priority_changed", {"from": "P3", "to": "P5"}, "to"),
        ("priority_changed", {"from": "p1", "to": "P1"}, "from"),
        ("created", {**SAMPLES["created"], "priority": "urgent"}, "priority"),
        ("created", {**SAMPLES["created"], "priority": None}, "priority"),
    ],
)
def test_a_priority_outside_p1_to_p4_is_refused(kind: str, data: dict, field: str) -> None:
    with pytest.raises(EventInvalid, match=f"event '{kind}', field '{field}'") as err:
        validate(kind, data)
    assert "P1, P2, P3, P4" in str(err.value)


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("escalated", {"from": "L1", "to": "L4"}, "to"),
        ("linked", {}, "parent_id"),
        ("linked", {"parent_id": "7"}, "parent_id"),
        ("sla_breach", {**SAMPLES["sla_breach"], "clock": "lunch"}, "clock"),
        ("status_changed", {**SAMPLES["status_changed"], "close_deadline": "soon"}, None),
        ("created", {**SAMPLES["created"], "customer_id": ""}, "customer_id"),
        ("alert_attached", {"identity": "x"}, "source"),
    ],
)
def test_other_malformed_fields_are_refused(kind: str, data: dict, field: str | None) -> None:
    with pytest.raises(EventInvalid, match=f"event '{kind}'") as err:
        validate(kind, data)
    if field is not None:
        assert err.value.field == field


def test_data_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(EventInvalid, match="data must be an object"):
        validate("commented", ["text"])  # type: ignore[arg-type]


def _ev(minute: int, seq: int, kind: str, **data: object) -> dict:
    return {"at": T0.replace(minute=minute), "seq": seq, "kind": kind, "data": data}


def test_the_fold_gives_the_instants_reports_count_from() -> None:
    log = [
        _ev(0, 1, "created", priority="P3", status="new"),
        _ev(5, 2, "assigned", assignee="alice"),
        _ev(5, 3, "status_changed", **{"from": "new", "to": "in_progress"}),
        _ev(10, 4, "status_changed", **{"from": "in_progress", "to": "waiting"}),
        _ev(20, 5, "status_changed", **{"from": "waiting", "to": "resolved"}),
        _ev(25, 6, "commented", text="ignored by the clock kinds"),
        _ev(30, 7, "status_changed", **{"from": "resolved", "to": "in_progress"}),
        _ev(35, 8, "priority_changed", **{"from": "P3", "to": "P1"}),
        _ev(40, 9, "assigned", assignee="bob"),
        _ev(50, 10, "status_changed", **{"from": "in_progress", "to": "resolved"}),
        _ev(59, 11, "status_changed", **{"from": "resolved", "to": "closed"}),
    ]
    facts = fold(log)
    assert facts is not None
    assert (facts.entered_at, facts.assigned_at) == (T0, T0.replace(minute=5))
    assert facts.first_stopped_at == T0.replace(minute=20)
    assert facts.stopped_at == T0.replace(minute=50), "resolved then closed: stopped at 50"
    assert (facts.reopens, facts.pauses) == (1, 1)
    assert (facts.status, facts.priority, facts.assignee) == ("closed", "P1", "bob")
    assert facts.initial_priority == "P3"
    assert len(facts.moments) == 10, "commented is not a clock kind"
    # cut at 30 minutes: reopened at 30, so nothing is stopped any more
    cut = fold(log, until=T0.replace(minute=30))
    assert cut is not None
    assert (cut.status, cut.stopped_at, cut.reopens) == ("in_progress", None, 1)


def test_the_fold_of_an_empty_log_is_none_and_a_log_must_start_with_created() -> None:
    assert fold([]) is None
    with pytest.raises(ValueError, match="must start with a 'created'"):
        fold([_ev(0, 1, "assigned", assignee="a")])
