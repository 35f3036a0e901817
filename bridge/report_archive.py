"""Kept monthly reports: generated once a month for every customer, regenerated on request.

A kept report is frozen with the policy it was computed with (the SLA policy, the calendars
it names and the version of the ``holidays`` tables, and a hash of them), so a report an
account manager showed a customer can be shown again unchanged after the contract's targets
move.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

import sla
from bridge import reporting
from bridge.config import Config
from bridge.sla_live import Policies
from bridge.store.schema import kept_reports
from reports.calendar_rules import HOLIDAYS_VERSION

log = logging.getLogger(__name__)


def policy_snapshot(cfg: Config, customer_id: str) -> dict[str, Any]:
    customer = cfg.customer(customer_id)
    if customer is None:
        raise reporting.ReportError(f"unknown customer '{customer_id}'")
    policy = cfg.sla_policies[customer.sla_policy]
    names = sorted({t.calendar for t in policy.priorities.values()})
    return {
        "name": customer.sla_policy,
        "policy": policy.model_dump(mode="json"),
        "calendars": {n: cfg.calendars[n].model_dump(mode="json") for n in names},
        "timezone": customer.timezone,
        # Holidays are data: new tables can move a business-time figure, so they are policy.
        "holidays_version": HOLIDAYS_VERSION,
    }


def policy_hash(snapshot: dict[str, Any]) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def previous_month(cfg: Config, customer_id: str, now: datetime) -> str:
    customer = cfg.customer(customer_id)
    assert customer is not None
    return sla.Month.containing(now, customer.timezone).previous().label


def keep(
    conn: sa.Connection,
    cfg: Config,
    customer_id: str,
    month: str,
    report: dict[str, Any],
    *,
    now: datetime,
    actor: str,
) -> dict[str, Any]:
    """Store `report` as the next version for the customer's month."""
    snapshot = policy_snapshot(cfg, customer_id)
    last = conn.execute(
        sa.select(sa.func.max(kept_reports.c.version)).where(
            kept_reports.c.customer_id == customer_id, kept_reports.c.month == month
        )
    ).scalar_one()
    row = {
        "customer_id": customer_id,
        "month": month,
        "version": (last or 0) + 1,
        "generated_at": now,
        "generated_by": actor,
        "policy_hash": policy_hash(snapshot),
        "policy": snapshot,
        "report": report,
    }
    conn.execute(sa.insert(kept_reports).values(**row))
    return row


def versions(conn: sa.Connection, customer_id: str, month: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(
            kept_reports.c.version,
            kept_reports.c.generated_at,
            kept_reports.c.generated_by,
            kept_reports.c.policy_hash,
        )
        .where(kept_reports.c.customer_id == customer_id, kept_reports.c.month == month)
        .order_by(kept_reports.c.version)
    ).mappings()
    return [dict(r) for r in rows]


def kept(conn: sa.Connection, customer_id: str, month: str, version: int) -> dict | None:
    row = (
        conn.execute(
            sa.select(kept_reports).where(
                kept_reports.c.customer_id == customer_id,
                kept_reports.c.month == month,
                kept_reports.c.version == version,
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def due_months(conn: sa.Connection, cfg: Config, now: datetime) -> list[tuple[str, str]]:
    """(customer, month) pairs whose previous month has no kept report yet, once the
    configured day of the month has come in the customer's zone."""
    out = []
    for c in cfg.customers:
        local = now.astimezone(ZoneInfo(c.timezone))
        if (local.day, local.hour) < (cfg.service.report_day, cfg.service.report_hour):
            continue
        month = sla.Month.containing(now, c.timezone).previous().label
        if not versions(conn, c.id, month):
            out.append((c.id, month))
    return out


def generate_due(
    engine: sa.Engine, cfg: Config, policies: Policies, now: datetime
) -> list[tuple[str, str, dict]]:
    """Build (read side) the reports that are due; the caller keeps them through the writer."""
    with engine.connect() as conn:
        due = due_months(conn, cfg, now)
    built = []
    for customer_id, month in due:
        report = reporting.build(engine, cfg, [customer_id], month, now, policies)[0]
        built.append((customer_id, month, report))
    return built
