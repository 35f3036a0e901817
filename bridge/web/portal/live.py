"""`/portal/events`: a nudge over Server-Sent Events when one of the customer's tickets changes.

It rides the desk's change feed (one tail of `ticket_events` per process) but says only
*which* ticket changed: never the kind, actor or text of the event, which may be internal. The
page then fetches itself again, and the server decides what the customer sees.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from bridge.web.desk import FEED
from bridge.web.live import HEARTBEAT
from bridge.web.portal.access import customer_session


def nudge(ticket_key: str) -> bytes:
    return f"event: ticket\ndata: {json.dumps({'id': ticket_key})}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    found = await customer_session(request)
    customer = found.user.customer
    feed = request.app[FEED]
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
            if message is None:  # the service is stopping
                break
            if message["customer"] == customer:
                await resp.write(nudge(message["id"]))
    except ConnectionResetError:
        pass
    finally:
        feed.unsubscribe(queue)
    return resp
