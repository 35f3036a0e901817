"""Prometheus metrics on an explicit registry made in the app factory (never the global one).

Label values come only from the config (source names, customer ids, device ids) or from fixed
vocabularies (outcomes, priorities, statuses, origins, checks, ICMP modes); nothing a sender
writes becomes a label. Per-device series exist only for configured devices, pre-initialised.

Three kinds of metric live here:

- instrumentation the request path and the probes update (:class:`Metrics`);
- store-backed families computed at scrape time (:class:`TicketTotalsCollector`,
  :class:`AvailabilityCollector`; the live SLA gauges are ``bridge.sla_live.SlaCollector``);
- the process and platform collectors of prometheus_client.

Counters and histograms also expose ``*_created`` series (prometheus_client's default); we do
not call ``disable_created_metrics()`` because it flips a process-wide switch.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

import sla
from bridge.clock import Clock
from bridge.config import Config, DeviceConfig
from bridge.lifecycle import Origin, Status
from bridge.store.schema import device_states, maintenance, tickets
from sla.frames import INTERVAL_COLUMNS, MAINTENANCE_COLUMNS, device_availability_frame

log = logging.getLogger(__name__)

OUTCOMES = ("accepted", "duplicate", "unrouted", "rejected-auth", "rejected-invalid")
UNKNOWN_SOURCE = "_unknown"
#: every probe check's alerts are counted under this one source label
PROBE_SOURCE = "probe"
#: probe checks that carry per-device series (reachability checks of probes/state.py)
PROBE_CHECKS = ("icmp", "snmp")
#: probes.icmp.IcmpCapability.mode, with "none" for no usable ICMP socket
ICMP_MODES = ("raw", "dgram", "none")
_ORIGINS = frozenset(o.value for o in Origin)


def probed_checks(device: DeviceConfig) -> tuple[str, ...]:
    """The reachability checks configured for a device, in order of preference."""
    if device.probe is None:
        return ()
    return tuple(c for c in PROBE_CHECKS if getattr(device.probe, c, None) is not None)


class Metrics:
    """Instrumentation updated by the request path and the probes.

    Probe methods (called by the probe wiring; device ids and checks must be configured,
    anything else raises ``KeyError`` naming it, so no payload value can become a label):

    - ``probe_sample(device_id, check, up, rtt_ms=None, loss=None)``
    - ``probe_cycle(seconds)``
    - ``snmp_error(device_id)``
    - ``missed_run()``
    - ``icmp_capability(mode)`` with mode ``"raw"``, ``"dgram"`` or ``None``/``"none"``
    """

    def __init__(
        self,
        cfg: Config,
        registry: CollectorRegistry | None = None,
        *,
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._wall_time = wall_time  # Unix time for *_timestamp_seconds, compared by Prometheus
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.notifications = Counter(
            "slabridge_notifications_received_total",
            "Webhook notifications received, by source and outcome",
            ["source", "outcome"],
            registry=r,
        )
        self.alerts = Counter(
            "slabridge_alerts_received_total",
            "Alerts received (webhooks and probes), by source and outcome",
            ["source", "outcome"],
            registry=r,
        )
        self.ingest_latency = Histogram(
            "slabridge_ingest_latency_seconds",
            "Time from receiving a notification to answering it (commit included)",
            ["source"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.batch_fallbacks = Counter(
            "slabridge_ingest_batch_fallbacks",
            "Group commits whose batched ingest failed and ran one command at a time instead "
            "(each one logged as a WARNING with its cause)",
            registry=r,
        )
        self.store_errors = Counter(
            "slabridge_store_errors_total", "Commits that failed (senders got 503)", registry=r
        )
        self.truncated = Counter(
            "slabridge_alerts_truncated_total",
            "Alerts a sender left out of a notification (Alertmanager truncatedAlerts)",
            ["source"],
            registry=r,
        )
        sources = [s.name for s in cfg.sources] + [PROBE_SOURCE, UNKNOWN_SOURCE]
        for name in sources:
            self.truncated.labels(name)
            self.ingest_latency.labels(name)
            for outcome in OUTCOMES:
                self.notifications.labels(name, outcome)
                self.alerts.labels(name, outcome)
        self.source_names = frozenset(sources)
        self._init_probe_metrics(cfg)

    # -- probes ---------------------------------------------------------------------------
    def _init_probe_metrics(self, cfg: Config) -> None:
        r = self.registry
        # One series per configured device and check: tens of thousands with 10,000 devices.
        # Rendered once per update rather than once per scrape (see DeviceGauges).
        self.device_up = DeviceGauges(
            "slabridge_device_up",
            "1 when the device answered its last probe, 0 when not; NaN before the first probe",
            ("customer", "device", "check"),
        )
        self.probe_rtt = DeviceGauges(
            "slabridge_probe_rtt_seconds",
            "Round-trip time of the last probe (ICMP: average of the replies); NaN without reply",
            ("device", "check"),
        )
        self.probe_loss = DeviceGauges(
            "slabridge_probe_loss_ratio",
            "Share of probe packets without reply in the last probe, 0..1; NaN before the first",
            ("device", "check"),
        )
        self.device_families = (self.device_up, self.probe_rtt, self.probe_loss)
        self.probe_cycle_seconds = Histogram(
            "slabridge_probe_cycle_duration_seconds",
            "Wall time of one probe cycle over every due device",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=r,
        )
        self.probe_last_cycle = Gauge(
            "slabridge_probe_last_cycle_timestamp_seconds",
            "Unix time at which the last probe cycle finished; 0 before the first",
            registry=r,
        )
        # one series per SNMP device, rarely moving: kept as text too (see DeviceCounters)
        self.snmp_errors = DeviceCounters(
            "slabridge_snmp_errors",
            "SNMP requests that failed (timeout, error status, bad response), by device",
            ("device",),
            wall_time=self._wall_time,
        )
        self.missed_runs = Counter(
            "slabridge_scheduler_missed_runs_total",
            "Scheduled runs skipped because they started too late (APScheduler EVENT_JOB_MISSED)",
            registry=r,
        )
        self.icmp_mode = Gauge(
            "slabridge_icmp_capability",
            "1 for the ICMP socket kind probes use (raw, dgram = unprivileged ping socket, "
            "none = ICMP impossible: grant CAP_NET_RAW or widen net.ipv4.ping_group_range)",
            ["mode"],
            registry=r,
        )
        self._device_customer: dict[str, str] = {}
        self._device_checks: dict[str, frozenset[str]] = {}
        for d in cfg.devices:
            checks = probed_checks(d)
            if not checks:
                continue
            self._device_customer[d.id] = d.customer
            self._device_checks[d.id] = frozenset(checks)
            for check in checks:
                self.device_up.add((d.id, check), (d.customer, d.id, check))
                self.probe_rtt.add((d.id, check), (d.id, check))
                self.probe_loss.add((d.id, check), (d.id, check))
            if "snmp" in checks:
                self.snmp_errors.add((d.id,), (d.id,))
        for mode in ICMP_MODES:
            self.icmp_mode.labels(mode)

    def _check(self, device_id: str, check: str) -> None:
        checks = self._device_checks.get(device_id)
        if checks is None:
            raise KeyError(f"no probed device '{device_id}' in the config")
        if check not in checks:
            raise KeyError(f"device '{device_id}' has no '{check}' probe in the config")

    def probe_sample(
        self,
        device_id: str,
        check: str,
        up: bool,
        rtt_ms: float | None = None,
        loss: float | None = None,
    ) -> None:
        """Record one probe result of a configured device and check ("icmp" or "snmp")."""
        self._check(device_id, check)
        key = (device_id, check)
        self.device_up.set(key, 1 if up else 0)
        self.probe_rtt.set(key, math.nan if rtt_ms is None else rtt_ms / 1000.0)
        if loss is not None:
            self.probe_loss.set(key, loss)

    def probe_cycle(self, seconds: float) -> None:
        """One probe cycle finished after ``seconds`` of wall time."""
        self.probe_cycle_seconds.observe(seconds)
        self.probe_last_cycle.set(self._wall_time())

    def snmp_error(self, device_id: str) -> None:
        """One failed SNMP request to a configured SNMP device."""
        self._check(device_id, "snmp")
        self.snmp_errors.inc((device_id,))

    def missed_run(self) -> None:
        """A scheduled job run was missed (wire to APScheduler's EVENT_JOB_MISSED)."""
        self.missed_runs.inc()

    def icmp_capability(self, mode: str | None) -> None:
        """The ICMP mode detected at start-up (probes.icmp.IcmpCapability.mode)."""
        mode = mode or "none"
        if mode not in ICMP_MODES:
            raise KeyError(f"unknown ICMP mode '{mode}' (known: {', '.join(ICMP_MODES)})")
        for m in ICMP_MODES:
            self.icmp_mode.labels(m).set(1 if m == mode else 0)

    def source_label(self, name: str) -> str:
        if name.startswith("probe."):
            return PROBE_SOURCE
        return name if name in self.source_names else UNKNOWN_SOURCE

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The scrape body for an ``Accept`` header, and its content type.

        The registry goes through prometheus_client's encoder; the per-device families are
        spliced in as the text they keep (gauge lines read the same in both formats; the
        per-device counter keeps one text per format)."""
        encoder, content_type = choose_encoder(accept)
        body = encoder(self.registry)
        openmetrics = content_type.startswith("application/openmetrics-text")
        devices = b"".join(f.text() for f in self.device_families)
        devices += self.snmp_errors.text(openmetrics)
        eof = b"# EOF\n"
        if body.endswith(eof):  # OpenMetrics: the families go before the end marker
            return body[: -len(eof)] + devices + eof, content_type
        return body + devices, content_type


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class DeviceGauges:
    """A gauge family with a fixed set of series, kept as exposition text.

    With 10,000 devices the per-device families are most of a scrape, and formatting them
    in prometheus_client's encoder cost about twice a plain one-label gauge's samples (three
    labels each) on every scrape, holding the GIL while webhooks wait (bench/scrape.py).
    Here a series' line is formatted when its value changes and a family's text is joined
    only when something changed since the last scrape. Series are declared up front
    (:meth:`add`); setting an undeclared one raises ``KeyError``."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name = name
        self.labelnames = tuple(labelnames)
        help_text = documentation.replace("\\", "\\\\").replace("\n", "\\n")
        if '"' in help_text:
            raise ValueError(f"{name}: no quotes in help text (OpenMetrics would escape them)")
        self._header = f"# HELP {name} {help_text}\n# TYPE {name} gauge\n"
        self._prefix: dict[tuple[str, ...], str] = {}
        self._lines: dict[tuple[str, ...], str] = {}
        self._values: dict[tuple[str, ...], float] = {}
        self._text: bytes | None = None
        self._lock = threading.Lock()

    def add(
        self, key: tuple[str, ...], labelvalues: Sequence[str], value: float = math.nan
    ) -> None:
        labels = ",".join(
            f'{n}="{_escape(v)}"' for n, v in zip(self.labelnames, labelvalues, strict=True)
        )
        with self._lock:
            self._prefix[key] = f"{self.name}{{{labels}}} "
            self._set(key, value)

    def set(self, key: tuple[str, ...], value: float) -> None:
        with self._lock:
            if key not in self._prefix:
                raise KeyError(f"no series {key} in {self.name}")
            self._set(key, value)

    def _set(self, key: tuple[str, ...], value: float) -> None:
        self._values[key] = value
        self._lines[key] = self._prefix[key] + floatToGoString(value) + "\n"
        self._text = None

    def get(self, key: tuple[str, ...]) -> float:
        return self._values[key]

    def text(self) -> bytes:
        with self._lock:
            if self._text is None:
                if not self._lines:
                    self._text = b""
                else:
                    self._text = (self._header + "".join(self._lines.values())).encode()
            return self._text


class DeviceCounters:
    """A counter family with a fixed set of series, kept as exposition text.

    Written as prometheus_client writes a labelled ``Counter`` (with its ``*_created``
    series): in the text format a ``<name>_total`` counter family and a ``<name>_created``
    gauge family, in OpenMetrics one ``<name>`` counter family. With 1,000 SNMP devices
    its 2,000 samples were half of what the encoder formatted at every scrape; the value
    rarely moves, so a line is formatted when it does. Undeclared series raise ``KeyError``.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.labelnames = tuple(labelnames)
        self._wall_time = wall_time
        help_text = documentation.replace("\\", "\\\\").replace("\n", "\\n")
        if '"' in help_text:
            raise ValueError(f"{name}: no quotes in help text (OpenMetrics would escape them)")
        self._headers = (
            f"# HELP {name}_total {help_text}\n# TYPE {name}_total counter\n",
            f"# HELP {name}_created {help_text}\n# TYPE {name}_created gauge\n",
            f"# HELP {name} {help_text}\n# TYPE {name} counter\n",
        )
        self._labels: dict[tuple[str, ...], str] = {}
        self._totals: dict[tuple[str, ...], str] = {}  # the _total line
        self._created: dict[tuple[str, ...], str] = {}  # the _created line
        self._values: dict[tuple[str, ...], float] = {}
        self._text: dict[bool, bytes] = {}  # openmetrics? → text, until something changes
        self._lock = threading.Lock()

    def add(self, key: tuple[str, ...], labelvalues: Sequence[str]) -> None:
        labels = ",".join(
            f'{n}="{_escape(v)}"' for n, v in zip(self.labelnames, labelvalues, strict=True)
        )
        created = floatToGoString(self._wall_time())
        with self._lock:
            self._labels[key] = labels
            self._created[key] = f"{self.name}_created{{{labels}}} {created}\n"
            self._values[key] = 0.0
            self._totals[key] = f"{self.name}_total{{{labels}}} {floatToGoString(0.0)}\n"
            self._text.clear()

    def inc(self, key: tuple[str, ...], amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("counters can only be incremented by non-negative amounts")
        with self._lock:
            if key not in self._labels:
                raise KeyError(f"no series {key} in {self.name}")
            value = self._values[key] + amount
            self._values[key] = value
            self._totals[key] = (
                f"{self.name}_total{{{self._labels[key]}}} {floatToGoString(value)}\n"
            )
            self._text.clear()

    def get(self, key: tuple[str, ...]) -> float:
        return self._values[key]

    def text(self, openmetrics: bool = False) -> bytes:
        with self._lock:
            text = self._text.get(openmetrics)
            if text is None:
                if not self._labels:
                    text = b""
                elif openmetrics:
                    body = "".join(self._totals[k] + self._created[k] for k in self._labels)
                    text = (self._headers[2] + body).encode()
                else:
                    text = (
                        self._headers[0]
                        + "".join(self._totals.values())
                        + self._headers[1]
                        + "".join(self._created.values())
                    ).encode()
                self._text[openmetrics] = text
            return text


# -- store-backed families, computed at scrape time -----------------------------------------


class TicketTotalsCollector(Collector):
    """Tickets ever opened and closed, by customer and origin, counted in the store.

    Counted rather than incremented in process: the store is the truth, the figures survive
    restarts and include tickets opened through any path. Tickets are never deleted and
    closed is final, so both only grow (Prometheus sees a counter)."""

    def __init__(self, cfg: Config, engine: sa.Engine) -> None:
        self._customers = [c.id for c in cfg.customers]
        self._engine = engine

    def collect(self) -> Iterator[CounterMetricFamily]:
        closed = sa.func.sum(sa.case((tickets.c.status == Status.CLOSED.value, 1), else_=0))
        query = sa.select(
            tickets.c.customer_id, tickets.c.origin, sa.func.count(), closed
        ).group_by(tickets.c.customer_id, tickets.c.origin)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        known = set(self._customers)
        counts = {(c, o): (0, 0) for c in self._customers for o in sorted(_ORIGINS)}
        for customer, origin, total, n_closed in rows:
            if customer in known and origin in _ORIGINS:
                counts[(customer, origin)] = (int(total), int(n_closed or 0))
        opened = CounterMetricFamily(
            "slabridge_tickets_opened",
            "Tickets opened, by customer and origin (counted in the store)",
            labels=["customer", "origin"],
        )
        done = CounterMetricFamily(
            "slabridge_tickets_closed",
            "Tickets closed, by customer and origin (counted in the store)",
            labels=["customer", "origin"],
        )
        for key, (total, n_closed) in counts.items():
            opened.add_metric(list(key), total)
            done.add_metric(list(key), n_closed)
        yield opened
        yield done


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
                    unknown=p.unknown_time, unreachable=p.parent_outage,
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
                    device_states.c.state,
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


# -- wiring -----------------------------------------------------------------------------------

METRICS = web.AppKey("metrics", Metrics)


def register_store_collectors(
    metrics: Metrics, cfg: Config, engine: sa.Engine, clock: Clock
) -> tuple[Collector, ...]:
    """Register the store-backed families on ``metrics.registry``; returns them."""
    collectors: Sequence[Collector] = (
        TicketTotalsCollector(cfg, engine),
        AvailabilityCollector(cfg, engine, clock),
    )
    for c in collectors:
        metrics.registry.register(c)
    return tuple(collectors)


#: One scrape computes at a time: two scrapers arriving together (an HA pair of Prometheus
#: servers) do not both hold the interpreter for a full rendering at once.
SCRAPE_LOCK = web.AppKey("scrape_lock", asyncio.Lock)


async def metrics_handler(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    async with request.app[SCRAPE_LOCK]:
        # collectors read the store: off the event loop
        body, content_type = await asyncio.to_thread(
            metrics.exposition, request.headers.get("Accept", "")
        )
    resp = web.Response(body=body)
    resp.headers["Content-Type"] = content_type
    return resp


def add_routes(app: web.Application) -> None:
    """GET /metrics, and the store-backed collectors on the app's registry.

    Needs ``app[METRICS]`` and ``app[SERVICES]`` set (build_app sets both before)."""
    from bridge.api.tickets import SERVICES  # bridge.api imports this module

    svc = app[SERVICES]
    register_store_collectors(app[METRICS], svc.cfg, svc.engines.read, svc.clock)
    app[SCRAPE_LOCK] = asyncio.Lock()
    app.router.add_get("/metrics", metrics_handler)
