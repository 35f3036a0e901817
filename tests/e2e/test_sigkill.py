"""SIGKILL under load loses no acknowledged alert and makes no duplicate ticket.

A sender posts many distinct alerts concurrently to a real `slabridge serve` (SQLite data dir),
the server is killed with SIGKILL mid-stream, restarted on the same data dir, and the sender
retries everything that did not get a 2xx and resends a sample of what did. Then every
acknowledged alert is in the store, and each identity has exactly one open ticket.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator

import aiohttp
import pytest

from tests.e2e import AM_TOKEN, ENGINEER, SlabridgeServer, example_config

pytestmark = pytest.mark.peers

N = 300
KILL_AFTER = 100
CONCURRENCY = 32


def body(n: int) -> bytes:
    fp = f"{n:016x}"
    alert = {
        "status": "firing",
        "labels": {"alertname": f"Check{n}", "customer": "acme", "severity": "warning"},
        "annotations": {"summary": f"check {n} failing"},
        "startsAt": "2026-10-05T07:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": fp,
    }
    payload = {
        "receiver": "slabridge", "status": "firing", "alerts": [alert], "groupLabels": {},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "version": "4", "groupKey": f'{{}}:{{alertname="Check{n}"}}', "truncatedAlerts": 0,
    }  # fmt: skip
    return json.dumps(payload).encode()


HEADERS = {"Authorization": f"Bearer {AM_TOKEN}", "Content-Type": "application/json"}


@pytest.fixture
def server() -> Iterator[SlabridgeServer]:
    def edit(d: dict) -> None:
        d["major_incidents"]["threshold"] = 100_000  # one ticket per alert, no flood grouping

    s = SlabridgeServer(example_config(edit))
    s.start()
    try:
        yield s
    finally:
        s.cleanup()


async def send(session: aiohttp.ClientSession, url: str, n: int) -> dict | None:
    """The reply body on 2xx, None for anything else (error status, connection lost)."""
    try:
        async with session.post(url, data=body(n), headers=HEADERS) as r:
            if 200 <= r.status < 300:
                return await r.json()
            return None
    except (TimeoutError, aiohttp.ClientError, ConnectionError):
        return None


async def test_sigkill_loses_no_acknowledged_alert(server):
    url = server.url + "/api/v1/alerts/prometheus"
    acked: dict[int, dict] = {}
    killed = asyncio.Event()
    sem = asyncio.Semaphore(CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=10)

    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(n: int) -> None:
            async with sem:
                if killed.is_set():
                    return
                reply = await send(session, url, n)
                if reply is not None:
                    acked[n] = reply
                    if len(acked) >= KILL_AFTER and not killed.is_set():
                        killed.set()
                        await asyncio.to_thread(server.kill)

        await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(N))), 60)
    assert killed.is_set()
    assert KILL_AFTER <= len(acked) < N, len(acked)
    first_round = dict(acked)
    assert all(r["accepted"] == 1 for r in first_round.values())

    server.start()  # same port, same data dir
    retry = [n for n in range(N) if n not in first_round]
    resend = sorted(first_round)[::5]
    async with aiohttp.ClientSession(timeout=timeout) as session:
        replies = await asyncio.wait_for(
            asyncio.gather(*(send(session, url, n) for n in retry + resend)), 60
        )
        by_n = dict(zip(retry + resend, replies, strict=True))
        assert all(r is not None for r in replies), "every retry is acknowledged after restart"
        # a resend of an acknowledged alert changes nothing
        for n in resend:
            assert by_n[n] == {**by_n[n], "accepted": 0, "duplicate": 1}, (n, by_n[n])
        # a retried alert either was never committed (accepted) or was committed with its
        # acknowledgement lost in the kill (duplicate); never both, never neither
        for n in retry:
            assert by_n[n]["accepted"] + by_n[n]["duplicate"] == 1, (n, by_n[n])
        async with session.get(
            server.url + "/api/v1/tickets", params={"limit": "1000"}, headers=ENGINEER
        ) as r:
            listed = (await r.json())["tickets"]
    assert len(listed) == N

    server.stop()
    con = sqlite3.connect(server.db_path)
    try:
        keys = {row[0] for row in con.execute("SELECT identity FROM alert_keys")}
        assert {f"{n:016x}" for n in first_round} <= keys  # nothing acknowledged was lost
        assert keys == {f"{n:016x}" for n in range(N)}
        dupes = con.execute(
            "SELECT dedup_identity, count(*) FROM tickets WHERE closed_at IS NULL "
            "GROUP BY dedup_identity HAVING count(*) > 1"
        ).fetchall()
        assert dupes == []
        (tickets_n,) = con.execute("SELECT count(*) FROM tickets").fetchone()
        (created,) = con.execute(
            "SELECT count(*) FROM ticket_events WHERE kind = 'created'"
        ).fetchone()
        (events,) = con.execute("SELECT count(*) FROM ticket_events").fetchone()
        assert tickets_n == created == events == N
        (orphans,) = con.execute(
            "SELECT count(*) FROM alert_keys WHERE ticket_id IS NULL"
        ).fetchone()
        assert orphans == 0
    finally:
        con.close()
