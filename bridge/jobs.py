"""Timed jobs: auto-close after the verification window, SLA warnings and breaches, kept
monthly reports, and the config's maintenance windows.

Every node runs these timers; the store decides who acts (bridge.nodes.claims), so with
several nodes on one PostgreSQL each unit of work is done once:

- a sweep (auto-close, SLA clocks) runs on the node that takes its turn for the interval, and
  locks the tickets it changes with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one
  writer), then writes through the ticket's compare-and-set: an overlapping sweep on another
  node skips those tickets and finds them done next time, so each event is written once;
- a kept monthly report is claimed per customer and month before it is built, so one node
  builds it; a node that dies while building leaves its claim to expire (nodes.claim_lease)
  and another node builds it then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bridge import report_archive, reporting, sla_live
from bridge import tickets as tk
from bridge.config import Config
from bridge.live_clocks import OpenClocks
from bridge.nodes import claims
from bridge.service import Services
from bridge.store.schema import maintenance, tickets
from sla.fold import sla_flag, sla_flags

log = logging.getLogger(__name__)

REPORT_JOB = "monthly-report"
#: PostgreSQL: starting nodes replace the config's maintenance windows one at a time
_MAINTENANCE_LOCK = sa.text("SELECT pg_advisory_xact_lock(5148042516104818497)")


def sync_maintenance(conn: sa.Connection, cfg: Config) -> None:
    """The config is the truth for its own windows; windows added otherwise are kept."""
    if conn.dialect.name == "postgresql":
        conn.execute(_MAINTENANCE_LOCK)  # two nodes starting at once: no window twice
    conn.execute(sa.delete(maintenance).where(maintenance.c.origin == "config"))
    rows = [
        {
            "customer_id": m.customer,
            "device_id": m.device,
            "starts_at": m.start,
            "ends_at": m.end,
            "reason": m.reason,
            "origin": "config",
        }
        for m in cfg.maintenance
    ]
    if rows:
        conn.execute(sa.insert(maintenance), rows)


async def run_auto_close(services: Services) -> list[int]:
    now = services.now()
    closed = await services.write(lambda conn: tk.close_due(conn, now=now))
    if closed:
        log.info("auto-closed %d tickets", len(closed))
    return closed


_TICKET_LOCKED = sa.select(tickets).where(tickets.c.id == sa.bindparam("id"))


def record_due(conn: sa.Connection, items: list[sla_live.Due], now: datetime) -> int:
    """Write each due warning or breach once: the ticket is locked (another node writing it
    now: skipped, the next sweep sees its flags) and its flags checked under the lock."""
    written = 0
    query = _TICKET_LOCKED.with_for_update(skip_locked=True)
    for d in items:
        found = conn.execute(query, {"id": d.ticket_id}).mappings().first()
        if found is None:
            continue
        row = dict(found)
        if sla_flag(d.clock, d.kind) in sla_flags(row["sla_flags"]):
            continue
        tk.record(conn, row, d.kind, d.at, sla_live.SLA_ACTOR, d.data, now=now)
        written += 1
    return written


async def run_sla_check(
    services: Services, policies: sla_live.Policies, kept: OpenClocks | None = None
) -> int:
    """Put each due SLA warning and breach into its ticket's history, once. `kept`: the open
    tickets' clocks from the last check, so this one reads only what changed."""
    now = services.now()
    due = await services.read(lambda conn: sla_live.check_clocks(conn, policies, now, kept))
    if not due:
        return 0
    return await services.write(lambda conn: record_due(conn, due, now))


async def run_monthly_reports(services: Services, policies: sla_live.Policies) -> int:
    """Keep last month's report of every customer once its report day has come (a restart
    after the day catches up; a month already kept is left alone: regenerate on request).
    Each (customer, month) is claimed first, so of several nodes one builds and keeps it."""
    cfg, node, now = services.cfg, services.node.name, services.now()
    due = await services.read(lambda conn: report_archive.due_months(conn, cfg, now))
    if not due:
        return 0

    def claim_all(conn: sa.Connection) -> list[tuple[str, str]]:
        lease = cfg.nodes.claim_lease
        return [
            (customer_id, month)
            for customer_id, month in due
            if claims.claim(conn, REPORT_JOB, f"{customer_id}:{month}", node, now, lease)
        ]

    kept = 0
    for customer_id, month in await services.write(claim_all):
        unit = f"{customer_id}:{month}"
        try:
            report = await asyncio.to_thread(
                lambda c=customer_id, m=month: reporting.build(
                    services.engines.read, cfg, [c], m, now, policies
                )[0]
            )
        except Exception:  # this month only: give it back (another node may try), go on
            log.exception("monthly report of %s for %s could not be built", customer_id, month)
            await services.write(lambda conn, u=unit: claims.release(conn, REPORT_JOB, u, node))
            continue

        def keep(
            conn: sa.Connection, c: str = customer_id, m: str = month, r: dict = report
        ) -> int:
            if not claims.finish(conn, REPORT_JOB, f"{c}:{m}", node, now):
                return 0  # our claim expired and another node took the month over
            if report_archive.versions(conn, c, m):
                return 0
            report_archive.keep(conn, cfg, c, m, r, now=now, actor="schedule")
            return 1

        kept += await services.write(keep)
    if kept:
        log.info("kept %d monthly reports", kept)
    return kept


def _turn(
    services: Services, job: str, every: float, run: Callable[..., Awaitable[Any]]
) -> Callable[..., Awaitable[Any]]:
    """`run`, on the node that takes this interval's turn of `job` (the others skip it)."""

    async def on_turn(*args: Any) -> Any:
        node, now = services.node.name, services.now()
        if not await services.write(lambda conn: claims.take_turn(conn, job, node, now, every)):
            return None
        return await run(*args)

    return on_turn


def schedule(scheduler: AsyncIOScheduler, services: Services, policies: sla_live.Policies) -> None:
    cfg = services.cfg.service
    scheduler.add_job(
        _turn(services, "auto-close", cfg.autoclose_interval, run_auto_close),
        "interval",
        seconds=cfg.autoclose_interval,
        args=[services],
        id="auto-close",
    )
    scheduler.add_job(
        run_monthly_reports,
        "cron",
        minute=15,
        args=[services, policies],
        id="monthly-reports",
        next_run_time=services.now(),
    )
    scheduler.add_job(
        _turn(services, "sla-check", cfg.sla_check_interval, run_sla_check),
        "interval",
        seconds=cfg.sla_check_interval,
        args=[services, policies, OpenClocks()],
        id="sla-check",
    )
