"""The service façade: ticket commands through the single writer, queries on read connections."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from bridge import tickets as tk
from bridge.clock import Clock
from bridge.config import Config
from bridge.nodes.identity import Node
from bridge.store import Engines, Writer
from bridge.store.schema import alert_keys, tickets

T = TypeVar("T")

_PRIORITY_ORDER = sa.case({"P1": 1, "P2": 2, "P3": 3, "P4": 4}, value=tickets.c.priority, else_=9)
FILTERS = ("customer", "status", "priority", "device", "origin", "line", "assignee", "kind")
_FILTER_COLUMNS = {
    "customer": tickets.c.customer_id,
    "status": tickets.c.status,
    "priority": tickets.c.priority,
    "device": tickets.c.device_id,
    "origin": tickets.c.origin,
    "line": tickets.c.line,
    "assignee": tickets.c.assignee,
    "kind": tickets.c.kind,
}


@dataclass
class Services:
    cfg: Config
    clock: Clock
    engines: Engines
    writer: Writer
    #: this process among the nodes sharing the store (`serve --node/--site`)
    node: Node = field(default_factory=Node)
    keys: tk.TicketKey = field(init=False)

    def __post_init__(self) -> None:
        self.keys = tk.TicketKey(self.cfg.service.ticket_prefix)

    def now(self) -> datetime:
        return self.clock.now()

    async def write(self, fn: Callable[[sa.Connection], T]) -> T:
        return await self.writer.submit(fn)

    async def read(self, fn: Callable[[sa.Connection], T]) -> T:
        def run() -> T:
            with self.engines.read.connect() as conn:
                return fn(conn)

        return await asyncio.to_thread(run)

    async def command(
        self,
        key: str,
        fn: Callable[[sa.Connection, dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        """Load the ticket inside the write transaction, apply `fn`, return the new row."""
        ticket_id = self.keys.parse(key)

        def run(conn: sa.Connection) -> dict[str, Any]:
            return fn(conn, tk.load(conn, ticket_id))

        return await self.write(run)

    async def list_tickets(self, filters: Mapping[str, str], limit: int, offset: int) -> list[dict]:
        """Queue order: priority first, a major incident before its children, then oldest."""
        query = sa.select(tickets)
        for name, value in filters.items():
            query = query.where(_FILTER_COLUMNS[name] == value)
        query = (
            query.order_by(
                _PRIORITY_ORDER,
                sa.case((tickets.c.kind == "major", 0), else_=1),
                tickets.c.entered_at,
                tickets.c.id,
            )
            .limit(limit)
            .offset(offset)
        )

        def run(conn: sa.Connection) -> list[dict]:
            return [dict(r) for r in conn.execute(query).mappings()]

        return await self.read(run)

    async def get_ticket(self, key: str) -> tuple[dict, list[dict], list[dict]]:
        ticket_id = self.keys.parse(key)

        def run(conn: sa.Connection) -> tuple[dict, list[dict], list[dict]]:
            row = tk.load(conn, ticket_id)
            alerts = [
                dict(r)
                for r in conn.execute(
                    sa.select(alert_keys).where(alert_keys.c.ticket_id == ticket_id)
                ).mappings()
            ]
            return row, tk.history(conn, ticket_id), alerts

        return await self.read(run)

    async def count_open(self) -> int:
        def run(conn: sa.Connection) -> int:
            q = sa.select(sa.func.count()).select_from(tickets).where(tickets.c.status != "closed")
            return int(conn.execute(q).scalar_one())

        return await self.read(run)

    def ticket_json(self, row: Mapping[str, Any]) -> dict[str, Any]:
        def key(i: int | None) -> str | None:
            return self.keys.format(i) if i is not None else None

        def ts(v: datetime | None) -> str | None:
            return v.isoformat() if v is not None else None

        return {
            "id": self.keys.format(row["id"]),
            "customer": row["customer_id"],
            "contract": row["contract"],
            "device": row["device_id"],
            "device_ip": row["device_ip"],
            "title": row["title"],
            "summary": row["summary"],
            "description": row["description"],
            "status": row["status"],
            "priority": row["priority"],
            "line": row["line"],
            "assignee": row["assignee"],
            "origin": row["origin"],
            "kind": row["kind"],
            "parent": key(row["parent_id"]),
            "related": key(row["related_id"]),
            "entered_at": ts(row["entered_at"]),
            "updated_at": ts(row["updated_at"]),
            "assigned_at": ts(row["assigned_at"]),
            "resolved_at": ts(row["resolved_at"]),
            "closed_at": ts(row["closed_at"]),
            "close_reason": row["close_reason"],
            "close_deadline": ts(row["close_deadline"]),
        }

    def event_json(self, ev: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "seq": ev["seq"],
            "at": ev["at"].isoformat(),
            "kind": ev["kind"],
            "actor": ev["actor"],
            "data": ev["data"],
        }
