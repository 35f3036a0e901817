"""The store: SQLite durability settings, idempotent migrations, aware UTC timestamps, and the
group-commit writer (one refused command does not undo the others in its batch)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from bridge.app import StoreOptions, open_store
from bridge.store import StoreError, Writer, create_engines, database_url
from bridge.store.schema import maintenance, metadata
from tests.conftest import START, take_snapshot


def _pragmas(engine: sa.Engine) -> tuple[str, int]:
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
    return mode, sync


@pytest.mark.parametrize(("asked", "expected"), [(None, 1), ("NORMAL", 1), ("FULL", 2)])
def test_sqlite_runs_in_wal_with_the_asked_synchronous(tmp_path: Path, asked, expected) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    options = StoreOptions(url) if asked is None else StoreOptions(url, asked)
    engines = open_store(options)
    try:
        for engine in (engines.write, engines.read):
            assert _pragmas(engine) == ("wal", expected)  # 1 = NORMAL, 2 = FULL
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        engines.dispose()


def test_an_unknown_synchronous_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous must be NORMAL or FULL"):
        create_engines(f"sqlite:///{tmp_path / 's.db'}", synchronous="OFF")


def test_database_url_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    url = database_url(tmp_path / "var", None)
    assert url == f"sqlite:///{(tmp_path / 'var' / 'slabridge.db').resolve()}"
    assert (tmp_path / "var").is_dir()
    assert database_url(tmp_path, "postgresql+psycopg://x@127.0.0.1/db") == (
        "postgresql+psycopg://x@127.0.0.1/db"
    )


def _tables(engines) -> set[str]:
    with engines.read.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_migrations_are_idempotent(store_url: str) -> None:
    first = open_store(StoreOptions(store_url))
    try:
        with first.write.begin() as conn:
            conn.execute(
                sa.insert(maintenance).values(
                    customer_id="acme",
                    starts_at=START,
                    ends_at=START + timedelta(hours=1),
                    reason="kept",
                    origin="api",
                )
            )
        tables = _tables(first)
        assert {t.name for t in metadata.sorted_tables} <= tables
        assert "alembic_version" in tables
        before = take_snapshot(first)
    finally:
        first.dispose()
    for _ in range(2):
        again = open_store(StoreOptions(store_url))
        try:
            assert _tables(again) == tables
            assert take_snapshot(again) == before
            with again.read.connect() as conn:
                versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
            assert len(versions) == 1
        finally:
            again.dispose()


def test_the_schema_matches_the_migrations(engines) -> None:
    """Every column the code queries exists in the migrated database."""
    with engines.read.connect() as conn:
        inspector = sa.inspect(conn)
        for table in metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            assert {c.name for c in table.columns} == have, table.name


def test_timestamps_go_in_and_come_out_aware_utc(engines) -> None:
    warsaw = timezone(timedelta(hours=2))
    local = datetime(2026, 10, 3, 22, 0, tzinfo=warsaw)
    with engines.write.begin() as conn:
        conn.execute(
            sa.insert(maintenance).values(
                customer_id="acme",
                starts_at=local,
                ends_at=local + timedelta(hours=4),
                reason="",
                origin="api",
            )
        )
    with engines.read.connect() as conn:
        row = conn.execute(sa.select(maintenance)).mappings().one()
    assert row["starts_at"] == local
    assert row["starts_at"].utcoffset() == timedelta(0)
    assert row["starts_at"].hour == 20


def test_a_naive_timestamp_is_refused(engines) -> None:
    with pytest.raises(StatementError, match="naive datetime refused by the store"):
        with engines.write.begin() as conn:
            conn.execute(
                sa.insert(maintenance).values(
                    starts_at=datetime(2026, 1, 1),
                    ends_at=datetime(2026, 1, 2),
                    reason="",
                    origin="api",
                )
            )


def _insert(reason: str):
    def run(conn: sa.Connection) -> str:
        conn.execute(
            sa.insert(maintenance).values(
                customer_id="acme",
                starts_at=START,
                ends_at=START + timedelta(hours=1),
                reason=reason,
                origin="api",
            )
        )
        return reason

    return run


def _refuse(conn: sa.Connection) -> None:
    _insert("undone")(conn)
    raise LookupError("refused")


def test_the_writer_groups_commands_and_isolates_a_refused_one(engines) -> None:
    writer = Writer(engines.write)
    gate = threading.Event()
    # Block the writer on a first command so the next three queue up into one batch.
    first = writer.submit_sync(lambda conn: gate.wait(10) and _insert("first")(conn))
    writer.start()
    try:
        futures = [
            writer.submit_sync(_insert("a")),
            writer.submit_sync(_refuse),
            writer.submit_sync(_insert("b")),
        ]
        commits_before = writer.commits
        gate.set()
        assert first.result(10) == "first"
        assert futures[0].result(10) == "a"
        with pytest.raises(LookupError, match="refused"):
            futures[1].result(10)
        assert futures[2].result(10) == "b"
        assert writer.commits - commits_before <= 2  # the three queued ones shared a commit
    finally:
        writer.stop()
    reasons = [r["reason"] for r in take_snapshot(engines)["maintenance"]]
    assert reasons == ["first", "a", "b"]


async def test_the_writer_reports_a_failed_commit_as_store_error(tmp_path: Path) -> None:
    engines = open_store(StoreOptions(f"sqlite:///{tmp_path / 's.db'}"))
    try:
        with engines.write.begin() as conn:
            conn.exec_driver_sql("DROP TABLE maintenance")
        writer = Writer(engines.write)
        writer.start()
        try:
            # A missing table is an OperationalError: the whole batch fails, not just one piece.
            with pytest.raises(StoreError, match="store unavailable"):
                await writer.submit(_insert("x"))
            assert writer.failures == 1
            # The writer survives and serves the next command.
            assert await writer.submit(lambda conn: conn.execute(sa.text("SELECT 1")).scalar())
        finally:
            writer.stop()
    finally:
        engines.dispose()
