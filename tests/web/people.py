"""People for page tests: accounts written straight into the store, and signing in through the
real /login form with an aiohttp test client (which keeps cookies)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp.test_utils import TestClient

from bridge.accounts import users
from bridge.config import Config
from bridge.store import Engines

PASSWORD = "correct horse battery"

#: name → (role, customer, line); the names match the demo tokens' personas (tests.conftest)
PEOPLE = {
    "admin": ("admin", None, "L1"),
    "alice": ("engineer", None, "L1"),
    "bob": ("engineer", None, "L1"),
    "dave": ("engineer", None, "L2"),
    "carol": ("account_manager", None, None),
    "acme-user": ("customer", "acme", None),
}


def add_people(engines: Engines, cfg: Config, *names: str) -> None:
    now = datetime.now(UTC)
    with engines.write.begin() as conn:
        for name in names or tuple(PEOPLE):
            role, customer, line = PEOPLE[name]
            users.add(conn, cfg, name=name, role=role, password=PASSWORD, now=now,
                      customer=customer, line=line)


async def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the form and return the session's CSRF token."""
    async with client.post("/login", data={"username": name, "password": password},
                           allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    async with client.get("/session") as resp:
        assert resp.status == 200
        return (await resp.json())["csrf"]


def add_customer_user(engines: Engines, cfg: Config, name: str, customer: str) -> None:
    """A customer's account beyond PEOPLE (another customer's user, or one of a customer the
    config no longer has)."""
    with engines.write.begin() as conn:
        users.add(
            conn,
            cfg,
            name=name,
            role="customer",
            password=PASSWORD,
            now=datetime.now(UTC),
            customer=customer,
        )
