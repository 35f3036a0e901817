"""An event the log must not hold is refused when written, with an error naming its kind and
field, and nothing of its transaction is stored: not the event, not the projection's change.

Every test runs on SQLite and on PostgreSQL (the `engines` fixture)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bridge import tickets as tk
from bridge.lifecycle import Origin, Priority
from tests.conftest import START, take_snapshot

AT = START + timedelta(minutes=1)


def _ticket(engines, cfg) -> dict[str, Any]:
    with engines.write.connect() as conn, conn.begin():
        return tk.create(
            conn,
            cfg,
            customer_id="acme",
            title="edge router down",
            origin=Origin.PHONE,
            priority=Priority.P3,
            device_id="acme-edge",
            at=START,
            actor="alice",
            now=START,
        )


def _record(engines, row: dict, kind: str, data: dict) -> dict:
    with engines.write.connect() as conn, conn.begin():
        return tk.record(conn, dict(row), kind, AT, "alice", data, now=AT)


@pytest.mark.parametrize(
    ("kind", "data", "named"),
    [
        ("status_changd", {"from": "new", "to": "waiting"}, "unknown event kind 'status_changd'"),
        ("status_changed", {"from": "new", "to": "watinig"}, "field 'to': unknown status"),
        ("status_changed", {"to": "waiting"}, "field 'from': unknown status None"),
        ("assigned", {"assignee": "", "from": None}, "field 'assignee'"),
        ("assigned", {"assignee": "  ", "from": None}, "field 'assignee'"),
        ("priority_changed", {"from": "P3", "to": "P0"}, "field 'to': unknown priority"),
        ("escalated", {"from": "L1", "to": "L9"}, "field 'to': unknown line"),
    ],
    ids=["kind", "status", "no-from", "empty-assignee", "blank-assignee", "priority", "line"],
)
def test_record_refuses_an_invalid_event_and_stores_nothing(
    engines, cfg, kind: str, data: dict, named: str
) -> None:
    row = _ticket(engines, cfg)
    before = take_snapshot(engines)
    with pytest.raises(tk.EventInvalid, match=named) as err:
        _record(engines, row, kind, data)
    # a refused command to the pages and the API alike, and a ValueError naming kind and field
    assert isinstance(err.value, tk.Invalid) and isinstance(err.value, ValueError)
    assert err.value.kind == kind
    assert take_snapshot(engines) == before
    # the ticket still takes a valid event afterwards
    moved = _record(engines, row, "status_changed", {"from": "new", "to": "closed"})
    assert moved["status"] == "closed"


def test_a_blank_assignee_through_the_command_is_refused(engines, cfg) -> None:
    row = _ticket(engines, cfg)
    before = take_snapshot(engines)
    with engines.write.connect() as conn, conn.begin(), pytest.raises(tk.EventInvalid):
        tk.assign(conn, dict(row), " ", at=AT, actor="alice", now=AT)
    assert take_snapshot(engines) == before


def test_a_batch_with_one_bad_event_stores_none_of_it(engines, cfg) -> None:
    """The intake holds a group's events back and writes them at once: one bad event (here a
    hand-built link, as the intake builds them) refuses the whole batch and its transaction
    rolls back the projection changes that came with the good ones."""
    row = _ticket(engines, cfg)
    before = take_snapshot(engines)
    with pytest.raises(tk.EventInvalid, match="event 'linked', field 'parent_id'"):
        with engines.write.connect() as conn, conn.begin():
            batch: list[dict[str, Any]] = []
            moved = tk.record(
                conn,
                dict(row),
                "priority_changed",
                AT,
                "alice",
                {"from": "P3", "to": "P1"},
                now=AT,
                events=batch,
            )
            batch.append(
                {
                    "ticket_id": row["id"],
                    "seq": moved["version"] + 1,
                    "at": AT,
                    "recorded_at": AT,
                    "kind": "linked",
                    "actor": "major-incident",
                    "data": {"parent_id": "INC-000007"},
                }
            )
            tk.insert_events(conn, batch)
    assert take_snapshot(engines) == before


async def test_the_api_answers_an_invalid_event_with_a_400_naming_the_field(api) -> None:
    created = await api.create(title="Edge router unreachable", device="acme-edge")
    key = created["id"]
    reply = await api.call(
        "POST", f"/api/v1/tickets/{key}/assign", json={"assignee": "   "}, as_="alice"
    )
    assert reply.status == 400, reply
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.body["error"] == "invalid request"
    [problem] = reply.body["problems"]
    assert problem["path"] == "assignee"
    assert "event 'assigned', field 'assignee'" in problem["message"]
    ticket = await api.get(key)
    assert (ticket["status"], ticket["assignee"]) == ("new", None)
    assert [e["kind"] for e in ticket["history"]] == ["created"]
    # and the ticket is fine for a real assignment afterwards
    assigned = await api.assign(key, "bob")
    assert (assigned["status"], assigned["assignee"]) == ("in_progress", "bob")
