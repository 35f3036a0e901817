"""Live desk updates: ticket changes pushed to every open desk over Server-Sent Events.

One task per process tails `ticket_events` (the append-only log every change goes through,
whoever wrote it: webhooks, probes, API, desk, another node sharing PostgreSQL) and fans each
new event out to the connected desks. Tailing the log needs no hook in the writers and sees
other nodes' changes too; it costs one indexed query per POLL while anyone is connected.
Events of one node arrive in id order (one writer); across nodes an id committed late is
picked up by re-reading a short window behind the newest id seen.

On PostgreSQL the reader does not poll every POLL: it waits for a NOTIFY (bridge.nodes.events,
sent by a trigger on every insert into ticket_events by any node) and reads then, so a change
made through another node shows at once; it still reads every FALLBACK in case a notification
was lost, and polls every POLL while the listening connection is down. SQLite: POLL as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from bridge.nodes import events as node_events
from bridge.service import Services
from bridge.store.schema import ticket_events, tickets

log = logging.getLogger(__name__)

POLL = 0.25
#: PostgreSQL, while LISTEN works: read at least this often anyway
FALLBACK = 2.0
HEARTBEAT = 15.0
LOOKBACK = 200
QUEUE_LIMIT = 1000


class ChangeFeed:
    def __init__(self, services: Services) -> None:
        self._svc = services
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._last: int | None = None
        self._seen: deque[int] = deque(maxlen=4 * LOOKBACK)
        self._seen_set: set[int] = set()
        self._wake = asyncio.Event()
        address = node_events.conninfo(services.engines.read)
        self._listener = node_events.Listener(address, self._wake) if address else None

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="desk-change-feed")
        return queue

    async def start_point(self) -> None:
        """Take the newest event id now, so whatever happens after `hello` is sent."""
        if self._last is None:
            await self._svc.read(self._read)

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._subscribers.discard(queue)

    @property
    def listeners(self) -> int:
        return len(self._subscribers)

    async def stop(self) -> None:
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _read(self, conn: sa.Connection) -> list[dict[str, Any]]:
        if self._last is None:
            self._last = conn.execute(sa.select(sa.func.max(ticket_events.c.id))).scalar() or 0
            return []
        rows = (
            conn.execute(
                sa.select(
                    ticket_events.c.id,
                    ticket_events.c.ticket_id,
                    ticket_events.c.kind,
                    ticket_events.c.actor,
                    ticket_events.c.at,
                    tickets.c.status,
                    tickets.c.assignee,
                    tickets.c.customer_id,
                )
                .join(tickets, tickets.c.id == ticket_events.c.ticket_id)
                .where(ticket_events.c.id > self._last - LOOKBACK)
                .order_by(ticket_events.c.id)
            )
            .mappings()
            .all()
        )
        fresh = [dict(r) for r in rows if r["id"] not in self._seen_set]
        for r in fresh:
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(r["id"])
            self._seen_set.add(r["id"])
            self._last = max(self._last, r["id"])
        return fresh

    async def _run(self) -> None:
        listening = None
        if self._listener is not None:
            listening = asyncio.create_task(self._listener.run(), name="desk-change-listen")
        try:
            await self._follow()
        finally:
            if listening is not None:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listening

    async def _pause(self) -> None:
        """Until the next read: a notification (or FALLBACK) when listening, else POLL."""
        if self._listener is None or not self._listener.listening:
            await asyncio.sleep(POLL)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), FALLBACK)

    async def _follow(self) -> None:
        keys = self._svc.keys
        while self._subscribers:
            self._wake.clear()  # what is notified from here on is read by the next round
            try:
                fresh = await self._svc.read(self._read)
            except Exception:  # noqa: BLE001 - a store hiccup must not end live updates
                log.warning("desk change feed: store read failed; retrying", exc_info=True)
                fresh = []
            for r in fresh:
                data = {
                    "id": keys.format(r["ticket_id"]),
                    "kind": r["kind"],
                    "actor": r["actor"],
                    "at": r["at"].isoformat(),
                    "status": r["status"],
                    "assignee": r["assignee"],
                    "customer": r["customer_id"],
                }
                message = {**data, "_sse": f"event: ticket\ndata: {json.dumps(data)}\n\n".encode()}
                for queue in list(self._subscribers):
                    try:
                        queue.put_nowait(message)
                    except asyncio.QueueFull:  # a stalled desk: drop it, it reconnects
                        self._subscribers.discard(queue)
                        with contextlib.suppress(asyncio.QueueEmpty):
                            queue.get_nowait()
                        queue.put_nowait(None)
            await self._pause()


async def stream(
    request: web.Request, feed: ChangeFeed, visible: Any = None, encode: Any = None
) -> web.StreamResponse:
    """`text/event-stream` of ticket changes; `visible(message)` filters what this user sees,
    `encode(message)` says it differently (default: the desk's message, encoded once)."""
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await resp.prepare(request)
    queue = feed.subscribe()
    try:
        await feed.start_point()
        await resp.write(b"retry: 2000\nevent: hello\ndata: {}\n\n")
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                await resp.write(b": keep-alive\n\n")
                continue
            if message is None:
                break
            if visible is not None and not visible(message):
                continue
            await resp.write(message["_sse"] if encode is None else encode(message))
    except ConnectionResetError:
        pass
    finally:
        feed.unsubscribe(queue)
    return resp
