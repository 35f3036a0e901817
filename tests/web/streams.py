"""Reading the desk's and the portal's server-sent event streams in page tests."""

from __future__ import annotations

import asyncio
import json


async def next_ticket_event(resp, wait: float = 10) -> dict:
    """The data of the next ``ticket`` event on an open stream (other events are skipped);
    waits at most ``wait`` seconds for each line, so a missing event fails, not hangs."""
    event = ""
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), wait)).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "ticket":
            return json.loads(line[6:])
