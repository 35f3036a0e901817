"""One writer thread with group commit.

Concurrent requests queue their work; the writer runs everything queued in one transaction,
each piece in its own savepoint so one refused command does not undo the others, commits once,
and only then answers each caller. DESIGN.md has the measurements behind this choice.

A command may carry a `run_batch` attribute: a function taking the connection and a list of
such commands and returning their results in order, with the same effect as running them one
after the other. Consecutive commands sharing one `run_batch` are run by it in a single
savepoint (ingest uses this to read and write a whole group's alerts with a few statements);
if it raises, that savepoint is rolled back and the commands run again one savepoint each, so
one refused command still fails alone. That fallback is never silent: it logs a WARNING with the
cause and calls `on_fallback` (the app counts it as slabridge_ingest_batch_fallbacks_total), so a
bug in a batched path shows as more than lower throughput.
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
#: deadlock_detected, serialization_failure: the transaction may simply be run again
RETRYABLE = frozenset({"40P01", "40001"})
RETRIES = 5


class _LoopFuture:
    """An asyncio future answered from the writer thread: results for one loop are handed
    over with one `call_soon_threadsafe` per commit instead of one wake-up per caller."""

    __slots__ = ("fut", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, fut: asyncio.Future) -> None:
        self.loop = loop
        self.fut = fut

    def done(self) -> bool:
        return self.fut.done()


def _deliver(answers: list[tuple[asyncio.Future, bool, Any]]) -> None:
    for fut, ok, value in answers:
        if fut.done():  # the caller went away (cancelled)
            continue
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)


def _answer(results: list[tuple[Any, bool, Any]]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list] = {}
    for fut, ok, value in results:
        if isinstance(fut, _LoopFuture):
            by_loop.setdefault(fut.loop, []).append((fut.fut, ok, value))
        elif ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_deliver, answers)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass


class Writer:
    def __init__(self, engine: sa.Engine, *, max_batch: int = 512) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._max_batch = max_batch
        self._thread = threading.Thread(target=self._run, name="slabridge-writer", daemon=True)
        self._started = False
        self.commits = 0
        self.failures = 0
        self.fallbacks = 0
        #: batches run again after the database aborted them (deadlock between nodes)
        self.retries = 0
        self._cause: Exception | None = None
        #: called (in the writer thread) with the cause each time a batch falls back
        self.on_fallback: Callable[[Exception], None] | None = None

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
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, _LoopFuture(loop, fut)))
        return await fut

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
                self._run_retrying(conn, batch)
            except Exception as err:  # connection lost: fail this batch, reconnect next time
                log.error("store unavailable: %s", err)
                self.failures += 1
                _answer(
                    [
                        (fut, False, StoreError(f"store unavailable: {err}"))
                        for _fn, fut in batch
                        if not fut.done()
                    ]
                )
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

    def _run_retrying(self, conn: sa.Connection, batch: list[tuple[Callable, Any]]) -> None:
        """Several nodes on one PostgreSQL: when the server breaks a deadlock between two
        nodes' transactions by aborting this one (or refuses it as not serialisable), nothing
        of it was committed and nobody was answered yet, so run the whole batch again instead
        of failing every caller with 503."""
        for attempt in range(1, RETRIES + 1):
            try:
                self._run_batch(conn, batch)
                return
            except OperationalError as err:
                code = getattr(err.orig, "sqlstate", None)
                if code not in RETRYABLE or attempt == RETRIES:
                    raise
                self.retries += 1
                log.info("transaction aborted by the database (%s); running it again", code)

    def _run_batch(self, conn: sa.Connection, batch: list[tuple[Callable, Any]]) -> None:
        results: list[tuple[Any, bool, Any]] = []
        trans = conn.begin()
        try:
            i = 0
            while i < len(batch):
                run_batch = getattr(batch[i][0], "run_batch", None)
                j = i + 1
                if run_batch is not None:
                    while j < len(batch) and getattr(batch[j][0], "run_batch", None) is run_batch:
                        j += 1
                group = batch[i:j]
                values = self._group(conn, run_batch, group) if j - i > 1 else None
                if values is None and j - i > 1:
                    self._fell_back(group)
                if values is not None:
                    answered = zip(group, values, strict=True)
                    results.extend((fut, True, v) for (_fn, fut), v in answered)
                else:
                    results.extend((fut, *self._one(conn, fn)) for fn, fut in group)
                i = j
            trans.commit()
        except Exception:
            if trans.is_active:
                trans.rollback()
            raise
        self.commits += 1
        _answer(results)

    def _fell_back(self, group: list) -> None:
        self.fallbacks += 1
        cause = self._cause
        log.warning(
            "a batch of %d commands failed (%s: %s); ran them one by one",
            len(group), type(cause).__name__, cause,
        )  # fmt: skip
        if self.on_fallback is not None:
            self.on_fallback(cause)

    def _group(self, conn: sa.Connection, run_batch: Callable, group: list) -> list | None:
        """Run consecutive batchable commands together; None (nothing done) if that failed."""
        sp = conn.begin_nested()
        try:
            values = run_batch(conn, [fn for fn, _fut in group])
            if len(values) != len(group):
                raise AssertionError("run_batch must answer every command")
            sp.commit()
            return values
        except OperationalError:
            sp.rollback()
            raise
        except Exception as err:  # noqa: BLE001 - retried one by one, each failing alone
            self._cause = err
            sp.rollback()
            return None

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
