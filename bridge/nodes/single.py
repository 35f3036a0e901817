"""SQLite stays single-node: `serve` takes an exclusive lock next to the database file for as
long as it runs, and a second `serve` on the same data directory refuses to start."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

MESSAGE = (
    "slabridge: another slabridge serve{pid} already uses the SQLite store {db}; a SQLite "
    "store serves one node only: several nodes need PostgreSQL (--database-url "
    "postgresql+psycopg://...)"
)


class Taken(Exception):
    """Another process holds the store's lock; str() is the operator's message."""


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, None for any other store (or an in-memory one)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if not path or path == ":memory:":
        return None
    return Path(path)


def hold(url: str) -> IO[str] | None:
    """Take the lock of a SQLite store (the open file is the lock: keep it for the process's
    life; the kernel drops it when the process ends, even by SIGKILL). Raises Taken."""
    db = sqlite_path(url)
    if db is None:
        return None
    db.parent.mkdir(parents=True, exist_ok=True)
    lock = db.with_name(db.name + ".lock")
    handle = open(lock, "a+", encoding="utf-8")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise Taken(MESSAGE.format(pid=f" (pid {holder})" if holder else "", db=db)) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
