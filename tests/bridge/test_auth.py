"""Who may do what: 401 without a known token, 403 for the wrong role, and customers see only
their own tickets (another customer's ticket is a 404, same body as a missing one)."""

from __future__ import annotations

import pytest

from bridge.api.auth import Principal, TokenBook
from bridge.config import Role


def test_token_book_finds_each_persona(cfg) -> None:
    book = TokenBook(cfg)
    assert book.lookup("demo-engineer-token") == Principal("alice", Role.ENGINEER)
    assert book.lookup("demo-acme-token") == Principal("acme-portal", Role.CUSTOMER, "acme")
    assert book.lookup("demo-engineer-token ") is None
    assert book.lookup("") is None


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Bearer "}, "missing bearer token"),
        ({"Authorization": "Basic ZGVtbzpkZW1v"}, "missing bearer token"),
        ({"Authorization": "Bearer demo-nobody-token"}, "unknown token"),
        ({"Authorization": "Bearer demo-alertmanager-token"}, "unknown token"),  # webhook only
    ],
)
async def test_401_without_a_known_token(api, snapshot, headers, error) -> None:
    key = (await api.create())["id"]
    before = snapshot()
    for method, path, body in [
        ("GET", "/api/v1/tickets", None),
        ("GET", f"/api/v1/tickets/{key}", None),
        ("POST", "/api/v1/tickets", {"customer": "acme", "title": "x"}),
        ("POST", f"/api/v1/tickets/{key}/assign", {"assignee": "mallory"}),
    ]:
        reply = await api.call(method, path, as_=None, headers=headers, json=body)
        assert (reply.status, reply.body) == (401, {"error": error}), (method, path)
        assert reply.headers["WWW-Authenticate"] == "Bearer"
    assert snapshot() == before


WRITE_ONLY_STAFF = "role {role} may not do this (needs: admin, engineer)"


@pytest.mark.parametrize("persona", ["carol", "acme-portal"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("assign", {"assignee": "alice"}),
        ("transition", {"to": "closed", "close_reason": "duplicate"}),
        ("escalate", {"to": "L3"}),
        ("priority", {"priority": "P1"}),
    ],
)
async def test_403_for_ticket_commands_outside_staff(api, snapshot, persona, path, body) -> None:
    key = (await api.create())["id"]
    before = snapshot()
    reply = await api.call("POST", f"/api/v1/tickets/{key}/{path}", as_=persona, json=body)
    role = "account_manager" if persona == "carol" else "customer"
    assert (reply.status, reply.body) == (403, {"error": WRITE_ONLY_STAFF.format(role=role)})
    assert snapshot() == before


async def test_an_account_manager_does_not_comment_and_a_customer_only_on_its_own(
    api, snapshot
) -> None:
    """Customers comment on their own tickets (tests/web/test_portal.py); managers read."""
    acme = (await api.create())["id"]
    brno = (await api.create(customer="brno-bank"))["id"]
    before = snapshot()
    reply = await api.call("POST", f"/api/v1/tickets/{acme}/comments", as_="carol",
                           json={"text": "hello"})
    needs = "role account_manager may not do this (needs: admin, engineer, customer)"
    assert (reply.status, reply.body) == (403, {"error": needs})
    foreign = await api.call("POST", f"/api/v1/tickets/{brno}/comments", as_="acme-portal",
                             json={"text": "hello"})
    assert (foreign.status, foreign.body) == (404, {"error": "no such ticket"})
    assert snapshot() == before


async def test_an_account_manager_reads_but_does_not_create(api, snapshot) -> None:
    key = (await api.create(customer="brno-bank"))["id"]
    before = snapshot()
    reply = await api.call(
        "POST", "/api/v1/tickets", as_="carol", json={"customer": "acme", "title": "x"}
    )
    assert reply.status == 403
    assert reply.body == {
        "error": "role account_manager may not do this (needs: admin, engineer, customer)"
    }
    assert snapshot() == before
    assert (await api.get(key, as_="carol"))["customer"] == "brno-bank"
    assert len(await api.list(as_="carol")) == 1


async def test_a_customer_creates_only_for_itself(api, snapshot) -> None:
    before = snapshot()
    reply = await api.call(
        "POST", "/api/v1/tickets", as_="acme-portal", json={"customer": "brno-bank", "title": "x"}
    )
    assert (reply.status, reply.body) == (
        403,
        {"error": "a customer token creates tickets for its own customer only"},
    )
    assert snapshot() == before
    # Naming itself is fine; the origin is always "customer", whatever the body says.
    own = await api.create(as_="acme-portal", customer="acme", origin="phone")
    assert (own["customer"], own["origin"]) == ("acme", "customer")


async def test_another_customers_ticket_is_a_404_like_a_missing_one(api) -> None:
    brno = (await api.create(customer="brno-bank", title="core switch hot"))["id"]
    acme = (await api.create(customer="acme", title="edge down"))["id"]
    foreign = await api.call("GET", f"/api/v1/tickets/{brno}", as_="acme-portal")
    missing = await api.call("GET", "/api/v1/tickets/INC-999999", as_="acme-portal")
    assert (foreign.status, foreign.body) == (404, {"error": "no such ticket"})
    assert (missing.status, missing.body) == (foreign.status, foreign.body)
    assert (await api.get(acme, as_="acme-portal"))["title"] == "edge down"
    assert (await api.get(brno, as_="brno-portal"))["title"] == "core switch hot"


async def test_a_customer_lists_only_its_own_tickets(api) -> None:
    await api.create(customer="acme", title="a1")
    await api.create(customer="brno-bank", title="b1")
    await api.create(customer="ops", title="o1")
    await api.create(customer="acme", title="a2")
    assert [t["title"] for t in await api.list(as_="acme-portal")] == ["a1", "a2"]
    # Asking for another customer's tickets does not widen the view.
    assert [t["title"] for t in await api.list(as_="acme-portal", customer="brno-bank")] == [
        "a1",
        "a2",
    ]
    assert [t["title"] for t in await api.list(as_="brno-portal")] == ["b1"]
    assert len(await api.list(as_="admin")) == 4


async def test_health_needs_no_token(api) -> None:
    assert await api.ok("GET", "/healthz", as_=None) == {"status": "ok"}
    assert await api.ok("GET", "/readyz", as_=None) == {"status": "ready"}
