"""One writer thread with group commit.

Concurrent requests queue their work; the writer runs everything queued in one transaction,
each piece in its own savepoint so one refused command does not undo the others, commits once,
and only then answers each caller. DESIGN.md has the measurements behind this choice.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from bridge.store.db import StoreError

T = TypeVar("T")
log = logging.getLogger(__name__)

_STOP = object()


class Writer:
    def __init__(self, engine: sa.Engine, *, max_batch: int = 512) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._max_batch = max_batch
        self._thread = threading.Thread(target=self._run, name="slabridge-writer", daemon=True)
        self._started = False
        self.commits = 0
        self.failures = 0

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def stop(self) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._started = False

    def submit_sync(self, fn: Callable[[sa.Connection], T]) -> Future[T]:
        fut: Future[T] = Future()
        self._queue.put((fn, fut))
        return fut

    async def submit(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run `fn(conn)` inside the next group transaction; returns once it is committed."""
        return await asyncio.wrap_future(self.submit_sync(fn))

    def _run(self) -> None:
        conn: sa.Connection | None = None
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            batch = [item]
            stop_after = False
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop_after = True
                    break
                batch.append(nxt)
            try:
                if conn is None:
                    conn = self._engine.connect()
                self._run_batch(conn, batch)
            except Exception as err:  # connection lost: fail this batch, reconnect next time
                log.error("store unavailable: %s", err)
                self.failures += 1
                for _fn, fut in batch:
                    if not fut.done():
                        fut.set_exception(StoreError(f"store unavailable: {err}"))
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001 - already failing
                        pass
                    conn = None
            if stop_after:
                break
        if conn is not None:
            conn.close()

    def _run_batch(self, conn: sa.Connection, batch: list[tuple[Callable, Future]]) -> None:
        results: list[tuple[Future, bool, Any]] = []
        trans = conn.begin()
        try:
            for fn, fut in batch:
                results.append((fut, *self._one(conn, fn)))
            trans.commit()
        except Exception:
            if trans.is_active:
                trans.rollback()
            raise
        self.commits += 1
        for fut, ok, value in results:
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    @staticmethod
    def _one(conn: sa.Connection, fn: Callable) -> tuple[bool, Any]:
        # A unique-constraint clash means another writer (another instance on PostgreSQL) got
        # there first; running the command again sees its row and takes the update path.
        for attempt in range(2):
            sp = conn.begin_nested()
            try:
                value = fn(conn)
                sp.commit()
                return True, value
            except IntegrityError as err:
                sp.rollback()
                if attempt == 1:
                    return False, StoreError(f"conflict: {err.orig}")
            except OperationalError:
                sp.rollback()
                raise
            except Exception as err:  # a domain refusal: this command only
                sp.rollback()
                return False, err
        raise AssertionError("unreachable")
