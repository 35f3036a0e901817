"""Timed jobs: auto-close after the verification window, and the config's maintenance windows."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler

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


def schedule(scheduler: AsyncIOScheduler, services: Services) -> None:
    interval = services.cfg.service.autoclose_interval
    scheduler.add_job(
        run_auto_close, "interval", seconds=interval, args=[services], id="auto-close"
    )
