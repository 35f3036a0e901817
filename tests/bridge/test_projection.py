"""The `tickets` row is a projection of `ticket_events`: rebuilding it from the events alone
gives back exactly the row the live path wrote. Commands are compare-and-set on that row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge import projection
from bridge import tickets as tk
from bridge.lifecycle import CloseReason, Line, Origin, Priority, Status
from bridge.store.schema import ticket_events, tickets
from sla.events import validate
from sla.fold import fold as sla_fold
from tests.conftest import START, take_snapshot


class Steps:
    """Runs ticket commands one transaction each, a minute apart, as the writer would."""

    def __init__(self, engines, cfg) -> None:
        self.engines = engines
        self.cfg = cfg
        self.at = START

    def __call__(self, fn: Callable[..., dict], *args: Any, **kwargs: Any) -> dict:
        self.at += timedelta(minutes=1)
        with self.engines.write.connect() as conn, conn.begin():
            return fn(conn, *args, at=self.at, actor="alice", now=self.at, **kwargs)

    def load(self, ticket_id: int) -> dict:
        with self.engines.read.connect() as conn:
            return tk.load(conn, ticket_id)


@pytest.fixture
def steps(engines, cfg) -> Steps:
    return Steps(engines, cfg)


def _create(steps: Steps, **kw: Any) -> dict:
    def create(conn, *, at, actor, now):
        return tk.create(
            conn,
            steps.cfg,
            customer_id=kw.get("customer_id", "acme"),
            title="edge router down",
            origin=Origin.PHONE,
            priority=Priority.P3,
            device_id="acme-edge",
            at=at,
            actor=actor,
            now=now,
        )

    return steps(create)


def _long_history(steps: Steps) -> int:
    row = _create(steps)
    tid = row["id"]
    row = steps(tk.assign, row, "alice")
    row = steps(tk.transition, row, Status.WAITING, cfg=steps.cfg, reason="need logs")
    row = steps(tk.transition, row, Status.IN_PROGRESS, cfg=steps.cfg)
    row = steps(tk.escalate, row, Line.L2, "deep analysis")
    row = steps(tk.change_priority, row, Priority.P1, "site down")
    row = steps(tk.comment, row, "found it")
    row = steps(tk.transition, row, Status.RESOLVED, cfg=steps.cfg)
    row = steps(tk.transition, row, Status.IN_PROGRESS, cfg=steps.cfg, reason="still broken")
    row = steps(tk.assign, row, "bob")
    row = steps(tk.transition, row, Status.RESOLVED, cfg=steps.cfg)
    row = steps(
        tk.transition, row, Status.CLOSED, cfg=steps.cfg, close_reason=CloseReason.VERIFIED
    )
    return tid


def test_the_long_history_ends_where_expected(steps) -> None:
    tid = _long_history(steps)
    row = steps.load(tid)
    assert row["status"] == "closed"
    assert (row["assignee"], row["line"], row["priority"]) == ("bob", "L2", "P1")
    assert row["close_reason"] == "verified"
    assert row["version"] == 13
    assert row["entered_at"] == START + timedelta(minutes=1)
    assert row["assigned_at"] == START + timedelta(minutes=2)  # the first assignment counts
    assert row["resolved_at"] == START + timedelta(minutes=11)  # the last resolution
    assert row["closed_at"] == row["updated_at"] == START + timedelta(minutes=12)
    assert row["close_deadline"] is None
    for key in ("entered_at", "closed_at", "resolved_at"):
        assert row[key].utcoffset() == timedelta(0)


@pytest.mark.parametrize("stop_after", [None, "resolved-reopened", "resolved"])
def test_rebuild_restores_exactly_the_same_row(steps, engines, stop_after) -> None:
    if stop_after is None:
        tid = _long_history(steps)
    else:
        row = _create(steps)
        tid = row["id"]
        row = steps(tk.assign, row, "alice")
        row = steps(tk.transition, row, Status.RESOLVED, cfg=steps.cfg)
        if stop_after == "resolved-reopened":
            row = steps(tk.transition, row, Status.IN_PROGRESS, cfg=steps.cfg)
            row = steps(tk.transition, row, Status.WAITING, cfg=steps.cfg)
    original = steps.load(tid)
    mangled = {
        "status": "new",
        "assignee": None,
        "priority": "P4",
        "line": "L3",
        "title": "garbage",
        "summary": "garbage",
        "description": "garbage",
        "contract": "XX",
        "device_id": None,
        "device_ip": None,
        "entered_at": datetime(2000, 1, 1, tzinfo=START.tzinfo),
        "updated_at": datetime(2000, 1, 1, tzinfo=START.tzinfo),
        "assigned_at": None,
        "resolved_at": datetime(2000, 1, 1, tzinfo=START.tzinfo),
        "closed_at": None,
        "close_reason": "bogus",
        "close_deadline": datetime(2000, 1, 2, tzinfo=START.tzinfo),
        "sla_flags": "x:breach",
        "version": 99,
    }
    with engines.write.connect() as conn, conn.begin():
        conn.execute(sa.update(tickets).where(tickets.c.id == tid).values(**mangled))
    assert steps.load(tid) != original
    with engines.write.connect() as conn, conn.begin():
        rebuilt = tk.rebuild_projection(conn, tid)
    assert steps.load(tid) == original
    assert rebuilt == original


def test_the_pure_fold_of_the_stored_events_equals_the_row(steps, engines) -> None:
    tid = _long_history(steps)
    with engines.read.connect() as conn:
        events = tk.history(conn, tid)
    assert [e["seq"] for e in events] == list(range(1, 14))
    folded = projection.rebuild(events)
    assert folded is not None
    assert {**folded, "id": tid} == steps.load(tid)


def test_rebuild_of_an_unknown_ticket_is_not_found(engines) -> None:
    with engines.write.connect() as conn, conn.begin(), pytest.raises(tk.NotFound):
        tk.rebuild_projection(conn, 12345)


def test_the_fold_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="first event of a ticket must be 'created'"):
        projection.apply(None, "assigned", START, {"assignee": "x"})
    row = projection.apply(None, "created", START, {"title": "t", "priority": "P1"})
    with pytest.raises(ValueError, match="a ticket is created once"):
        projection.apply(row, "created", START, {})
    with pytest.raises(ValueError, match="unknown event kind 'exploded'"):
        projection.apply(row, "exploded", START, {})


def test_sla_flags_accumulate_in_the_projection() -> None:
    row = projection.apply(None, "created", START, {"title": "t"})
    row = projection.apply(row, "sla_warning", START, {"clock": "reaction"})
    row = projection.apply(row, "sla_breach", START, {"clock": "reaction"})
    row = projection.apply(row, "sla_warning", START, {"clock": "reaction"})
    assert row["sla_flags"] == "reaction:breach,reaction:warning"
    assert row["version"] == 4


# Compare-and-set ------------------------------------------------------------------------------


@pytest.fixture
def stale(steps) -> dict:
    """An in-progress ticket's row as two engineers both read it."""
    row = _create(steps)
    steps(tk.assign, row, "alice")
    return steps.load(row["id"])


@pytest.mark.parametrize(
    "loser",
    [
        lambda conn, row, **kw: tk.transition(conn, row, Status.RESOLVED, cfg=None, **kw),
        lambda conn, row, **kw: tk.transition(conn, row, Status.WAITING, cfg=None, **kw),
        lambda conn, row, **kw: tk.comment(conn, row, "late", **kw),
        lambda conn, row, **kw: tk.escalate(conn, row, Line.L3, "late", **kw),
        lambda conn, row, **kw: tk.assign(conn, row, "bob", **kw),
    ],
    ids=["resolve", "pause-again", "comment", "escalate", "assign"],
)
def test_the_second_command_from_a_stale_row_conflicts(steps, engines, stale, loser) -> None:
    steps(tk.transition, dict(stale), Status.WAITING, cfg=None)  # the winner
    before = take_snapshot(engines)
    with pytest.raises(tk.Conflict, match=f"ticket {stale['id']} changed meanwhile"):
        steps(loser, dict(stale))
    assert take_snapshot(engines) == before
    assert steps.load(stale["id"])["status"] == "waiting"


def test_the_status_is_checked_even_when_the_version_matches(steps, engines, stale) -> None:
    """A row whose version is current but whose status is not cannot be moved from it."""
    forged = {**stale, "status": "waiting"}
    before = take_snapshot(engines)
    with pytest.raises(tk.Conflict):
        steps(tk.transition, forged, Status.IN_PROGRESS, cfg=None)
    assert take_snapshot(engines) == before


def test_events_are_unique_per_ticket_and_seq(steps, engines, stale) -> None:
    """The database itself refuses a second event with the same seq (the last line of CAS)."""
    with engines.write.connect() as conn, pytest.raises(sa.exc.IntegrityError), conn.begin():
        conn.execute(
            sa.insert(ticket_events).values(
                ticket_id=stale["id"],
                seq=stale["version"],
                at=START,
                recorded_at=START,
                kind="commented",
                actor="mallory",
                data={"text": "x"},
            )
        )


# One transition: the fold of the SLA engine and the projection agree ----------------------

_STATUSES = [s.value for s in Status]
_PRIORITIES = [p.value for p in Priority]


@st.composite
def valid_logs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A ticket's log of valid events (each passes the write-time validation), in time order."""
    at = START
    status, priority, line = "new", draw(st.sampled_from(_PRIORITIES)), "L1"
    created = {
        "customer_id": "acme",
        "title": "edge router down",
        "priority": priority,
        "line": line,
        "origin": draw(st.sampled_from([o.value for o in Origin])),
        "kind": "incident",
        "status": status,
        "parent_id": None,
        "related_id": None,
    }
    log = [{"at": at, "seq": 1, "kind": "created", "data": created}]
    for seq in range(2, draw(st.integers(1, 25)) + 2):
        at += timedelta(minutes=draw(st.integers(0, 90)))
        kind = draw(
            st.sampled_from(
                ["assigned", "status_changed", "status_changed", "priority_changed", "commented",
                 "escalated", "linked", "sla_warning", "retitled"]
            )
        )  # fmt: skip
        if kind == "assigned":
            data: dict[str, Any] = {
                "assignee": draw(st.sampled_from(["alice", "bob"])),
                "from": None,
            }
        elif kind == "status_changed":
            new = draw(st.sampled_from(_STATUSES))
            data = {"from": status, "to": new}
            if new == "resolved":
                data["close_deadline"] = (at + timedelta(hours=24)).isoformat()
            status = new
        elif kind == "priority_changed":
            new = draw(st.sampled_from(_PRIORITIES))
            data, priority = {"from": priority, "to": new}, new
        elif kind == "escalated":
            data = {"from": line, "to": draw(st.sampled_from(["L2", "L3"]))}
            line = data["to"]
        elif kind == "linked":
            data = {"parent_id": draw(st.none() | st.integers(1, 9))}
        elif kind == "sla_warning":
            data = {"clock": "reaction", "elapsed_seconds": 60, "target_seconds": 90}
        elif kind == "retitled":
            data = {"from": None, "to": draw(st.sampled_from(["one", "two"]))}
        else:
            data = {"text": draw(st.text(max_size=5))}
        log.append({"at": at, "seq": seq, "kind": kind, "data": data})
    return log


@settings(max_examples=200, deadline=None)
@given(valid_logs())
def test_the_fold_and_the_projection_agree_after_every_event(log: list[dict[str, Any]]) -> None:
    for ev in log:
        validate(ev["kind"], ev["data"])  # the generator writes only what the store accepts
    facts = sla_fold(log, kinds=None)
    assert facts is not None
    assert len(facts.moments) == len(log)
    row: dict | None = None
    for ev, moment in zip(log, facts.moments, strict=True):
        row = projection.apply(row, ev["kind"], ev["at"], ev["data"])
        assert (moment.status, moment.assignee, moment.priority) == (
            row["status"],
            row["assignee"],
            row["priority"],
        )
        if ev["kind"] == "status_changed":
            assert row["status"] == ev["data"]["to"]
    assert facts.state == row == projection.rebuild(log)
    assert facts.assigned_at == row["assigned_at"]
