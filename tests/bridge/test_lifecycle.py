"""The ticket lifecycle: the pure state machine over the whole Status×Status matrix, then the
same rules as the API enforces them (409 naming the allowed moves)."""

from __future__ import annotations

import itertools

import pytest

from bridge.lifecycle import (
    RULES,
    CloseReason,
    Line,
    Status,
    TransitionRefused,
    allowed_targets,
    can_escalate,
    plan_transition,
)

S = Status
#: The lifecycle as DESIGN.md tells it, written out independently of bridge.lifecycle.RULES.
EXPECTED = {
    (S.NEW, S.IN_PROGRESS): "accept",
    (S.NEW, S.CLOSED): "dismiss",
    (S.IN_PROGRESS, S.WAITING): "pause",
    (S.WAITING, S.IN_PROGRESS): "resume",
    (S.IN_PROGRESS, S.RESOLVED): "resolve",
    (S.WAITING, S.RESOLVED): "resolve",
    (S.RESOLVED, S.IN_PROGRESS): "reopen",
    (S.RESOLVED, S.CLOSED): "close",
}
ALLOWED_FROM = {
    S.NEW: [S.IN_PROGRESS, S.CLOSED],
    S.IN_PROGRESS: [S.WAITING, S.RESOLVED],
    S.WAITING: [S.IN_PROGRESS, S.RESOLVED],
    S.RESOLVED: [S.IN_PROGRESS, S.CLOSED],
    S.CLOSED: [],
}
MATRIX = list(itertools.product(Status, Status))


def _reason_for(current: Status) -> CloseReason | None:
    return CloseReason.DUPLICATE if current == S.NEW else None


def test_the_rules_table_is_the_documented_lifecycle() -> None:
    assert RULES == EXPECTED


@pytest.mark.parametrize(("current", "target"), MATRIX, ids=[f"{a}->{b}" for a, b in MATRIX])
def test_every_move_of_the_matrix(current: Status, target: Status) -> None:
    if (current, target) in EXPECTED:
        plan = plan_transition(
            current, target, assignee="alice", close_reason=_reason_for(current)
        )
        assert (plan.old, plan.new, plan.rule) == (current, target, EXPECTED[current, target])
    else:
        with pytest.raises(TransitionRefused) as info:
            plan_transition(current, target, assignee="alice", close_reason=_reason_for(current))
        err = info.value
        assert (err.current, err.target) == (current, target)
        assert sorted(err.allowed) == sorted(ALLOWED_FROM[current])
        if current == S.CLOSED:
            assert err.why == "a closed ticket is final"
        else:
            assert err.why == f"cannot go from {current.value} to {target.value}"


@pytest.mark.parametrize("current", list(Status))
def test_allowed_targets(current: Status) -> None:
    assert sorted(allowed_targets(current)) == sorted(ALLOWED_FROM[current])


def test_accepting_a_new_ticket_needs_an_assignee() -> None:
    with pytest.raises(TransitionRefused, match="only when assigned"):
        plan_transition(S.NEW, S.IN_PROGRESS, assignee=None)


@pytest.mark.parametrize("reason", [None, CloseReason.VERIFIED, CloseReason.NO_ANSWER])
def test_closing_a_new_ticket_needs_duplicate_or_false_alarm(reason: CloseReason | None) -> None:
    with pytest.raises(TransitionRefused) as info:
        plan_transition(S.NEW, S.CLOSED, assignee=None, close_reason=reason)
    assert info.value.why == "closing a new ticket needs a reason out of: duplicate, false_alarm"


@pytest.mark.parametrize("reason", [CloseReason.DUPLICATE, CloseReason.FALSE_ALARM])
def test_a_new_ticket_is_dismissed_as_duplicate_or_false_alarm(reason: CloseReason) -> None:
    plan = plan_transition(S.NEW, S.CLOSED, assignee=None, close_reason=reason)
    assert (plan.rule, plan.close_reason) == ("dismiss", reason)


def test_closing_a_resolved_ticket_defaults_to_verified() -> None:
    plan = plan_transition(S.RESOLVED, S.CLOSED, assignee="alice")
    assert plan.close_reason == CloseReason.VERIFIED


@pytest.mark.parametrize("reason", [CloseReason.DUPLICATE, CloseReason.FALSE_ALARM])
def test_a_resolved_ticket_is_not_closed_as_a_duplicate(reason: CloseReason) -> None:
    with pytest.raises(TransitionRefused) as info:
        plan_transition(S.RESOLVED, S.CLOSED, assignee="alice", close_reason=reason)
    assert info.value.why == "closing a resolved ticket needs a reason out of: no_answer, verified"


LINES = list(itertools.product(Line, Line))


@pytest.mark.parametrize(("current", "target"), LINES, ids=[f"{a}->{b}" for a, b in LINES])
def test_escalation_goes_up_only(current: Line, target: Line) -> None:
    assert can_escalate(current, target) is (int(target.value[1]) > int(current.value[1]))


# Through the API ------------------------------------------------------------------------------


async def _ticket_in(api, status: Status) -> str:
    """A ticket brought to `status` by the shortest legal path."""
    key = (await api.create())["id"]
    if status == S.NEW:
        return key
    if status == S.CLOSED:
        await api.move(key, "closed", close_reason="duplicate")
        return key
    await api.assign(key, "alice")
    if status == S.WAITING:
        await api.move(key, "waiting")
    elif status == S.RESOLVED:
        await api.move(key, "resolved")
    return key


REFUSED = [(a, b) for a, b in MATRIX if (a, b) not in EXPECTED]


@pytest.mark.parametrize(
    ("current", "target"), REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED]
)
async def test_api_refuses_with_409_listing_the_allowed_moves(
    api, snapshot, current: Status, target: Status
) -> None:
    key = await _ticket_in(api, current)
    before = snapshot()
    extra = {"close_reason": "duplicate"} if (current, target) == (S.NEW, S.CLOSED) else {}
    reply = await api.call(
        "POST", f"/api/v1/tickets/{key}/transition", json={"to": target.value, **extra}
    )
    assert reply.status == 409, reply
    assert reply.body["status"] == current.value
    assert reply.body["requested"] == target.value
    assert sorted(reply.body["allowed"]) == sorted(s.value for s in ALLOWED_FROM[current])
    assert snapshot() == before


async def test_api_closing_a_new_ticket_needs_a_reason(api, snapshot) -> None:
    key = (await api.create())["id"]
    before = snapshot()
    reply = await api.call("POST", f"/api/v1/tickets/{key}/transition", json={"to": "closed"})
    assert reply.status == 409
    assert reply.body == {
        "error": "closing a new ticket needs a reason out of: duplicate, false_alarm",
        "status": "new",
        "requested": "closed",
        "allowed": ["in_progress", "closed"],
    }
    assert snapshot() == before
    closed = await api.move(key, "closed", close_reason="false_alarm")
    assert (closed["status"], closed["close_reason"]) == ("closed", "false_alarm")
    assert closed["closed_at"] == api.clock.now().isoformat()


async def test_api_new_to_in_progress_without_assignee_is_refused(api) -> None:
    key = (await api.create())["id"]
    reply = await api.call(
        "POST", f"/api/v1/tickets/{key}/transition", json={"to": "in_progress"}
    )
    assert reply.status == 409
    assert reply.body["error"] == "a ticket goes in progress only when assigned to someone"


async def test_api_closed_is_final(api, snapshot) -> None:
    key = await _ticket_in(api, S.RESOLVED)
    await api.move(key, "closed")
    before = snapshot()
    for target in ("new", "in_progress", "waiting", "resolved", "closed"):
        reply = await api.call(
            "POST", f"/api/v1/tickets/{key}/transition", json={"to": target}
        )
        assert reply.status == 409
        assert reply.body["error"] == "a closed ticket is final"
        assert reply.body["allowed"] == []
    for path, body in [
        ("assign", {"assignee": "bob"}),
        ("escalate", {"to": "L2"}),
        ("priority", {"priority": "P1"}),
    ]:
        reply = await api.call("POST", f"/api/v1/tickets/{key}/{path}", json=body)
        assert reply.status == 409, (path, reply)
        assert reply.body["error"] == "a closed ticket is final"
    assert snapshot() == before


async def test_api_reopen_from_resolved(api) -> None:
    key = await _ticket_in(api, S.RESOLVED)
    resolved = await api.get(key)
    assert resolved["resolved_at"] is not None and resolved["close_deadline"] is not None
    api.clock.advance(3600)
    reopened = await api.move(key, "in_progress", reason="customer: still broken")
    assert reopened["status"] == "in_progress"
    assert reopened["resolved_at"] is None
    assert reopened["close_deadline"] is None
    last = (await api.get(key))["history"][-1]
    assert last["kind"] == "status_changed"
    assert last["data"] == {
        "from": "resolved",
        "to": "in_progress",
        "rule": "reopen",
        "reason": "customer: still broken",
    }
