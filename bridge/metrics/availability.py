"""Month-to-date availability per customer, from device_states and maintenance, cached
between scrapes (recomputed when the injected clock moved ``refresh`` seconds)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

import sla
from bridge.clock import Clock
from bridge.config import Config
from bridge.metrics.instruments import PROBE_CHECKS, probed_checks
from bridge.store.schema import ACCOUNTED_STATE, device_states, maintenance
from sla.frames import INTERVAL_COLUMNS, MAINTENANCE_COLUMNS, device_availability_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonthToDate:
    """``[first instant of the month in tz, now)``: an sla.Period."""

    start: datetime
    end: datetime
    tz: str

    @classmethod
    def at(cls, now: datetime, tz: str) -> MonthToDate:
        return cls(sla.Month.containing(now, tz).start, now, tz)

    @property
    def label(self) -> str:
        return f"{sla.Month.containing(self.start, self.tz).label} month to date"


def _frame(rows: list[tuple], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


class AvailabilityCollector(Collector):
    """Month-to-date availability per customer, from device_states and maintenance.

    Per customer: Σ up seconds / Σ counted seconds over its probed devices (each device's
    figures from ``sla.device_availability`` under the customer's policy, over the current
    month in the customer's zone up to now), i.e. device-time pooled. A device counts with its
    preferred reachability check (icmp, else snmp). No series for a customer with no counted
    time (no probed devices, or no monitoring data yet with ``unknown_time: excluded``).

    Reading a month of state intervals for every device is too dear for every scrape (10,000
    devices: see bench/scrape.py), so figures are cached and recomputed when the injected
    clock has moved ``refresh`` seconds (or the month changed) since the last computation."""

    def __init__(
        self, cfg: Config, engine: sa.Engine, clock: Clock, *, refresh: float = 60.0
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._refresh = timedelta(seconds=refresh)
        self._lock = threading.Lock()
        self._cache: tuple[datetime, dict[str, float]] | None = None
        self._customers: dict[str, tuple[str, sla.AvailabilityPolicy]] = {}
        self._devices: dict[str, list[tuple[str, str]]] = {}  # customer → [(device, check)]
        for c in cfg.customers:
            p = cfg.sla_policies[c.sla_policy]
            self._customers[c.id] = (
                c.timezone,
                sla.AvailabilityPolicy(
                    unknown=p.unknown_time,
                    unreachable=p.parent_outage,
                    unconfirmed=p.unconfirmed_failures,
                ),
            )
        for d in cfg.devices:
            checks = probed_checks(d)
            if checks and d.customer in self._customers:
                self._devices.setdefault(d.customer, []).append((d.id, checks[0]))

    def values(self) -> dict[str, float]:
        """customer → ratio, recomputing when stale."""
        now = self._clock.now()
        with self._lock:
            cached = self._cache
            if cached is not None:
                at, vals = cached
                if timedelta(0) <= now - at < self._refresh and self._same_months(at, now):
                    return vals
            vals = self.compute(now)
            self._cache = (now, vals)
            return vals

    def _same_months(self, a: datetime, b: datetime) -> bool:
        return all(
            sla.Month.containing(a, tz) == sla.Month.containing(b, tz)
            for tz in {tz for tz, _ in self._customers.values()}
        )

    def compute(self, now: datetime) -> dict[str, float]:
        periods = {
            cust: MonthToDate.at(now, tz)
            for cust, (tz, _) in self._customers.items()
            if cust in self._devices
        }
        if not periods:
            return {}
        earliest = min(p.start for p in periods.values())
        intervals: dict[tuple[str, str], list[sla.StateInterval]] = {}
        windows: dict[str, list[tuple[datetime, datetime]]] = {}  # device or customer id
        with self._engine.connect() as conn:
            for dev, check, state, start, end in conn.execute(
                sa.select(
                    device_states.c.device_id,
                    device_states.c.check,
                    ACCOUNTED_STATE,
                    device_states.c.started_at,
                    device_states.c.ended_at,
                )
                .where(
                    device_states.c.check.in_(PROBE_CHECKS),
                    device_states.c.site == "*",  # the decided state, not each site's
                    device_states.c.started_at < now,
                    sa.or_(device_states.c.ended_at.is_(None), device_states.c.ended_at > earliest),
                )
                .order_by(device_states.c.device_id, device_states.c.started_at)
            ):
                if state not in sla.DEVICE_STATES:
                    continue
                end = now if end is None or end > now else end
                intervals.setdefault((dev, check), []).append(sla.StateInterval(start, end, state))
            for dev, cust, start, end in conn.execute(
                sa.select(
                    maintenance.c.device_id,
                    maintenance.c.customer_id,
                    maintenance.c.starts_at,
                    maintenance.c.ends_at,
                ).where(maintenance.c.starts_at < now, maintenance.c.ends_at > earliest)
            ):
                windows.setdefault(dev or cust, []).append((start, end))
        # One vectorised pass (sla.frames) per zone and policy; customer-wide maintenance
        # becomes a window of each of the customer's devices.
        groups: dict[tuple[str, sla.AvailabilityPolicy], list[str]] = {}
        for cust in periods:
            groups.setdefault(self._customers[cust], []).append(cust)
        out: dict[str, float] = {}
        for (tz, policy), custs in groups.items():
            owner = {dev: cust for cust in custs for dev, _ in self._devices[cust]}
            rows = [
                (dev, iv.start, iv.end, iv.state)
                for cust in custs
                for dev, check in self._devices[cust]
                for iv in intervals.get((dev, check), ())
            ]
            mrows = [
                (dev, a, b)
                for dev, cust in owner.items()
                for a, b in (*windows.get(cust, ()), *windows.get(dev, ()))
            ]
            try:
                frame = device_availability_frame(
                    MonthToDate.at(now, tz),
                    _frame(rows, INTERVAL_COLUMNS),
                    _frame(mrows, MAINTENANCE_COLUMNS),
                    policy,
                    devices=list(owner),
                )
            except ValueError as err:  # overlapping intervals: a store bug, not a scrape's
                log.warning("month-to-date availability skipped for %s: %s", custs, err)
                continue
            sums = frame[["up_seconds", "counted_seconds"]].groupby(frame.index.map(owner)).sum()
            for cust, row in sums.iterrows():
                if row["counted_seconds"] > 0:
                    out[str(cust)] = float(row["up_seconds"] / row["counted_seconds"])
        return out

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily(
            "slabridge_availability_month_to_date_ratio",
            "Availability of the customer's probed devices this month so far, 0..1 "
            "(up / counted time, device-time pooled; absent without counted time)",
            labels=["customer"],
        )
        for cust, ratio in sorted(self.values().items()):
            g.add_metric([cust], ratio)
        yield g
