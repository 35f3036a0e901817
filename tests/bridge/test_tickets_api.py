"""The ticket REST API: an engineer's working day, the queue, escalation, and bad input.

Every test runs on SQLite and on PostgreSQL (the `store_url` fixture)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import START


async def test_the_readme_flow_is_recorded_step_by_step(api) -> None:
    """create, assign, pause, resume, resolve, comment: each an event, in order, with actor."""
    created = await api.create(
        title="Database server not answering",
        device="acme-db",
        priority="P2",
        summary="ping fails since 08:55",
        as_="acme-portal",
    )
    key = created["id"]
    assert created["id"] == "INC-000001"
    assert created["customer"] == "acme"
    assert created["contract"] == "PL-2026-0042"
    assert created["device_ip"] == "127.0.10.2"
    assert created["origin"] == "customer"
    assert created["status"] == "new"
    assert created["line"] == "L1"
    assert created["entered_at"] == START.isoformat()

    api.clock.advance(600)
    assigned = await api.assign(key, "alice", as_="alice")
    assert (assigned["status"], assigned["assignee"]) == ("in_progress", "alice")
    assert assigned["assigned_at"] == (START + timedelta(seconds=600)).isoformat()

    api.clock.advance(600)
    paused = await api.move(key, "waiting", reason="asked the customer for the DB log")
    assert paused["status"] == "waiting"
    api.clock.advance(3600)
    resumed = await api.move(key, "in_progress", as_="bob")
    assert resumed["status"] == "in_progress"
    api.clock.advance(900)
    resolved = await api.move(key, "resolved")
    assert resolved["status"] == "resolved"
    resolved_at = START + timedelta(seconds=600 + 600 + 3600 + 900)
    assert resolved["resolved_at"] == resolved_at.isoformat()
    # acme's verification window is 24 h
    assert resolved["close_deadline"] == (resolved_at + timedelta(hours=24)).isoformat()
    api.clock.advance(60)
    commented = await api.comment(key, "disk full; cleaned /var/log", as_="admin")
    assert commented["status"] == "resolved"

    ticket = await api.get(key)
    history = ticket["history"]
    assert [e["seq"] for e in history] == list(range(1, len(history) + 1))
    steps = [(e["kind"], e["actor"], e["data"].get("to")) for e in history]
    assert steps == [
        ("created", "acme-portal", None),
        ("assigned", "alice", None),
        ("status_changed", "alice", "in_progress"),
        ("status_changed", "alice", "waiting"),
        ("status_changed", "bob", "in_progress"),
        ("status_changed", "alice", "resolved"),
        ("commented", "admin", None),
    ]
    rules = [e["data"].get("rule") for e in history if e["kind"] == "status_changed"]
    assert rules == ["accept", "pause", "resume", "resolve"]
    assert history[1]["data"] == {"assignee": "alice", "from": None}
    assert history[3]["data"]["reason"] == "asked the customer for the DB log"
    # an engineer's comment through the API is internal unless it says otherwise
    assert history[6]["data"] == {"text": "disk full; cleaned /var/log", "visibility": "internal"}
    times = [e["at"] for e in history]
    assert times == sorted(times)
    assert times[-1] == (resolved_at + timedelta(seconds=60)).isoformat()
    assert ticket["alerts"] == []
    # The projection agrees with the last state of the history.
    assert {k: ticket[k] for k in ("status", "assignee", "resolved_at")} == {
        "status": "resolved",
        "assignee": "alice",
        "resolved_at": resolved_at.isoformat(),
    }


async def test_reassigning_records_the_previous_assignee(api) -> None:
    key = (await api.create())["id"]
    await api.assign(key, "alice")
    again = await api.assign(key, "alice")  # same person: nothing to record
    assert again["status"] == "in_progress"
    await api.assign(key, "bob")
    history = (await api.get(key))["history"]
    assert [e["kind"] for e in history] == ["created", "assigned", "status_changed", "assigned"]
    assert history[-1]["data"] == {"assignee": "bob", "from": "alice"}


async def _queue(api) -> dict[str, str]:
    """Tickets with different priorities and ages; returns title → key."""
    keys = {}
    for title, prio in [
        ("p3-oldest", "P3"),
        ("p1-older", "P1"),
        ("p4", "P4"),
        ("p2", "P2"),
        ("p1-newer", "P1"),
        ("p3-newer", "P3"),
    ]:
        keys[title] = (await api.create(title=title, priority=prio))["id"]
        api.clock.advance(60)
    return keys


async def test_queue_order_is_priority_then_oldest(api) -> None:
    await _queue(api)
    titles = [t["title"] for t in await api.list()]
    assert titles == ["p1-older", "p1-newer", "p2", "p3-oldest", "p3-newer", "p4"]


async def test_queue_pages_with_limit_and_offset(api) -> None:
    await _queue(api)
    page = [t["title"] for t in await api.list(limit="2", offset="1")]
    assert page == ["p1-newer", "p2"]
    reply = await api.call("GET", "/api/v1/tickets", params={"limit": "0"})
    assert (reply.status, reply.body["error"]) == (400, "limit must be at least 1")
    reply = await api.call("GET", "/api/v1/tickets", params={"limit": "many"})
    assert (reply.status, reply.body["error"]) == (400, "limit and offset must be whole numbers")


async def test_queue_order_puts_an_older_lower_priority_after_a_newer_higher(api) -> None:
    old = (await api.create(title="old P3", priority="P3"))["id"]
    api.clock.advance(timedelta(days=3))
    await api.create(title="new P2", priority="P2")
    await api.priority(old, "P1", "customer's whole site is down")
    assert [t["title"] for t in await api.list()] == ["old P3", "new P2"]


async def _varied(api) -> None:
    """One ticket per distinguishing attribute, so each filter picks a known subset."""
    a = await api.create(title="a", device="acme-edge", priority="P1", origin="phone")
    await api.assign(a["id"], "alice")
    b = await api.create(title="b", device="acme-db", priority="P2", origin="email")
    await api.assign(b["id"], "bob")
    await api.escalate(b["id"], "L2", "needs a DBA")
    c = await api.create(title="c", customer="brno-bank", device="brno-core", priority="P3")
    await api.assign(c["id"], "alice")
    await api.move(c["id"], "resolved")
    await api.create(title="d", customer="ops", priority="P4")


@pytest.mark.parametrize(
    ("param", "value", "titles"),
    [
        ("customer", "acme", ["a", "b"]),
        ("customer", "brno-bank", ["c"]),
        ("customer", "nobody", []),
        ("status", "in_progress", ["a", "b"]),
        ("status", "resolved", ["c"]),
        ("status", "new", ["d"]),
        ("priority", "P2", ["b"]),
        ("device", "acme-db", ["b"]),
        ("device", "brno-core", ["c"]),
        ("origin", "phone", ["a"]),
        ("origin", "email", ["b"]),
        ("origin", "customer", ["c", "d"]),
        ("line", "L2", ["b"]),
        ("line", "L1", ["a", "c", "d"]),
        ("assignee", "alice", ["a", "c"]),
        ("assignee", "bob", ["b"]),
        ("kind", "incident", ["a", "b", "c", "d"]),
    ],
)
async def test_every_list_filter(api, param: str, value: str, titles: list[str]) -> None:
    await _varied(api)
    assert [t["title"] for t in await api.list(**{param: value})] == titles


async def test_filters_combine(api) -> None:
    await _varied(api)
    got = await api.list(customer="acme", assignee="alice", status="in_progress")
    assert [t["title"] for t in got] == ["a"]


async def test_an_unknown_filter_is_refused(api) -> None:
    reply = await api.call("GET", "/api/v1/tickets", params={"colour": "red"})
    assert reply.status == 400
    assert reply.body["error"].startswith("unknown query parameter colour (known: customer,")


async def test_escalation_goes_up_and_is_recorded(api, snapshot) -> None:
    key = (await api.create())["id"]
    await api.assign(key, "alice")
    api.clock.advance(120)
    up = await api.escalate(key, "L2", "needs log analysis")
    assert up["line"] == "L2"
    assert up["assignee"] == "alice"  # L1 keeps the conversation
    before = snapshot()
    for down in ("L1", "L2"):
        reply = await api.call(
            "POST", f"/api/v1/tickets/{key}/escalate", json={"to": down, "reason": "oops"}
        )
        assert reply.status == 409
        assert reply.body == {"error": "escalation goes up only: the ticket is at L2"}
    assert snapshot() == before
    top = await api.escalate(key, "L3", "a bug in the product")
    assert top["line"] == "L3"
    events = [e for e in (await api.get(key))["history"] if e["kind"] == "escalated"]
    assert [e["data"] for e in events] == [
        {"from": "L1", "to": "L2", "reason": "needs log analysis"},
        {"from": "L2", "to": "L3", "reason": "a bug in the product"},
    ]
    assert events[0]["at"] == (START + timedelta(seconds=120)).isoformat()


async def test_priority_change_is_recorded(api) -> None:
    key = (await api.create(priority="P3"))["id"]
    api.clock.advance(30)
    changed = await api.priority(key, "P1", "the whole warehouse is offline", as_="bob")
    assert changed["priority"] == "P1"
    same = await api.priority(key, "P1", "again")  # no change, no event
    assert same["priority"] == "P1"
    history = (await api.get(key))["history"]
    assert [e["kind"] for e in history] == ["created", "priority_changed"]
    assert history[1]["actor"] == "bob"
    assert history[1]["data"] == {
        "from": "P3",
        "to": "P1",
        "reason": "the whole warehouse is offline",
    }


async def test_create_refuses_an_unknown_customer_or_a_foreign_device(api, snapshot) -> None:
    before = snapshot()
    reply = await api.call("POST", "/api/v1/tickets", json={"customer": "globex", "title": "x"})
    assert reply.status == 400
    assert reply.body["problems"] == [{"path": "", "message": "unknown customer 'globex'"}]
    reply = await api.call(
        "POST",
        "/api/v1/tickets",
        json={"customer": "acme", "title": "x", "device": "brno-core"},
    )
    assert reply.status == 400
    assert reply.body["problems"] == [
        {"path": "", "message": "unknown device 'brno-core' for customer 'acme'"}
    ]
    reply = await api.call("POST", "/api/v1/tickets", json={"title": "x"})
    assert reply.status == 400
    assert reply.body["problems"] == [{"path": "customer", "message": "field required"}]
    reply = await api.call(
        "POST",
        "/api/v1/tickets",
        json={"customer": "acme", "title": "x", "origin": "monitoring"},
    )
    assert reply.status == 400
    assert reply.body["problems"] == [
        {"path": "origin", "message": "monitoring and probe tickets come from alerts"}
    ]
    assert snapshot() == before


# Bad input: the answer names the problem and the store is untouched ---------------------------


async def _bad_inputs(api, key: str):
    path = f"/api/v1/tickets/{key}/comments"

    def raw(body: bytes, content_type: str = "application/json", to: str = path):
        return api.call("POST", to, data=body, headers={"Content-Type": content_type})

    yield (
        await raw(b'{"text" "hi"}'),
        400,
        {"error": "malformed JSON: Expecting ':' delimiter at line 1 column 9"},
    )
    yield (
        await raw(b"text=hi", "text/plain"),
        415,
        {"error": "content type must be application/json, not text/plain"},
    )
    yield (
        await api.call("POST", path, json={"text": "hi", "colour": "red"}),
        400,
        {"error": "invalid request", "problems": [{"path": "colour", "message": "unknown field"}]},
    )
    yield (
        await api.call("POST", path, json={"text": ""}),
        400,
        {
            "error": "invalid request",
            "problems": [{"path": "text", "message": "String should have at least 1 character"}],
        },
    )
    yield (
        await api.call("POST", f"/api/v1/tickets/{key}/transition", json={"to": "done"}),
        400,
        {
            "error": "invalid request",
            "problems": [
                {
                    "path": "to",
                    "message": "Input should be 'new', 'in_progress', 'waiting', 'resolved' "
                    "or 'closed'",
                }
            ],
        },
    )
    yield (
        await raw(b'{"text": "' + b"x" * 70000 + b'"}'),
        413,
        {"error": "body is larger than the limit of 65536 bytes"},
    )
    yield (
        await raw(
            b'{"title": "' + b"x" * (api.cfg.service.body_limit + 10) + b'"}', to="/api/v1/tickets"
        ),
        413,
        {"error": "body is larger than the limit of 65536 bytes"},
    )
    yield (
        await raw(b'{"text": "\xff"}'),
        400,
        {"error": "body is not UTF-8"},
    )
    yield (
        await api.call("POST", path, json=["text"]),
        400,
        {
            "error": "invalid request",
            "problems": [
                {"path": "", "message": "Input should be a valid dictionary or instance of Comment"}
            ],
        },
    )
    for missing in ("INC-999999", "INC-abc", "XYZ-000001", "1"):
        yield (
            await api.call("POST", f"/api/v1/tickets/{missing}/comments", json={"text": "hi"}),
            404,
            {"error": "no such ticket"},
        )
        reply = await api.call("GET", f"/api/v1/tickets/{missing}")
        yield (reply, 404, {"error": "no such ticket"})


async def test_bad_input_is_named_and_changes_nothing(api, snapshot) -> None:
    key = (await api.create())["id"]
    before = snapshot()
    n = 0
    async for reply, status, body in _bad_inputs(api, key):
        assert (reply.status, reply.body) == (status, body)
        n += 1
    assert n == 17
    assert snapshot() == before


async def test_an_unknown_route_answers_json(api) -> None:
    reply = await api.call("GET", "/api/v1/nothing-here")
    assert (reply.status, reply.body) == (404, {"error": "Not Found"})
    reply = await api.call("DELETE", "/api/v1/tickets")
    assert (reply.status, reply.body) == (405, {"error": "Method Not Allowed"})
