"""Instrumentation the request path and the probes update: counters, histograms and the
per-device families, with the fixed vocabularies their labels come from.

Label values come only from the config (source names, customer ids, device ids) or from fixed
vocabularies (outcomes, priorities, statuses, origins, checks, ICMP modes); nothing a sender
writes becomes a label. Per-device series exist only for configured devices, pre-initialised.

Counters and histograms also expose ``*_created`` series (prometheus_client's default); we do
not call ``disable_created_metrics()`` because it flips a process-wide switch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from bridge.config import Config, DeviceConfig
from bridge.metrics.exposition import DeviceCounters, DeviceGauges

OUTCOMES = ("accepted", "duplicate", "unrouted", "rejected-auth", "rejected-invalid")
UNKNOWN_SOURCE = "_unknown"
#: every probe check's alerts are counted under this one source label
PROBE_SOURCE = "probe"
#: probe checks that carry per-device series (reachability checks of probes/state.py)
PROBE_CHECKS = ("icmp", "snmp")
#: probes.icmp.IcmpCapability.mode, with "none" for no usable ICMP socket
ICMP_MODES = ("raw", "dgram", "none")


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

    def register(self, collector: Collector) -> Collector:
        """Add a collector (store-backed families, another part's gauges) to this registry.

        Its ``collect()`` runs at every scrape off the event loop, one scrape at a time; keep
        it proportional to what changed (see bridge/metrics/collectors.py)."""
        self.registry.register(collector)
        return collector

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
