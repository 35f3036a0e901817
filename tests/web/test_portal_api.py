"""The ticket API with a customer token: urgency mapped by the customer's SLA policy (no P1 by
hand), comments internal or to the customer, and a customer's view of a ticket without the
desk's internal history. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bridge.config.models import URGENCY_DEFAULTS
from bridge.customer_view import capped, customer_priority, highest_for_customer, shown
from bridge.lifecycle import Priority


@pytest.mark.parametrize(
    ("fields", "priority"),
    [
        ({"urgency": "critical"}, "P2"),
        ({"urgency": "high"}, "P2"),
        ({"urgency": "normal"}, "P3"),
        ({"urgency": "low"}, "P4"),
        ({}, "P3"),
        ({"priority": "P1"}, "P2"),  # asked by hand: capped at what the policy allows
        ({"priority": "P4"}, "P4"),
        ({"priority": "P1", "urgency": "low"}, "P4"),  # the urgency decides
    ],
)
async def test_a_customer_token_gets_its_urgency_mapped_and_never_p1_by_hand(api, fields, priority):
    created = await api.create(as_="acme-portal", title="Printer jam", **fields)
    assert (created["priority"], created["origin"]) == (priority, "customer")


async def test_an_engineer_still_sets_any_priority_or_maps_an_urgency(api):
    assert (await api.create(priority="P1"))["priority"] == "P1"
    assert (await api.create(urgency="high"))["priority"] == "P2"
    assert (await api.create())["priority"] == "P3"


async def test_a_policy_may_give_customers_p1(make_config, start_api):
    def edit(data):
        data["sla_policies"]["gold"]["urgency_map"] = {"critical": "P1"}

    api = await start_api(make_config(edit))
    assert (await api.create(as_="acme-portal", urgency="critical"))["priority"] == "P1"
    assert (await api.create(as_="acme-portal", urgency="high"))["priority"] == "P2"
    # brno-bank is on silver: its map is the default
    assert (await api.create(as_="brno-portal", urgency="critical"))["priority"] == "P2"


async def test_an_unknown_urgency_is_a_400_naming_the_choices(api, snapshot):
    before = snapshot()
    reply = await api.call(
        "POST", "/api/v1/tickets", as_="acme-portal", json={"title": "x", "urgency": "panic"}
    )
    assert reply.status == 400, reply
    assert reply.body["problems"][0]["path"] == "urgency"
    assert "'low', 'normal', 'high' or 'critical'" in reply.body["problems"][0]["message"]
    assert snapshot() == before


def test_the_urgency_arithmetic(cfg):
    gold = cfg.sla_policies["gold"]
    assert gold.urgency_map == URGENCY_DEFAULTS
    assert highest_for_customer(gold) == Priority.P2
    assert [capped(gold, p) for p in Priority] == [
        Priority.P2,
        Priority.P2,
        Priority.P3,
        Priority.P4,
    ]
    assert customer_priority(gold) == Priority.P3
    with pytest.raises(ValueError, match="urgency is one of low, normal, high, critical"):
        customer_priority(gold, urgency="asap")


async def test_comments_are_internal_unless_said_and_a_customers_are_always_theirs(api):
    key = (await api.create(as_="acme-portal"))["id"]
    await api.comment(key, "Looks like the BGP session")
    await api.ok(
        "POST",
        f"/api/v1/tickets/{key}/comments",
        json={"text": "We are on it", "visibility": "customer"},
    )
    await api.comment(key, "Thanks, waiting", as_="acme-portal")
    refused = await api.call(
        "POST",
        f"/api/v1/tickets/{key}/comments",
        as_="acme-portal",
        json={"text": "psst", "visibility": "internal"},
    )
    assert refused.status == 400, refused
    assert refused.body["problems"] == [
        {"path": "visibility", "message": "a customer's comment is always visible to the customer"}
    ]

    staff = [e for e in (await api.get(key))["history"] if e["kind"] == "commented"]
    assert [(e["actor"], e["data"]) for e in staff] == [
        ("alice", {"text": "Looks like the BGP session", "visibility": "internal"}),
        ("alice", {"text": "We are on it", "visibility": "customer"}),
        ("acme-portal", {"text": "Thanks, waiting", "visibility": "customer", "by_customer": True}),
    ]


async def test_a_customer_token_sees_no_internal_comment_or_desk_bookkeeping(api):
    key = (await api.create(as_="acme-portal", title="VPN slow"))["id"]
    await api.assign(key, "alice")
    await api.comment(key, "customer's firewall is a mess")  # internal
    await api.escalate(key, "L2", "needs a packet capture")
    await api.ok(
        "POST",
        f"/api/v1/tickets/{key}/comments",
        json={"text": "We are capturing traffic", "visibility": "customer"},
    )
    await api.move(key, "waiting", reason="Please send the tunnel log")
    await api.move(key, "in_progress")
    await api.move(key, "resolved", reason="internal: reset the SA, root cause unknown")

    theirs = (await api.get(key, as_="acme-portal"))["history"]
    assert [e["kind"] for e in theirs] == [
        "created",
        "status_changed",
        "commented",
        "status_changed",
        "status_changed",
        "status_changed",
    ]
    text = repr(theirs)
    for secret in ("firewall is a mess", "packet capture", "root cause", "L2", "assignee"):
        assert secret not in text
    assert theirs[2]["data"] == {"text": "We are capturing traffic", "visibility": "customer"}
    assert theirs[3]["data"]["reason"] == "Please send the tunnel log"  # the question to them
    assert "reason" not in theirs[5]["data"] and theirs[5]["data"]["to"] == "resolved"
    staff = (await api.get(key))["history"]
    assert len(staff) == 9 and "firewall is a mess" in repr(staff)


async def test_a_customer_comment_on_a_resolved_ticket_reopens_it_and_closed_is_final(api):
    key = (await api.create(as_="acme-portal"))["id"]
    await api.assign(key, "alice")
    await api.move(key, "resolved")
    reopened = await api.comment(key, "Still no link on port 3", as_="acme-portal")
    assert (reopened["status"], reopened["assignee"]) == ("in_progress", "alice")
    last = (await api.get(key))["history"][-2:]
    assert [(e["kind"], e["data"].get("reason"), e["data"].get("verification")) for e in last] == [
        ("status_changed", "reopened by the customer", None),
        ("commented", None, "reopened"),
    ]
    await api.move(key, "resolved")
    await api.move(key, "closed")
    reply = await api.call(
        "POST", f"/api/v1/tickets/{key}/comments", as_="acme-portal", json={"text": "and again"}
    )
    assert (reply.status, reply.body) == (
        409,
        {"error": "a closed ticket is final: open a new ticket"},
    )


def test_unknown_event_kinds_stay_hidden_from_customers():
    assert not shown({"kind": "sla_breach", "data": {}})
    assert not shown({"kind": "something_new", "data": {"text": "x"}})
    assert not shown({"kind": "commented", "data": {"text": "no visibility: old API comment"}})
    assert shown({"kind": "commented", "data": {"text": "x", "visibility": "customer"}})
