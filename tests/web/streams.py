"""Reading the desk's and the portal's server-sent event streams in page tests."""

from __future__ import annotations

import asyncio
import json


async def next_ticket_event(resp) -> dict:
    """The data of the next ``ticket`` event on an open stream (other events are skipped);
    waits at most 10 s for each line, so a missing event fails instead of hanging."""
    event = ""
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), 10)).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "ticket":
            return json.loads(line[6:])
