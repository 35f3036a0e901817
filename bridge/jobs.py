"""Timed jobs: auto-close after the verification window, and the config's maintenance windows."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bridge import sla_live
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
        run_sla_check,
        "interval",
        seconds=cfg.sla_check_interval,
        args=[services, policies],
        id="sla-check",
    )
