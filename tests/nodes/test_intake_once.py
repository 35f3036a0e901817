"""Alerts through several nodes: each alert is one ticket with one creation event however
many nodes it reaches, and a flood split across nodes opens one major incident."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import sqlalchemy as sa

from tests.nodes.alerts import REFUSED, body, send

pytestmark = [pytest.mark.postgres, pytest.mark.peers]

ALERTS = 1000
CONCURRENCY = 24


def _no_floods(data: dict) -> None:
    data["major_incidents"]["threshold"] = 100_000


async def test_alerts_sent_to_two_nodes_each_open_one_ticket(cluster, db):
    REFUSED.clear()
    c = cluster(3, edit=_no_floods)
    urls = [n.url for n in c.nodes]
    sem = asyncio.Semaphore(CONCURRENCY)
    replies: dict[int, list[dict]] = {}
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(n: int) -> None:
            data = body(f"{n:016x}", f"Check{n}")
            async with sem:  # the same notification to two nodes at the same moment
                replies[n] = await asyncio.gather(
                    send(session, urls[n % 3], data), send(session, urls[(n + 1) % 3], data)
                )

        await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(ALERTS))), 600)
    for n, pair in replies.items():
        assert sum(r["accepted"] for r in pair) == 1, (n, pair)
        assert sum(r["duplicate"] for r in pair) == 1, (n, pair)
    with db.connect() as conn:
        tickets = conn.execute(sa.text("SELECT count(*) FROM tickets")).scalar()
        identities = conn.execute(
            sa.text("SELECT count(DISTINCT dedup_identity) FROM tickets")
        ).scalar()
        created = conn.execute(
            sa.text(
                "SELECT ticket_id, count(*) FROM ticket_events WHERE kind = 'created' "
                "GROUP BY ticket_id"
            )
        ).all()
    assert tickets == identities == ALERTS
    assert len(created) == ALERTS
    assert {count for _id, count in created} == {1}
    # nodes that deadlock in the database run the transaction again: no sender saw a 503
    assert REFUSED == []


FLOOD = 30


async def test_a_flood_split_across_three_nodes_opens_one_major_incident(cluster, db):
    REFUSED.clear()
    c = cluster(3)  # the example: 5 alerts of one name within 10 minutes are a major incident
    urls = [n.url for n in c.nodes]
    bodies = [body(f"flood{n:04d}", "UplinkDown") for n in range(FLOOD)]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        replies = await asyncio.gather(
            *(send(session, urls[n % 3], data) for n, data in enumerate(bodies))
        )
    assert sum(r["accepted"] for r in replies) == FLOOD
    with db.connect() as conn:
        majors = conn.execute(sa.text("SELECT id, title FROM tickets WHERE kind = 'major'")).all()
        children = conn.execute(
            sa.text("SELECT parent_id, count(*) FROM tickets WHERE kind = 'incident' "
                    "GROUP BY parent_id")
        ).all()  # fmt: skip
        created = conn.execute(
            sa.text("SELECT count(*) FROM ticket_events WHERE kind = 'created'")
        ).scalar()
    assert len(majors) == 1, majors
    major_id, title = majors[0]
    assert "UplinkDown" in title
    assert children == [(major_id, FLOOD)], "every alert of the flood hangs under it"
    assert created == FLOOD + 1

    # the flood recovers, its recoveries split across the nodes at once: the major incident's
    # count (in its title) follows every one of them
    ended = [body(f"flood{n:04d}", "UplinkDown", status="resolved") for n in range(FLOOD)]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*(send(session, urls[n % 3], data) for n, data in enumerate(ended)))
    with db.connect() as conn:
        title = conn.execute(sa.text("SELECT title FROM tickets WHERE id = :id"),
                             {"id": major_id}).scalar_one()  # fmt: skip
    assert title.endswith("(0 alerts)"), title
    assert REFUSED == []
