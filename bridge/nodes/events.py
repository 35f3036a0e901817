"""Ticket events across nodes: PostgreSQL NOTIFY, sent by a trigger (migration 0007) whenever
any node inserts into ticket_events, heard on a dedicated LISTEN connection.

The notification carries nothing but "something changed": the listener wakes its reader, which
reads the new events from the table as before. So a lost notification (the listening
connection dropped and came back) costs latency until the next fallback read, never an event.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
import sqlalchemy as sa

#: the channel the trigger of migration 0007 notifies
CHANNEL = "slabridge_ticket_events"
#: after the listening connection fails, wait this long before connecting again
RECONNECT = 2.0

log = logging.getLogger(__name__)


def conninfo(engine: sa.Engine) -> str | None:
    """A libpq address for `engine`'s database when it is PostgreSQL, else None."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """Sets `wake` each time another (or this) node commits ticket events. `listening` is
    True while the connection is up, so the reader can slow its fallback polling."""

    def __init__(self, address: str, wake: asyncio.Event) -> None:
        self._address = address
        self.wake = wake
        self.listening = False
        self.heard = 0

    async def run(self) -> None:
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._address, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening = True
                    self.wake.set()  # anything committed while not listening
                    async for _note in conn.notifies():
                        self.heard += 1
                        self.wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - fall back to polling, try again
                log.warning("ticket events: LISTEN connection lost (%s); polling meanwhile", err)
            finally:
                self.listening = False
            await asyncio.sleep(RECONNECT)
