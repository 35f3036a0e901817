"""Timed jobs: auto-close after the verification window, and the config's maintenance windows."""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bridge import report_archive, sla_live
from bridge import tickets as tk
from bridge.config import Config
from bridge.service import Services
from bridge.store.schema import maintenance

log = logging.getLogger(__name__)


def sync_maintenance(conn: sa.Connection, cfg: Config) -> None:
    """The config is the truth for its own windows; windows added otherwise are kept."""
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


async def run_sla_check(services: Services, policies: sla_live.Policies) -> int:
    """Put each due SLA warning and breach into its ticket's history, once."""
    now = services.now()
    due = await services.read(lambda conn: sla_live.check_clocks(conn, policies, now))
    if not due:
        return 0
    return await services.write(lambda conn: sla_live.record_due(conn, due, now))


async def run_monthly_reports(services: Services, policies: sla_live.Policies) -> int:
    """Keep last month's report of every customer once its report day has come (a restart
    after the day catches up; a month already kept is left alone: regenerate on request)."""
    now = services.now()
    built = await asyncio.to_thread(
        report_archive.generate_due, services.engines.read, services.cfg, policies, now
    )

    def keep_all(conn: sa.Connection) -> int:
        for customer_id, month, report in built:
            if not report_archive.versions(conn, customer_id, month):
                report_archive.keep(
                    conn, services.cfg, customer_id, month, report, now=now, actor="schedule"
                )
        return len(built)

    kept = await services.write(keep_all) if built else 0
    if kept:
        log.info("kept %d monthly reports", kept)
    return kept


def schedule(scheduler: AsyncIOScheduler, services: Services, policies: sla_live.Policies) -> None:
    cfg = services.cfg.service
    scheduler.add_job(
        run_auto_close,
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
        run_sla_check,
        "interval",
        seconds=cfg.sla_check_interval,
        args=[services, policies],
        id="sla-check",
    )
