"""The demo month (bridge.commands.demo_data) in a SQLite store, and its reports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bridge import reporting
from bridge.app import StoreOptions, open_store
from bridge.commands.demo_data import fill
from bridge.config import Config
from bridge.store import Engines

MONTH = "2026-10"
#: Well after October 2026 in every zone: the month is complete and reproducible.
AFTER = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CUSTOMERS = ("acme", "brno-bank", "ops")


def demo_store(tmp_path: Path, cfg: Config) -> Engines:
    engines = open_store(StoreOptions(f"sqlite:///{tmp_path / 'demo.db'}"))
    with engines.write.begin() as conn:
        fill(conn, cfg, 2026, 10)
    return engines


def demo_inputs(engines: Engines, cfg: Config, now: datetime = AFTER) -> list:
    with engines.read.connect() as conn:
        return [
            reporting.load_input(conn, cfg, c, reporting.month_of(cfg, c, MONTH, now))
            for c in CUSTOMERS
        ]
