"""`/portal/events`: a nudge over Server-Sent Events when one of the customer's tickets changes.

It rides the desk's change feed (one tail of `ticket_events` per process) but says only
*which* ticket changed: never the kind, actor or text of the event, which may be internal. The
page then fetches itself again, and the server decides what the customer sees.
"""

from __future__ import annotations

import json

from aiohttp import web

from bridge.web.desk import FEED
from bridge.web.live import stream
from bridge.web.portal.access import customer_session


def nudge(ticket_key: str) -> bytes:
    return f"event: ticket\ndata: {json.dumps({'id': ticket_key})}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    found = await customer_session(request)
    customer = found.user.customer
    return await stream(
        request,
        request.app[FEED],
        visible=lambda message: message["customer"] == customer,
        encode=lambda message: nudge(message["id"]),
    )
