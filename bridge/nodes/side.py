"""A node's own bookkeeping (heartbeats, probe lease rounds) in short transactions of its own,
beside the single writer rather than behind it.

The writer runs whatever is queued in one group transaction; a burst (a node's first 20,000
state writes) can keep it busy for longer than a lease TTL, and a renewal queued behind it
would lapse: the node stops probing and the others take its targets, only to give them back a
round later. Here each piece runs at once in its own transaction on a small dedicated pool (so
busy readers cannot hold it up either). PostgreSQL runs it beside the writer's transaction;
SQLite, which has one writer at a time, makes it wait for the writer's commit
(`busy_timeout`), a short wait instead of a place at the back of the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from bridge.store import Engines

T = TypeVar("T")
log = logging.getLogger(__name__)

#: two threads: a heartbeat never waits behind a lease round of the same node
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="slabridge-node")
#: deadlock_detected, serialization_failure: nothing was committed, run it again
RETRYABLE = frozenset({"40P01", "40001"})
TRIES = 3


def _run(engine: sa.Engine, fn: Callable[[sa.Connection], T]) -> T:
    for attempt in range(1, TRIES + 1):
        try:
            with engine.begin() as conn:
                return fn(conn)
        except OperationalError as err:
            code = getattr(err.orig, "sqlstate", None)
            locked = "locked" in str(err.orig)  # SQLite: the writer held it past busy_timeout
            if (code not in RETRYABLE and not locked) or attempt == TRIES:
                raise
            log.info("node bookkeeping transaction aborted (%s); running it again", err.orig)
    raise AssertionError("unreachable")


async def run(engines: Engines, fn: Callable[[sa.Connection], T]) -> T:
    """Run `fn(conn)` in a transaction of its own on the write engine; returns once committed."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, _run, engines.write, fn)
