"""Engines and migrations: SQLite (WAL) in a data directory by default, PostgreSQL by URL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class StoreError(Exception):
    """The store could not commit: the caller answers 503 so the sender retries."""


@dataclass(frozen=True, slots=True)
class Engines:
    """One engine for the single writer, one for readers (SQLite: deferred transactions)."""

    write: sa.Engine
    read: sa.Engine

    @property
    def is_sqlite(self) -> bool:
        return self.write.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.write.dispose()
        self.read.dispose()


def database_url(data_dir: str | Path | None, url: str | None) -> str:
    if url:
        return url
    directory = Path(data_dir or "var")
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(directory / 'slabridge.db').resolve()}"


def _sqlite_engine(url: str, *, begin: str, synchronous: str) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so SAVEPOINT and BEGIN IMMEDIATE work.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        # page cache 64 MiB, temporary b-trees in memory, reads through a 256 MiB mapping
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


def create_engines(url: str, *, synchronous: str = "NORMAL") -> Engines:
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError("synchronous must be NORMAL or FULL")
    if url.startswith("sqlite"):
        return Engines(
            write=_sqlite_engine(url, begin="BEGIN IMMEDIATE", synchronous=synchronous),
            read=_sqlite_engine(url, begin="BEGIN", synchronous=synchronous),
        )
    engine = sa.create_engine(url, pool_pre_ping=True)
    return Engines(write=engine, read=engine)


def migrate(engines: Engines) -> None:
    """Bring the schema to the newest revision; safe to run at every start."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engines.write.begin() as conn:
        if conn.dialect.name == "postgresql":
            # several nodes starting at once on one PostgreSQL: one migrates, the others wait
            # and then find the schema current
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(5148042516104818495)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
