"""A desk connected to one node sees, live, a ticket change made through another node."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import aiohttp
import pytest
import sqlalchemy as sa

from bridge.accounts import users
from bridge.config import load_config
from tests.nodes.cluster import ENGINEER
from tests.web.streams import next_ticket_event

pytestmark = [pytest.mark.postgres, pytest.mark.peers]

PASSWORD = "correct horse battery"
LISTENERS = sa.text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND query = 'LISTEN slabridge_ticket_events'"
)


def _listening(db: sa.Engine) -> int:
    with db.connect() as conn:
        return conn.execute(LISTENERS).scalar_one()


async def test_a_desk_on_one_node_sees_a_change_made_through_another(cluster, db):
    c = cluster(2)
    with db.begin() as conn:
        users.add(conn, load_config(c.config_path), name="bob", role="engineer",
                  password=PASSWORD, now=datetime.now(UTC), line="L1")  # fmt: skip
    desk, other = c.nodes[0].url, c.nodes[1].url
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as person, aiohttp.ClientSession() as api:
        form = {"username": "bob", "password": PASSWORD}
        async with person.post(desk + "/login", data=form, allow_redirects=False) as r:
            assert r.status == 303, await r.text()
        async with person.get(desk + "/desk/events") as stream:
            assert stream.status == 200
            assert (await stream.content.readline()).startswith(b"retry:")
            assert await stream.content.readline() == b"event: hello\n"
            # node 1 listens for other nodes' changes (its listening connection comes up
            # alongside the stream; changes before that are read by polling)
            deadline = time.monotonic() + 15
            while _listening(db) != 1:
                assert time.monotonic() < deadline, "node 1 never listened"
                await asyncio.sleep(0.1)
            body = {"customer": "acme", "title": "Made through node 2", "origin": "phone"}
            async with api.post(other + "/api/v1/tickets", json=body, headers=ENGINEER) as r:
                assert r.status == 201, await r.text()
                created = await r.json()
            message = await next_ticket_event(stream, wait=20)
            assert (message["id"], message["kind"], message["actor"]) == (
                created["id"], "created", "alice")  # fmt: skip
            key = created["id"]
            assign = {"assignee": "alice"}
            async with api.post(f"{other}/api/v1/tickets/{key}/assign", json=assign,
                                headers=ENGINEER) as r:  # fmt: skip
                assert r.status == 200, await r.text()
            kinds = [(await next_ticket_event(stream, wait=20))["kind"] for _ in range(2)]
            assert kinds == ["assigned", "status_changed"]
