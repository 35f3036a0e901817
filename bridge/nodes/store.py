"""Insert-or-update that reads the same on SQLite and PostgreSQL (both speak ON CONFLICT)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert(conn: sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_nothing` / `on_conflict_do_update`."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
